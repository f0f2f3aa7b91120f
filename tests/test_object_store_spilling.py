"""A capped object store: objects past `object_store_memory` are spilled to files under the
session directory and read back transparently; a value larger than the whole store is refused
with ObjectStoreFullError, and nothing else is lost."""

import gc
import hashlib
import os
import random

import pytest

import fusion_flow.ray_compat as ray
from fusion_flow import _runtime

numpy = pytest.importorskip("numpy")

MB = 1 << 20
STORE = 75 * MB


@pytest.fixture(scope="module", autouse=True)
def runtime():
    ray.init(num_cpus=2, object_store_memory=STORE)
    yield
    ray.shutdown()


def native():
    return _runtime.current().native


def spill_files():
    spill_dir = os.path.join(native().session_dir, "spill")
    return sorted(os.listdir(spill_dir)) if os.path.isdir(spill_dir) else []


def settle(predicate, timeout=30.0):
    """Spills are written in the background: wait until the store reflects them."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, native().store_usage()
        time.sleep(0.02)


def payload(seed, size):
    return numpy.random.default_rng(seed).integers(0, 255, size=size, dtype=numpy.uint8)


def test_a_hundred_objects_in_a_small_store_survive_a_thousand_random_gets():
    sizes = [random.Random(i).randint(8, 24) * MB for i in range(100)]
    refs, digests = [], []
    for i, size in enumerate(sizes):
        value = payload(i, size)
        digests.append(hashlib.sha1(value).hexdigest())
        refs.append(ray.put(value))
        del value
    settle(lambda: native().store_usage()[0] <= STORE)
    assert len(spill_files()) > 0
    chooser = random.Random(42)
    for _ in range(1000):
        i = chooser.randrange(len(refs))
        got = ray.get(refs[i])
        assert got.nbytes == sizes[i]
        assert hashlib.sha1(got).hexdigest() == digests[i], f"object {i} changed"
        del got
    resident, _, capacity = native().store_usage()
    assert capacity == STORE and resident <= STORE  # reads come from the spill files
    del refs
    gc.collect()
    settle(lambda: native().store_usage()[:2] == (0, 0))
    settle(lambda: spill_files() == [])


def test_a_task_reads_a_spilled_argument():
    @ray.remote
    def digest(array):
        return hashlib.sha1(array).hexdigest()

    first = payload(1, 40 * MB)
    ref = ray.put(first)
    ray.put(payload(2, 40 * MB))  # pushes `first` out of memory (then is freed)
    settle(lambda: native().store_usage()[0] <= STORE)
    assert ray.get(digest.remote(ref)) == hashlib.sha1(first).hexdigest()


def test_a_value_larger_than_the_store_is_refused_and_nothing_is_lost():
    kept = ray.put(payload(3, 10 * MB))
    with pytest.raises(ray.exceptions.ObjectStoreFullError, match="larger than the store"):
        ray.put(numpy.zeros(80 * MB, dtype=numpy.uint8))
    assert hashlib.sha1(ray.get(kept)).hexdigest() == hashlib.sha1(payload(3, 10 * MB)).hexdigest()

    @ray.remote
    def too_big():
        return numpy.zeros(80 * MB, dtype=numpy.uint8)

    with pytest.raises(ray.exceptions.ObjectStoreFullError):
        ray.get(too_big.remote())

    @ray.remote
    def put_too_big():
        ray.put(numpy.zeros(80 * MB, dtype=numpy.uint8))

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(put_too_big.remote())
    assert isinstance(info.value.as_instanceof_cause(), ray.exceptions.ObjectStoreFullError)
    assert ray.get(ray.put(5)) == 5
