"""``ray.cancel``: stop a task that is pending or running (see ff-core's node/cancel.rs)."""

from __future__ import annotations

from typing import Any

from fusion_flow.ray_compat.object_ref import ObjectRef
from fusion_flow.ray_compat.object_ref_generator import ObjectRefGenerator
from fusion_flow.ray_compat.session import ensure_runtime


def cancel(ray_waitable: Any, *, force: bool = False, recursive: bool = True) -> None:
    """Cancels the task that makes ``ray_waitable`` (an ObjectRef or an ObjectRefGenerator).

    A pending task never runs; a running task gets KeyboardInterrupt (``force=False``) or its
    worker is killed (``force=True``); either way ``get`` raises TaskCancelledError and the
    task is not retried. A running actor call is flagged (``is_canceled()``) or, in an async
    actor, its coroutine is cancelled; ``force=True`` raises ValueError for actor calls. With
    ``recursive`` the unfinished tasks it submitted are cancelled too. A finished task is left
    as it is.
    """
    if isinstance(ray_waitable, ObjectRefGenerator):
        ray_waitable = ray_waitable._completion
    if not isinstance(ray_waitable, ObjectRef):
        raise TypeError(
            "ray.cancel() only supported for object refs. "
            f"For actors, try ray.kill(). Got: {type(ray_waitable)}."
        )
    ensure_runtime().native.cancel(ray_waitable, bool(force), bool(recursive))
