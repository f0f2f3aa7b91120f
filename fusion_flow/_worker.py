"""Worker process entry point (see ``_runtime._WORKER_BOOTSTRAP`` for how it is started).

The node starts this with its socket and the worker's id in the environment. The worker
connects, then runs the tasks it is handed on its main thread, one at a time.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, Optional

from fusion_flow import _native, _runtime, _serialization, _values
from fusion_flow._network import node_ip_address


def _function_name(function: Any) -> str:
    """Ray's name for a function in error reports: ``module.qualname``."""
    module = getattr(function, "__module__", None) or "__main__"
    return f"{module}.{getattr(function, '__qualname__', repr(function))}"


def _split_returns(result: Any, num_returns: int) -> list:
    """One value per return; several returns come from any sequence of that length (as in
    Ray, a value without a length raises TypeError from ``len``)."""
    if num_returns == 1:
        return [result]
    if num_returns == 0:
        return []
    count = len(result)
    if count != num_returns:
        raise ValueError(f"Task returned {count} objects, but num_returns={num_returns}.")
    return [result[index] for index in range(num_returns)]


class Executor:
    """Runs the tasks this worker is handed."""

    def __init__(self, runtime: _runtime.Runtime) -> None:
        self.runtime = runtime
        self.native = runtime.native
        self.functions: Dict[bytes, Callable] = {}
        self.retryable_classes: Dict[bytes, tuple] = {}
        self.pid = os.getpid()
        self.ip = node_ip_address()
        self.announced_name: Optional[str] = None

    def serve(self) -> None:
        while True:
            call = self.native.next_task()
            if call is None:
                return
            self.run(call)

    def run(self, call: _native.TaskCall) -> None:
        self.announce(call.name)
        function: Any = None
        try:
            function = self.function_for(call)
            self.runtime.current_task = _runtime.TaskContext(
                task_id=call.task_id_hex(),
                name=call.name,
                function_name=_function_name(function),
                assigned=call.assigned,
                gpu_ids=list(call.gpu_ids),
                attempt=call.attempt,
            )
            if call.gpu_ids:
                os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in call.gpu_ids)
            failed_arg = next((v for v in call.arg_values if type(v) is _native.ErrorPayload), None)
            if failed_arg is not None:
                self.report_failed_argument(call, function, failed_arg)
                return
            args, kwargs = _serialization.unpack_args(
                call.args, [_serialization.loads(v) for v in call.arg_values]
            )
            result = function(*args, **kwargs)
            del args, kwargs
            returns = [_serialization.dumps(v) for v in _split_returns(result, call.num_returns)]
            del result
        except SystemExit:
            # As on Ray, a task that exits its process is a worker death (and is retried so).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        except BaseException as error:
            self.report_error(call, function, error)
        else:
            self.native.task_done(call.task_id, returns)
        finally:
            self.runtime.current_task = None

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

    def report_error(self, call: _native.TaskCall, function: Any, error: BaseException) -> None:
        from fusion_flow._task_errors import capture_task_error

        name = _function_name(function) if function is not None else call.name
        data = capture_task_error(
            error,
            name,
            pid=self.pid,
            ip=self.ip,
            proctitle=f"ray::{call.name}",
            task_id=call.task_id_hex(),
        )
        self.native.task_failed(call.task_id, data, self.is_retryable(call, error))

    def report_failed_argument(
        self, call: _native.TaskCall, function: Any, payload: _native.ErrorPayload
    ) -> None:
        from fusion_flow._task_errors import capture_dependency_error, dumps_system_error

        failed = payload.data
        if payload.kind != "task_error":
            failed = dumps_system_error(_values.error_from_payload(payload))
        data = capture_dependency_error(
            failed,
            _function_name(function),
            pid=self.pid,
            ip=self.ip,
            proctitle=f"ray::{call.name}",
        )
        self.native.task_failed(call.task_id, data, False)


def main() -> None:
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
