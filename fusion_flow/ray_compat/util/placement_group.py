"""``ray.util.placement_group``: reserve bundles of resources together, then schedule tasks
and actors into them with ``PlacementGroupSchedulingStrategy``.

The node keeps the groups (ff-core's ``placement_groups``); this module checks arguments as
Ray does, and builds Ray's objects and tables from what the node reports. Groups are made,
removed and listed from the driver; a task may run in a group, wait for one and pass one on.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from fusion_flow import _native, _runtime
from fusion_flow.ray_compat._unsupported import Unsupported
from fusion_flow.ray_compat.util.scheduling_strategies import PlacementGroupSchedulingStrategy

VALID_STRATEGIES = {"PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"}
_BUNDLES_ERROR = (
    'Bundles must be a non-empty list of resource dictionaries. For example: `[{"CPU": 1.0}, '
    '{"GPU": 1.0}]`.'
)


class PlacementGroupID:
    """A placement group's id: 18 bytes (14 unique, then the job's 4)."""

    def __init__(self, binary: bytes) -> None:
        self._binary = bytes(binary)

    def binary(self) -> bytes:
        return self._binary

    def hex(self) -> str:
        return self._binary.hex()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlacementGroupID) and other._binary == self._binary

    def __hash__(self) -> int:
        return hash(self._binary)

    def __repr__(self) -> str:
        return f"PlacementGroupID({self.hex()})"


class PlacementGroup:
    """A handle to a placement group; equal handles name the same group."""

    def __init__(self, id: PlacementGroupID, bundle_cache: Optional[List[Dict]] = None) -> None:
        self.id = id
        self.bundle_cache = bundle_cache

    @staticmethod
    def empty() -> PlacementGroup:
        return PlacementGroup(PlacementGroupID(b"\xff" * 18))

    def is_empty(self) -> bool:
        return self.id.binary() == b"\xff" * 18

    @property
    def bundle_specs(self) -> List[Dict]:
        if self.bundle_cache is None:
            self.bundle_cache = _info(self)["bundles"]
        return self.bundle_cache

    @property
    def bundle_count(self) -> int:
        return len(self.bundle_specs)

    def ready(self) -> Any:
        """A ref that resolves to this group once it is placed (a task that runs in it)."""
        from fusion_flow.ray_compat._decorators import remote

        check = remote(num_cpus=0, max_retries=0)(_bundle_reservation_check)
        strategy = PlacementGroupSchedulingStrategy(self, placement_group_bundle_index=0)
        return check.options(scheduling_strategy=strategy).remote(self)

    def wait(self, timeout_seconds: float = 30) -> bool:
        """Whether the group is placed within ``timeout_seconds``."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            state = _table().info(self.id.binary())
            if state is None or state[5] == "REMOVED":
                raise Exception(f"Placement group {self.id!r} does not exist.")
            if state[5] == "CREATED":
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlacementGroup) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __reduce__(self):
        return PlacementGroup, (self.id, self.bundle_cache)


def _bundle_reservation_check(placement_group: PlacementGroup) -> PlacementGroup:
    return placement_group


def _table() -> _native.PlacementGroupTable:
    from fusion_flow.ray_compat.session import ensure_runtime

    return ensure_runtime().native.placement_groups()


def _info(group: PlacementGroup) -> Dict[str, Any]:
    found = _table().info(group.id.binary())
    if found is None:
        raise Exception(f"Placement group {group.id!r} does not exist.")
    return _as_table_entry(found)


def _as_table_entry(found: tuple) -> Dict[str, Any]:
    group_id, name, _namespace, bundles, strategy, state, _detached = found
    runtime = _runtime.current()
    node_id = runtime.native.node_id if runtime is not None and state == "CREATED" else ""
    return {
        "placement_group_id": group_id.hex(),
        "name": name or "",
        "bundles": dict(enumerate(bundles)),
        "bundles_to_node_id": {index: node_id for index in range(len(bundles))},
        "strategy": strategy,
        "state": state,
        "stats": {
            "scheduling_state": {"CREATED": "FINISHED", "PENDING": "QUEUED"}.get(state, state),
        },
    }


def _check_bundles(bundles: Any) -> List[Dict[str, float]]:
    if not isinstance(bundles, list):
        raise ValueError(f"Placement group bundles must be a list, got {type(bundles)}.")
    if not bundles:
        raise ValueError(f"{_BUNDLES_ERROR} Got empty list instead.")
    checked = []
    for bundle in bundles:
        if not isinstance(bundle, dict) or not all(
            isinstance(key, str) and isinstance(value, (int, float)) and not isinstance(value, bool)
            for key, value in bundle.items()
        ):
            raise ValueError(_BUNDLES_ERROR)
        if all(value == 0 for value in bundle.values()):
            raise ValueError(
                "Bundles cannot be an empty dictionary or resources with only 0 values. "
                f"Bundles: {bundles}"
            )
        if any(value < 0 for value in bundle.values()):
            raise Unsupported("negative amounts in a placement group bundle")
        if bundle.get("GPU", 0) > 0:
            raise Unsupported("GPUs in placement group bundles")
        checked.append({key: float(value) for key, value in bundle.items() if value > 0})
    return checked


def placement_group(
    bundles: List[Dict[str, float]],
    strategy: str = "PACK",
    name: str = "",
    lifetime: Optional[str] = None,
    _soft_target_node_id: Optional[str] = None,
    bundle_label_selector: Optional[List[Dict[str, str]]] = None,
) -> PlacementGroup:
    """Reserves ``bundles`` together; returns at once (``ready()``/``wait()`` tell when)."""
    checked = _check_bundles(bundles)
    if strategy not in VALID_STRATEGIES:
        raise ValueError(
            f"Invalid placement group strategy {strategy}. "
            f"Supported strategies are: {VALID_STRATEGIES}."
        )
    if lifetime not in (None, "detached"):
        raise ValueError(
            "Placement group `lifetime` argument must be either `None` or "
            f"'detached'. Got {lifetime}."
        )
    if not isinstance(name, str):
        raise TypeError(f"expected bytes, {type(name).__name__} found")
    if _soft_target_node_id is not None:
        raise Unsupported("placement_group(_soft_target_node_id=...)")
    if bundle_label_selector:
        raise Unsupported("placement_group(bundle_label_selector=...)")
    runtime = _runtime.current()
    table = _table()
    assert runtime is not None
    group_id = table.create(
        bundles=checked,
        strategy=strategy,
        name=name or None,
        namespace=runtime.namespace,
        detached=lifetime == "detached",
    )
    return PlacementGroup(PlacementGroupID(group_id), bundle_cache=checked)


def remove_placement_group(placement_group: PlacementGroup) -> None:
    """Frees the group's resources; what waits for it fails, what runs in it is killed."""
    assert placement_group is not None
    _table().remove(placement_group.id.binary())


def get_placement_group(placement_group_name: str) -> PlacementGroup:
    """The live group of that name in this job's namespace."""
    runtime = _runtime.current()
    table = _table()
    assert runtime is not None
    found = table.named(placement_group_name, runtime.namespace)
    if found is None:
        raise ValueError(f"Failed to look up placement group with name: {placement_group_name}")
    return PlacementGroup(PlacementGroupID(found))


def placement_group_table(placement_group: Optional[PlacementGroup] = None) -> Dict[str, Any]:
    """One group's entry, or every group's keyed by id hex (removed ones included)."""
    table = _table()
    if placement_group is not None:
        found = table.info(placement_group.id.binary())
        return _as_table_entry(found) if found is not None else {}
    return {entry[0].hex(): _as_table_entry(entry) for entry in table.all()}


def get_current_placement_group() -> Optional[PlacementGroup]:
    """The group the current task or actor runs in, or None (always None in the driver)."""
    runtime = _runtime.current()
    task = runtime.current_task if runtime is not None else None
    placement = task.placement if task is not None else None
    if placement is None:
        return None
    return PlacementGroup(PlacementGroupID(placement.group_id))


def _fits_a_bundle(resources: Dict[str, float], bundles: List[Dict[str, float]]) -> bool:
    return any(
        all(bundle.get(name, 0) >= amount for name, amount in resources.items() if name != "bundle")
        for bundle in bundles
    )


def validate_resource_shape(
    placement_group: PlacementGroup,
    resources: Dict[str, float],
    placement_resources: Dict[str, float],
    task_or_actor_repr: str,
) -> None:
    """Ray's submit-time check that a request fits one of the group's bundles (ValueError)."""
    bundles = placement_group.bundle_specs
    if not _fits_a_bundle(resources, bundles):
        raise ValueError(
            f"Cannot schedule {task_or_actor_repr} with the placement group because the "
            f"resource request {resources} cannot fit into any bundles for the placement "
            f"group, {bundles}."
        )
    if not _fits_a_bundle(placement_resources, bundles):
        raise ValueError(
            f"Cannot schedule {task_or_actor_repr} with the placement group because the "
            f"actor requires {placement_resources.get('CPU', 0)} CPU for creation, but it "
            f"cannot fit into any bundles for the placement group, {bundles}. Consider "
            "creating a placement group with CPU resources."
        )


def check_bundle_shape(
    options: Dict[str, Any],
    resources: Dict[str, float],
    placement_resources: Dict[str, float],
    task_or_actor_repr: str,
) -> None:
    """For a submission with a PlacementGroupSchedulingStrategy: Ray's checks of its bundle
    index and of its request against the group's bundles."""
    strategy = options.get("scheduling_strategy")
    if not isinstance(strategy, PlacementGroupSchedulingStrategy):
        return
    group = strategy.placement_group
    if group is None or group.is_empty():
        return
    check_placement_group_index(group, strategy.placement_group_bundle_index)
    validate_resource_shape(group, resources, placement_resources, task_or_actor_repr)


def check_placement_group_index(placement_group: PlacementGroup, bundle_index: int) -> None:
    """Ray's check of a bundle index against its group, made when a task is submitted."""
    if placement_group.is_empty():
        if bundle_index != -1:
            raise ValueError("If placement group is not set, the value of bundle index must be -1.")
    elif bundle_index >= placement_group.bundle_count or bundle_index < -1:
        raise ValueError(
            f"placement group bundle index {bundle_index} is invalid. Valid placement group "
            f"indexes: 0-{placement_group.bundle_count}"
        )
