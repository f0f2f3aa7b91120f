"""asyncio over refs: awaiting refs in the driver and inside async actors, asyncio.wait and
wait_for over refs and their futures, errors raised where the ref is awaited, and a blocking
get inside an async method."""

import asyncio
import time

import pytest
from conformance_helpers import Gate, wait_for_path

INIT_KWARGS = dict(num_cpus=2)


def identity(value):
    return value


def after(seconds, value):
    time.sleep(seconds)
    return value


def fails(message):
    raise ValueError(message)


def held(gate_path, value):
    wait_for_path(gate_path, timeout=60)
    return value


def test_asyncio_wait_returns_the_first_completed_ref_future(ray, tmp_path):
    gate = Gate(tmp_path)
    slow = ray.remote(held).remote(gate.path, "slow")
    fast = ray.remote(identity).remote("fast")

    async def main():
        futures = {
            asyncio.wrap_future(slow.future()): "slow",
            asyncio.wrap_future(fast.future()): "fast",
        }
        done, pending = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED, timeout=60)
        first = [(futures[f], f.result()) for f in done]
        gate.open()
        rest = await asyncio.gather(*pending)
        return first, rest

    assert asyncio.run(main()) == ([("fast", "fast")], ["slow"])


def test_asyncio_wait_over_tasks_that_await_refs(ray):
    refs = [ray.remote(after).remote(0.01 * i, i) for i in range(4)]

    async def value_of(ref):
        return await ref

    async def main():
        tasks = [asyncio.ensure_future(value_of(ref)) for ref in refs]
        done, pending = await asyncio.wait(tasks, timeout=60)
        return sorted(task.result() for task in done), pending

    values, pending = asyncio.run(main())
    assert values == [0, 1, 2, 3]
    assert pending == set()


def test_wait_for_a_slow_ref_times_out_and_the_ref_stays_usable(ray, tmp_path):
    gate = Gate(tmp_path)
    ref = ray.remote(held).remote(gate.path, "eventually")

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ref, timeout=0.2)
        gate.open()
        return await asyncio.wait_for(ref, timeout=60)

    assert asyncio.run(main()) == "eventually"


def test_an_async_method_awaits_another_actors_call(ray):
    @ray.remote
    class Source:
        def value(self, x):
            return x * 10

    @ray.remote
    class Relay:
        def __init__(self, source):
            self.source = source

        async def relay(self, x):
            return await self.source.value.remote(x) + 1

        async def relay_many(self, xs):
            return await asyncio.gather(*[self.source.value.remote(x) for x in xs])

    relay = Relay.remote(Source.remote())
    assert ray.get(relay.relay.remote(4), timeout=60) == 41
    assert ray.get(relay.relay_many.remote([1, 2, 3]), timeout=60) == [10, 20, 30]


def test_an_async_method_awaiting_a_ref_lets_other_calls_run(ray, tmp_path):
    gate = Gate(tmp_path)

    @ray.remote
    class Waiter:
        async def wait_on(self, refs):
            return await refs[0]

        async def ping(self):
            return "pong"

    waiter = Waiter.remote()
    blocked = waiter.wait_on.remote([ray.remote(held).remote(gate.path, "released")])
    try:
        assert ray.get(waiter.ping.remote(), timeout=60) == "pong"
        ready, _ = ray.wait([blocked], timeout=0.2)
        assert ready == []
    finally:
        gate.open()
    assert ray.get(blocked, timeout=60) == "released"


def test_an_awaited_failure_is_raised_inside_the_async_method(ray):
    @ray.remote
    class Catcher:
        async def catch(self, refs):
            try:
                await refs[0]
            except ray.exceptions.RayTaskError as error:
                return type(error).__name__, isinstance(error, ValueError), "deep" in str(error)
            return None

        async def propagate(self, refs):
            return await refs[0]

    catcher = Catcher.remote()
    failing = ray.remote(fails).remote("deep failure")
    name, is_value_error, mentions = ray.get(catcher.catch.remote([failing]), timeout=60)
    assert is_value_error and mentions
    assert "ValueError" in name
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(catcher.propagate.remote([failing]), timeout=60)
    assert isinstance(info.value, ValueError)
    assert "deep failure" in str(info.value)


def test_an_async_method_gathers_task_refs_with_a_timeout(ray):
    @ray.remote
    class Collector:
        async def collect(self, refs, timeout):
            try:
                return await asyncio.wait_for(asyncio.gather(*refs), timeout)
            except asyncio.TimeoutError:
                return "timed out"

    collector = Collector.remote()
    quick = [ray.remote(identity).remote(i) for i in range(5)]
    assert ray.get(collector.collect.remote(quick, 60), timeout=60) == [0, 1, 2, 3, 4]
    slow = [ray.remote(after).remote(5, "late")]
    assert ray.get(collector.collect.remote(slow, 0.2), timeout=60) == "timed out"


def test_a_threaded_actor_resolves_ref_futures(ray):
    @ray.remote(max_concurrency=2)
    class Threaded:
        def via_future(self, refs):
            return refs[0].future().result(timeout=60)

    actor = Threaded.remote()
    assert ray.get(actor.via_future.remote([ray.remote(identity).remote("f")]), timeout=60) == "f"
