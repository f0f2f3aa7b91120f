"""``get``, ``put`` and ``wait``, with Ray's argument checks."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from fusion_flow import _native, _runtime, _serialization, _values
from fusion_flow._native import ObjectRef
from fusion_flow.ray_compat import exceptions
from fusion_flow.ray_compat.object_ref_generator import ObjectRefGenerator
from fusion_flow.ray_compat.session import ensure_runtime


def get(object_refs: Any, *, timeout: Optional[float] = None) -> Any:
    """The value of an ObjectRef, or the values of a list of them, in order.

    Raises the first error among them as soon as it is known, and GetTimeoutError when
    ``timeout`` seconds pass first.
    """
    single = isinstance(object_refs, ObjectRef)
    refs = [object_refs] if single else object_refs
    if not isinstance(refs, list):
        raise ValueError(
            f"Invalid type of object refs, {type(object_refs)}, is given. "
            "'object_refs' must either be an ObjectRef or a list of ObjectRefs. "
        )
    for ref in refs:
        if not isinstance(ref, ObjectRef):
            raise TypeError(
                f"Attempting to call `get` on the value {ref}, which is not an ray.ObjectRef."
            )
    runtime = ensure_runtime()
    if timeout == -1:
        timeout = None
    if timeout is not None and timeout < 0:
        raise ValueError(f"'timeout' must be a non-negative number or None, got {timeout}")
    values = _values.get_values(runtime, refs, timeout)
    for value in values:
        if isinstance(value, exceptions.RayError):
            raise (
                value.as_instanceof_cause() if isinstance(value, exceptions.RayTaskError) else value
            )
    return values[0] if single else values


def put(value: Any, *, _owner: Any = None, _tensor_transport: Any = None) -> ObjectRef:
    """Stores ``value`` (a snapshot: later changes to it are not seen) and returns its ref."""
    if _owner is not None:
        raise ValueError(
            "The experimental `_owner` argument to `ray.put` has been removed in Ray 2.56."
        )
    if isinstance(value, ObjectRef):
        raise TypeError(
            "Calling 'put' on an ray.ObjectRef is not allowed. If you really want to do "
            "this, you can wrap the ray.ObjectRef in a list and call 'put' on it."
        )
    runtime = ensure_runtime()
    try:
        data, nested = _serialization.dumps(value)
    except Exception as error:
        raise TypeError(
            f"Could not serialize the put value {value!r}:\n{type(error).__name__}: {error}"
        ) from error
    try:
        return runtime.native.put(data, nested)
    except _native.StoreFullError as error:
        raise exceptions.ObjectStoreFullError(str(error)) from None


def wait(
    ray_waitables: List[ObjectRef],
    *,
    num_returns: int = 1,
    timeout: Optional[float] = None,
    fetch_local: bool = True,
) -> Tuple[List[ObjectRef], List[ObjectRef]]:
    """Waits until ``num_returns`` of the refs are ready or ``timeout`` seconds pass. An
    ObjectRefGenerator is ready once its next item exists (or its stream has ended).

    Returns (ready, not ready); both keep the order of the input list.
    """
    if isinstance(ray_waitables, (ObjectRef, ObjectRefGenerator)):
        raise TypeError(
            "wait() expected a list of ray.ObjectRef or ray.ObjectRefGenerator, got a single "
            f"ray.ObjectRef or ray.ObjectRefGenerator {ray_waitables}"
        )
    if not isinstance(ray_waitables, list):
        raise TypeError(
            "wait() expected a list of ray.ObjectRef or ray.ObjectRefGenerator, "
            f"got {type(ray_waitables)}"
        )
    if timeout is not None and timeout < 0:
        raise ValueError(f"The 'timeout' argument must be nonnegative. Received {timeout}")
    runtime = _runtime.current()
    if runtime is None:
        _check_waitables(ray_waitables)  # Ray checks these before it starts itself
        runtime = ensure_runtime()
    if not ray_waitables:
        return [], []
    outcome = runtime.native.wait_split(ray_waitables, num_returns, timeout)
    if type(outcome) is tuple:
        return outcome
    if outcome < 0:
        _check_waitables(ray_waitables)
    if outcome == 1:
        raise ValueError("Wait requires a list of unique ray_waitables.")
    if num_returns <= 0:
        raise ValueError(f"Invalid number of objects to return {num_returns}.")
    raise ValueError(
        "num_returns cannot be greater than the number of ray_waitables provided to ray.wait."
    )


def _check_waitables(ray_waitables: list) -> None:
    for waitable in ray_waitables:
        if not isinstance(waitable, (ObjectRef, ObjectRefGenerator)):
            raise TypeError(
                "wait() expected a list of ray.ObjectRef or ray.ObjectRefGenerator, "
                f"got list containing {type(waitable)}"
            )
