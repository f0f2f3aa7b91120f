"""Task failures as bytes: built where the task ran, turned back into the exception
``get`` raises. Every error a task's return can hold (user exceptions, failed arguments,
runtime-made errors) uses the one payload format of ``RayError.to_bytes``, so callers
only ever need ``load_task_error``.
"""

from __future__ import annotations

import traceback
from typing import Any, Optional

from fusion_flow.ray_compat.exceptions import (
    ActorDiedError,
    RayError,
    RaySystemError,
    RayTaskError,
    TaskCancelledError,
    WorkerCrashedError,
)

_WORKER_CRASHED = WorkerCrashedError().to_bytes()


def capture_task_error(
    exc: BaseException,
    function_name: str,
    *,
    pid: int,
    ip: str,
    proctitle: Optional[str] = None,
    task_id: Any = None,
    actor_repr: Optional[str] = None,
    actor_id: Optional[str] = None,
) -> bytes:
    """The payload for an exception raised while running a task; never raises.

    ``function_name`` is Ray's "module.qualname" (e.g. "__main__.f"); ``proctitle`` is
    "ray::<task name>" (the ``name`` option, else the function's name) and defaults to
    "ray::<last part of function_name>". It must be called with the exception as
    raised (its ``__traceback__`` set). As in Ray:
    - KeyboardInterrupt becomes TaskCancelledError(task_id) (``str(task_id)`` is shown);
    - a RayTaskError (a failed nested ``get``) is not nested: its cause is reused;
    - a cause that cannot be pickled is replaced by a RayError describing it;
    - SystemExit, or an exception that breaks pickling in other ways, yields
      WorkerCrashedError: on Ray the worker process dies (and the task is retried
      like any worker death), so the runtime should treat SystemExit that way.
    """
    try:
        if isinstance(exc, SystemExit):
            return _WORKER_CRASHED
        if isinstance(exc, KeyboardInterrupt):
            exc = TaskCancelledError(task_id).with_traceback(exc.__traceback__)
        traceback_str = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        cause = exc.cause if isinstance(exc, RayTaskError) else exc
        if proctitle is None:
            proctitle = "ray::" + function_name.rsplit(".", 1)[-1]
        error = RayTaskError(
            function_name,
            traceback_str,
            cause,
            proctitle=proctitle,
            pid=pid,
            ip=ip,
            actor_repr=actor_repr,
            actor_id=actor_id,
        )
        return error.to_bytes()
    except BaseException:
        return _WORKER_CRASHED


def raise_if_dependency_failed(error: BaseException) -> None:
    """Re-raises a failed argument; RayTaskError.__str__ replaces this frame with
    Ray's note "At least one of the input arguments ... could not be computed"."""
    raise error


def capture_dependency_error(
    data: bytes,
    function_name: str,
    *,
    pid: int,
    ip: str,
    proctitle: Optional[str] = None,
    actor_repr: Optional[str] = None,
    actor_id: Optional[str] = None,
) -> bytes:
    """The payload for a task whose argument ``data`` (an error payload) failed.

    On Ray the dependent task fails with its own RayTaskError: its header, the note
    above, then the argument's error text; the cause is the argument's cause, so
    ``get`` raises e.g. RayTaskError(ValueError) again. Never raises.
    """
    try:
        error = RayError.from_bytes(data)
    except Exception as e:
        error = RaySystemError(f"undecodable task error payload: {e!r}")
    try:
        raise_if_dependency_failed(error)  # gives it the traceback Ray's text is made from
    except BaseException:
        pass
    return capture_task_error(
        error,
        function_name,
        pid=pid,
        ip=ip,
        proctitle=proctitle,
        actor_repr=actor_repr,
        actor_id=actor_id,
    )


def dumps_system_error(err: BaseException) -> bytes:
    """The payload for an error the runtime makes (WorkerCrashedError,
    TaskCancelledError, ObjectLostError, ...); never raises."""
    try:
        return RayError.to_bytes(err)
    except BaseException:
        text = "".join(traceback.format_exception_only(type(err), err)).strip()
        return RaySystemError(text).to_bytes()


def load_task_error(data: bytes) -> BaseException:
    """The exception ``get`` must raise for an error payload; never raises.

    A RayTaskError comes back as ``as_instanceof_cause()`` (an instance of both
    RayTaskError and the user's class); an exception that fails to unpickle comes back
    as UnserializableException, as on Ray.
    """
    try:
        error = RayError.from_bytes(data)
    except Exception as e:
        return RaySystemError(f"undecodable task error payload: {e!r}")
    if isinstance(error, RayTaskError):
        return error.as_instanceof_cause()
    if not isinstance(error, BaseException):
        kind = type(error).__name__
        return RaySystemError(f"task error payload holds a {kind}, not an exception")
    return error


def describe_creation_failure(data: bytes) -> str:
    """The line an actor prints when its constructor fails: the death its callers will see.
    Never raises."""
    try:
        error = RayError.from_bytes(data)
        if isinstance(error, RayTaskError):
            error = ActorDiedError(error)
        return f"Exception raised in creation task: {error}"
    except Exception as e:
        return f"Exception raised in creation task (not decodable: {e!r})"
