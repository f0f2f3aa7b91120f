"""A worker's large values go to the node on loan: once the node has closed the segment and
no other process ever saw it, the worker writes its next value of that size into the same
pages. Memory that a reader still maps is never written again."""

import gc
import time

import pytest

import fusion_flow.ray_compat as ray

numpy = pytest.importorskip("numpy")

INTS = 2_000_000  # 16 MB: well over the inline limit


@pytest.fixture(scope="module", autouse=True)
def runtime():
    ray.init(num_cpus=2)
    yield
    ray.shutdown()


@ray.remote
class Writer:
    """One worker process that makes large values and reports its segment pool."""

    def __init__(self):
        self.kept = []

    def put_and_drop(self, value):
        ray.put(numpy.full(INTS, value, dtype=numpy.int64))

    def put(self, value):
        return [ray.put(numpy.full(INTS, value, dtype=numpy.int64))]

    def make(self, value):
        return numpy.full(INTS, value, dtype=numpy.int64)

    def pooled_bytes(self, at_least=1, timeout=5.0):
        """The pool's size once it holds `at_least` bytes (or when `timeout` passes)."""
        from fusion_flow import _native

        deadline = time.monotonic() + timeout
        while _native.pooled_bytes() < at_least and time.monotonic() < deadline:
            time.sleep(0.01)
        return _native.pooled_bytes()

    def keep(self, refs):
        self.kept.append(ray.get(refs[0]))

    def kept_values(self):
        return [(int(a.min()), int(a.max())) for a in self.kept]


def test_a_worker_reuses_the_pages_of_its_freed_put_and_gives_them_back_when_idle():
    writer = Writer.remote()
    ray.get(writer.put_and_drop.remote(1))
    pooled = ray.get(writer.pooled_bytes.remote(at_least=INTS * 8))
    assert pooled >= INTS * 8, "the node returned the segment as reusable"
    # The pool gives back what sits unused for a second, without any message to the worker.
    assert ray.get(writer.pooled_bytes.remote(at_least=1 << 62, timeout=0)) > 0
    time.sleep(2.0)
    assert ray.get(writer.pooled_bytes.remote(at_least=1 << 62, timeout=0)) == 0


def test_a_value_the_driver_still_maps_is_not_overwritten_by_the_workers_next_one():
    writer = Writer.remote()
    first = ray.get(writer.make.remote(1))
    for value in range(2, 7):
        ref = writer.make.remote(value)
        array = ray.get(ref)
        assert int(array[0]) == value and int(array[-1]) == value
        del ref, array
        gc.collect()
        # The driver let go of that one, so it comes back to the worker for reuse.
        assert ray.get(writer.pooled_bytes.remote(at_least=INTS * 8)) >= INTS * 8
    assert int(first.min()) == 1 and int(first.max()) == 1


def test_a_value_another_worker_maps_is_not_overwritten_by_its_writer():
    writer, reader = Writer.remote(), Writer.remote()
    refs = ray.get(writer.put.remote(1))
    ray.get(reader.keep.remote(refs))
    del refs
    gc.collect()
    for value in range(2, 7):
        ray.get(writer.put_and_drop.remote(value))
    ray.get(writer.pooled_bytes.remote(at_least=INTS * 8))
    for value in range(7, 10):
        ray.get(writer.put_and_drop.remote(value))
    assert ray.get(reader.kept_values.remote()) == [(1, 1)]


def test_values_from_recycled_pages_are_exact():
    writer = Writer.remote()
    for value in range(20):
        array = ray.get(writer.make.remote(value))
        assert int(array.min()) == value and int(array.max()) == value
        del array
        gc.collect()
