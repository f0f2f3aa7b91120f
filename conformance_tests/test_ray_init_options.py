"""init() options and what they change: resources, namespace, runtime_env env_vars,
object_store_memory; a second init while one is running.
"""

import os

import pytest

MIB = 1024 * 1024

INIT_KWARGS = dict(
    address=None,
    num_cpus=3,
    num_gpus=1,
    resources={"custom": 4, "other": 1},
    object_store_memory=100 * MIB,
    namespace="conformance-ns",
    runtime_env={"env_vars": {"FF_CONFORMANCE_VAR": "from-init", "FF_CONFORMANCE_KEEP": "kept"}},
    ignore_reinit_error=False,
    log_to_driver=True,
)

REINIT_MESSAGE = (
    "Maybe you called ray.init twice by accident? This error can be suppressed by "
    "passing in 'ignore_reinit_error=True' or by calling 'ray.shutdown()' prior to "
    "'ray.init()'."
)


def read_env():
    return {
        name: os.environ.get(name)
        for name in ("FF_CONFORMANCE_VAR", "FF_CONFORMANCE_KEEP", "FF_CONFORMANCE_NEW")
    }


def test_resources_from_init(ray):
    resources = ray.cluster_resources()
    assert resources["CPU"] == 3.0
    assert resources["GPU"] == 1.0
    assert resources["custom"] == 4.0
    assert resources["other"] == 1.0
    assert resources["object_store_memory"] == float(100 * MIB)
    assert all(isinstance(v, float) for v in resources.values())


def test_namespace_from_init(ray):
    assert ray.get_runtime_context().namespace == "conformance-ns"

    @ray.remote
    def namespace():
        return ray.get_runtime_context().namespace

    assert ray.get(namespace.remote()) == "conformance-ns"


def test_runtime_env_vars_reach_workers_only(ray):
    assert ray.get(ray.remote(read_env).remote()) == {
        "FF_CONFORMANCE_VAR": "from-init",
        "FF_CONFORMANCE_KEEP": "kept",
        "FF_CONFORMANCE_NEW": None,
    }
    # The driver's own environment is untouched.
    assert "FF_CONFORMANCE_VAR" not in os.environ


def test_task_runtime_env_vars_merge_with_the_job_ones(ray):
    f = ray.remote(read_env)
    env = {"env_vars": {"FF_CONFORMANCE_VAR": "from-task", "FF_CONFORMANCE_NEW": "new"}}
    assert ray.get(f.options(runtime_env=env).remote()) == {
        "FF_CONFORMANCE_VAR": "from-task",
        "FF_CONFORMANCE_KEEP": "kept",
        "FF_CONFORMANCE_NEW": "new",
    }
    # A later task without the option sees the job's values again.
    assert ray.get(f.remote())["FF_CONFORMANCE_VAR"] == "from-init"


def test_runtime_env_vars_must_be_strings(ray):
    f = ray.remote(read_env)
    with pytest.raises(TypeError) as info:
        f.options(runtime_env={"env_vars": {"FF_CONFORMANCE_VAR": 1}})
    assert str(info.value) == (
        "runtime_env['env_vars'] must be of type Dict[str, str], but the value 1 is of "
        "type <class 'int'>"
    )


def test_second_init_raises(ray):
    with pytest.raises(RuntimeError) as info:
        ray.init()
    assert type(info.value) is RuntimeError
    assert str(info.value) == REINIT_MESSAGE
    with pytest.raises(RuntimeError) as info:
        ray.init(num_cpus=1)
    assert str(info.value) == REINIT_MESSAGE
    # The running session is unaffected.
    assert ray.is_initialized() is True
    assert ray.get(ray.put(5)) == 5


def test_second_init_with_ignore_reinit_error(ray):
    ray.init(ignore_reinit_error=True, num_cpus=1, namespace="other")
    assert ray.is_initialized() is True
    # The first configuration stays in force.
    assert ray.cluster_resources()["CPU"] == 3.0
    assert ray.get_runtime_context().namespace == "conformance-ns"
    assert ray.get(ray.put("still here")) == "still here"
