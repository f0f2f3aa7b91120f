"""``ray.util``: utilities around the core API.

Members that need the rest of the API (actors, the session) load on first use: the option
checks import ``util.scheduling_strategies`` while the API itself is still being imported.
"""

from importlib import import_module
from typing import Any

from fusion_flow.ray_compat.util import scheduling_strategies

# As in Ray, ``ray.util.placement_group`` is the function, although a module of that name
# exists too (``import ray.util.placement_group`` still gets the module).
from fusion_flow.ray_compat.util.placement_group import (
    PlacementGroup,
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)

_LAZY = {
    "ActorPool": ("fusion_flow.ray_compat.util.actor_pool", "ActorPool"),
    "client": ("fusion_flow.ray_compat.util.client", None),
    "connect": ("fusion_flow.ray_compat.util.client", "connect"),
    "disconnect": ("fusion_flow.ray_compat.util.client", "disconnect"),
    "list_named_actors": ("fusion_flow.ray_compat.named_actors", "list_named_actors"),
    "queue": ("fusion_flow.ray_compat.util.queue", None),
}

__all__ = [
    "ActorPool",
    "PlacementGroup",
    "client",
    "connect",
    "disconnect",
    "get_current_placement_group",
    "get_placement_group",
    "list_named_actors",
    "placement_group",
    "placement_group_table",
    "queue",
    "remove_placement_group",
    "scheduling_strategies",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'ray.util' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))
