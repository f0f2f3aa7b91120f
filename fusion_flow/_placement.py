"""Where a task or actor goes when it is scheduled in a placement group.

A task in bundle ``i`` of group ``G`` asks for Ray's bundle resources instead of the node's
own: ``CPU: 1`` becomes ``CPU_group_i_G: 1`` (``CPU_group_G`` for any bundle), plus a sliver
of ``bundle_group_i_G`` so that a task asking for nothing else is still bound to the bundle.
The node adds those resources when it places the group (ff-core's ``placement_groups``), so
the scheduler treats them as any other resource. (A worker imports this module at start-up,
so it does not import the API package.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Optional

# What a task in a bundle takes of the bundle's own resource (Ray's figure).
_BUNDLE_SLIVER = 0.001
_RENAMED = re.compile(r"^(?P<name>.+)_group_(?:(?P<index>\d+)_)?(?P<group>[0-9a-f]{36})$")


@dataclass(frozen=True)
class Placement:
    """A submission's bundle: the group's id (hex and bytes), the bundle index (-1: any)
    and whether the tasks it submits go to the same group."""

    group_hex: str
    group_id: bytes
    bundle_index: int
    capture_child_tasks: bool

    def resource_name(self, resource: str) -> str:
        if self.bundle_index < 0:
            return f"{resource}_group_{self.group_hex}"
        return f"{resource}_group_{self.bundle_index}_{self.group_hex}"

    def rename(self, request: Dict[str, float]) -> Dict[str, float]:
        """``request`` as bundle resources."""
        renamed = {self.resource_name(name): amount for name, amount in request.items()}
        renamed[self.resource_name("bundle")] = _BUNDLE_SLIVER
        return renamed


def placement_of(options: Dict[str, Any], parent: Optional[Placement]) -> Optional[Placement]:
    """The bundle a submission with ``options`` goes to, from a task running in ``parent``
    (None: in no group): its PlacementGroupSchedulingStrategy, or the deprecated
    ``placement_group*`` options, which Ray still honours; with neither, the parent's group if
    the parent captures its children."""
    strategy = options.get("scheduling_strategy")
    if strategy is None:
        group = options.get("placement_group", "default")
        capture = options.get("placement_group_capture_child_tasks")
        if group == "default" and capture is None:  # on every submission: no import, no checks
            if parent is not None and parent.capture_child_tasks:
                return Placement(parent.group_hex, parent.group_id, -1, True)
            return None
        index = options.get("placement_group_bundle_index", -1)
        return _placement(group, index, capture, parent)
    from fusion_flow.ray_compat.util.scheduling_strategies import (
        PlacementGroupSchedulingStrategy,
    )

    if isinstance(strategy, PlacementGroupSchedulingStrategy):
        return _placement(
            strategy.placement_group,
            strategy.placement_group_bundle_index,
            strategy.placement_group_capture_child_tasks,
            parent,
        )
    return None


def _placement(
    group: Any, bundle_index: int, capture: Optional[bool], parent: Optional[Placement]
) -> Optional[Placement]:
    """Ray's rules: an unset ``capture`` follows the parent's; the group "default" is the
    parent's own if capturing (else none); None is explicitly no group."""
    if capture is None:
        capture = parent is not None and parent.capture_child_tasks
    if group == "default":
        if not capture or parent is None:
            return None
        return Placement(parent.group_hex, parent.group_id, bundle_index, True)
    if group is None:
        return None
    return Placement(group.id.hex(), group.id.binary(), bundle_index, bool(capture))


def from_assigned(assigned: Dict[str, float], capture_child_tasks: bool) -> Optional[Placement]:
    """The placement of a running task, read back from the resources it was given."""
    for name in assigned:
        match = _RENAMED.match(name)
        if match:
            group_hex = match.group("group")
            index = match.group("index")
            return Placement(
                group_hex=group_hex,
                group_id=bytes.fromhex(group_hex),
                bundle_index=int(index) if index is not None else -1,
                capture_child_tasks=capture_child_tasks,
            )
    return None


def original_resources(assigned: Dict[str, float]) -> Dict[str, float]:
    """What a task in a bundle asked for, by the node's names (Ray reports it so)."""
    original: Dict[str, float] = {}
    for name, amount in assigned.items():
        match = _RENAMED.match(name)
        if match is None:
            original[name] = amount
        elif match.group("name") != "bundle":
            original[match.group("name")] = amount
    return original
