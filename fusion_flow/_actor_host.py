"""Hosting one actor in a worker process.

The worker's main thread keeps taking calls from the node. A plain actor runs each call right
there, in order. An actor with ``max_concurrency`` > 1 or concurrency groups runs calls on a
thread pool per group. An actor with ``async def`` methods runs them as coroutines on an event
loop of its own thread, each group limited by a semaphore.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import pickle
import queue
import sys
import threading
from typing import Any, Callable, Dict, List, Optional

from fusion_flow import _native, _runtime, _serialization
from fusion_flow._task_errors import describe_creation_failure, dumps_system_error
from fusion_flow._worker import _ArgumentFailed
from fusion_flow.ray_compat.exceptions import TaskCancelledError

DEFAULT_GROUP = ""


class ActorExit(Exception):
    """Raised inside the host once the actor must stop (its caller sees the death)."""


class ActorHost:
    """One actor, its instance, and how its calls run."""

    def __init__(self, executor: Any, call: _native.TaskCall) -> None:
        self.executor = executor
        self.runtime: _runtime.Runtime = executor.runtime
        self.native = executor.native
        self.descriptor = pickle.loads(call.actor_descriptor)
        self.actor_id: bytes = call.actor_id
        self.instance: Any = None
        self.exiting = False
        self._running = 0
        self._idle = threading.Condition()
        self._pools: Dict[str, _CallPool] = {}
        # Async actors: one event loop (and thread) per concurrency group, as in Ray.
        self._loops: Dict[str, _LoopFeed] = {}

    # ------------------------------------------------------------------ creation

    def create(self, call: _native.TaskCall, cls: type, args: tuple, kwargs: dict) -> None:
        """Runs the constructor; reports success or the constructor's error to the node."""
        descriptor = self.descriptor
        self.runtime.current_actor = _runtime.ActorContext(
            actor_id=self.actor_id.hex(),
            name=call.actor_name,
            namespace=descriptor.namespace,
            restarts=call.attempt,
            is_async=descriptor.is_async,
            class_name=descriptor.class_name,
            descriptor=descriptor,
            assigned=dict(call.assigned),
            gpu_ids=list(call.gpu_ids),
            capture_child_tasks=call.capture_child_tasks,
        )
        token = self.runtime.enter_task(self.executor.task_context(call, "__init__"))
        # Made in two steps, as in Ray, so that a failing __init__ still has an instance to
        # show in the error.
        instance = cls.__new__(cls)
        try:
            instance.__init__(*args, **kwargs)
        except BaseException as error:  # the constructor's error goes to every caller
            name = f"{descriptor.module}.{descriptor.class_name}.__init__"
            title = f"ray::{descriptor.short_name}.__init__"
            payload = self.executor.capture_error(
                call, name, error, actor_repr=_safe_repr(instance), proctitle=title
            )
            # As in Ray, the actor's own output says why it died, before any caller learns it.
            print(describe_creation_failure(payload), file=sys.stderr, flush=True)
            self.native.task_failed(call.task_id, payload, self.executor.is_retryable(call, error))
            return
        finally:
            self.runtime.leave_task(token)
        self.instance = instance
        self._start_executors()
        if type(self.instance).__repr__ is not object.__repr__:
            # As in Ray, output of an actor with its own repr is prefixed with that repr.
            self.executor.announce(_safe_repr(self.instance) or descriptor.short_name)
        self.native.task_done(call.task_id, [])

    def _start_executors(self) -> None:
        descriptor = self.descriptor
        groups = dict(descriptor.concurrency_groups)
        if descriptor.is_async:
            sizes = {DEFAULT_GROUP: descriptor.max_concurrency, **groups}
            for group, size in sizes.items():
                loop = asyncio.new_event_loop()
                name = f"actor-loop-{group or 'default'}"
                threading.Thread(target=loop.run_forever, name=name, daemon=True).start()
                semaphore = asyncio.run_coroutine_threadsafe(_make_semaphore(size), loop).result()
                self._loops[group] = _LoopFeed(loop, lambda c, s=semaphore: self._run_async(c, s))
        elif descriptor.max_concurrency > 1 or groups:
            sizes = {DEFAULT_GROUP: descriptor.max_concurrency, **groups}
            for group, size in sizes.items():
                self._pools[group] = _CallPool(size, f"actor-{group or 'default'}", self._run)

    # ------------------------------------------------------------------ calls

    def submit(self, call: _native.TaskCall) -> None:
        """Starts a call; a plain actor runs it before this returns."""
        if self.exiting:
            return  # the node fails what is left when the process ends
        group = call.concurrency_group or self._method_group(call.method) or DEFAULT_GROUP
        with self._idle:
            self._running += 1
        if self._loops:
            (self._loops.get(group) or self._loops[DEFAULT_GROUP]).submit(call)
        elif self._pools:
            pool = self._pools.get(group) or self._pools[DEFAULT_GROUP]
            pool.submit(call)
        else:
            self._run(call)

    # ------------------------------------------------------------------ cancellation

    def cancel(self, task_id: bytes) -> None:
        """``ray.cancel`` reached a call (on the I/O thread). A running async call's coroutine
        is cancelled in its loop; any other call sees the flag when it starts (and never
        runs) or when it ends (and reports the cancellation instead of its result), as in
        Ray, where a running sync call is not interrupted."""
        for feed in self._loops.values():
            feed.cancel(task_id)

    def _cancelled_before_start(self, call: _native.TaskCall) -> bool:
        """Fails a call that was cancelled before it ran; True if it was."""
        if not self.native.is_cancelled(call.task_id):
            return False
        message = (
            f"The task {call.task_id_hex()} is canceled from an actor "
            f"{self.actor_id.hex()} before it executes."
        )
        self._send_cancelled(call, TaskCancelledError(error_message=message))
        return True

    def _send_cancelled(self, call: _native.TaskCall, error: BaseException) -> None:
        self.native.task_failed(call.task_id, dumps_system_error(error), False)

    def _method_group(self, name: str) -> Optional[str]:
        info = self.descriptor.methods.get(name)
        return info.concurrency_group if info is not None else None

    def _run(self, call: _native.TaskCall) -> None:
        try:
            if call.method == "__ray_terminate__":
                self._terminate(call)
                return
            if self._cancelled_before_start(call):
                return
            method = getattr(self.instance, call.method)
            if call.streaming:
                self._execute(call, lambda a, k: self.executor.stream(call, method(*a, **k)))
            else:
                self._execute(call, lambda args, kwargs: method(*args, **kwargs))
        finally:
            self._finished()

    async def _run_async(self, call: _native.TaskCall, semaphore: asyncio.Semaphore) -> None:
        try:
            if call.method == "__ray_terminate__":
                self._terminate(call)
                return
            if self._cancelled_before_start(call):
                return
            async with semaphore:
                if self._cancelled_before_start(call):
                    return
                method = getattr(self.instance, call.method)
                result_box: list = []
                token = self.runtime.enter_task(self.executor.task_context(call, call.method))
                try:
                    args, kwargs = self.executor.arguments(call)
                    result = method(*args, **kwargs)
                    # (asyncio.iscoroutine also says yes to plain generators before 3.12.)
                    if call.streaming and inspect.isasyncgen(result):
                        result = await self.executor.stream_async(call, result)
                    elif call.streaming:
                        result = self.executor.stream(call, result)
                    elif inspect.iscoroutine(result):
                        result = await result
                    result_box.append(result)
                except BaseException as error:
                    if self.native.is_cancelled(call.task_id):
                        self._report_async_cancel(call, error)
                    else:
                        self._report_failure(call, error)
                    return
                finally:
                    self.runtime.leave_task(token)
                if self.native.is_cancelled(call.task_id):
                    self._report_async_cancel(call, None)
                    return
                self._report_result(call, result_box[0])
        finally:
            self._finished()

    def _execute(self, call: _native.TaskCall, invoke: Callable[[tuple, dict], Any]) -> None:
        token = self.runtime.enter_task(self.executor.task_context(call, call.method))
        try:
            args, kwargs = self.executor.arguments(call)
            result = invoke(args, kwargs)
        except BaseException as error:
            self._report_failure(call, error)
            return
        finally:
            self.runtime.leave_task(token)
        self._report_result(call, result)

    def _report_async_cancel(self, call: _native.TaskCall, error: Optional[BaseException]) -> None:
        """A cancelled async call fails with TaskCancelledError raised from what its coroutine
        ended with, whether it let CancelledError through or not (as on Ray)."""
        try:
            raise TaskCancelledError(call.task_id_hex()) from error
        except TaskCancelledError as cancelled:
            name = f"{self.descriptor.module}.{self.descriptor.class_name}.{call.method}"
            self.executor.report_error(call, name, cancelled, actor_repr=_safe_repr(self.instance))

    def _report_result(self, call: _native.TaskCall, result: Any) -> None:
        if self.native.is_cancelled(call.task_id):
            # Cancelled while it ran: it finished, but its caller sees the cancellation.
            self._send_cancelled(call, _cancelled_while_running(call))
            return
        try:
            returns = [_serialization.dumps(v) for v in self.executor.split(result, call)]
        except BaseException as error:
            self._report_failure(call, error)
            return
        self.native.task_done(call.task_id, returns)

    def _report_failure(self, call: _native.TaskCall, error: BaseException) -> None:
        if isinstance(error, (SystemExit, ActorExit)) or type(error).__name__ == "AsyncioActorExit":
            self._exit(call)
            return
        if isinstance(error, _ArgumentFailed):
            self.native.task_failed(call.task_id, error.payload, False)
            return
        if self.native.is_cancelled(call.task_id):
            self._send_cancelled(call, _cancelled_while_running(call))
            return
        name = f"{self.descriptor.module}.{self.descriptor.class_name}.{call.method}"
        self.executor.report_error(call, name, error, actor_repr=_safe_repr(self.instance))

    def _terminate(self, call: _native.TaskCall) -> None:
        """``__ray_terminate__``: the calls before it have run; the actor ends now (its caller,
        like exit_actor's, sees the actor's death)."""
        self._exit(call)

    def _exit(self, call: _native.TaskCall) -> None:
        """Ends the actor on purpose, asked by `call`: the node fails that call with the
        actor's death at once and will not restart the actor. Calls still running on other
        threads finish first."""
        if self.exiting:
            return
        self.exiting = True
        self.native.actor_exiting(self.actor_id, call.task_id)
        threading.Thread(target=self._exit_when_idle, name="actor-exit", daemon=True).start()

    def _exit_when_idle(self) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._running == 0, timeout=30.0)
        self.native.flush_refs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    def _finished(self) -> None:
        with self._idle:
            self._running -= 1
            if self.exiting:  # only _exit_when_idle waits
                self._idle.notify_all()


class _CallPool:
    """Runs calls on up to ``size`` threads, started as calls arrive. A call's result goes to
    the node, not back to whoever submitted it, so unlike ThreadPoolExecutor there is no
    future per call."""

    def __init__(self, size: int, name: str, run: Callable[[_native.TaskCall], None]) -> None:
        self._size = size
        self._name = name
        self._run = run
        self._calls: queue.SimpleQueue[_native.TaskCall] = queue.SimpleQueue()
        self._idle_threads = threading.Semaphore(0)  # released by each thread that waits
        self._threads = 0

    def submit(self, call: _native.TaskCall) -> None:
        self._calls.put(call)
        if not self._idle_threads.acquire(blocking=False) and self._threads < self._size:
            self._threads += 1  # submit runs on the worker's main thread only
            name = f"{self._name}_{self._threads - 1}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _serve(self) -> None:
        while True:
            self._run(self._calls.get())
            self._idle_threads.release()


class _LoopFeed:
    """Hands calls to an event loop running on another thread: one wake-up of the loop per
    burst of calls (not a future and a self-pipe write per call), each call a task there."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, start: Callable[[_native.TaskCall], Any]
    ) -> None:
        self._loop = loop
        self._start = start
        self._calls: List[_native.TaskCall] = []
        self._lock = threading.Lock()
        # Running calls by task id (the loop keeps only weak refs to its tasks).
        self._running: Dict[bytes, asyncio.Task[Any]] = {}

    def submit(self, call: _native.TaskCall) -> None:
        with self._lock:
            self._calls.append(call)
            wake = len(self._calls) == 1
        if wake:
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for call in calls:
            task = self._loop.create_task(self._start(call))
            self._running[call.task_id] = task
            task.add_done_callback(lambda _, key=call.task_id: self._running.pop(key, None))

    def cancel(self, task_id: bytes) -> None:
        """Cancels the call's coroutine, if it runs on this loop (any thread may call this)."""
        self._loop.call_soon_threadsafe(self._cancel, task_id)

    def _cancel(self, task_id: bytes) -> None:
        task = self._running.get(task_id)
        if task is not None:
            task.cancel()


async def _make_semaphore(size: int) -> asyncio.Semaphore:
    return asyncio.Semaphore(size)


def _safe_repr(instance: Any) -> Optional[str]:
    try:
        return repr(instance)
    except Exception:
        return None


def _cancelled_while_running(call: _native.TaskCall) -> BaseException:
    """What a sync or threaded call that ``ray.cancel`` reached while it ran reports (Ray's
    wording, without the trailing space its task_id form adds)."""
    return TaskCancelledError(error_message=f"Task: {call.task_id_hex()} was cancelled.")
