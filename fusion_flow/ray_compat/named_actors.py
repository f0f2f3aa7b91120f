"""Finding and ending actors: ``get_actor``, ``kill``, ``util.list_named_actors``."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

from fusion_flow.ray_compat.session import ensure_runtime

if TYPE_CHECKING:
    from fusion_flow.ray_compat.actor import ActorHandle

# `actor` is imported inside the functions: `ray.util` (which exports list_named_actors) is
# loaded while the option checks that `actor` needs are still being imported.


def get_actor(name: str, namespace: Optional[str] = None) -> ActorHandle:
    """A handle to the live actor registered as ``name`` (in this job's namespace unless
    ``namespace`` is given)."""
    if not name:
        raise ValueError("Please supply a non-empty value to get_actor")
    if namespace is not None and not isinstance(namespace, str):
        raise TypeError("namespace must be None or a string.")
    if namespace == "":
        raise ValueError('"" is not a valid namespace. Pass None to not specify a namespace.')
    runtime = ensure_runtime()
    found = runtime.native.get_named_actor(name, namespace or runtime.namespace)
    if found is None:
        raise ValueError(
            f"Failed to look up actor with name '{name}'. This could because 1. You are "
            "trying to look up a named actor you didn't create. 2. The named actor died. "
            "3. You did not use a namespace matching the namespace of the actor."
        )
    from fusion_flow.ray_compat.actor import ActorHandle

    actor_id, ref, descriptor = found
    return ActorHandle(actor_id, ref, pickle.loads(descriptor))


def kill(actor: Any, *, no_restart: bool = True) -> None:
    """Ends the actor's process at once; calls in flight fail. With ``no_restart=False`` an
    actor with restarts left is re-created."""
    from fusion_flow.ray_compat.actor import ActorHandle

    if not isinstance(actor, ActorHandle):
        raise ValueError(
            "ray.kill() only supported for actors. For tasks, try ray.cancel(). "
            f"Got: {type(actor)}."
        )
    ensure_runtime().native.kill_actor(actor._actor_id_bytes, no_restart)


def list_named_actors(all_namespaces: bool = False) -> List[Union[str, Dict[str, str]]]:
    """Names of live named actors in this namespace, or ``{"name", "namespace"}`` dicts of
    every namespace."""
    runtime = ensure_runtime()
    if all_namespaces:
        names = runtime.native.list_named_actors(None)
        return [{"name": name, "namespace": namespace} for namespace, name in names]
    return [name for _, name in runtime.native.list_named_actors(runtime.namespace)]
