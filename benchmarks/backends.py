"""The backends a workload can run on, and what differs between them.

A workload only ever talks to the object returned by ``import_api`` (``ray`` or
``fusion_flow.ray_compat``), with the same calls on both. Standard-library only.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional


@dataclass(frozen=True)
class Backend:
    name: str  # as on the command line
    label: str  # as in the report
    api_module: str  # what `import ... as ray` imports
    package: str  # top-level package: version and source location
    distribution: str  # pip distribution name, for the version when the package has none
    # Environment defaults for its subprocess (a value the user already set wins).
    env: Mapping[str, str] = field(default_factory=dict)


BACKENDS: Dict[str, Backend] = {
    "ray": Backend(
        name="ray",
        label="Ray",
        api_module="ray",
        package="ray",
        distribution="ray",
        # A bare init() would join a cluster left by `ray start` (another engineer's, on a
        # shared machine) and then reject num_cpus; "local" always starts a fresh instance,
        # which is what init(num_cpus=2) does on a clean machine.
        env={"RAY_ADDRESS": "local"},
    ),
    "fusion_flow": Backend(
        name="fusion_flow",
        label="fusion-flow",
        api_module="fusion_flow.ray_compat",
        package="fusion_flow",
        distribution="fusion-flow",
    ),
}

ALIASES = {"fusion-flow": "fusion_flow", "ff": "fusion_flow"}

BASELINE = "ray"  # ratios compare every other backend against this one


def get_backend(name: str) -> Backend:
    key = ALIASES.get(name, name)
    if key not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    return BACKENDS[key]


def import_api(backend: Backend) -> Any:
    return importlib.import_module(backend.api_module)


def describe(backend: Backend) -> Dict[str, Optional[str]]:
    """Version and source location of an already imported backend."""
    pkg = importlib.import_module(backend.package)
    version = getattr(pkg, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version(backend.distribution)
        except Exception:
            version = None
    return {
        "version": version,
        "commit": getattr(pkg, "__commit__", None),  # Ray records its build commit here
        "location": os.path.dirname(getattr(pkg, "__file__", "") or "") or None,
    }


def extra_pids(backend: Backend, api: Any) -> List[int]:
    """Processes of this backend's session that might not be descendants of the driver.

    On Ray every daemon is started by the driver today, but daemons can re-parent; matching
    the session directory on their command line catches them either way. Another user's Ray
    on the same machine has another session directory, so it is never counted.
    """
    if backend.name != "ray":
        return []
    try:
        session_dir = api._private.worker._global_node.get_session_dir_path()
    except Exception:
        return []
    from benchmarks.memory import pids_with_cmdline_containing

    return pids_with_cmdline_containing(os.path.basename(session_dir))


def session_pids(api: Any) -> List[int]:
    """``extra_pids`` for the backend whose API module ``api`` is (the one a workload runs)."""
    for backend in BACKENDS.values():
        if backend.api_module == getattr(api, "__name__", None):
            return extra_pids(backend, api)
    return []
