"""Ray Core's API on the fusion-flow runtime: ``import fusion_flow.ray_compat as ray``.

This module only re-exports; each name lives in the module of its job.
"""

from fusion_flow.ray_compat import actor, exceptions, util
from fusion_flow.ray_compat._decorators import remote
from fusion_flow.ray_compat.actor import method
from fusion_flow.ray_compat.cancellation import cancel
from fusion_flow.ray_compat.cluster import (
    available_resources,
    cluster_resources,
    get_gpu_ids,
    nodes,
)
from fusion_flow.ray_compat.named_actors import get_actor, kill
from fusion_flow.ray_compat.object_ref import ObjectRef
from fusion_flow.ray_compat.object_ref_generator import ObjectRefGenerator
from fusion_flow.ray_compat.objects import get, put, wait
from fusion_flow.ray_compat.runtime_context import get_runtime_context
from fusion_flow.ray_compat.session import init, is_initialized, shutdown

__version__ = "2.60.0"

__all__ = [
    "ObjectRef",
    "ObjectRefGenerator",
    "actor",
    "available_resources",
    "cancel",
    "cluster_resources",
    "exceptions",
    "get",
    "get_actor",
    "get_gpu_ids",
    "get_runtime_context",
    "init",
    "is_initialized",
    "kill",
    "method",
    "nodes",
    "put",
    "remote",
    "shutdown",
    "util",
    "wait",
]
