"""Start-up metrics, shared by every suite: import, init, first task, process-tree memory.

Each workload subprocess measures them once, on a fresh interpreter; the runner starts extra
start-up-only subprocesses to get several samples.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, Mapping, Tuple

from benchmarks.spec import COUNT, MEMORY, TIME, Metric

MIB = 1.0 / (1 << 20)

IMPORT_TIME = "import time"
INIT_TIME = "init time"
FIRST_TASK = "first task after init"
SHUTDOWN_TIME = "shutdown time"  # recorded in the JSON only


def _init_label(init_kwargs: Mapping[str, Any]) -> str:
    return "init(" + ", ".join(f"{k}={v!r}" for k, v in init_kwargs.items()) + ")"


def tree_metric_names(init_kwargs: Mapping[str, Any]) -> Tuple[str, str, str, str]:
    """Names of the RSS, USS, PSS and process-count rows."""
    after = f"after {_init_label(init_kwargs)}"
    return (
        f"process tree RSS {after}",
        f"process tree USS {after}",
        f"process tree PSS {after}",
        f"processes in tree {after}",
    )


def startup_metrics(init_kwargs: Mapping[str, Any]) -> Tuple[Metric, ...]:
    label = _init_label(init_kwargs)
    rss, uss, pss, count = tree_metric_names(init_kwargs)
    tree_note = (
        f"driver + every descendant (+ for Ray the daemons of its session), after {label},"
        " one trivial task and the settle time"
    )
    return (
        Metric(
            IMPORT_TIME,
            "s",
            TIME,
            description="`import ray` / `import fusion_flow.ray_compat` in a bare interpreter",
        ),
        Metric(INIT_TIME, "s", TIME, target=40.0, description=f"`{label}` until it returns"),
        Metric(
            FIRST_TASK,
            "s",
            TIME,
            description="`get(f.remote())` of a trivial task right after init returns"
            " (shows worker start-up that init leaves to the background)",
        ),
        Metric(rss, "MiB", MEMORY, target=4.0, scale=MIB, description=f"RSS sum: {tree_note}"),
        Metric(
            uss, "MiB", MEMORY, scale=MIB, description="USS sum (pages private to each process)"
        ),
        Metric(pss, "MiB", MEMORY, scale=MIB, description="PSS sum (shared pages split fairly)"),
        Metric(count, "processes", COUNT, description="processes counted in the tree"),
    )


_TIMED_IMPORT = (
    "import time; t = time.perf_counter(); import {module}; print(repr(time.perf_counter() - t))"
)


def bare_import_seconds(module: str) -> float:
    """Import time of ``module`` in a bare interpreter, as a user's program sees it (the
    harness itself has loaded ~80 standard-library modules the backend would otherwise pay
    for). Raises CalledProcessError if the module does not import."""
    out = subprocess.run(
        [sys.executable, "-c", _TIMED_IMPORT.format(module=module)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def trivial_task(api: Any) -> Any:
    """A remote function returning a small value; defined in a closure so that it is pickled
    by value and no worker ever has to import the benchmarks package."""

    def trivial():
        return b"ok"

    return api.remote(trivial)
