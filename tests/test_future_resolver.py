"""``await ref`` and ``ref.future()`` share one resolver thread per session: many pending
futures cost no more threads, each gets its own value or error, and abandoned ones are let go."""

import asyncio
import threading
import time

import pytest

import fusion_flow.ray_compat as ray
from fusion_flow import _runtime


@pytest.fixture(scope="module", autouse=True)
def session():
    ray.init(num_cpus=2)
    yield
    ray.shutdown()


@ray.remote
def slow_identity(value, seconds):
    time.sleep(seconds)
    return value


@ray.remote
def fail(message):
    raise ValueError(message)


def _resolver_threads():
    return [t for t in threading.enumerate() if t.name == "fusion-flow-futures"]


def test_many_pending_futures_use_one_thread():
    before = threading.active_count()
    refs = [slow_identity.remote(i, 0.01 if i % 2 else 0) for i in range(500)]
    futures = [ref.future() for ref in refs]
    assert threading.active_count() <= before + 1
    assert [future.result(timeout=60) for future in futures] == list(range(500))
    assert len(_resolver_threads()) == 1


def test_gather_mixes_values_and_errors_per_ref():
    async def main():
        refs = [slow_identity.remote("a", 0.05), fail.remote("b failed"), ray.put("c")]
        return await asyncio.gather(*refs, return_exceptions=True)

    first, second, third = asyncio.run(main())
    assert (first, third) == ("a", "c")
    assert isinstance(second, ray.exceptions.RayTaskError) and isinstance(second, ValueError)
    assert "b failed" in str(second)


def test_the_same_ref_awaited_twice_resolves_both():
    ref = slow_identity.remote("shared", 0.1)
    futures = [ref.future(), ref.future()]
    assert [future.result(timeout=60) for future in futures] == ["shared", "shared"]


def test_an_abandoned_await_is_forgotten():
    signal = slow_identity.remote("late", 3.0)

    async def give_up():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(signal, 0.05)

    asyncio.run(give_up())
    resolver = _runtime.current().futures
    deadline = time.monotonic() + 5
    while resolver._pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert resolver._pending == {}
    assert ray.get(signal) == "late"  # the ref itself is unharmed


def test_an_async_actor_awaiting_many_refs_uses_one_resolver_thread():
    @ray.remote
    class Awaiter:
        async def total(self, refs):
            values = await asyncio.gather(*refs)
            names = [t.name for t in threading.enumerate()]
            return sum(values), names.count("fusion-flow-futures"), len(names)

    refs = [slow_identity.remote(i, 0.01) for i in range(300)]
    total, resolvers, threads = ray.get(Awaiter.remote().total.remote(refs), timeout=120)
    assert total == sum(range(300))
    assert resolvers == 1
    assert threads < 20
