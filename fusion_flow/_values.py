"""Stored objects as Python sees them: values, or the Ray exceptions they stand for."""

from __future__ import annotations

from typing import Any, List, Optional

from fusion_flow import _native, _serialization


def error_from_payload(payload: _native.ErrorPayload, object_ref: Any = None) -> BaseException:
    """The exception a stored error raises in ``get``."""
    # Imported here: only failures need them, and workers start faster without.
    from fusion_flow._task_errors import load_task_error
    from fusion_flow.ray_compat import exceptions

    kind = payload.kind
    if kind == "task_error":
        return load_task_error(payload.data)
    if kind == "worker_crashed":
        return exceptions.WorkerCrashedError()
    if kind == "object_lost":
        hex_id = object_ref.hex() if object_ref is not None else ""
        return exceptions.ObjectLostError(hex_id, None, "")
    if kind == "task_cancelled":
        return exceptions.TaskCancelledError()
    return exceptions.RaySystemError(payload.message)


def get_values(runtime: Any, refs: List[_native.ObjectRef], timeout: Optional[float]) -> list:
    """The values of ``refs``, raising the first error met or GetTimeoutError."""
    result = runtime.native.get(refs, timeout)
    if result is None:
        from fusion_flow.ray_compat.exceptions import GetTimeoutError

        raise GetTimeoutError("Get timed out: some object(s) not ready.")
    if type(result) is not list:
        raise error_from_payload(result)
    loads = _serialization.loads
    return [loads(data) for data in result]
