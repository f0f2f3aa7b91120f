"""What the cluster (one node, for now) has: resources, nodes, and the caller's GPUs."""

from __future__ import annotations

import os
from typing import Any, Dict, List

from fusion_flow._network import node_ip_address
from fusion_flow.ray_compat.session import ensure_runtime


def cluster_resources() -> Dict[str, float]:
    """Every resource of every node, summed."""
    total, _ = ensure_runtime().native.resources()
    return total


def available_resources() -> Dict[str, float]:
    """Resources not held by running tasks; exhausted resources are left out."""
    _, available = ensure_runtime().native.resources()
    return available


def nodes() -> List[Dict[str, Any]]:
    runtime = ensure_runtime()
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
