"""ray.util.queue without a runtime: the real queue actor class runs on an event loop thread
behind a fake ``ray`` (remote/get/wait/kill) patched in.

Expected messages are the ones Ray 2.60 shows for the same calls. Against the real runtime an
error raised inside the actor arrives as RayTaskError(Full) / RayTaskError(Empty), an instance
of Full / Empty; here it arrives as the Full / Empty itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import pickle
import queue as std_queue
import threading
import time
import types
from typing import Any, Dict, Iterator, List, Optional

import pytest

from fusion_flow.ray_compat.util import queue as queue_module
from fusion_flow.ray_compat.util.queue import Empty, Full, Queue


class FakeRef:
    def __init__(self, future: concurrent.futures.Future) -> None:
        self.future = future

    def __await__(self) -> Any:
        return asyncio.wrap_future(self.future).__await__()


class FakeHandle:
    """An actor handle: each ``.method.remote(...)`` runs the coroutine on the actor's loop."""

    def __init__(self, runtime: FakeRay, instance: Any) -> None:
        self._runtime = runtime
        self._instance = instance
        self.terminate_ref: Optional[FakeRef] = None  # what __ray_terminate__ returns

    def __getattr__(self, name: str) -> Any:
        def remote(*args: Any) -> FakeRef:
            self._runtime.calls.append(name)
            if name == "__ray_terminate__":
                assert self.terminate_ref is not None
                return self.terminate_ref
            coroutine = getattr(self._instance, name)(*args)
            return FakeRef(asyncio.run_coroutine_threadsafe(coroutine, self._runtime.loop))

        return types.SimpleNamespace(remote=remote)


class FakeRay:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: List[str] = []
        self.options: List[Dict[str, Any]] = []
        self.kills: List[tuple] = []
        self.waits: List[Optional[float]] = []

    def remote(self, cls: type) -> Any:
        def options(**opts: Any) -> Any:
            self.options.append(opts)
            return types.SimpleNamespace(remote=lambda *args: FakeHandle(self, cls(*args)))

        return types.SimpleNamespace(options=options)

    def get(self, ref: FakeRef, *, timeout: Optional[float] = None) -> Any:
        return ref.future.result(timeout=10 if timeout is None else timeout)

    def wait(self, refs: List[FakeRef], *, timeout: Optional[float] = None) -> tuple:
        self.waits.append(timeout)
        done, _ = concurrent.futures.wait([ref.future for ref in refs], timeout=timeout)
        ready = [ref for ref in refs if ref.future in done]
        return ready, [ref for ref in refs if ref not in ready]

    def kill(self, actor: Any, *, no_restart: bool = True) -> None:
        self.kills.append((actor, no_restart))


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRay]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeRay(loop)
    monkeypatch.setattr(queue_module, "ray", fake)
    yield fake
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_exceptions_extend_the_standard_library() -> None:
    assert issubclass(Empty, std_queue.Empty) and issubclass(Full, std_queue.Full)
    assert Empty.__module__ == Full.__module__ == "fusion_flow.ray_compat.util.queue"
    for error in (Empty("x"), Full("y")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and copy.args == error.args


def test_put_get_fifo_and_size(fake_ray: FakeRay) -> None:
    q = Queue(maxsize=2)
    assert fake_ray.options == [{}]
    assert (q.maxsize, len(q), q.size(), q.qsize()) == (2, 0, 0, 0)
    assert (q.empty(), q.full()) == (True, False)
    q.put("a")
    q.put_nowait("b")
    assert (len(q), q.empty(), q.full()) == (2, False, True)
    assert q.get() == "a"
    assert q.get_nowait() == "b"
    assert q.empty()


def test_actor_options_go_to_the_actor(fake_ray: FakeRay) -> None:
    Queue(actor_options={"num_cpus": 1, "name": "q"})
    assert fake_ray.options == [{"num_cpus": 1, "name": "q"}]


@pytest.mark.parametrize("maxsize", [0, -1])
def test_unbounded(fake_ray: FakeRay, maxsize: int) -> None:
    q = Queue(maxsize=maxsize)
    q.put_nowait_batch(range(100))
    assert not q.full()
    q.put_nowait(100)
    assert q.get_nowait_batch(101) == list(range(101))


def test_negative_timeout_is_refused_before_the_actor_is_called(fake_ray: FakeRay) -> None:
    q = Queue()
    message = r"^'timeout' must be a non-negative number$"
    with pytest.raises(ValueError, match=message):
        q.put(1, timeout=-1)
    with pytest.raises(ValueError, match=message):
        q.get(timeout=-0.5)
    with pytest.raises(ValueError, match=message):
        asyncio.run(q.put_async(1, timeout=-1))
    with pytest.raises(ValueError, match=message):
        asyncio.run(q.get_async(timeout=-1))
    assert fake_ray.calls == []


def test_non_blocking_calls_ignore_the_timeout(fake_ray: FakeRay) -> None:
    q = Queue(maxsize=1)
    q.put(1, block=False, timeout=-1)
    with pytest.raises(Full):
        q.put(2, block=False, timeout=-1)
    assert q.get(block=False, timeout=-1) == 1
    with pytest.raises(Empty):
        q.get(block=False, timeout=-1)


def test_nowait_errors_are_plain_and_empty(fake_ray: FakeRay) -> None:
    q = Queue(maxsize=1)
    with pytest.raises(Empty) as empty:
        q.get_nowait()
    assert type(empty.value) is Empty and str(empty.value) == ""
    q.put_nowait(1)
    with pytest.raises(Full) as full:
        q.put_nowait(2)
    assert type(full.value) is Full and str(full.value) == ""
    assert q.get_nowait() == 1


def test_blocking_calls_time_out(fake_ray: FakeRay) -> None:
    q = Queue(maxsize=1)
    with pytest.raises(Empty):
        q.get(timeout=0.05)
    q.put(1)
    with pytest.raises(Full):
        q.put(2, timeout=0.05)
    assert q.get_nowait_batch(1) == [1]  # the timed-out put left nothing behind


def test_zero_timeout_fails_even_when_it_could_succeed(fake_ray: FakeRay) -> None:
    # asyncio.wait_for with timeout 0 cancels before the put/get runs; Ray 2.60 behaves so.
    q = Queue()
    with pytest.raises(Full):
        q.put(1, timeout=0)
    q.put(1)
    with pytest.raises(Empty):
        q.get(timeout=0)
    assert q.get(timeout=1) == 1


def test_blocked_get_and_put_are_woken_from_another_thread(fake_ray: FakeRay) -> None:
    q = Queue(maxsize=1)
    got: List[Any] = []
    getter = threading.Thread(target=lambda: got.append(q.get(timeout=5)))
    getter.start()
    time.sleep(0.05)
    q.put("x")
    getter.join(5)
    assert got == ["x"]

    q.put(1)
    putter = threading.Thread(target=lambda: q.put(2, timeout=5))
    putter.start()
    time.sleep(0.05)
    assert q.get() == 1
    putter.join(5)
    assert q.get_nowait() == 2


def test_async_calls(fake_ray: FakeRay) -> None:
    q = Queue(maxsize=1)

    async def main() -> List[Any]:
        await q.put_async(1)
        with pytest.raises(Full) as full:
            await q.put_async(2, block=False)
        assert type(full.value) is Full
        with pytest.raises(Full):
            await q.put_async(2, timeout=0.05)
        first = await q.get_async()
        with pytest.raises(Empty) as empty:
            await q.get_async(block=False)
        assert type(empty.value) is Empty
        with pytest.raises(Empty):
            await q.get_async(timeout=0.05)
        await q.put_async(3, block=False)
        return [first, await q.get_async(block=False)]

    assert asyncio.run(main()) == [1, 3]


def test_put_nowait_batch(fake_ray: FakeRay) -> None:
    q = Queue(maxsize=2)
    with pytest.raises(Full, match=r"^Cannot add 3 items to queue of size 0 and maxsize 2\.$"):
        q.put_nowait_batch([1, 2, 3])
    q.put(1)
    with pytest.raises(Full, match=r"^Cannot add 2 items to queue of size 1 and maxsize 2\.$"):
        q.put_nowait_batch([2, 3])
    assert q.qsize() == 1  # all or nothing
    q.put_nowait_batch((2,))
    assert q.get_nowait_batch(2) == [1, 2]
    q.put_nowait_batch("ab")  # any sized iterable, passed as it is
    assert q.get_nowait_batch(2) == ["a", "b"]
    q.put_nowait_batch([])


def test_put_nowait_batch_needs_an_iterable(fake_ray: FakeRay) -> None:
    q = Queue()
    with pytest.raises(TypeError, match=r"^Argument 'items' must be an Iterable$"):
        q.put_nowait_batch(5)
    assert fake_ray.calls == []


def test_get_nowait_batch(fake_ray: FakeRay) -> None:
    q = Queue()
    q.put_nowait_batch([1, 2])
    with pytest.raises(Empty, match=r"^Cannot get 5 items from queue of size 2\.$"):
        q.get_nowait_batch(5)
    assert q.get_nowait_batch(0) == []
    assert q.get_nowait_batch(True) == [1]  # a bool is an int
    assert q.get_nowait_batch(1) == [2]


@pytest.mark.parametrize(
    ("num_items", "error", "message"),
    [
        (1.0, TypeError, r"^Argument 'num_items' must be an int$"),
        ("1", TypeError, r"^Argument 'num_items' must be an int$"),
        (-1, ValueError, r"^'num_items' must be nonnegative$"),
    ],
)
def test_get_nowait_batch_argument_checks(
    fake_ray: FakeRay, num_items: Any, error: type, message: str
) -> None:
    q = Queue()
    with pytest.raises(error, match=message):
        q.get_nowait_batch(num_items)
    assert fake_ray.calls == []


def test_graceful_shutdown(fake_ray: FakeRay) -> None:
    q = Queue()
    handle = q.actor
    handle.terminate_ref = FakeRef(concurrent.futures.Future())
    handle.terminate_ref.future.set_result(None)
    q.shutdown(grace_period_s=3)
    assert fake_ray.calls[-1] == "__ray_terminate__"
    assert fake_ray.waits == [3]
    assert fake_ray.kills == []
    assert q.actor is None
    q.shutdown()  # a second call does nothing
    assert fake_ray.calls.count("__ray_terminate__") == 1


def test_shutdown_kills_an_actor_that_does_not_exit_in_time(fake_ray: FakeRay) -> None:
    q = Queue()
    handle = q.actor
    handle.terminate_ref = FakeRef(concurrent.futures.Future())  # never completes
    q.shutdown(grace_period_s=0.01)
    assert fake_ray.kills == [(handle, True)]
    assert q.actor is None


def test_forced_shutdown(fake_ray: FakeRay) -> None:
    q = Queue()
    handle = q.actor
    q.shutdown(force=True)
    assert fake_ray.kills == [(handle, True)]
    assert "__ray_terminate__" not in fake_ray.calls
    assert q.actor is None


@pytest.mark.parametrize(
    ("call", "method"),
    [
        (lambda q: q.put(1), "put"),
        (lambda q: q.put_nowait(1), "put_nowait"),
        (lambda q: q.get(), "get"),
        (lambda q: q.get_nowait(), "get_nowait"),
        (lambda q: q.size(), "qsize"),
        (lambda q: len(q), "qsize"),
        (lambda q: q.empty(), "empty"),
        (lambda q: q.full(), "full"),
        (lambda q: q.put_nowait_batch([1]), "put_nowait_batch"),
        (lambda q: q.get_nowait_batch(1), "get_nowait_batch"),
        (lambda q: asyncio.run(q.put_async(1)), "put"),
        (lambda q: asyncio.run(q.get_async(block=False)), "get_nowait"),
    ],
)
def test_calls_after_shutdown_fail_as_in_ray(fake_ray: FakeRay, call: Any, method: str) -> None:
    q = Queue()
    q.shutdown(force=True)
    with pytest.raises(AttributeError, match=f"^'NoneType' object has no attribute '{method}'$"):
        call(q)


def test_argument_checks_come_before_the_shutdown_error(fake_ray: FakeRay) -> None:
    q = Queue()
    q.shutdown(force=True)
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    with pytest.raises(TypeError):
        q.get_nowait_batch(None)


def test_queue_pickles_with_its_handle(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.SimpleNamespace(
        remote=lambda cls: types.SimpleNamespace(
            options=lambda **_: types.SimpleNamespace(remote=lambda maxsize: ("handle", maxsize))
        )
    )
    monkeypatch.setattr(queue_module, "ray", fake)
    q = Queue(maxsize=3)
    copy = pickle.loads(pickle.dumps(q))
    assert type(copy) is Queue
    assert vars(copy) == {"maxsize": 3, "actor": ("handle", 3)}


def test_actor_class_pickles_by_reference() -> None:
    # Workers import the class from this module instead of receiving its code.
    assert pickle.loads(pickle.dumps(queue_module._QueueActor)) is queue_module._QueueActor
