"""Objects are freed once nothing refers to them: not the driver, not a worker, not a pending
task, not another object."""

import gc
import time

import pytest

import fusion_flow.ray_compat as ray
from fusion_flow import _runtime


@pytest.fixture(scope="module", autouse=True)
def runtime():
    ray.init(num_cpus=2)
    yield
    ray.shutdown()


def objects():
    gc.collect()
    return _runtime.current().native.object_count()


def settle(expected, seconds=5.0):
    """Worker-side drops reach the node asynchronously; wait for the count to settle."""
    deadline = time.monotonic() + seconds
    while objects() != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return objects()


def test_a_put_object_is_freed_when_its_last_ref_goes():
    before = objects()
    ref = ray.put("value")
    copy = ref
    assert objects() == before + 1
    del ref
    assert objects() == before + 1
    del copy
    assert objects() == before


def test_task_results_are_freed_after_use():
    @ray.remote
    def f(x):
        return x * 2

    before = objects()
    assert ray.get([f.remote(i) for i in range(100)]) == [i * 2 for i in range(100)]
    assert settle(before) == before


def test_a_pending_task_keeps_its_argument_alive():
    @ray.remote
    def slow_identity(x):
        time.sleep(0.3)
        return x

    before = objects()
    arg = ray.put(list(range(10)))
    result = slow_identity.remote(arg)
    del arg
    assert ray.get(result) == list(range(10))
    del result
    assert settle(before) == before


def test_refs_inside_a_stored_value_keep_their_objects_alive():
    before = objects()
    inner = ray.put("inner")
    outer = ray.put([inner])
    inner_hex = inner.hex()
    del inner
    assert objects() == before + 2
    (again,) = ray.get(outer)
    assert again.hex() == inner_hex
    assert ray.get(again) == "inner"
    del outer
    assert objects() == before + 1
    del again
    assert objects() == before


def test_a_ref_returned_from_a_task_outlives_the_task():
    @ray.remote
    def make():
        return [ray.put("made in a worker")]

    before = objects()
    (ref,) = ray.get(make.remote())
    assert ray.get(ref) == "made in a worker"
    del ref
    assert settle(before) == before


def test_a_worker_that_exits_releases_what_it_held():
    @ray.remote(max_calls=1)
    def hold():
        # A ref kept alive past the task's end, in a module-level list.
        import builtins

        builtins._held = [ray.put("held by a worker")]
        return builtins._held[0].hex()

    before = objects()
    ray.get(hold.remote())
    assert settle(before) == before
