"""Large values live in shared-memory segments: zero-copy gets, segments released when their
objects are freed, refs inside large values counted."""

import gc
import mmap
import os
import time

import pytest

import fusion_flow.ray_compat as ray
from fusion_flow import _object_layout, _serialization

numpy = pytest.importorskip("numpy")

SEGMENT_NAME = "/memfd:fusion-flow-object"


@pytest.fixture(scope="module", autouse=True)
def runtime():
    ray.init(num_cpus=2)
    yield
    ray.shutdown()


def open_segments() -> int:
    """Shared segments this process (the driver, which hosts the node) holds open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(SEGMENT_NAME)
        except OSError:
            pass
    return count


def mapping_of(array):
    """The object at the bottom of an array's base chain."""
    base = array
    while getattr(base, "base", None) is not None:
        base = base.base
    return base.obj if isinstance(base, memoryview) else base


def test_small_values_stay_inline_and_large_ones_go_to_a_segment():
    small, _ = _serialization.dumps(numpy.zeros(10))
    assert type(small) is bytes and _object_layout.is_framed(small)
    plain, _ = _serialization.dumps({"a": 1})
    assert type(plain) is bytes and not _object_layout.is_framed(plain)
    large, _ = _serialization.dumps(numpy.zeros(_serialization.INLINE_LIMIT // 8 + 1))
    assert type(large).__name__ == "Segment"
    assert large.size > _serialization.INLINE_LIMIT


def test_get_maps_the_segment_instead_of_copying():
    array = ray.get(ray.put(numpy.arange(1_000_000)))
    assert isinstance(mapping_of(array), mmap.mmap)


def settled_segments() -> int:
    """Open segments once the reuse pool, which keeps freed segments the driver made for a
    second or so, has let them go."""
    from fusion_flow import _native

    gc.collect()
    deadline = time.monotonic() + 10
    while _native.pooled_bytes():
        assert time.monotonic() < deadline, _native.pooled_bytes()
        time.sleep(0.1)
    return open_segments()


def test_a_segment_is_released_when_its_object_is_freed():
    before = settled_segments()
    refs = [ray.put(numpy.ones(200_000)) for _ in range(5)]
    assert open_segments() == before + 5
    del refs
    assert settled_segments() == before


def test_a_task_result_segment_is_released_with_its_ref():
    @ray.remote
    def make():
        return numpy.ones(300_000)

    gc.collect()
    before = open_segments()
    ref = make.remote()
    assert ray.get(ref).shape == (300_000,)
    assert open_segments() == before + 1
    del ref
    gc.collect()
    assert open_segments() == before


def test_many_large_arguments_reach_a_task():
    @ray.remote
    def sizes(*arrays):
        return [a.nbytes for a in arrays]

    arrays = [numpy.full(50_000, i, dtype=numpy.float64) for i in range(20)]
    assert ray.get(sizes.remote(*arrays)) == [400_000] * 20


def test_getting_a_freed_object_raises_object_lost_naming_it():
    ref = ray.put(numpy.ones(200_000))
    raw = ref.binary()
    del ref
    gc.collect()
    again = ray.ObjectRef(raw)
    with pytest.raises(ray.exceptions.ObjectLostError, match=again.hex()):
        ray.get(again, timeout=10)


def test_a_recycled_segment_never_changes_an_array_still_in_use():
    """Put, get (an array maps the segment), drop the ref: the segment must not be reused
    while the array lives, even by a put of the same size."""
    first = ray.get(ray.put(numpy.full(1_000_000, 1.0)))
    gc.collect()
    for value in range(2, 6):
        ref = ray.put(numpy.full(1_000_000, float(value)))
        assert float(ray.get(ref)[0]) == value
        del ref
        gc.collect()
    assert float(first.min()) == 1.0 and float(first.max()) == 1.0


def test_put_reuses_the_memory_of_a_freed_object_of_the_same_size():
    from fusion_flow import _native

    gc.collect()
    ref = ray.put(numpy.ones(2_000_000))
    del ref
    gc.collect()
    assert _native.pooled_bytes() > 0
    ref = ray.put(numpy.ones(2_000_000))
    assert float(ray.get(ref).sum()) == 2_000_000.0
