"""Worker process entry point (see ``_runtime._WORKER_BOOTSTRAP`` for how it is started).

The node starts this with its socket and the worker's id in the environment. The worker
connects, then runs what it is handed on its main thread: tasks one at a time, or, once it
hosts an actor, that actor's calls (see ``_actor_host``).
"""

from __future__ import annotations

import _thread
import inspect
import os
import signal
import sys
from typing import Any, Callable, Dict, Optional, Tuple

from fusion_flow import _native, _placement, _runtime, _serialization, _values, ray_alias
from fusion_flow._network import node_ip_address


def _function_name(function: Any) -> str:
    """Ray's name for a function in error reports: ``module.qualname``."""
    module = getattr(function, "__module__", None) or "__main__"
    return f"{module}.{getattr(function, '__qualname__', repr(function))}"


class Executor:
    """Runs what this worker is handed."""

    def __init__(self, runtime: _runtime.Runtime) -> None:
        self.runtime = runtime
        self.native = runtime.native
        self.functions: Dict[bytes, Callable] = {}
        self.retryable_classes: Dict[bytes, tuple] = {}
        self.pid = os.getpid()
        self.ip = node_ip_address()
        self.announced_name: Optional[str] = None
        self.actor: Any = None  # the ActorHost, once this worker hosts an actor
        # The plain task running on the main thread: ray.cancel interrupts only that one.
        self.running_task: Optional[bytes] = None
        signal.signal(signal.SIGINT, self._interrupted)
        self.native.on_cancel(self._cancel_requested)

    def _cancel_requested(self, task_id: bytes) -> None:
        """``ray.cancel`` reached a call in hand (runs on the I/O thread, with the GIL)."""
        if self.actor is not None:
            self.actor.cancel(task_id)
        elif task_id == self.running_task:
            # As Ray does: KeyboardInterrupt at the task's next bytecode (a C call such as
            # time.sleep finishes first). The handler below checks it is still that task.
            _thread.interrupt_main()

    def _interrupted(self, signum: int, frame: Any) -> None:
        task = self.running_task
        if task is not None and self.native.is_cancelled(task):
            raise KeyboardInterrupt

    def serve(self) -> None:
        while True:
            call = self.native.next_task()
            if call is None:
                return
            if call.kind == "actor_call":
                self.actor.submit(call)
            elif call.kind == "actor_creation":
                self.create_actor(call)
            else:
                self.run(call)

    # ------------------------------------------------------------------ plain tasks

    def run(self, call: _native.TaskCall) -> None:
        self.running_task = call.task_id
        try:
            self._run(call)
        finally:
            self.running_task = None

    def _run(self, call: _native.TaskCall) -> None:
        self.announce(call.name)
        function: Any = None
        try:
            function = self.function_for(call)
            context = self.task_context(call, None, function)
            if call.gpu_ids:
                os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in call.gpu_ids)
            token = self.runtime.enter_task(context)
            try:
                args, kwargs = self.arguments(call, function)
                result = function(*args, **kwargs)
                del args, kwargs
                if call.streaming:
                    result = self.stream(call, result)
                returns = [_serialization.dumps(v) for v in self.split(result, call)]
                del result
            finally:
                self.runtime.leave_task(token)
                self.running_task = None  # what is left (sending the result) is not the task's
        except _ArgumentFailed as failed:
            self.native.task_failed(call.task_id, failed.payload, False)
        except SystemExit:
            # As on Ray, a task that exits its process is a worker death (and is retried so).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        except BaseException as error:
            name = _function_name(function) if function is not None else call.name
            self.report_error(call, name, error)
        else:
            self.native.task_done(call.task_id, returns)

    # ------------------------------------------------------------------ actors

    def create_actor(self, call: _native.TaskCall) -> None:
        from fusion_flow._actor_host import ActorHost

        host = ActorHost(self, call)
        self.announce(host.descriptor.short_name)
        if call.gpu_ids:
            os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in call.gpu_ids)
        try:
            cls = self.function_for(call)
            args, kwargs = self.arguments(call, cls)
        except _ArgumentFailed as failed:
            self.native.task_failed(call.task_id, failed.payload, False)
            return
        except BaseException as error:
            self.report_error(call, call.name, error)
            return
        self.actor = host
        host.create(call, cls, args, kwargs)

    # ------------------------------------------------------------------ shared pieces

    def task_context(
        self, call: _native.TaskCall, method: Optional[str], function: Any = None
    ) -> _runtime.TaskContext:
        if method is not None:
            descriptor = self.actor.descriptor if self.actor is not None else None
            module = descriptor.module if descriptor is not None else "__main__"
            owner = descriptor.short_name if descriptor is not None else call.name
            function_name = f"{module}.{owner}.{method}"
        else:
            function_name = _function_name(function)
        actor = self.runtime.current_actor
        if actor is not None:  # an actor's calls use what the actor holds
            assigned, gpu_ids = actor.assigned, actor.gpu_ids
            capture = actor.capture_child_tasks
        else:
            assigned, gpu_ids = call.assigned, list(call.gpu_ids)
            capture = call.capture_child_tasks
        return _runtime.TaskContext(
            task_id=call.task_id_hex(),
            name=call.name,
            function_name=function_name,
            assigned=assigned,
            gpu_ids=gpu_ids,
            attempt=call.attempt,
            binary=call.task_id,
            placement=_placement.from_assigned(assigned, capture),
        )

    def announce(self, name: str) -> None:
        """Tells the node's output reader which task the next lines belong to."""
        if name != self.announced_name:
            for stream in (sys.stdout, sys.stderr):
                stream.write(f"{_native.TASK_NAME_MARKER}{name}\n")
                stream.flush()
            self.announced_name = name

    def function_for(self, call: _native.TaskCall) -> Callable:
        function = self.functions.get(call.function_id)
        if function is None:
            if call.function is None:
                raise RuntimeError(f"the node did not send the definition of {call.name}")
            function = _serialization.loads(call.function)
            self.functions[call.function_id] = function
        return function

    def arguments(self, call: _native.TaskCall, function: Any = None) -> Tuple[tuple, dict]:
        """The call's arguments; a failed ref argument raises ``_ArgumentFailed`` with the
        error this call must report (Ray's "input arguments could not be computed")."""
        failed = next((v for v in call.arg_values if type(v) is _native.ErrorPayload), None)
        if failed is not None:
            raise _ArgumentFailed(self.dependency_error(call, function, failed))
        return _serialization.unpack_args(
            call.args, [_serialization.loads(v) for v in call.arg_values]
        )

    def stream(self, call: _native.TaskCall, generator: Any) -> int:
        """Sends each value the generator yields to the node as it comes; returns how many.
        Under backpressure it waits after each value until enough of them are consumed."""
        count = 0
        for value in generator:
            data, nested = _serialization.dumps(value)
            self.native.stream_item(call.task_id, count, data, nested)
            if call.backpressure:
                self.native.stream_credit(call.task_id, count)
            count += 1
        return count

    async def stream_async(self, call: _native.TaskCall, generator: Any) -> int:
        count = 0
        async for value in generator:
            data, nested = _serialization.dumps(value)
            self.native.stream_item(call.task_id, count, data, nested)
            if call.backpressure:  # waited for off the event loop, which other calls share
                import asyncio

                await asyncio.get_running_loop().run_in_executor(
                    None, self.native.stream_credit, call.task_id, count
                )
            count += 1
        return count

    @staticmethod
    def split(result: Any, call: _native.TaskCall) -> list:
        """One value per return; several returns come from any sequence of that length (as
        in Ray, a value without a length raises TypeError from ``len``)."""
        num_returns = call.num_returns
        if num_returns == 1:
            return [result]
        if num_returns == 0:
            return []
        if inspect.isgenerator(result):
            result = list(result)  # a generator method with a fixed num_returns
        count = len(result)
        if count != num_returns:
            raise ValueError(f"Task returned {count} objects, but num_returns={num_returns}.")
        return [result[index] for index in range(num_returns)]

    def is_retryable(self, call: _native.TaskCall, error: BaseException) -> bool:
        if not call.retry_exceptions or not isinstance(error, Exception):
            return False
        if not call.retry_allowlist:
            return True
        classes = self.retryable_classes.get(call.retry_allowlist)
        if classes is None:
            classes = tuple(_serialization.loads(call.retry_allowlist))
            self.retryable_classes[call.retry_allowlist] = classes
        return isinstance(error, classes)

    def report_error(
        self,
        call: _native.TaskCall,
        function_name: str,
        error: BaseException,
        actor_repr: Optional[str] = None,
        proctitle: Optional[str] = None,
    ) -> bytes:
        """Fails the call with the error raised by user code; returns the payload sent."""
        data = self.capture_error(call, function_name, error, actor_repr, proctitle)
        self.native.task_failed(call.task_id, data, self.is_retryable(call, error))
        return data

    def capture_error(
        self,
        call: _native.TaskCall,
        function_name: str,
        error: BaseException,
        actor_repr: Optional[str] = None,
        proctitle: Optional[str] = None,
    ) -> bytes:
        """The error payload for an exception raised by user code in ``call``."""
        from fusion_flow._task_errors import capture_task_error

        actor = self.runtime.current_actor
        return capture_task_error(
            error,
            function_name,
            pid=self.pid,
            ip=self.ip,
            proctitle=proctitle or f"ray::{call.name}",
            task_id=f"TaskID({call.task_id_hex()})",
            actor_repr=actor_repr,
            actor_id=actor.actor_id if actor is not None else None,
        )

    def dependency_error(
        self, call: _native.TaskCall, function: Any, payload: _native.ErrorPayload
    ) -> bytes:
        from fusion_flow._task_errors import capture_dependency_error, dumps_system_error

        failed = payload.data
        if payload.kind != "task_error":
            failed = dumps_system_error(_values.error_from_payload(payload))
        name = _function_name(function) if function is not None else call.name
        return capture_dependency_error(
            failed, name, pid=self.pid, ip=self.ip, proctitle=f"ray::{call.name}"
        )


class _ArgumentFailed(Exception):
    """An argument of the call was an error: the call fails with this payload."""

    def __init__(self, payload: bytes) -> None:
        super().__init__("an argument could not be computed")
        self.payload = payload


def main() -> None:
    ray_alias.install_if_requested()  # a `fusion-flow run` program's `import ray`
    # As in Ray, user code may import modules from the driver's working directory (which is
    # this worker's too); it goes after the paths the driver had.
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    runtime = _runtime.connect_worker(
        os.environ[_native.ENV_NODE_SOCKET], os.environ[_native.ENV_WORKER_ID]
    )
    Executor(runtime).serve()


if __name__ == "__main__":  # also runnable as python -m fusion_flow._worker
    main()
