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
class ActorNameTakenError(ValueError): ...
class PendingCallsLimitError(RuntimeError): ...
class StoreFullError(RuntimeError): ...

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

class Segment:
    """A shared-memory segment holding one large serialized value."""

    def __init__(self, size: int) -> None: ...
    def fileno(self) -> int: ...
    def fill(self, offsets: List[int], buffers: List[Any]) -> None: ...
    @property
    def size(self) -> int: ...

class NestedRefs:
    """Ids of the ObjectRefs pickled inside one value."""

    def __len__(self) -> int: ...

class ErrorPayload:
    """A stored error: kind is task_error, worker_crashed, object_lost, task_cancelled,
    system_error, actor_died, actor_unavailable or pending_calls_limit_exceeded; data holds
    the serialized exception for task_error (and a constructor's error for actor_died)."""

    kind: str
    message: str
    data: bytes

def begin_capture() -> None: ...
def end_capture() -> NestedRefs: ...
def die_with_parent(parent: int) -> None: ...
def pooled_bytes() -> int: ...

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
        streaming: bool = False,
        backpressure: int = 0,
        placement_group: Optional[bytes] = None,
        capture_child_tasks: bool = False,
    ) -> None: ...
    streaming: bool

class PlacementGroupTable:
    """The node's placement groups (driver only). A group's info is (id, name, namespace,
    bundles, strategy, state, detached); state is PENDING, CREATED or REMOVED."""

    def create(
        self,
        *,
        bundles: List[Dict[str, float]],
        strategy: str,
        name: Optional[str],
        namespace: str,
        detached: bool,
    ) -> bytes: ...
    def remove(self, group: bytes) -> None: ...
    def info(self, group: bytes) -> Optional[Tuple[Any, ...]]: ...
    def all(self) -> List[Tuple[Any, ...]]: ...
    def named(self, name: str, namespace: str) -> Optional[bytes]: ...

class TaskCall:
    task_id: bytes
    function_id: bytes
    function: Optional[bytes]
    name: str
    args: Union[bytes, Segment]
    arg_values: List[Union[bytes, Segment, ErrorPayload]]
    num_returns: int
    assigned: Dict[str, float]
    gpu_ids: List[int]
    retry_exceptions: bool
    retry_allowlist: bytes
    attempt: int
    kind: str
    actor_id: Optional[bytes]
    method: Optional[str]
    concurrency_group: Optional[str]
    actor_descriptor: Optional[bytes]
    actor_name: Optional[str]
    streaming: bool
    backpressure: int
    capture_child_tasks: bool
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
    socket_path: str

    @staticmethod
    def start_driver(
        *,
        resources: Dict[str, float],
        namespace: str,
        worker_program: Union[str, PathLike[str]],
        worker_args: Sequence[str],
        fork_server_args: Optional[Sequence[str]],
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
    @staticmethod
    def attach_driver(socket: Union[str, PathLike[str]], hooks: _Hooks) -> Session: ...
    def register_function(self, function_id: bytes, function: bytes) -> None: ...
    def submit(
        self,
        template: TaskTemplate,
        args: Union[bytes, Segment],
        nested: Optional[NestedRefs],
        arg_refs: List[ObjectRef],
        actor_id: Optional[bytes] = None,
        method: Optional[str] = None,
        concurrency_group: Optional[str] = None,
        confirm: bool = False,
        parent: Optional[bytes] = None,
    ) -> List[ObjectRef]: ...
    def create_actor(
        self,
        template: TaskTemplate,
        args: Union[bytes, Segment],
        nested: Optional[NestedRefs],
        arg_refs: List[ObjectRef],
        *,
        class_name: str,
        running: Dict[str, float],
        placement: Dict[str, float],
        max_restarts: int,
        namespace: str,
        name: Optional[str],
        detached: bool,
        max_pending_calls: int,
        descriptor: bytes,
        get_if_exists: bool,
    ) -> Tuple[bytes, ObjectRef, Optional[bytes]]: ...
    def get_named_actor(
        self, name: str, namespace: str
    ) -> Optional[Tuple[bytes, ObjectRef, bytes]]: ...
    def list_named_actors(self, namespace: Optional[str]) -> List[Tuple[str, str]]: ...
    def kill_actor(self, actor_id: bytes, no_restart: bool) -> None: ...
    def cancel(self, object: ObjectRef, force: bool, recursive: bool) -> None: ...
    def is_cancelled(self, task_id: bytes) -> bool: ...
    def on_cancel(self, callback: Callable[[bytes], None]) -> None: ...
    def actor_exiting(self, actor_id: bytes, task_id: Optional[bytes] = None) -> None: ...
    def flush_refs(self) -> None: ...
    def stream_next(
        self, generator: ObjectRef, index: int, timeout: Optional[float]
    ) -> Optional[ObjectRef]: ...
    def stream_item(
        self,
        task_id: bytes,
        index: int,
        data: Union[bytes, Segment],
        nested: Optional[NestedRefs],
    ) -> None: ...
    def put(self, data: Union[bytes, Segment], nested: Optional[NestedRefs]) -> ObjectRef: ...
    def get(
        self, refs: List[ObjectRef], timeout: Optional[float]
    ) -> Union[List[Union[bytes, Segment]], ErrorPayload, None]: ...
    def wait_split(
        self, refs: List[ObjectRef], num_returns: int, timeout: Optional[float]
    ) -> Union[Tuple[List[ObjectRef], List[ObjectRef]], int]:
        """(ready, others) in input order; or -1-i (item i is no ObjectRef), 1 (a ref
        repeats), 2 (num_returns out of range)."""
    def resources(self) -> Tuple[Dict[str, float], Dict[str, float]]: ...
    def ref_from_binary(self, binary: bytes) -> ObjectRef: ...
    def next_events(self, timeout: float) -> List[tuple]: ...
    def placement_groups(self) -> PlacementGroupTable: ...
    def worker_pids(self) -> List[int]: ...
    def fork_server_pid(self) -> Optional[int]: ...
    def store_usage(self) -> Optional[Tuple[int, int, int]]: ...
    def object_count(self) -> int: ...
    def shutdown(self, grace_s: float = 0.0) -> None: ...
    def next_task(self) -> Optional[TaskCall]: ...
    def stream_credit(self, task_id: bytes, index: int) -> None: ...
    def task_done(
        self,
        task_id: bytes,
        returns: List[Tuple[Union[bytes, Segment], Optional[NestedRefs]]],
    ) -> None: ...
    def task_failed(self, task_id: bytes, error: bytes, retryable: bool) -> None: ...
