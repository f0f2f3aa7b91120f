"""fusion-flow's Pool follows the standard library where Ray's differs: imap raises a failed
item's exception at its position, the error callback gets the exception itself, and the map
callback gets the values in order."""

import multiprocessing
import time

import pytest

import fusion_flow.ray_compat as ray
from fusion_flow.ray_compat.util.multiprocessing import Pool


def fail_on_three(x):
    if x == 3:
        raise KeyError(x)
    time.sleep(0.01 * (5 - x))  # later items finish first
    return x


@pytest.fixture(scope="module")
def pools():
    ray.init(num_cpus=2)
    with Pool(2) as ours, multiprocessing.get_context("spawn").Pool(2) as stdlib:
        yield ours, stdlib
    ray.shutdown()


def _observed(pool):
    iterator = pool.imap(fail_on_three, range(6))
    seen = [next(iterator) for _ in range(3)]
    with pytest.raises(KeyError):
        next(iterator)
    seen.extend(iterator)
    values, errors = [], []
    pool.map_async(fail_on_three, [0, 1, 2, 4], chunksize=1, callback=values.append).wait(60)
    pool.map_async(fail_on_three, range(6), error_callback=errors.append).wait(60)
    deadline = time.monotonic() + 10
    while not (values and errors) and time.monotonic() < deadline:
        time.sleep(0.01)
    return seen, values, [type(e) for e in errors]


def test_the_pool_behaves_as_the_standard_librarys(pools):
    ours, stdlib = pools
    expected = ([0, 1, 2, 4, 5], [[0, 1, 2, 4]], [KeyError])
    assert _observed(stdlib) == expected
    assert _observed(ours) == expected
