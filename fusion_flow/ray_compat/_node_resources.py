"""What one node offers, from ``init``'s arguments and the machine, with Ray's checks."""

from __future__ import annotations

import os
from typing import Dict, Optional

from fusion_flow._network import node_ip_address

# Share of available memory Ray gives the object store by default, and its cap.
_OBJECT_STORE_SHARE = 0.3
_OBJECT_STORE_CAP = 200 * 1024**3


def _available_memory() -> int:
    """Bytes of memory available to this process (cgroup limits are not considered)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


_DEFAULT_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")
_ALTERNATIVES = {"CPU": "num_cpus", "GPU": "num_gpus"}


def _default_resource_error(resources: Dict[str, float], name: str) -> str:
    alternative = _ALTERNATIVES.get(name, name)
    return (
        f"{resources} -> `{name}` cannot be a custom resource because it is one of the default "
        f"resources ({{'CPU', 'GPU', 'memory', 'object_store_memory'}}). "
        f"Use `{alternative}` instead. For example, use `ray start "
        f"--{alternative.replace('_', '-')}=1` instead of `ray start --resources={{'{name}': 1}}`"
    )


def _check_quantities(resources: Dict[str, float]) -> None:
    """Ray's checks on a node's resources: whole numbers, none negative."""
    for name, quantity in resources.items():
        if isinstance(quantity, float) and not quantity.is_integer():
            raise ValueError(
                "Resource quantities must all be whole numbers. "
                f"Violated by resource '{name}' in {resources}."
            )
        if quantity < 0:
            raise ValueError(
                "Resource quantities must be nonnegative. "
                f"Violated by resource '{name}' in {resources}."
            )


def node_resources(
    *,
    num_cpus: Optional[float],
    num_gpus: Optional[float],
    resources: Optional[Dict[str, float]],
    object_store_memory: Optional[int],
) -> Dict[str, float]:
    """The node's total resources, named as Ray names them, with Ray's checks."""
    custom = dict(resources or {})
    for name in _DEFAULT_RESOURCES:
        if name in custom:
            raise AssertionError(_default_resource_error(custom, name))
    available = _available_memory()
    if object_store_memory is None:
        object_store_memory = int(min(available * _OBJECT_STORE_SHARE, _OBJECT_STORE_CAP))
    requested = dict(
        custom,
        CPU=_cpu_count() if num_cpus is None else num_cpus,
        GPU=num_gpus or 0,
        memory=int(max(available - object_store_memory, 0)),
        object_store_memory=int(object_store_memory),
    )
    requested = {name: quantity for name, quantity in requested.items() if quantity != 0}
    _check_quantities(requested)
    total = {name: float(quantity) for name, quantity in requested.items()}
    total[f"node:{node_ip_address()}"] = 1.0
    total["node:__internal_head__"] = 1.0
    return total
