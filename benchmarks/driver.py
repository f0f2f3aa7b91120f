"""Runs one suite on one backend inside the current (fresh) process and writes JSON.

Invoked through a workload module: ``python -m benchmarks.workloads.core --backend ray
--out file.json``. The JSON is rewritten after every step, so a run killed half-way still
leaves what it measured. Only standard-library modules are loaded before the backend, so
nothing it needs (psutil, numpy, ...) is pre-loaded for it; the reported import time comes
from a bare interpreter all the same (startup.bare_import_seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import faulthandler
import json
import os
import platform
import sys
import time
import traceback
from typing import Any, Dict, Iterator, List, Optional

from benchmarks import backends, startup
from benchmarks.config import RunConfig, add_config_args, config_from_args
from benchmarks.spec import BenchFailed, Suite
from benchmarks.timing import time_call

EXIT_FATAL = 3  # the backend could not be imported or initialised

# A step that overruns its budget is taken for a hang: every thread's stack is dumped to
# stderr (the runner puts the tail in the report) and the process exits.
STEP_BUDGET_SECONDS = 120.0


class Recorder:
    """The result document of one subprocess, flushed to disk on every change."""

    def __init__(self, path: Optional[str], doc: Dict[str, Any]):
        self.path = path
        self.doc = doc
        self.flush()

    def metric(self, name: str, samples: List[float], **detail: Any) -> None:
        self.doc["metrics"][name] = {"samples": samples, "detail": detail}
        self.flush()

    def measurement(self, name: str, measurement: Dict[str, Any]) -> None:
        self.doc["metrics"][name] = measurement
        self.flush()

    def error(
        self,
        name: str,
        exc: BaseException,
        text: Optional[str] = None,
        detail: Optional[Dict[str, Any]] = None,
    ) -> None:
        tail = traceback.format_exc().strip().splitlines()[-12:]
        text = text or f"{type(exc).__name__}: {exc}"
        self.doc["errors"][name] = {"error": text, "traceback": tail}
        if detail:
            self.doc["errors"][name]["detail"] = detail
        print(f"{name}: FAILED {text}", flush=True)
        self.flush()

    def set(self, **fields: Any) -> None:
        self.doc.update(fields)
        self.flush()

    def flush(self) -> None:
        if not self.path:
            return
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as fh:
            json.dump(self.doc, fh, indent=1, default=str)
        os.replace(tmp, self.path)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _parse(argv: Optional[List[str]], suite: Suite) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks.workloads.{suite.name}",
        description=f"Run the {suite.name!r} suite on one backend in this process.",
    )
    parser.add_argument("--backend", required=True, help=", ".join(backends.BACKENDS))
    parser.add_argument("--out", help="write the JSON result here (default: print it at the end)")
    parser.add_argument("--startup-only", action="store_true", help="measure start-up metrics only")
    parser.add_argument("--only", help="run only metrics whose name contains this text")
    add_config_args(parser)
    return parser.parse_args(argv)


def main(suite: Suite, argv: Optional[List[str]] = None) -> int:
    args = _parse(argv, suite)
    backend = backends.get_backend(args.backend)
    config = config_from_args(args)
    rec = Recorder(
        args.out,
        {
            "schema": 1,
            "suite": suite.name,
            "backend": backend.name,
            "label": backend.label,
            "api_module": backend.api_module,
            "init_kwargs": dict(suite.init_kwargs),
            "startup_only": args.startup_only,
            "config": config.to_dict(),
            "pid": os.getpid(),
            "python": {"version": platform.python_version(), "executable": sys.executable},
            "started_at": _now(),
            "loadavg_start": os.getloadavg(),
            "metrics": {},
            "errors": {},
            "fatal": None,
            "complete": False,
        },
    )

    for key, value in backend.env.items():
        os.environ.setdefault(key, value)  # before the import: the backend may read it there
    try:
        bare_import = startup.bare_import_seconds(backend.api_module)
    except Exception:
        bare_import = None  # the in-process import below reports why
    t0 = time.perf_counter()
    try:
        api = backends.import_api(backend)
    except BaseException as exc:
        return _fatal(rec, f"import {backend.api_module} failed", exc)
    in_harness = time.perf_counter() - t0
    rec.metric(
        startup.IMPORT_TIME,
        [bare_import if bare_import is not None else in_harness],
        in_harness_seconds=in_harness,
    )
    rec.set(backend_info=backends.describe(backend))

    try:
        with _watchdog(rec, startup.INIT_TIME, STEP_BUDGET_SECONDS):
            init_seconds = time_call(lambda: api.init(**suite.init_kwargs))
        rec.metric(startup.INIT_TIME, [init_seconds])
    except BaseException as exc:
        code = _fatal(rec, f"{backend.api_module}.init failed", exc)
        _shutdown(api, backend, rec, timed=False)  # a half-started runtime must not leak
        return code

    try:
        _measure_startup(api, backend, suite, config, rec)
        if not args.startup_only:
            _run_benches(api, suite, config, rec, args.only)
    finally:
        _shutdown(api, backend, rec)
    rec.set(finished_at=_now(), loadavg_end=os.getloadavg(), complete=True, step=None)
    if not args.out:
        print(json.dumps(rec.doc, indent=1, default=str))
    return 0


@contextlib.contextmanager
def _watchdog(rec: Recorder, step: str, seconds: float) -> Iterator[None]:
    rec.set(step=step)  # so a killed run still says where it was
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def _fatal(rec: Recorder, what: str, exc: BaseException) -> int:
    rec.set(
        fatal=f"{what}: {type(exc).__name__}: {exc}",
        fatal_traceback=traceback.format_exc().strip().splitlines()[-15:],
        finished_at=_now(),
    )
    print(f"{what}: {type(exc).__name__}: {exc}", flush=True)
    return EXIT_FATAL


def _measure_startup(
    api: Any, backend: backends.Backend, suite: Suite, config: RunConfig, rec: Recorder
) -> None:
    from benchmarks import memory  # psutil: only after the backend's import was timed

    try:
        task = startup.trivial_task(api)
        with _watchdog(rec, startup.FIRST_TASK, STEP_BUDGET_SECONDS):
            first = time_call(lambda: api.get(task.remote()))
        rec.metric(startup.FIRST_TASK, [first])
    except Exception as exc:
        rec.error(startup.FIRST_TASK, exc)

    rss, uss, pss, count = startup.tree_metric_names(suite.init_kwargs)
    try:
        time.sleep(config.settle_seconds)
        with _watchdog(rec, rss, STEP_BUDGET_SECONDS):
            mem = memory.tree_memory(extra=backends.extra_pids(backend, api))
        rec.metric(rss, [mem["rss"]], processes=mem["processes"])
        if mem["uss"] is not None:
            rec.metric(uss, [mem["uss"]])
            rec.metric(pss, [mem["pss"]])
        rec.metric(count, [mem["count"]])
    except Exception as exc:
        rec.error(rss, exc)


def _run_benches(
    api: Any, suite: Suite, config: RunConfig, rec: Recorder, only: Optional[str]
) -> None:
    for bench in suite.benches:
        names = [m.name for m in bench.metrics]
        if only and not any(only in n for n in names):
            continue
        time.sleep(config.pause_seconds)
        print(f"{', '.join(names)} ...", flush=True)
        budget = getattr(bench, "budget_seconds", None) or STEP_BUDGET_SECONDS + 2 * (
            config.warmup_seconds + config.trials * config.trial_seconds
        )
        try:
            with _watchdog(rec, names[0], budget):
                results = bench.run(api, config)
            _record(rec, results)
        except BenchFailed as exc:
            _record(rec, exc.measurements)
            for i, (name, text) in enumerate(exc.failed.items()):
                rec.error(name, exc, text=text, detail=exc.detail if i == 0 else None)
        except Exception as exc:
            rec.error(names[0], exc)


def _record(rec: Recorder, results: Dict[str, Any]) -> None:
    for name, measurement in results.items():
        # The machine may be shared: keep how busy it was next to each number.
        measurement.setdefault("detail", {})["loadavg_after"] = os.getloadavg()
        rec.measurement(name, measurement)
        samples = measurement["samples"]
        shown = [round(x, 2) for x in samples[:10]] + (["..."] if len(samples) > 10 else [])
        print(f"  {name}: {shown}", flush=True)


def _shutdown(api: Any, backend: backends.Backend, rec: Recorder, timed: bool = True) -> None:
    """Shut the backend down, then make sure no process it started outlives it.

    The tree is listed before shutdown: once a daemon dies its children re-parent away
    from us and could no longer be found by walking our descendants.
    """
    from benchmarks import memory

    started = [
        p for p in memory.tree(extra=backends.extra_pids(backend, api)) if p.pid != os.getpid()
    ]
    try:
        with _watchdog(rec, startup.SHUTDOWN_TIME, STEP_BUDGET_SECONDS):
            shutdown_seconds = time_call(api.shutdown)
        if timed:
            rec.metric(startup.SHUTDOWN_TIME, [shutdown_seconds])
    except Exception as exc:
        if timed:
            rec.error(startup.SHUTDOWN_TIME, exc)
    leftovers = memory.reap(started, grace_seconds=5.0)
    rec.set(leftover_processes=leftovers)
    if leftovers:
        print(f"killed {len(leftovers)} leftover process(es)", flush=True)
