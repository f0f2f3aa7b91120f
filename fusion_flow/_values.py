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
        hex_id = object_ref.hex() if object_ref is not None else payload.message
        return exceptions.ObjectLostError(hex_id, None, "")
    if kind == "object_store_full":
        return exceptions.ObjectStoreFullError(payload.message)
    if kind == "task_cancelled":
        return exceptions.TaskCancelledError()
    if kind == "placement_group_removed":
        return exceptions.TaskPlacementGroupRemoved()
    if kind == "actor_died":
        return _actor_died(payload)
    if kind == "actor_unavailable":
        actor_id, _, detail = payload.message.partition("\n")
        return exceptions.ActorUnavailableError(
            f"The actor's process died while it ran this task ({detail})", bytes.fromhex(actor_id)
        )
    return exceptions.RaySystemError(payload.message)


# Why an actor died (the node's reason codes), as Ray words it.
_DEATH_REASONS = {
    "killed": "The actor is dead because it was killed by `ray.kill`.",
    "exited": (
        "The actor is dead because its worker process has died. Worker exit type: "
        "INTENDED_USER_EXIT Worker exit detail: Worker exits by an user request. "
        "exit_actor() is called."
    ),
    "out_of_scope": "The actor is dead because all references to the actor were removed.",
    "crashed": (
        "The actor is dead because its worker process has died. Worker exit type: "
        "SYSTEM_ERROR Worker exit detail: {detail}"
    ),
    "unknown": "The actor is unknown to this runtime (it may belong to an earlier session).",
    "placement_group_removed": "The actor is dead because its worker process has died. {detail}",
}


def _actor_died(payload: _native.ErrorPayload) -> BaseException:
    from fusion_flow._network import node_ip_address
    from fusion_flow.ray_compat import exceptions

    reason, class_name, actor_id, name, namespace, pid, detail = payload.message.split("\n", 6)
    if reason == "creation_failed":
        try:
            task_error = exceptions.RayError.from_bytes(payload.data)
        except Exception:
            task_error = None
        if isinstance(task_error, exceptions.RayTaskError):
            return exceptions.ActorDiedError(task_error)
        return exceptions.ActorDiedError()
    context = exceptions.ActorDiedErrorContext(
        class_name=class_name,
        actor_id=actor_id,
        error_message=_DEATH_REASONS.get(reason, reason).format(detail=detail),
        pid=int(pid or 0),
        name=name,
        ray_namespace=namespace,
        node_ip_address=node_ip_address() if class_name else "",
    )
    return exceptions.ActorDiedError(context)


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
