"""ActorPool without a runtime: fake actors, and a fake ``ray`` (get/wait) patched in.

Expected messages and orders are the ones Ray 2.60 shows for the same calls.
"""

from __future__ import annotations

import types
from typing import Any, List, Optional

import pytest

from fusion_flow.ray_compat.exceptions import ActorDiedError
from fusion_flow.ray_compat.util import ActorPool
from fusion_flow.ray_compat.util import actor_pool as actor_pool_module


class FakeRef:
    """A result that becomes ready when the test says so (``ready_after`` waits at the latest)."""

    def __init__(self, actor: FakeActor, value: Any, error: Optional[BaseException] = None):
        self.actor = actor
        self.value = value
        self.error = error
        self.ready = False
        self.ready_after: Optional[int] = None  # ready once this many waits have looked at it

    def __repr__(self) -> str:
        return f"FakeRef({self.actor.name}, {self.value!r})"


class FakeActor:
    def __init__(self, name: str):
        self.name = name
        self.calls: List[Any] = []

    def run(self, value: Any) -> FakeRef:
        self.calls.append(value)
        return FakeRef(self, (self.name, value))

    def __repr__(self) -> str:
        return f"FakeActor({self.name})"


class FakeRay:
    """``get`` and ``wait`` over FakeRefs; fails the test instead of blocking forever."""

    def __init__(self) -> None:
        self.waits: List[tuple] = []

    def _is_ready(self, ref: FakeRef) -> bool:
        if not ref.ready and ref.ready_after is not None:
            ref.ready_after -= 1
            ref.ready = ref.ready_after <= 0
        return ref.ready

    def wait(self, refs: list, *, num_returns: int = 1, timeout: Optional[float] = None):
        self.waits.append((list(refs), num_returns, timeout))
        ready = [ref for ref in refs if self._is_ready(ref)][:num_returns]
        if len(ready) < num_returns and timeout is None:
            pytest.fail("ray.wait would block forever")
        return ready, [ref for ref in refs if ref not in ready]

    def get(self, ref: FakeRef) -> Any:
        if not ref.ready:
            pytest.fail(f"ray.get would block on {ref}")
        if ref.error is not None:
            raise ref.error
        return ref.value


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> FakeRay:
    fake = FakeRay()
    monkeypatch.setattr(
        actor_pool_module, "ray", types.SimpleNamespace(get=fake.get, wait=fake.wait)
    )
    return fake


def call(actor: FakeActor, value: Any) -> FakeRef:
    return actor.run(value)


def ready_call(actor: FakeActor, value: Any) -> FakeRef:
    ref = actor.run(value)
    ref.ready = True
    return ref


def refs_of(pool: ActorPool) -> List[FakeRef]:
    """The pool's calls in flight, in submission order."""
    return [ref for _, ref in sorted(pool._results.items())]


def test_nothing_submitted(fake_ray: FakeRay) -> None:
    pool = ActorPool([FakeActor("a")])
    assert not pool.has_next()
    assert pool.has_free()
    for method in (pool.get_next, pool.get_next_unordered):
        with pytest.raises(StopIteration, match=r"^No more results to get$"):
            method()


def test_submit_takes_the_last_idle_actor_and_get_next_keeps_order(fake_ray: FakeRay) -> None:
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a, b])
    pool.submit(call, 1)
    pool.submit(call, 2)
    assert (a.calls, b.calls) == ([2], [1])
    assert pool.has_next() and not pool.has_free()
    first, second = refs_of(pool)
    second.ready = first.ready = True
    assert pool.get_next() == ("b", 1)
    assert pool.get_next() == ("a", 2)
    assert not pool.has_next()
    assert pool.has_free()


def test_submit_queues_when_all_busy_and_runs_when_an_actor_returns(fake_ray: FakeRay) -> None:
    a = FakeActor("a")
    pool = ActorPool([a])
    pool.submit(ready_call, 1)
    pool.submit(ready_call, 2)
    assert a.calls == [1]  # the second call waits for a free actor
    assert not pool.has_free()
    assert pool.get_next() == ("a", 1)
    assert a.calls == [1, 2]
    assert pool.get_next() == ("a", 2)
    assert pool.has_free()


def test_has_next_ignores_queued_calls(fake_ray: FakeRay) -> None:
    pool = ActorPool([])
    pool.submit(call, 1)
    assert not pool.has_next()
    assert not pool.has_free()
    with pytest.raises(StopIteration, match="No more results to get"):
        pool.get_next()


def test_get_next_timeout_keeps_the_call(fake_ray: FakeRay) -> None:
    pool = ActorPool([FakeActor("a")])
    pool.submit(call, 1)
    with pytest.raises(TimeoutError, match=r"^Timed out waiting for result$") as info:
        pool.get_next(timeout=0.1)
    assert type(info.value) is TimeoutError
    assert fake_ray.waits[-1][2] == 0.1
    assert pool.has_next() and not pool.has_free()
    refs_of(pool)[0].ready = True
    assert pool.get_next(timeout=0.1) == ("a", 1)


def test_get_next_without_timeout_does_not_wait(fake_ray: FakeRay) -> None:
    pool = ActorPool([FakeActor("a")])
    pool.submit(ready_call, 1)
    assert pool.get_next() == ("a", 1)
    assert fake_ray.waits == []


def test_get_next_timeout_ignored_drops_the_call_and_frees_its_actor(fake_ray: FakeRay) -> None:
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a, b])
    pool.submit(call, 1)
    pool.submit(ready_call, 2)
    dropped = refs_of(pool)[0]
    with pytest.raises(TimeoutError) as info:
        pool.get_next(timeout=0, ignore_if_timedout=True)
    assert str(info.value) == f"Timed out waiting for result. The task {dropped} has been ignored."
    assert pool.has_free()
    assert pool.pop_idle() is b
    assert pool.get_next() == ("a", 2)
    assert not pool.has_next()


def test_get_next_ignore_if_timedout_returns_ready_results(fake_ray: FakeRay) -> None:
    pool = ActorPool([FakeActor("a")])
    pool.submit(ready_call, 1)
    assert pool.get_next(timeout=0, ignore_if_timedout=True) == ("a", 1)


def test_get_next_unordered_returns_whichever_is_ready(fake_ray: FakeRay) -> None:
    a, b, c = FakeActor("a"), FakeActor("b"), FakeActor("c")
    pool = ActorPool([a, b, c])
    for value in (1, 2, 3):
        pool.submit(call, value)
    first, second, third = refs_of(pool)
    second.ready = True
    assert pool.get_next_unordered() == ("b", 2)
    assert fake_ray.waits[-1] == ([first, second, third], 1, None)
    assert pool.pop_idle() is b
    third.ready = first.ready = True
    assert pool.get_next_unordered(timeout=1) == ("c", 1)
    assert pool.get_next_unordered() == ("a", 3)
    with pytest.raises(StopIteration, match="No more results to get"):
        pool.get_next_unordered()


@pytest.mark.parametrize("ignore", [False, True])
def test_get_next_unordered_timeout(fake_ray: FakeRay, ignore: bool) -> None:
    # Ray 2.60 raises UnboundLocalError when ignore_if_timedout is set; we raise the
    # TimeoutError it means to. Either way nothing is dropped.
    pool = ActorPool([FakeActor("a")])
    pool.submit(call, 1)
    with pytest.raises(TimeoutError, match=r"^Timed out waiting for result$"):
        pool.get_next_unordered(timeout=0.1, ignore_if_timedout=ignore)
    assert fake_ray.waits[-1][1:] == (1, 0.1)
    assert pool.has_next() and not pool.has_free()


def test_get_next_after_get_next_unordered(fake_ray: FakeRay) -> None:
    # Ray 2.60: with three calls (the third queued), get_next_unordered returns the second,
    # get_next then returns the third, and a further get_next is refused although the first
    # is still pending; get_next_unordered can still return it.
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a, b])
    for value in (1, 2, 3):
        pool.submit(call, value)
    first, second = refs_of(pool)
    second.ready = True
    assert pool.get_next_unordered() == ("a", 2)
    third = refs_of(pool)[1]
    third.ready = True
    assert pool.get_next() == ("a", 3)
    assert pool.has_next()
    with pytest.raises(
        ValueError, match=r"^It is not allowed to call get_next\(\) after get_next_unordered\(\)\.$"
    ):
        pool.get_next()
    first.ready = True
    assert pool.get_next_unordered() == ("b", 1)


def test_get_next_continues_after_an_earlier_unordered_result(fake_ray: FakeRay) -> None:
    pool = ActorPool([FakeActor("a"), FakeActor("b"), FakeActor("c")])
    for value in (1, 2, 3):
        pool.submit(call, value)
    first, second, third = refs_of(pool)
    first.ready = third.ready = True
    assert pool.get_next_unordered() == ("c", 1)
    second.ready = True
    assert pool.get_next() == ("b", 2)
    assert pool.get_next() == ("a", 3)


def test_task_error_returns_the_actor_to_the_pool(fake_ray: FakeRay) -> None:
    a = FakeActor("a")
    pool = ActorPool([a])

    def failing(actor: FakeActor, value: Any) -> FakeRef:
        ref = ready_call(actor, value)
        ref.error = ValueError("boom")
        return ref

    pool.submit(failing, 1)
    pool.submit(ready_call, 2)
    with pytest.raises(ValueError, match="boom"):
        pool.get_next()
    assert a.calls == [1, 2]  # the freed actor took the queued call
    assert pool.get_next() == ("a", 2)
    assert pool.pop_idle() is a


@pytest.mark.parametrize("ordered", [True, False])
def test_dead_actor_leaves_the_pool(fake_ray: FakeRay, ordered: bool) -> None:
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a, b])

    def dies(actor: FakeActor, value: Any) -> FakeRef:
        ref = ready_call(actor, value)
        ref.error = ActorDiedError()
        return ref

    pool.submit(dies, 1)  # on b
    pool.submit(call, 2)  # on a
    pool.submit(ready_call, 3)  # queued
    with pytest.raises(ActorDiedError):
        (pool.get_next if ordered else pool.get_next_unordered)()
    assert a.calls == [2] and b.calls == [1]
    assert not pool.has_free()  # b is gone; the queued call still waits for a
    refs_of(pool)[0].ready = True
    assert pool.get_next_unordered() == ("a", 2)
    assert pool.get_next_unordered() == ("a", 3)
    assert pool.pop_idle() is a
    assert pool.pop_idle() is None


def test_dead_actor_hands_the_queued_call_to_another_idle_actor(fake_ray: FakeRay) -> None:
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a])

    def dies(actor: FakeActor, value: Any) -> FakeRef:
        ref = ready_call(actor, value)
        ref.error = ActorDiedError()
        return ref

    pool.submit(dies, 1)
    pool.submit(ready_call, 2)
    pool._idle.append(b)  # an idle actor while a call is queued: only reachable this way
    with pytest.raises(ActorDiedError):
        pool.get_next()
    assert b.calls == [2]


def test_has_free_and_pop_idle(fake_ray: FakeRay) -> None:
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a, b])
    assert pool.has_free()
    assert pool.pop_idle() is b
    pool.submit(ready_call, 1)
    assert not pool.has_free()
    assert pool.pop_idle() is None
    assert pool.get_next() == ("a", 1)
    assert pool.pop_idle() is a
    assert pool.pop_idle() is None
    assert not pool.has_free()


def test_push(fake_ray: FakeRay) -> None:
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a])
    with pytest.raises(ValueError, match=r"^Actor already belongs to current ActorPool$"):
        pool.push(a)  # idle
    pool.submit(call, 1)
    with pytest.raises(ValueError, match=r"^Actor already belongs to current ActorPool$"):
        pool.push(a)  # busy
    pool.submit(ready_call, 2)  # queued
    pool.push(b)
    assert b.calls == [2]  # a pushed actor takes the oldest queued call at once
    with pytest.raises(ValueError, match="Actor already belongs to current ActorPool"):
        pool.push(b)
    pool.push(FakeActor("c"))
    assert pool.pop_idle().name == "c"


def test_push_compares_actors_by_equality(fake_ray: FakeRay) -> None:
    class Handle:
        def __init__(self, actor_id: str):
            self.actor_id = actor_id

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Handle) and other.actor_id == self.actor_id

        __hash__ = None  # type: ignore[assignment]

    pool = ActorPool([Handle("x")])
    with pytest.raises(ValueError, match="Actor already belongs to current ActorPool"):
        pool.push(Handle("x"))


def test_list_of_refs_as_a_result(fake_ray: FakeRay, monkeypatch: pytest.MonkeyPatch) -> None:
    a = FakeActor("a")
    pool = ActorPool([a])

    def two_returns(actor: FakeActor, value: Any) -> List[FakeRef]:
        return [ready_call(actor, value), ready_call(actor, value + 1)]

    get_many = lambda refs: [fake_ray.get(ref) for ref in refs]  # noqa: E731
    monkeypatch.setattr(actor_pool_module.ray, "get", get_many)
    pool.submit(two_returns, 1)
    assert pool.has_next()
    assert pool.get_next() == [("a", 1), ("a", 2)]
    assert pool.pop_idle() is a


def test_map_submits_eagerly_and_yields_in_order(fake_ray: FakeRay) -> None:
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a, b])
    results = pool.map(ready_call, [1, 2, 3])
    assert isinstance(results, types.GeneratorType)
    # As many calls as there are idle actors start now; the rest as results are read.
    assert (a.calls, b.calls) == ([2], [1])
    assert next(results) == ("b", 1)
    assert b.calls == [1, 3]
    assert list(results) == [("a", 2), ("b", 3)]
    assert not pool.has_next()


def test_map_drops_earlier_results(fake_ray: FakeRay) -> None:
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a, b])
    pool.submit(ready_call, "old ready")
    pool.submit(call, "old pending")  # abandoned: not ready at once
    results = pool.map(ready_call, [1])
    assert [wait[2] for wait in fake_ray.waits] == [0, 0]
    assert list(results) == [("a", 1)]


def test_map_propagates_an_error_of_an_earlier_result(fake_ray: FakeRay) -> None:
    pool = ActorPool([FakeActor("a")])

    def failing(actor: FakeActor, value: Any) -> FakeRef:
        ref = ready_call(actor, value)
        ref.error = RuntimeError("earlier")
        return ref

    pool.submit(failing, 1)
    with pytest.raises(RuntimeError, match="earlier"):
        pool.map(ready_call, [1])


def test_map_unordered_waits_for_earlier_results_then_yields_as_completed(
    fake_ray: FakeRay,
) -> None:
    a, b = FakeActor("a"), FakeActor("b")
    pool = ActorPool([a, b])
    pool.submit(call, "old")
    refs_of(pool)[0].ready_after = 3  # polled with timeout=0 until it finishes
    results = pool.map_unordered(call, [1, 2])
    assert [wait[2] for wait in fake_ray.waits] == [0, 0, 0]
    assert isinstance(results, types.GeneratorType)
    first, second = refs_of(pool)
    second.ready = True
    assert next(results) == ("a", 2)
    first.ready = True
    assert list(results) == [("b", 1)]


def test_map_with_no_values(fake_ray: FakeRay) -> None:
    pool = ActorPool([FakeActor("a")])
    assert list(pool.map(call, [])) == []
    assert list(pool.map_unordered(call, [])) == []
