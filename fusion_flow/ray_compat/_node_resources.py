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


def node_resources(
    *,
    num_cpus: Optional[float],
    num_gpus: Optional[float],
    resources: Optional[Dict[str, float]],
    object_store_memory: Optional[int],
) -> Dict[str, float]:
    """The node's total resources, named as Ray names them."""
    custom = dict(resources or {})
    if "CPU" in custom or "GPU" in custom:
        raise ValueError(
            "Use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and 'GPU' in "
            "'resources' keyword"
        )
    for name, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
        if value is not None and (not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    available = _available_memory()
    if object_store_memory is None:
        object_store_memory = int(min(available * _OBJECT_STORE_SHARE, _OBJECT_STORE_CAP))
    total: Dict[str, float] = {
        "CPU": float(_cpu_count() if num_cpus is None else num_cpus),
        "memory": float(max(available - object_store_memory, 0)),
        "object_store_memory": float(object_store_memory),
        f"node:{node_ip_address()}": 1.0,
        "node:__internal_head__": 1.0,
    }
    if num_gpus:
        total["GPU"] = float(num_gpus)
    for name, amount in custom.items():
        total[name] = float(amount)
    return {name: amount for name, amount in total.items() if amount > 0}
