"""Ray 2.60's public exception hierarchy (``ray.exceptions``).

Class names, base classes, constructor signatures and ``str()`` texts follow Ray 2.60.
Every class here pickles and unpickles without re-running ``__init__``, so errors the
runtime builds with keyword arguments still cross processes.
"""

from __future__ import annotations

import builtins
import enum
import functools
import logging
import os
import pickle
import socket
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Optional

import cloudpickle

logger = logging.getLogger(__name__)

# ``ExceptionGroup`` exists from Python 3.11 on.
_ExceptionGroup: Optional[type] = getattr(builtins, "ExceptionGroup", None)

# Version tag of the error payload written by ``RayError.to_bytes``.
_PAYLOAD_TAG = "fusion-flow/error/1"


class ErrorType(enum.IntEnum):
    """Ray's error type codes (``common.proto``); used by ObjectReconstructionFailedError."""

    WORKER_DIED = 0
    ACTOR_DIED = 1
    TASK_EXECUTION_EXCEPTION = 3
    OBJECT_IN_PLASMA = 4
    TASK_CANCELLED = 5
    ACTOR_CREATION_FAILED = 6
    RUNTIME_ENV_SETUP_FAILED = 7
    OBJECT_LOST = 8
    OWNER_DIED = 9
    OBJECT_DELETED = 10
    DEPENDENCY_RESOLUTION_FAILED = 11
    OBJECT_UNRECONSTRUCTABLE_MAX_ATTEMPTS_EXCEEDED = 12
    OBJECT_UNRECONSTRUCTABLE_LINEAGE_EVICTED = 13
    OBJECT_FETCH_TIMED_OUT = 14
    LOCAL_RAYLET_DIED = 15
    TASK_PLACEMENT_GROUP_REMOVED = 16
    ACTOR_PLACEMENT_GROUP_REMOVED = 17
    TASK_UNSCHEDULABLE_ERROR = 18
    ACTOR_UNSCHEDULABLE_ERROR = 19
    OUT_OF_DISK_ERROR = 20
    OBJECT_FREED = 21
    OUT_OF_MEMORY = 22
    NODE_DIED = 23
    END_OF_STREAMING_GENERATOR = 24
    ACTOR_UNAVAILABLE = 25
    GENERATOR_TASK_FAILED_FOR_OBJECT_RECONSTRUCTION = 26
    OBJECT_UNRECONSTRUCTABLE_PUT = 27
    OBJECT_UNRECONSTRUCTABLE_RETRIES_DISABLED = 28
    OBJECT_UNRECONSTRUCTABLE_BORROWED = 29
    OBJECT_UNRECONSTRUCTABLE_REF_NOT_FOUND = 30
    OBJECT_UNRECONSTRUCTABLE_TASK_CANCELLED = 31
    OBJECT_UNRECONSTRUCTABLE_LINEAGE_DISABLED = 32
    WORKER_STARTUP_FAILED = 33
    STREAMING_GENERATOR_REPLAY_INCONSISTENT = 34


def _rebuild(cls: type, args: tuple, state: dict) -> BaseException:
    obj = cls.__new__(cls, *args)
    obj.__dict__.update(state)
    return obj


class RayError(Exception):
    """Super class of all ray exception types."""

    def __reduce__(self):
        # Our own classes are rebuilt from args and state without calling __init__ (their
        # signatures differ from their args). User subclasses keep Python's default, so
        # they fail to unpickle exactly where they would on Ray.
        if type(self).__module__ != __name__:
            return super().__reduce__()
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))

    def to_bytes(self) -> bytes:
        """Serialize as an error payload: the pickled exception plus its formatted text,
        which is what the reader sees if unpickling fails."""
        formatted = "\n".join(traceback.format_exception(type(self), self, self.__traceback__))
        blob = cloudpickle.dumps(self, protocol=5)
        return pickle.dumps((_PAYLOAD_TAG, formatted, blob), protocol=5)

    @staticmethod
    def from_bytes(b: bytes) -> BaseException:
        """Inverse of ``to_bytes``; an exception that fails to unpickle becomes an
        ``UnserializableException`` holding the original text, as in Ray."""
        tag, formatted, blob = pickle.loads(b)
        if tag != _PAYLOAD_TAG:
            raise ValueError(f"not a fusion-flow error payload: {tag!r}")
        try:
            return pickle.loads(blob)
        except Exception:
            return UnserializableException(formatted)


class CrossLanguageError(RayError):
    """Raised from another language."""

    def __init__(self, ray_exception):
        super().__init__(
            f"An exception raised from {ray_exception.language}:\n"
            f"{ray_exception.formatted_exception_string}"
        )


class TaskCancelledError(RayError):
    """Raised when this task is cancelled."""

    def __init__(self, task_id: Any = None, error_message: Optional[str] = None):
        self.task_id = task_id
        self.error_message = error_message

    def __str__(self):
        msg = ""
        if self.task_id:
            msg = "Task: " + str(self.task_id) + " was cancelled. "
        if self.error_message:
            msg += self.error_message
        return msg


# Traceback frames of fusion-flow's own modules: hidden from a RayTaskError's str(),
# as Ray hides frames of ray/_private and _raylet.pyx.
_HIDDEN_FRAME_MARKERS = ("/fusion_flow/_", "/fusion_flow/ray_compat/")
# The frame through which a failed task argument is re-raised (see _task_errors.py).
_DEPENDENCY_FRAME_SUFFIX = ", in raise_if_dependency_failed"
_DEPENDENCY_NOTE = "  At least one of the input arguments for this task could not be computed:"
_CYAN = "\x1b[36m"
_RESET_COLOR = "\x1b[39m"


@functools.cache
def _node_ip_address() -> str:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("8.8.8.8", 80))  # no packet is sent for UDP connect
            return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def _current_proctitle() -> str:
    return " ".join(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])


def _frame_prefix(line: str) -> Optional[str]:
    """The text before 'File "' if ``line`` is a traceback frame header, else None.
    Frames inside exception groups are prefixed with '|' columns."""
    body = line.lstrip(" |")
    if body.startswith('File "') and body != line:
        return line[: len(line) - len(body)]
    return None


def _picklable_cause(cause: BaseException, traceback_str: Any) -> BaseException:
    """Ray's fallback for a cause that cannot be pickled: a RayError describing it."""
    try:
        cloudpickle.dumps(cause, protocol=5)
    except (pickle.PicklingError, TypeError) as e:
        err_type = f"{type(cause).__module__}.{type(cause).__name__}"
        logger.exception(f"The original cause of the RayTaskError ({err_type}) isn't serializable.")
        return RayError(
            f"Exception {err_type} isn't serializable: {e}.\n"
            f"Original exception details:\n{traceback_str}"
        )
    return cause


class RayTaskError(RayError):
    """Indicates that a task threw an exception during execution."""

    def __init__(
        self,
        function_name,
        traceback_str,
        cause,
        proctitle=None,
        pid=None,
        ip=None,
        actor_repr=None,
        actor_id=None,
    ):
        self.proctitle = proctitle or _current_proctitle()
        self.pid = pid or os.getpid()
        self.ip = ip or _node_ip_address()
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.actor_repr = actor_repr
        self._actor_id = actor_id
        self.cause = _picklable_cause(cause, traceback_str)
        # Ray keeps the arguments as given (None stays None) in args.
        self.args = (function_name, traceback_str, self.cause, proctitle, pid, ip)
        if traceback_str is None:
            raise AssertionError

    def _header(self) -> str:
        line = f"{_CYAN}{self.proctitle}(){_RESET_COLOR} (pid={self.pid}, ip={self.ip}"
        if self.actor_repr:
            return line + f", actor_id={self._actor_id}, repr={self.actor_repr})"
        return line + ")"

    def __str__(self):
        """The remote traceback with each 'Traceback' line replaced by the task's
        header and fusion-flow's own frames removed."""
        out = []
        hidden_prefix = None  # indentation of the hidden frame whose lines we skip
        for line in self.traceback_str.strip().split("\n"):
            if line.startswith("Traceback "):
                hidden_prefix = None
                out.append(self._header())
                continue
            prefix = _frame_prefix(line)
            if prefix is not None and any(m in line for m in _HIDDEN_FRAME_MARKERS):
                hidden_prefix = prefix
                if line.endswith(_DEPENDENCY_FRAME_SUFFIX):
                    out.append(_DEPENDENCY_NOTE)
                continue
            in_hidden = hidden_prefix is not None and prefix is None
            if in_hidden and line.startswith(hidden_prefix + "  "):
                continue  # source or caret line of a hidden frame
            hidden_prefix = None
            out.append(line)
        return "\n".join(out)

    def make_dual_exception_instance(self) -> RayTaskError:
        """An instance of both RayTaskError and the cause's class; raises TypeError
        (or whatever the cause's class raises) if that class cannot be combined."""
        return _dual_instance(self.cause, str(self))

    def as_instanceof_cause(self) -> RayTaskError:
        """The exception ``get`` raises: an instance of both RayTaskError and the
        cause's class, or ``self`` (with a warning) if the two cannot be combined."""
        if issubclass(RayTaskError, type(self.cause)):
            return self
        try:
            return self.make_dual_exception_instance()
        except TypeError as e:
            logger.warning(
                f"User exception type {type(self.cause)} in RayTaskError can't"
                " be subclassed! This exception is raised as"
                " RayTaskError only. You can use `ray_task_error.cause` to"
                f" access the user exception. Failure in subclassing: {e}"
            )
            return self
        except Exception as e:
            logger.warning(
                "Failed to combine RayTaskError with user exception type "
                f"{type(self.cause)}; raising RayTaskError only. This can "
                "happen when the user exception overrides attributes like "
                "`args` or otherwise blocks subclass construction. "
                f"Failure in subclassing: {e}"
            )
            return self


_DUAL_CLASSES: dict = {}


def _dual_class(cause_cls: type) -> type:
    """``RayTaskError(<cause class>)``, made once per cause class."""
    cls = _DUAL_CLASSES.get(cause_cls)
    if cls is not None:
        return cls
    is_group = _ExceptionGroup is not None and issubclass(cause_cls, _ExceptionGroup)

    class cls(RayTaskError, cause_cls):
        if is_group:

            def __new__(cls, cause):
                return super().__new__(cls, cause.message, cause.exceptions)

        def __init__(self, cause):
            self.cause = cause
            # Kept apart from BaseException.args: the cause class may make it read-only.
            self._ray_task_error_args = (cause,)

        @property
        def args(self):
            return self._ray_task_error_args

        @args.setter
        def args(self, value):
            self._ray_task_error_args = value

        def __reduce__(self):
            return (_dual_instance, (self.cause, self._ray_task_error_str))

        def __getattr__(self, name):
            if name in ("cause", "_ray_task_error_str", "_ray_task_error_args"):
                raise AttributeError(name)
            return getattr(self.cause, name)

        def __str__(self):
            return self._ray_task_error_str

    name = f"RayTaskError({cause_cls.__name__})"
    cls.__name__ = name
    cls.__qualname__ = name
    _DUAL_CLASSES[cause_cls] = cls
    return cls


def _dual_instance(cause: BaseException, message: str) -> RayTaskError:
    # Constructed from the cause alone: BaseException.__repr__ shows the C-level args.
    instance = _dual_class(type(cause))(cause)
    instance._ray_task_error_str = message
    return instance


class LocalRayletDiedError(RayError):
    """Indicates that the task's local raylet died."""

    def __str__(self):
        return "The task's local raylet died. Check raylet.out for more information."


class WorkerCrashedError(RayError):
    """Indicates that the worker died unexpectedly while executing a task."""

    def __str__(self):
        return (
            "The worker died unexpectedly while executing this task. "
            "Check python-core-worker-*.log files for more information."
        )


class RayActorError(RayError):
    """Indicates that the actor has outages unexpectedly before finishing a task."""

    BASE_ERROR_MSG = "The actor experienced an error before finishing this task."

    def __init__(
        self,
        actor_id: Optional[str] = None,
        error_msg: str = BASE_ERROR_MSG,
        actor_init_failed: bool = False,
        preempted: bool = False,
    ):
        self.actor_id = actor_id
        self.error_msg = error_msg
        self._actor_init_failed = actor_init_failed
        self._preempted = preempted

    def __str__(self) -> str:
        return self.error_msg

    @property
    def preempted(self) -> bool:
        return self._preempted

    @property
    def actor_init_failed(self) -> bool:
        return self._actor_init_failed


@dataclass
class ActorDiedErrorContext:
    """Why an actor died, when not from its ``__init__`` (Ray's proto message)."""

    class_name: str = ""
    actor_id: Any = b""  # bytes or hex string
    error_message: str = ""
    pid: int = 0
    name: str = ""
    ray_namespace: str = ""
    node_ip_address: str = ""
    never_started: bool = False
    preempted: bool = False


def _hex(actor_id: Any) -> str:
    return actor_id.hex() if isinstance(actor_id, (bytes, bytearray)) else str(actor_id)


class ActorDiedError(RayActorError):
    """Indicates that the actor died unexpectedly before finishing a task."""

    BASE_ERROR_MSG = "The actor died unexpectedly before finishing this task."

    def __init__(self, cause: Any = None):
        actor_id = None
        error_msg = ActorDiedError.BASE_ERROR_MSG
        actor_init_failed = False
        preempted = False
        if not cause:
            pass
        elif isinstance(cause, RayTaskError):
            actor_init_failed = True
            actor_id = cause._actor_id
            error_msg = (
                f"The actor died because of an error raised in its creation task, {cause.__str__()}"
            )
        else:
            lines = [ActorDiedError.BASE_ERROR_MSG]
            lines.append(f"\tclass_name: {cause.class_name}")
            lines.append(f"\tactor_id: {_hex(cause.actor_id)}")
            if cause.pid != 0:
                lines.append(f"\tpid: {cause.pid}")
            if cause.name != "":
                lines.append(f"\tname: {cause.name}")
            if cause.ray_namespace != "":
                lines.append(f"\tnamespace: {cause.ray_namespace}")
            if cause.node_ip_address != "":
                lines.append(f"\tip: {cause.node_ip_address}")
            lines.append(cause.error_message)
            if cause.never_started:
                lines.append("The actor never ran - it was cancelled before it started running.")
            preempted = cause.preempted
            error_msg = "\n".join(lines)
            actor_id = _hex(cause.actor_id)
        super().__init__(actor_id, error_msg, actor_init_failed, preempted)

    @staticmethod
    def from_task_error(task_error: RayTaskError) -> ActorDiedError:
        return ActorDiedError(task_error)


class ActorUnavailableError(RayActorError):
    """Raised when the actor is temporarily unavailable but may be available later."""

    def __init__(self, error_message: str, actor_id: Optional[bytes]):
        actor_id = _hex(actor_id) if actor_id is not None else None
        error_msg = (
            f"The actor {actor_id} is unavailable: {error_message}. The task may or "
            "may not have been executed on the actor."
        )
        super().__init__(actor_id, error_msg, False, False)


class RaySystemError(RayError):
    """Indicates that Ray encountered a system error."""

    def __init__(self, client_exc, traceback_str=None):
        self.client_exc = client_exc
        self.traceback_str = traceback_str

    def __str__(self):
        error_msg = f"System error: {self.client_exc}"
        if self.traceback_str:
            error_msg += f"\ntraceback: {self.traceback_str}"
        return error_msg


class AuthenticationError(RayError):
    """Indicates that an authentication error occurred."""

    def __init__(self, message: str):
        self.message = message
        self.__suppress_context__ = True
        super().__init__(message)

    def __str__(self) -> str:
        mode = os.environ.get("RAY_AUTH_MODE", "disabled").lower()
        note = ""
        if mode != "token":
            note = f" Note: RAY_AUTH_MODE is currently '{mode}' (not 'token')."
        return (
            self.message
            + "."
            + note
            + " Ensure that the token for the cluster is available in a local file (e.g., "
            "~/.ray/auth_token or via RAY_AUTH_TOKEN_PATH) or as the `RAY_AUTH_TOKEN` "
            "environment variable. To generate a token for local development, use "
            "`ray get-auth-token --generate` For remote clusters, ensure that the token is "
            "propagated to all nodes of the cluster when token authentication is enabled. "
            "For more information, see: https://docs.ray.io/en/latest/ray-security/token-auth.html"
        )


class UserCodeException(RayError):
    """Indicates that an exception occurred while executing user code."""


class ObjectStoreFullError(RayError):
    """Indicates that the object store is full."""

    def __str__(self):
        return super().__str__() + (
            "\n"
            "The local object store is full of objects that are still in "
            "scope and cannot be evicted. Tip: Use the `ray memory` command "
            "to list active objects in the cluster."
        )


class OutOfDiskError(RayError):
    """Indicates that the local disk is full."""

    def __str__(self):
        return super().__str__() + (
            "\n"
            "The object cannot be created because the local object store"
            " is full and the local disk's utilization is over capacity"
            " (95% by default)."
            "Tip: Use `df` on this node to check disk usage and "
            "`ray memory` to check object store memory usage."
        )


class OutOfMemoryError(RayError):
    """Indicates that the node is running out of memory and is close to full."""

    def __init__(self, message):
        self.message = message

    def __str__(self):
        return self.message


class NodeDiedError(RayError):
    """Indicates that the node is either dead or unreachable."""

    def __init__(self, message):
        self.message = message

    def __str__(self):
        return self.message


_LOGS = "`/tmp/ray/session_latest/logs`"


class ObjectLostError(RayError):
    """Indicates that the object is lost from distributed memory."""

    def __init__(self, object_ref_hex: str, owner_address: Any, call_site: str):
        self.object_ref_hex = object_ref_hex
        self.owner_address = owner_address
        self.call_site = call_site.replace(" | ", "\n  ")

    def _base_str(self):
        msg = f"Failed to retrieve object {self.object_ref_hex}. "
        if self.call_site:
            msg += f"The ObjectRef was created at: {self.call_site}"
        else:
            msg += (
                "To see information about where this ObjectRef was created "
                "in Python, set the environment variable "
                "RAY_record_ref_creation_sites=1 during `ray start` and "
                "`ray.init()`."
            )
        return msg

    def __str__(self):
        return (
            self._base_str()
            + "\n\n"
            + f"All copies of {self.object_ref_hex} have been lost due to node "
            f"failure. Check cluster logs ({_LOGS}) for more information about the failure."
        )


class ObjectFetchTimedOutError(ObjectLostError):
    """Indicates that an object fetch timed out."""

    def __str__(self):
        return (
            self._base_str()
            + "\n\n"
            + f"Fetch for object {self.object_ref_hex} timed out because no "
            "locations were found for the object. This may indicate a system-level bug."
        )


class RpcError(RayError):
    """Indicates an error in the underlying RPC system."""

    def __init__(self, message, rpc_code=None):
        self.message = message
        self.rpc_code = rpc_code

    def __str__(self):
        return self.message


class ReferenceCountingAssertionError(ObjectLostError, AssertionError):
    """Indicates that an object has been deleted while there was still a reference."""

    def __str__(self):
        return (
            self._base_str()
            + "\n\n"
            + "The object has already been deleted by the reference counting "
            "protocol. This should not happen."
        )


class ObjectFreedError(ObjectLostError):
    """Indicates that an object was manually freed by the application."""

    def __str__(self):
        return (
            self._base_str()
            + "\n\n"
            + "The object was manually freed using the internal `free` call. "
            "Please ensure that `free` is only called once the object is no "
            "longer needed."
        )


class OwnerDiedError(ObjectLostError):
    """Indicates that the owner of the object has died while there is still a reference.

    ``owner_address`` may be a mapping with ``ip_address``, ``port``, ``worker_id`` and
    ``node_id`` (hex strings) to name the owner, as Ray does from its address proto.
    """

    def __str__(self):
        log_loc = _LOGS
        owner_location = None
        addr = self.owner_address
        if isinstance(addr, dict) and addr.get("worker_id"):
            worker_id = addr["worker_id"]
            owner_location = (
                f"Owner worker ID: {worker_id}, "
                f"owner node ID: {addr.get('node_id') or 'unknown'}, "
                f"owner address: {addr.get('ip_address')}:{addr.get('port')}."
            )
            log_loc = (
                f"`/tmp/ray/session_latest/logs/*{worker_id}*`"
                f" at IP address {addr.get('ip_address')}"
            )
        return (
            self._base_str()
            + "\n\n"
            + "The object's owner has exited. This is the Python worker that first "
            "created the ObjectRef via `.remote()` or `ray.put()`. "
            f"Check cluster logs ({log_loc}) for more information about the Python worker failure."
            + (f"\n\n{owner_location}" if owner_location else "")
        )


class ObjectReconstructionFailedError(ObjectLostError):
    """Indicates that the object cannot be reconstructed; ``reason`` is an ErrorType."""

    REASON_MESSAGES = {
        ErrorType.OBJECT_UNRECONSTRUCTABLE_MAX_ATTEMPTS_EXCEEDED: (
            "The object cannot be reconstructed because the maximum number of "
            "task retries has been exceeded. "
            "Consider increasing the number of retries using `@ray.remote(max_retries=N)`."
        ),
        ErrorType.OBJECT_UNRECONSTRUCTABLE_LINEAGE_EVICTED: (
            "The object cannot be reconstructed because its lineage has been "
            "evicted to reduce memory pressure. "
            "To prevent this error, set the environment variable "
            "RAY_max_lineage_bytes=<bytes> (default 1GB) during `ray start`."
        ),
        ErrorType.OBJECT_UNRECONSTRUCTABLE_PUT: (
            "The object cannot be reconstructed because it was created by "
            "ray.put(), which has no task lineage. "
            "To prevent this error, return the value from a task instead."
        ),
        ErrorType.OBJECT_UNRECONSTRUCTABLE_RETRIES_DISABLED: (
            "The object cannot be reconstructed because the task was created "
            "with max_retries=0. "
            "Consider enabling retries using `@ray.remote(max_retries=N)`."
        ),
        ErrorType.OBJECT_UNRECONSTRUCTABLE_BORROWED: (
            "The object cannot be reconstructed because it crossed an ownership "
            "boundary. Only the owner of an object can trigger reconstruction, "
            "but this worker borrowed the object from another worker."
        ),
        ErrorType.OBJECT_UNRECONSTRUCTABLE_REF_NOT_FOUND: (
            "The object cannot be reconstructed because its reference was "
            "not found in the reference counter. "
            "Please file an issue at https://github.com/ray-project/ray/issues."
        ),
        ErrorType.OBJECT_UNRECONSTRUCTABLE_TASK_CANCELLED: (
            "The object cannot be reconstructed because the task that would "
            "produce it was cancelled."
        ),
        ErrorType.OBJECT_UNRECONSTRUCTABLE_LINEAGE_DISABLED: (
            "The object cannot be reconstructed because lineage reconstruction "
            "is disabled system-wide (object_reconstruction_enabled=False)."
        ),
    }

    def __init__(
        self,
        object_ref_hex: str,
        reason: Any = None,
        reason_message: Optional[str] = None,
        owner_address: Any = None,
        call_site: str = "",
    ):
        super().__init__(object_ref_hex, owner_address, call_site)
        self.reason = reason
        self.reason_message = reason_message or self.REASON_MESSAGES.get(
            reason,
            "Unknown error reason. This should not happen, please file an issue "
            "at https://github.com/ray-project/ray/issues.",
        )

    def __str__(self):
        base = self._base_str()
        if self.reason_message:
            reason_name = ErrorType(self.reason).name if self.reason else "UNKNOWN"
            return base + f"\n\n[{reason_name}] {self.reason_message}"
        return base


class GetTimeoutError(RayError, TimeoutError):
    """Indicates that a call to the worker timed out."""


class PlasmaObjectNotAvailable(RayError):
    """Called when an object was not available within the given timeout."""


class AsyncioActorExit(RayError):
    """Raised when an asyncio actor intentionally exits via exit_actor()."""


class RuntimeEnvSetupError(RayError):
    """Raised when a runtime environment fails to be set up."""

    def __init__(self, error_message: Optional[str] = None):
        self.error_message = error_message

    def __str__(self):
        msgs = ["Failed to set up runtime environment."]
        if self.error_message:
            msgs.append(self.error_message)
        return "\n".join(msgs)


class TaskPlacementGroupRemoved(RayError):
    """Raised when the corresponding placement group was removed."""

    def __str__(self):
        return "The placement group corresponding to this task has been removed."


class ActorPlacementGroupRemoved(RayError):
    """Raised when the corresponding placement group was removed."""

    def __str__(self):
        return "The placement group corresponding to this Actor has been removed."


class PendingCallsLimitExceeded(RayError):
    """Raised when the pending actor calls exceeds `max_pending_calls` option."""


class TaskUnschedulableError(RayError):
    """Raised when the task cannot be scheduled."""

    def __init__(self, error_message: str):
        self.error_message = error_message

    def __str__(self):
        return f"The task is not schedulable: {self.error_message}"


class ActorUnschedulableError(RayError):
    """Raised when the actor cannot be scheduled."""

    def __init__(self, error_message: str):
        self.error_message = error_message

    def __str__(self):
        return f"The actor is not schedulable: {self.error_message}"


class ObjectRefStreamEndOfStreamError(RayError):
    """Raised by streaming generator tasks when there are no more ObjectRefs to read."""


class StreamingGeneratorReplayInconsistentError(RaySystemError):
    """Raised when a streaming generator's replay yields a different number of objects."""


class OufOfBandObjectRefSerializationException(RayError):
    """Raised when an ObjectRef is serialized out of band (Ray's spelling kept)."""


class RayChannelError(RaySystemError):
    """A system error related to compiled-graph channels."""


class RayChannelTimeoutError(RayChannelError, TimeoutError):
    """Raised when a compiled-graph channel operation times out."""


class RayCgraphCapacityExceeded(RaySystemError):
    """Raised when a compiled-graph channel's buffer is at max capacity."""


class RayDirectTransportError(RaySystemError):
    """Raised when there is an error during a direct transport transfer."""


class UnserializableException(RayError):
    """Raised when a serialized exception cannot be deserialized."""

    def __init__(self, original_stack_trace: str):
        self._original_stack_trace = original_stack_trace

    def __str__(self):
        return (
            "Failed to deserialize exception. Refer to https://docs.ray.io/en/latest/"
            "ray-core/objects/serialization.html#custom-serializers-for-exceptions "
            "for more information.\n"
            "Original exception:\n"
            f"{self._original_stack_trace}"
        )


class ActorAlreadyExistsError(ValueError, RayError):
    """Raised when a named actor already exists (also a ValueError, as in Ray)."""

    def __init__(self, error_message: str):
        super().__init__(error_message)
        self.error_message = error_message

    def __str__(self):
        return self.error_message


class ActorHandleNotFoundError(ValueError, RayError):
    """Raised when killing an actor handle that doesn't exist (also a ValueError)."""

    def __init__(self, error_message: str):
        super().__init__(error_message)
        self.error_message = error_message

    def __str__(self):
        return self.error_message


RAY_EXCEPTION_TYPES = [
    PlasmaObjectNotAvailable,
    RayError,
    RayTaskError,
    WorkerCrashedError,
    RayActorError,
    ObjectStoreFullError,
    ObjectLostError,
    ObjectFetchTimedOutError,
    ReferenceCountingAssertionError,
    ObjectReconstructionFailedError,
    OwnerDiedError,
    GetTimeoutError,
    AsyncioActorExit,
    RuntimeEnvSetupError,
    TaskPlacementGroupRemoved,
    ActorPlacementGroupRemoved,
    PendingCallsLimitExceeded,
    LocalRayletDiedError,
    TaskUnschedulableError,
    ActorDiedError,
    ActorUnschedulableError,
    ActorUnavailableError,
    RayChannelError,
    RayChannelTimeoutError,
    OufOfBandObjectRefSerializationException,
    RayCgraphCapacityExceeded,
    UnserializableException,
    ActorAlreadyExistsError,
    ActorHandleNotFoundError,
    AuthenticationError,
]
