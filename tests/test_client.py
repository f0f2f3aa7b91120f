"""The Ray Client connection: a driver attached to this process's node over its socket.
What it holds is its own and goes when it disconnects; the process's own session is left as
it was; what fusion-flow cannot do yet is refused by name."""

import gc
import pickle
import time

import pytest

import fusion_flow.ray_compat as ray
from fusion_flow import _runtime
from fusion_flow.ray_compat._private.client_mode_hook import disable_client_hook
from fusion_flow.ray_compat._unsupported import Unsupported
from fusion_flow.ray_compat.util.client import ray as client_api
from fusion_flow.ray_compat.util.client.ray_client_helpers import ray_start_client_server


@pytest.fixture(scope="module", autouse=True)
def runtime():
    ray.init(num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture
def attached():
    runtime = _runtime.attach_driver()
    yield runtime
    _runtime.detach_driver()


def node_objects(expected=None, seconds=5.0):
    """The node's object count; with ``expected``, waits for it to settle there (the node
    sees a connection's drops asynchronously)."""
    deadline = time.monotonic() + seconds
    while True:
        gc.collect()
        count = _runtime.own_session().native.object_count()
        if expected is None or count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


def test_calls_go_through_the_attached_connection_until_it_detaches(attached):
    assert _runtime.current() is attached
    with disable_client_hook():
        assert _runtime.current() is _runtime.own_session()
    _runtime.detach_driver()
    assert _runtime.current() is _runtime.own_session()


def test_what_the_client_holds_is_released_when_it_disconnects():
    before = node_objects()
    _runtime.attach_driver()
    refs = [ray.put(i) for i in range(10)]
    assert node_objects() == before + 10
    _runtime.detach_driver()
    assert node_objects(before) == before
    del refs


def test_the_clients_actors_end_with_it_unless_detached():
    @ray.remote
    class Echo:
        def ping(self):
            return "pong"

    _runtime.attach_driver()
    owned = Echo.options(name="owned_by_client").remote()
    kept = Echo.options(name="detached_from_client", lifetime="detached").remote()
    assert ray.get([owned.ping.remote(), kept.ping.remote()]) == ["pong", "pong"]
    _runtime.detach_driver()
    deadline = time.monotonic() + 5
    while "owned_by_client" in ray.util.list_named_actors() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "owned_by_client" not in ray.util.list_named_actors()
    survivor = ray.get_actor("detached_from_client")
    assert ray.get(survivor.ping.remote()) == "pong"
    ray.kill(survivor)


def test_the_own_sessions_objects_survive_the_client(attached):
    with disable_client_hook():
        kept = ray.put("kept")
    through_client = ray.put("through the client")
    assert ray.get(through_client) == "through the client"
    _runtime.detach_driver()
    assert ray.get(kept) == "kept"


def test_work_submitted_through_the_client_runs_on_the_nodes_workers(attached):
    @ray.remote
    def where():
        return ray.get_runtime_context().get_worker_id()

    client_worker = ray.get_runtime_context().get_worker_id()
    worker = ray.get(where.remote())
    assert worker != client_worker
    with disable_client_hook():
        assert ray.get_runtime_context().get_worker_id() not in (worker, client_worker)


def test_one_client_at_a_time_and_only_to_a_running_driver(attached):
    with pytest.raises(RuntimeError, match="attached"):
        _runtime.attach_driver()
    with pytest.raises(RuntimeError, match="starts its own driver"):
        with ray_start_client_server():
            pass


def test_shutdown_in_client_mode_disconnects_and_keeps_the_node(attached):
    ray.shutdown()
    assert not client_api.is_connected()
    assert ray.is_initialized()
    assert ray.get(ray.put(3)) == 3


def test_shutting_the_node_down_ends_the_attached_client():
    _runtime.attach_driver()
    with disable_client_hook():
        ray.shutdown()
    assert not client_api.is_connected()
    assert not ray.is_initialized()
    ray.init(num_cpus=2)  # for the tests after this one


def test_the_api_stub_unpickles_as_the_api():
    assert pickle.loads(pickle.dumps(client_api)) is ray


def test_connecting_to_a_server_address_is_refused_by_name():
    with pytest.raises(Unsupported, match=r"ray://host:port"):
        client_api.connect("127.0.0.1:10001")


def test_the_stub_refuses_api_calls_while_not_connected():
    with pytest.raises(RuntimeError, match="not connected"):
        client_api.put(1)


def test_connection_metadata_and_unknown_options_are_refused():
    with pytest.raises(Unsupported, match="metadata"):
        with ray_start_client_server(metadata=[("key", "value")]):
            pass
    with pytest.raises(TypeError, match="secure"):
        with ray_start_client_server(secure=True):
            pass
    assert not client_api.is_connected()


def test_a_ray_address_is_refused_as_a_client_connection():
    with pytest.raises(Unsupported, match="Ray Client connections"):
        ray.init("ray://127.0.0.1:10001", ignore_reinit_error=True)
    with pytest.raises(Unsupported, match="Ray Client connections"):
        ray.util.connect("127.0.0.1:10001")
