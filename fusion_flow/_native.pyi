"""Typed stub of ``fusion_flow._native`` (native/ff-python); keep in step with it."""

from __future__ import annotations

import asyncio
import concurrent.futures
from os import PathLike
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

TASK_NAME_MARKER: str
ENV_NODE_SOCKET: str
ENV_WORKER_ID: str
FUNCTION_ID_SIZE: int

class RuntimeShutDownError(RuntimeError): ...
class NodeGoneError(RuntimeError): ...
class StartupError(RuntimeError): ...
class ProtocolError(RuntimeError): ...

class ObjectRef:
    """A reference to an object in the store; tracked when a session made it."""

    def __init__(self, binary: bytes) -> None: ...
    def hex(self) -> str: ...
    def binary(self) -> bytes: ...
    def task_id_hex(self) -> str: ...
    def is_nil(self) -> bool: ...
    def future(self) -> concurrent.futures.Future[Any]: ...
    def __await__(self) -> Any: ...
    def __hash__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __reduce__(self) -> Tuple[Callable[[bytes], ObjectRef], Tuple[bytes]]: ...

class NestedRefs:
    """Ids of the ObjectRefs pickled inside one value."""

    def __len__(self) -> int: ...

class ErrorPayload:
    """A stored error: kind is task_error, worker_crashed, object_lost, task_cancelled or
    system_error; data holds the serialized exception for task_error."""

    kind: str
    message: str
    data: bytes

def begin_capture() -> None: ...
def end_capture() -> NestedRefs: ...

class TaskTemplate:
    num_returns: int
    def __init__(
        self,
        *,
        function_id: bytes,
        name: str,
        num_returns: int,
        resources: Dict[str, float],
        max_retries: int,
        retry_exceptions: bool,
        retry_allowlist: bytes,
        max_calls: int,
        env_vars: Dict[str, str],
    ) -> None: ...

class TaskCall:
    task_id: bytes
    function_id: bytes
    function: Optional[bytes]
    name: str
    args: bytes
    arg_values: List[Union[bytes, ErrorPayload]]
    num_returns: int
    assigned: Dict[str, float]
    gpu_ids: List[int]
    retry_exceptions: bool
    retry_allowlist: bytes
    attempt: int
    def task_id_hex(self) -> str: ...

_Hooks = Tuple[
    Callable[[bytes], ObjectRef],
    Callable[[ObjectRef], concurrent.futures.Future[Any]],
    Callable[[ObjectRef], asyncio.Future[Any]],
]

class Session:
    is_driver: bool
    node_id: str
    job_id: str
    namespace: str
    session_dir: str
    worker_id: Optional[str]
    is_shut_down: bool

    @staticmethod
    def start_driver(
        *,
        resources: Dict[str, float],
        namespace: str,
        worker_program: Union[str, PathLike[str]],
        worker_args: Sequence[str],
        worker_env: Sequence[Tuple[str, str]],
        worker_cwd: Union[str, PathLike[str]],
        log_to_driver: bool,
        prestart_workers: int,
        session_root: Union[str, PathLike[str]],
        hooks: _Hooks,
    ) -> Session: ...
    @staticmethod
    def connect_worker(
        socket: Union[str, PathLike[str]], worker_id: str, hooks: _Hooks
    ) -> Session: ...
    def register_function(self, function_id: bytes, function: bytes) -> None: ...
    def submit(
        self,
        template: TaskTemplate,
        args: bytes,
        nested: Optional[NestedRefs],
        arg_refs: List[ObjectRef],
    ) -> List[ObjectRef]: ...
    def put(self, data: bytes, nested: Optional[NestedRefs]) -> ObjectRef: ...
    def get(
        self, refs: List[ObjectRef], timeout: Optional[float]
    ) -> Union[List[bytes], ErrorPayload, None]: ...
    def wait_split(
        self, refs: List[ObjectRef], num_returns: int, timeout: Optional[float]
    ) -> Union[Tuple[List[ObjectRef], List[ObjectRef]], int]:
        """(ready, others) in input order; or -1-i (item i is no ObjectRef), 1 (a ref
        repeats), 2 (num_returns out of range)."""
    def resources(self) -> Tuple[Dict[str, float], Dict[str, float]]: ...
    def ref_from_binary(self, binary: bytes) -> ObjectRef: ...
    def next_events(self, timeout: float) -> List[tuple]: ...
    def worker_pids(self) -> List[int]: ...
    def object_count(self) -> int: ...
    def shutdown(self) -> None: ...
    def next_task(self) -> Optional[TaskCall]: ...
    def task_done(
        self, task_id: bytes, returns: List[Tuple[bytes, Optional[NestedRefs]]]
    ) -> None: ...
    def task_failed(self, task_id: bytes, error: bytes, retryable: bool) -> None: ...
