"""Actor utilities: `util.ActorPool` and `util.queue.Queue` (with its Empty and Full)."""

import asyncio
import importlib
import os
import queue as std_queue
import re

import pytest
from conformance_helpers import Gate, poll, wait_for_path

INIT_KWARGS = dict(num_cpus=2)


class Worker:
    def double(self, value):
        return 2 * value

    def held(self, gate_path, value):
        wait_for_path(gate_path, timeout=60)
        return value

    def fail_on(self, bad, value):
        if value == bad:
            raise ValueError(f"bad value {value}")
        return value

    def crash(self, value):
        os._exit(1)


def make_pair_worker(ray):
    @ray.remote
    class PairWorker:
        @ray.method(num_returns=2)
        def pair(self, value):
            return value, -value

    return PairWorker


@pytest.fixture
def queue_module(ray):
    """The backend's `util.queue` module (it is not imported by `util` itself)."""
    return importlib.import_module(ray.__name__ + ".util.queue")


def workers(ray, count):
    return [ray.remote(Worker).remote() for _ in range(count)]


def double(actor, value):
    return actor.double.remote(value)


# ----------------------------------------------------------------- ActorPool


def test_pool_map_keeps_the_input_order(ray):
    pool = ray.util.ActorPool(workers(ray, 2))
    assert list(pool.map(double, [1, 2, 3, 4, 5])) == [2, 4, 6, 8, 10]
    assert not pool.has_next()


def test_pool_map_unordered_returns_every_result(ray):
    pool = ray.util.ActorPool(workers(ray, 2))
    assert sorted(pool.map_unordered(double, [1, 2, 3, 4, 5])) == [2, 4, 6, 8, 10]


def test_pool_map_unordered_yields_what_is_ready_first(ray, tmp_path):
    gate = Gate(tmp_path)
    pool = ray.util.ActorPool(workers(ray, 2))

    def call(actor, value):
        if value == "slow":
            return actor.held.remote(gate.path, value)
        return actor.double.remote(value)

    results = pool.map_unordered(call, ["slow", 21])
    try:
        assert next(results) == 42
    finally:
        gate.open()
    assert next(results) == "slow"
    assert list(results) == []


def test_pool_get_next_waits_for_the_first_submitted(ray, tmp_path):
    gate = Gate(tmp_path)
    pool = ray.util.ActorPool(workers(ray, 2))
    pool.submit(lambda a, v: a.held.remote(gate.path, v), "first")
    pool.submit(double, 5)
    try:
        with pytest.raises(TimeoutError) as info:
            pool.get_next(timeout=0.5)
        assert type(info.value) is TimeoutError
        assert str(info.value) == "Timed out waiting for result"
        assert pool.has_next()
    finally:
        gate.open()
    assert pool.get_next(timeout=60) == "first"
    assert pool.get_next(timeout=60) == 10
    assert not pool.has_next()


def test_pool_get_next_with_nothing_pending(ray):
    pool = ray.util.ActorPool(workers(ray, 1))
    assert pool.has_next() is False
    with pytest.raises(StopIteration) as info:
        pool.get_next()
    assert str(info.value) == "No more results to get"
    with pytest.raises(StopIteration) as info:
        pool.get_next_unordered()
    assert str(info.value) == "No more results to get"


def test_pool_get_next_ignoring_a_timed_out_task(ray, tmp_path):
    gate = Gate(tmp_path)
    pool = ray.util.ActorPool(workers(ray, 1))
    pool.submit(lambda a, v: a.held.remote(gate.path, v), "ignored")
    pool.submit(double, 2)
    try:
        with pytest.raises(TimeoutError) as info:
            pool.get_next(timeout=0.2, ignore_if_timedout=True)
        assert re.fullmatch(
            r"Timed out waiting for result\. The task ObjectRef\([0-9a-f]{56}\) has been "
            r"ignored\.",
            str(info.value),
        ), str(info.value)
    finally:
        gate.open()
    # The pool moved past the ignored task.
    assert pool.get_next(timeout=60) == 4
    assert not pool.has_next()


def test_pool_get_next_after_get_next_unordered(ray, tmp_path):
    gate = Gate(tmp_path)
    pool = ray.util.ActorPool(workers(ray, 2))
    pool.submit(lambda a, v: a.held.remote(gate.path, v), "slow")
    pool.submit(double, 3)
    try:
        assert pool.get_next_unordered(timeout=60) == 6
        with pytest.raises(ValueError) as info:
            pool.get_next()
        assert str(info.value) == (
            "It is not allowed to call get_next() after get_next_unordered()."
        )
    finally:
        gate.open()
    assert pool.get_next_unordered(timeout=60) == "slow"


def test_pool_submit_queues_when_every_actor_is_busy(ray, tmp_path):
    gate = Gate(tmp_path)
    pool = ray.util.ActorPool(workers(ray, 2))
    assert pool.has_free()
    for value in range(2):
        pool.submit(lambda a, v: a.held.remote(gate.path, v), value)
    assert not pool.has_free()
    assert pool.pop_idle() is None
    pool.submit(double, 10)  # waits for an actor
    assert not pool.has_free()
    gate.open()
    assert [pool.get_next(timeout=60) for _ in range(3)] == [0, 1, 20]
    assert pool.has_free()
    assert not pool.has_next()


def test_pool_pop_idle_and_push(ray):
    first, second = workers(ray, 2)
    pool = ray.util.ActorPool([first, second])
    popped = pool.pop_idle()
    assert popped in (first, second)
    remaining = pool.pop_idle()
    assert {popped, remaining} == {first, second}
    assert pool.pop_idle() is None
    assert not pool.has_free()
    pool.submit(double, 4)  # no actor: waits
    # has_next counts only calls that were made, not submissions still waiting.
    assert pool.has_next() is False
    pool.push(popped)  # the waiting submission goes to it
    assert pool.has_next() is True
    assert pool.get_next(timeout=60) == 8
    assert pool.pop_idle() == popped


def test_pool_push_of_a_member_is_a_value_error(ray, tmp_path):
    first, second = workers(ray, 2)
    pool = ray.util.ActorPool([first, second])
    with pytest.raises(ValueError) as info:
        pool.push(first)
    assert str(info.value) == "Actor already belongs to current ActorPool"
    gate = Gate(tmp_path)
    pool.submit(lambda a, v: a.held.remote(gate.path, v), "busy")
    busy = second if pool.pop_idle() == first else first
    try:
        with pytest.raises(ValueError):
            pool.push(busy)
    finally:
        gate.open()
    assert pool.get_next(timeout=60) == "busy"


def test_pool_map_drops_earlier_submissions(ray):
    pool = ray.util.ActorPool(workers(ray, 2))
    pool.submit(double, 100)
    assert list(pool.map(double, [1, 2])) == [2, 4]


def test_pool_map_raises_the_failing_element(ray):
    pool = ray.util.ActorPool(workers(ray, 1))
    results = pool.map(lambda a, v: a.fail_on.remote(2, v), [1, 2, 3])
    assert next(results) == 1
    with pytest.raises(ValueError) as info:
        next(results)
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert str(info.value).endswith("ValueError: bad value 2")


def test_pool_with_several_returns_per_call(ray):
    pool = ray.util.ActorPool([make_pair_worker(ray).remote()])
    assert list(pool.map(lambda a, v: a.pair.remote(v), [1, 2])) == [[1, -1], [2, -2]]


def test_pool_drops_an_actor_that_died(ray):
    pool = ray.util.ActorPool(workers(ray, 1))
    pool.submit(lambda a, v: a.crash.remote(v), 1)
    with pytest.raises(ray.exceptions.ActorDiedError):
        pool.get_next(timeout=60)
    assert not pool.has_free()
    assert pool.pop_idle() is None


# ----------------------------------------------------------------- Queue


def test_queue_exception_classes(queue_module):
    assert issubclass(queue_module.Empty, std_queue.Empty)
    assert issubclass(queue_module.Full, std_queue.Full)


def test_queue_fifo_and_sizes(ray, queue_module):
    q = queue_module.Queue(maxsize=3)
    assert q.maxsize == 3
    assert (q.empty(), q.full(), q.qsize(), q.size(), len(q)) == (True, False, 0, 0, 0)
    q.put("a")
    q.put_nowait("b")
    q.put("c", block=True, timeout=5)
    assert (q.empty(), q.full(), q.qsize(), q.size(), len(q)) == (False, True, 3, 3, 3)
    assert [q.get(), q.get_nowait(), q.get(timeout=5)] == ["a", "b", "c"]
    assert q.empty()


def test_unbounded_queue(ray, queue_module):
    q = queue_module.Queue()
    assert q.maxsize == 0
    for i in range(50):
        q.put_nowait(i)
    assert not q.full()
    assert q.qsize() == 50


def test_queue_put_on_a_full_queue(ray, queue_module):
    q = queue_module.Queue(maxsize=1)
    q.put(1)
    for call in (lambda: q.put_nowait(2), lambda: q.put(2, block=False)):
        with pytest.raises(queue_module.Full) as info:
            call()
        assert isinstance(info.value, std_queue.Full)
        assert not isinstance(info.value, ray.exceptions.RayTaskError)
        assert str(info.value) == ""
    # A blocking put that times out: the actor's Full, as a task error.
    with pytest.raises(queue_module.Full) as info:
        q.put(2, timeout=0.2)
    assert isinstance(info.value, std_queue.Full)
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert q.qsize() == 1


def test_queue_get_on_an_empty_queue(ray, queue_module):
    q = queue_module.Queue()
    for call in (q.get_nowait, lambda: q.get(block=False)):
        with pytest.raises(queue_module.Empty) as info:
            call()
        assert isinstance(info.value, std_queue.Empty)
        assert not isinstance(info.value, ray.exceptions.RayTaskError)
        assert str(info.value) == ""
    with pytest.raises(queue_module.Empty) as info:
        q.get(timeout=0.2)
    assert isinstance(info.value, std_queue.Empty)
    assert isinstance(info.value, ray.exceptions.RayTaskError)


def test_queue_negative_timeouts(ray, queue_module):
    q = queue_module.Queue()
    with pytest.raises(ValueError) as info:
        q.put(1, timeout=-1)
    assert str(info.value) == "'timeout' must be a non-negative number"
    with pytest.raises(ValueError) as info:
        q.get(timeout=-1)
    assert str(info.value) == "'timeout' must be a non-negative number"
    assert q.empty()


def test_queue_batches(ray, queue_module):
    q = queue_module.Queue(maxsize=3)
    q.put_nowait_batch([1, 2])
    assert q.qsize() == 2
    with pytest.raises(queue_module.Full) as info:
        q.put_nowait_batch([3, 4])
    assert str(info.value).endswith("Cannot add 2 items to queue of size 2 and maxsize 3.")
    assert q.qsize() == 2  # nothing was added
    assert q.get_nowait_batch(0) == []
    with pytest.raises(queue_module.Empty) as info:
        q.get_nowait_batch(3)
    assert str(info.value).endswith("Cannot get 3 items from queue of size 2.")
    assert q.get_nowait_batch(2) == [1, 2]
    assert q.empty()


def test_queue_batch_argument_errors(ray, queue_module):
    q = queue_module.Queue()
    with pytest.raises(TypeError) as info:
        q.put_nowait_batch(5)
    assert str(info.value) == "Argument 'items' must be an Iterable"
    with pytest.raises(TypeError) as info:
        q.get_nowait_batch("1")
    assert str(info.value) == "Argument 'num_items' must be an int"
    with pytest.raises(ValueError) as info:
        q.get_nowait_batch(-1)
    assert str(info.value) == "'num_items' must be nonnegative"


def test_queue_async_put_and_get(ray, queue_module):
    q = queue_module.Queue(maxsize=1)

    async def scenario():
        await q.put_async("x")
        outcomes = []
        try:
            await q.put_async("y", block=False)
        except queue_module.Full as error:
            outcomes.append(("put-nowait", isinstance(error, ray.exceptions.RayTaskError)))
        try:
            await q.put_async("y", timeout=0.1)
        except queue_module.Full as error:
            outcomes.append(("put-timeout", isinstance(error, ray.exceptions.RayTaskError)))
        got = await q.get_async()
        try:
            await q.get_async(block=False)
        except queue_module.Empty as error:
            outcomes.append(("get-nowait", isinstance(error, ray.exceptions.RayTaskError)))
        try:
            await q.get_async(timeout=0.1)
        except queue_module.Empty as error:
            outcomes.append(("get-timeout", isinstance(error, ray.exceptions.RayTaskError)))
        try:
            await q.get_async(timeout=-1)
        except ValueError as error:
            outcomes.append(("negative", str(error)))
        return got, outcomes

    got, outcomes = asyncio.run(scenario())
    assert got == "x"
    assert outcomes == [
        ("put-nowait", False),
        ("put-timeout", True),
        ("get-nowait", False),
        ("get-timeout", True),
        ("negative", "'timeout' must be a non-negative number"),
    ]


def test_queue_blocking_get_waits_for_a_put(ray, queue_module):
    q = queue_module.Queue()

    @ray.remote
    class Consumer:
        def take(self, shared, count):
            return [shared.get(timeout=60) for _ in range(count)]

    taken = Consumer.remote().take.remote(q, 3)
    ready, _ = ray.wait([taken], timeout=0.5)
    assert ready == []
    for item in ("a", "b", "c"):
        q.put(item)
    assert ray.get(taken, timeout=60) == ["a", "b", "c"]


def test_queue_blocking_put_waits_for_room(ray, queue_module):
    q = queue_module.Queue(maxsize=1)
    q.put("first")

    @ray.remote
    def producer(shared):
        shared.put("second", timeout=60)
        return "put"

    produced = producer.remote(q)
    ready, _ = ray.wait([produced], timeout=0.5)
    assert ready == []
    assert q.get(timeout=60) == "first"
    assert ray.get(produced, timeout=60) == "put"
    assert q.get(timeout=60) == "second"


def test_queue_shared_by_tasks_and_actors(ray, queue_module):
    q = queue_module.Queue()

    @ray.remote
    def produce(shared, start, count):
        for i in range(start, start + count):
            shared.put(i)
        return count

    @ray.remote
    class Collector:
        def collect(self, shared, count):
            return sorted(shared.get(timeout=60) for _ in range(count))

    collected = Collector.remote().collect.remote(q, 20)
    assert ray.get([produce.remote(q, 0, 10), produce.remote(q, 10, 10)], timeout=60) == [10, 10]
    assert ray.get(collected, timeout=60) == list(range(20))
    assert q.empty()


def test_queue_actor_options(ray, queue_module):
    q = queue_module.Queue(actor_options={"name": "conformance-queue", "num_cpus": 0})
    q.put(1)
    assert "conformance-queue" in ray.util.list_named_actors()
    assert q.get() == 1
    q.shutdown()
    assert poll(lambda: "conformance-queue" not in ray.util.list_named_actors(), timeout=30)


@pytest.mark.parametrize("force", [False, True])
def test_queue_after_shutdown(ray, queue_module, force):
    q = queue_module.Queue()
    q.put(1)
    assert q.shutdown(force=force) is None
    for name, call in (
        ("put", lambda: q.put(2)),
        ("get", lambda: q.get()),
        ("put_nowait", lambda: q.put_nowait(2)),
        ("qsize", q.qsize),
    ):
        with pytest.raises(AttributeError) as info:
            call()
        assert str(info.value) == f"'NoneType' object has no attribute '{name}'"
    q.shutdown()  # a second shutdown is harmless
