"""``init``, ``shutdown`` and ``is_initialized``: starting and ending this process's runtime."""

from __future__ import annotations

import logging
import math
import os
import uuid
from typing import Any, Dict, Optional

from fusion_flow import _runtime
from fusion_flow._network import node_ip_address
from fusion_flow.ray_compat import _node_resources
from fusion_flow.ray_compat._options import validate_runtime_env
from fusion_flow.ray_compat._unsupported import Unsupported

# Ray's private init keywords that change nothing here but must not be refused.
_ACCEPTED_PRIVATE = (
    "_enable_object_reconstruction",
    "_plasma_directory",
    "_object_spilling_directory",
    "_node_ip_address",
    "_driver_object_store_memory",
    "_memory",
    "_redis_username",
    "_redis_password",
    "_metrics_export_port",
    "_system_config",
    "_tracing_startup_hook",
    "_node_name",
    "_skip_env_hook",
)


class RayContext(dict):
    """What ``init`` returns: the session's addresses, and a context manager that shuts the
    runtime down on exit (``with ray.init(): ...``)."""

    def __init__(self, address_info: Dict[str, Any]) -> None:
        super().__init__(address_info)
        self.address_info = address_info
        self.dashboard_url = None
        self.python_version = ".".join(str(v) for v in os.sys.version_info[:3])

    def __enter__(self) -> RayContext:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        shutdown()

    def disconnect(self) -> None:
        shutdown()


def _address_info(runtime: _runtime.Runtime) -> Dict[str, Any]:
    session_dir = str(runtime.native.session_dir)
    return {
        "node_ip_address": node_ip_address(),
        "raylet_ip_address": node_ip_address(),
        "address": None,
        "session_dir": session_dir,
        "node_id": runtime.native.node_id,
        "webui_url": None,
        "gcs_address": None,
    }


def init(
    address: Optional[str] = None,
    *,
    num_cpus: Optional[int] = None,
    num_gpus: Optional[int] = None,
    resources: Optional[Dict[str, float]] = None,
    labels: Optional[Dict[str, str]] = None,
    object_store_memory: Optional[int] = None,
    local_mode: bool = False,
    ignore_reinit_error: bool = False,
    include_dashboard: Optional[bool] = None,
    dashboard_host: str = "127.0.0.1",
    dashboard_port: Optional[int] = None,
    job_config: Any = None,
    configure_logging: bool = True,
    logging_level: int = logging.INFO,
    logging_format: Optional[str] = None,
    logging_config: Any = None,
    log_to_driver: Optional[bool] = None,
    namespace: Optional[str] = None,
    runtime_env: Optional[Dict[str, Any]] = None,
    enable_resource_isolation: bool = False,
    cgroup_path: Optional[str] = None,
    system_reserved_cpu: Optional[float] = None,
    system_reserved_memory: Optional[int] = None,
    proxy_server_url: Optional[str] = None,
    **kwargs: Any,
) -> RayContext:
    """Starts the runtime in this process (Ray's ``ray.init`` with no cluster address)."""
    temp_dir = kwargs.pop("_temp_dir", None)
    for private in _ACCEPTED_PRIVATE:
        kwargs.pop(private, None)
    if kwargs.get("allow_multiple"):
        raise RuntimeError(
            "`allow_multiple` argument is passed to `ray.init` when the ray client is not used. "
            "Do not pass the `allow_multiple` to `ray.init` to fix the issue."
        )
    if kwargs.get("storage"):
        raise RuntimeError(
            "Cluster-wide storage configuration has been removed. "
            "The last Ray version supporting the `storage` argument is `ray==2.47`."
        )
    if kwargs:
        raise RuntimeError(f"Unknown keyword argument(s): {', '.join(kwargs)}")
    if local_mode:
        raise RuntimeError(
            "`local_mode` is no longer supported. For interactive debugging consider using "
            "the Ray distributed debugger."
        )
    if isinstance(address, str) and address.startswith("ray://"):
        raise Unsupported(
            f"Ray Client connections to a server address (init(address={address!r}))",
            "ray.util.client.ray_client_helpers.ray_start_client_server() attaches a client "
            "to a node running in this process",
        )
    running = _runtime.current()
    if running is not None:
        if ignore_reinit_error:
            return RayContext(_address_info(running))
        raise RuntimeError(
            "Maybe you called ray.init twice by accident? "
            "This error can be suppressed by passing in "
            "'ignore_reinit_error=True' or by calling "
            "'ray.shutdown()' prior to 'ray.init()'."
        )
    if address not in (None, "local"):
        raise Unsupported(
            f"connecting to a cluster (init(address={address!r}))",
            "fusion-flow runs the node inside this process for now; call init() without an address",
        )
    if job_config is not None:
        raise Unsupported("init(job_config=...)")
    validate_runtime_env(runtime_env)
    unsupported = [key for key in (runtime_env or {}) if key != "env_vars"]
    if unsupported:
        raise Unsupported(f"runtime_env[{unsupported[0]!r}]", "only 'env_vars' is supported")
    node = _node_resources.node_resources(
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        resources=resources,
        object_store_memory=object_store_memory,
    )
    cpus = node.get("CPU", 0)
    settings = _runtime.DriverSettings(
        resources=node,
        namespace=namespace if namespace is not None else _anonymous_namespace(),
        job_env=dict((runtime_env or {}).get("env_vars") or {}),
        log_to_driver=True if log_to_driver is None else bool(log_to_driver),
        prestart_workers=min(math.ceil(cpus), 64),
        session_root=temp_dir,
        shutdown_grace_s=_runtime.shutdown_grace_from_environment(),
    )
    return RayContext(_address_info(_runtime.start_driver(settings)))


def _anonymous_namespace() -> str:
    """A session without a namespace gets a fresh one of its own, as in Ray."""
    return str(uuid.uuid4())


def shutdown(_exiting_interpreter: bool = False) -> None:
    """Stops the runtime: no more work is taken, running tasks get a grace period to finish
    (``FUSION_FLOW_SHUTDOWN_GRACE_S``, 1 s by default), then every worker is stopped and the
    shared memory freed. Calling it without a running runtime does nothing."""
    _runtime.shutdown()


def is_initialized() -> bool:
    return _runtime.current() is not None


def ensure_runtime() -> _runtime.Runtime:
    """The current session, starting one with the defaults if there is none (as Ray's
    ``get``/``put``/``wait``/``.remote()`` do)."""
    runtime = _runtime.current()
    if runtime is None:
        init()
        runtime = _runtime.current()
        assert runtime is not None
    return runtime
