"""ray.util.multiprocessing.Pool: the standard library's Pool interface on actors."""

import os
import time
from importlib import import_module

import pytest

INIT_KWARGS = dict(num_cpus=2)


def square(x):
    return x * x


def fail_on_three(x):
    if x == 3:
        raise KeyError(f"no {x}")
    return x


def pid_of(_):
    return os.getpid()


def set_greeting(text):
    global GREETING
    GREETING = text


def greet(name):
    return f"{GREETING} {name}"


@pytest.fixture(scope="module")
def mp(ray):
    return import_module(ray.__name__ + ".util.multiprocessing")


@pytest.fixture(scope="module")
def pool(mp):
    with mp.Pool(2) as shared:
        yield shared


def test_map_starmap_and_apply(pool):
    assert pool.map(square, range(10)) == [x * x for x in range(10)]
    assert pool.map(square, range(10), chunksize=3) == [x * x for x in range(10)]
    assert pool.map(square, []) == []
    assert pool.starmap(pow, [(2, 3), (3, 2), (10, 0)]) == [8, 9, 1]
    assert pool.apply(square, (7,)) == 49
    assert pool.apply(sorted, ([3, 1, 2],), {"reverse": True}) == [3, 2, 1]


def test_imap_keeps_order_and_imap_unordered_gets_everything(pool):
    assert list(pool.imap(square, range(8))) == [x * x for x in range(8)]
    assert list(pool.imap(square, range(8), chunksize=3)) == [x * x for x in range(8)]
    assert sorted(pool.imap_unordered(square, range(8))) == sorted(x * x for x in range(8))


def test_async_results_and_callbacks(pool, mp):
    seen = []
    result = pool.map_async(square, range(4), callback=seen.append)
    assert result.get(timeout=60) == [0, 1, 4, 9]
    result.wait(5)
    assert result.ready() and result.successful()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    # One call with every value (Ray passes them in the order the batches finished).
    assert len(seen) == 1 and sorted(seen[0]) == [0, 1, 4, 9]
    single = []
    assert pool.apply_async(square, (5,), callback=single.append).get(timeout=60) == 25
    slow = pool.apply_async(time.sleep, (2,))
    with pytest.raises(mp.TimeoutError):
        slow.get(timeout=0.1)
    assert not slow.ready()
    with pytest.raises(ValueError, match="not ready"):
        slow.successful()
    assert slow.get(timeout=60) is None


def test_an_exception_comes_back_as_itself(pool):
    with pytest.raises(KeyError) as info:
        pool.map(fail_on_three, range(6))
    assert info.value.args == ("no 3",)
    errors = []
    result = pool.map_async(fail_on_three, range(6), error_callback=errors.append)
    result.wait(60)
    assert result.ready() and not result.successful()
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        time.sleep(0.01)
    # One call with the exception (Ray hands it over wrapped, as its `underlying`).
    assert [type(getattr(e, "underlying", e)) for e in errors] == [KeyError]
    iterator = pool.imap(fail_on_three, range(6))
    assert [next(iterator) for _ in range(3)] == [0, 1, 2]
    # The failure is reported at its own position and the iteration goes on. The standard
    # library (and fusion-flow) raise it there; Ray yields it wrapped, as `underlying`.
    try:
        failed = next(iterator)
    except KeyError as error:
        failed = error
    assert isinstance(getattr(failed, "underlying", failed), KeyError)
    assert list(iterator) == [4, 5]


def test_the_initializer_runs_in_every_process(mp):
    with mp.Pool(2, initializer=set_greeting, initargs=("hello",)) as greeting_pool:
        assert greeting_pool.map(greet, ["a", "b", "c"]) == ["hello a", "hello b", "hello c"]


def test_maxtasksperchild_gives_each_batch_a_fresh_process(mp):
    with mp.Pool(1, maxtasksperchild=1) as fresh:
        pids = fresh.map(pid_of, range(4), chunksize=1)
    assert len(set(pids)) == 4


def test_close_join_and_terminate(mp):
    closing = mp.Pool(2)
    with pytest.raises(ValueError) as info:
        closing.join()
    assert str(info.value) == "Pool is still running"
    pending = closing.map_async(square, range(6))
    closing.close()
    with pytest.raises(ValueError) as info:
        closing.map(square, [1])
    assert str(info.value) == "Pool not running"
    closing.join()
    assert pending.get(timeout=60) == [0, 1, 4, 9, 16, 25]
    with mp.Pool(1) as terminated:
        assert terminated.apply(square, (3,)) == 9
    with pytest.raises(ValueError, match="Pool not running"):
        terminated.apply(square, (3,))


def test_a_pool_larger_than_the_node_is_refused(mp):
    with pytest.raises(ValueError) as info:
        mp.Pool(3)
    assert str(info.value) == (
        "Tried to start a pool with 3 processes on an existing ray cluster, "
        "but there are only 2 CPUs in the ray cluster."
    )
    with pytest.raises(ValueError) as info:
        mp.Pool(0)
    assert str(info.value) == "Processes in the pool must be >0."
