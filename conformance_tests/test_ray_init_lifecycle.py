"""init / shutdown / is_initialized and auto-init.

These tests start and stop the backend themselves (they do not use the `ray`
fixture) and leave it shut down.
"""

import platform

import pytest
from conformance_helpers import UUID_RE

NOT_STARTED = (
    "System error: Ray has not been started yet. Trying to use state API before "
    "ray.init() has been called."
)


def one():
    return 1


@pytest.fixture(autouse=True)
def shut_down_around(ray_api):
    if ray_api.is_initialized():
        ray_api.shutdown()
        pytest.fail("the backend was left initialised by an earlier test")
    yield
    ray_api.shutdown()


def test_not_initialized_before_init(ray_api):
    assert ray_api.is_initialized() is False


def test_shutdown_without_init_is_a_no_op(ray_api):
    assert ray_api.shutdown() is None
    assert ray_api.shutdown() is None
    assert ray_api.is_initialized() is False


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"num_cpu": 2}, "num_cpu"),
        ({"num_cpu": 2, "foo": 3}, "num_cpu, foo"),
        ({"namespace": "x", "bogus_option": True}, "bogus_option"),
    ],
)
def test_unknown_keyword_argument(ray_api, kwargs, names):
    with pytest.raises(RuntimeError) as info:
        ray_api.init(**kwargs)
    assert type(info.value) is RuntimeError
    assert str(info.value) == f"Unknown keyword argument(s): {names}"
    assert ray_api.is_initialized() is False


@pytest.mark.parametrize("call", ["cluster_resources", "available_resources", "nodes"])
def test_state_api_before_init(ray_api, call):
    with pytest.raises(ray_api.exceptions.RaySystemError) as info:
        getattr(ray_api, call)()
    assert str(info.value) == NOT_STARTED
    # These calls do not auto-init.
    assert ray_api.is_initialized() is False


def test_init_shutdown_and_init_again(ray_api):
    ray_api.init(num_cpus=1, address=None)
    assert ray_api.is_initialized() is True
    assert ray_api.cluster_resources()["CPU"] == 1.0
    assert ray_api.get(ray_api.remote(one).remote()) == 1

    assert ray_api.shutdown() is None
    assert ray_api.is_initialized() is False
    ray_api.shutdown()  # idempotent
    assert ray_api.is_initialized() is False

    # A new session with another configuration.
    ray_api.init(num_cpus=2)
    assert ray_api.is_initialized() is True
    assert ray_api.cluster_resources()["CPU"] == 2.0
    assert ray_api.get(ray_api.remote(one).remote()) == 1


def test_init_as_context_manager(ray_api):
    with ray_api.init(num_cpus=1) as context:
        assert ray_api.is_initialized() is True
        assert context.python_version == platform.python_version()
        assert ray_api.get(ray_api.put("inside")) == "inside"
    assert ray_api.is_initialized() is False


@pytest.mark.parametrize("first_call", ["put", "get", "wait", "remote"])
def test_auto_init_on_first_use(ray_api, first_call):
    assert ray_api.is_initialized() is False
    if first_call == "put":
        ref = ray_api.put("value")
        assert ray_api.is_initialized() is True
        assert ray_api.get(ref) == "value"
    elif first_call == "get":
        assert ray_api.get([]) == []
        assert ray_api.is_initialized() is True
    elif first_call == "wait":
        assert ray_api.wait([]) == ([], [])
        assert ray_api.is_initialized() is True
    else:
        ref = ray_api.remote(one).remote()
        assert ray_api.is_initialized() is True
        assert ray_api.get(ref) == 1
    # An auto-initialised session is a normal one: default namespace, CPUs, shutdown.
    assert UUID_RE.match(ray_api.get_runtime_context().namespace)
    assert ray_api.cluster_resources()["CPU"] >= 1.0
    ray_api.shutdown()
    assert ray_api.is_initialized() is False


@pytest.mark.parametrize(
    ("kwargs", "exc_type", "prefix"),
    [
        (
            {"resources": {"half": 0.5}},
            ValueError,
            "Resource quantities must all be whole numbers. Violated by resource 'half' in {",
        ),
        (
            {"num_cpus": 1.5},
            ValueError,
            "Resource quantities must all be whole numbers. Violated by resource 'CPU' in {",
        ),
        (
            {"resources": {"custom": -1}},
            ValueError,
            "Resource quantities must be nonnegative. Violated by resource 'custom' in {",
        ),
        (
            {"resources": {"CPU": 2}},
            AssertionError,
            "{'CPU': 2} -> `CPU` cannot be a custom resource because it is one of the "
            "default resources (",
        ),
    ],
    ids=["fractional-custom", "fractional-cpus", "negative", "cpu-in-resources"],
)
def test_invalid_node_resources(ray_api, kwargs, exc_type, prefix):
    with pytest.raises(exc_type) as info:
        ray_api.init(**kwargs)
    assert str(info.value).startswith(prefix)
    assert ray_api.is_initialized() is False
