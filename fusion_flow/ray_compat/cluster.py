"""What the cluster (one node, for now) has: resources, nodes, and the caller's GPUs."""

from __future__ import annotations

import os
from typing import Any, Dict, List

from fusion_flow import _runtime
from fusion_flow._network import node_ip_address
from fusion_flow.ray_compat import exceptions
from fusion_flow.ray_compat.session import ensure_runtime


def _started() -> _runtime.Runtime:
    """The state API does not start the runtime: like Ray, it refuses before init."""
    runtime = _runtime.current()
    if runtime is None:
        raise exceptions.RaySystemError(
            "Ray has not been started yet. Trying to use state API before ray.init() "
            "has been called."
        )
    return runtime


def cluster_resources() -> Dict[str, float]:
    """Every resource of every node, summed."""
    total, _ = _started().native.resources()
    return total


def available_resources() -> Dict[str, float]:
    """Resources not held by running tasks; exhausted resources are left out."""
    _, available = _started().native.resources()
    return available


def nodes() -> List[Dict[str, Any]]:
    runtime = _started()
    total, _ = runtime.native.resources()
    ip = node_ip_address()
    session_dir = str(runtime.native.session_dir)
    return [
        {
            "NodeID": runtime.native.node_id,
            "Alive": True,
            "NodeManagerAddress": ip,
            "NodeManagerHostname": os.uname().nodename,
            "NodeManagerPort": 0,
            "ObjectManagerPort": 0,
            "ObjectStoreSocketName": os.path.join(session_dir, "node.sock"),
            "RayletSocketName": os.path.join(session_dir, "node.sock"),
            "MetricsExportPort": 0,
            "NodeName": ip,
            "RuntimeEnvAgentPort": 0,
            "DeathReason": 0,
            "DeathReasonMessage": "",
            "alive": True,
            "Resources": total,
            "Labels": {"ray.io/node-id": runtime.native.node_id},
        }
    ]


def get_gpu_ids() -> List[int]:
    """The GPU ids the calling task holds (none in the driver)."""
    task = ensure_runtime().current_task
    return list(task.gpu_ids) if task is not None else []
