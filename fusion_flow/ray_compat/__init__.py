"""Ray Core's API on the fusion-flow runtime: ``import fusion_flow.ray_compat as ray``.

This module only re-exports (each name lives in the module of its job) and names what Ray has
and fusion-flow does not yet.
"""

from fusion_flow.ray_compat import _raylet, actor, exceptions, util  # noqa: F401 (ray._raylet)
from fusion_flow.ray_compat._decorators import remote
from fusion_flow.ray_compat._unsupported import UnsupportedAttribute
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

# Ray's public names that fusion-flow does not provide yet: using one raises an error that names
# it rather than a bare AttributeError.
_NOT_YET = frozenset(
    {
        "ActorClassID", "ActorID", "ClientBuilder", "ClusterID", "DynamicObjectRefGenerator",
        "FunctionID", "JobID", "Language", "LoggingConfig", "NodeID", "ObjectID",
        "PlacementGroupID", "SCRIPT_MODE", "TaskID", "UniqueID", "WORKER_MODE", "WorkerID",
        "autoscaler", "client", "cpp_function", "cross_language", "dashboard", "data",
        "experimental", "internal", "java_actor_class", "java_function", "job_config", "rllib",
        "runtime_env", "serialization", "serve", "state", "timeline", "train", "tune",
        "widgets", "workflow",
    }
)  # fmt: skip


def __getattr__(name: str):
    if name in _NOT_YET:
        raise UnsupportedAttribute(f"ray.{name}")
    raise AttributeError(f"module 'ray' has no attribute {name!r}")
