"""Runner: the same suite on each backend, one subprocess at a time, then the report.

    python -m benchmarks.run [--suite core] [--backends ray,fusion_flow] [--quick]

Per backend: one full run (start-up + every bench), then ``startup_trials - 1`` start-up-only
runs, each in a fresh interpreter, so import/init/memory get several samples too. A backend
that cannot run is reported as failed; the other backends are still measured.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import shlex
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

from benchmarks import backends, environment, report
from benchmarks.child import run_child
from benchmarks.config import RunConfig, add_config_args, config_from_args, config_to_argv
from benchmarks.workloads import SUITES, load_suite, module_name

DEFAULT_OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _parse(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--suite", default="core", choices=SUITES)
    parser.add_argument(
        "--backends",
        default=",".join(backends.BACKENDS),
        help="comma-separated, run in this order (default: %(default)s)",
    )
    parser.add_argument("--out-dir", default=DEFAULT_OUT_DIR, help="default: benchmarks/results")
    parser.add_argument("--only", help="run only benches whose metric name contains this text")
    parser.add_argument(
        "--no-latest",
        action="store_true",
        help="do not overwrite the stable <suite>.md/.json (implied by --quick and --only)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per subprocess (default: 300 with --quick, else the suite's, else 1200)",
    )
    add_config_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(raw_argv)
    suite = load_suite(args.suite)
    config = config_from_args(args)
    chosen = [backends.get_backend(name.strip()) for name in args.backends.split(",") if name]
    timeout = args.timeout or (300.0 if config.quick else suite.timeout_seconds or 1200.0)

    started = time.time()
    doc: Dict[str, Any] = {
        "schema": 1,
        "suite": suite.name,
        "title": suite.title,
        "command": _command_line(raw_argv),
        "cwd": os.getcwd(),
        "started_at": _iso(started),
        "config": config.to_dict(),
        "only": args.only,
        "machine": environment.machine(),
        "python": environment.python(),
        "harness_git": environment.git_info(os.path.dirname(os.path.abspath(__file__))),
        "requested": [b.name for b in chosen],
        "backends": {},
    }
    for backend in chosen:
        print(f"=== {suite.name} on {backend.label} ===", flush=True)
        doc["backends"][backend.name] = _run_backend(suite.name, backend, config, timeout, args)
    doc["finished_at"] = _iso(time.time())
    doc["duration_seconds"] = time.time() - started

    update_latest = not (args.no_latest or config.quick or args.only)
    paths = report.write(doc, suite, args.out_dir, update_latest=update_latest)
    print()
    print(report.table(doc, suite))
    print()
    for path in paths:
        print(f"wrote {os.path.relpath(path)}")
    ok = all(b["status"] == "ok" for b in doc["backends"].values())
    return 0 if ok else 1


def _run_backend(
    suite: str, backend: backends.Backend, config: RunConfig, timeout: float, args: Any
) -> Dict[str, Any]:
    runs = [_run_once(suite, backend, config, timeout, args.only, startup_only=False)]
    if runs[0]["doc"] and not runs[0]["doc"].get("fatal"):
        for _ in range(config.startup_trials - 1):
            runs.append(_run_once(suite, backend, config, timeout, None, startup_only=True))
    return _merge(backend, runs)


def _run_once(
    suite: str,
    backend: backends.Backend,
    config: RunConfig,
    timeout: float,
    only: Optional[str],
    startup_only: bool,
) -> Dict[str, Any]:
    fd, out = tempfile.mkstemp(prefix=f"ff-bench-{backend.name}-", suffix=".json")
    os.close(fd)
    os.unlink(out)  # the child creates it; its absence then means "wrote nothing"
    argv = [sys.executable, "-m", module_name(suite), "--backend", backend.name, "--out", out]
    argv += config_to_argv(config)
    if startup_only:
        argv.append("--startup-only")
    if only:
        argv += ["--only", only]
    child = run_child(argv, timeout=timeout, prefix=f"[{backend.name}]")
    doc = None
    if os.path.exists(out):
        with open(out) as fh:
            doc = json.load(fh)
        os.unlink(out)
    problem = None
    if doc is None:
        problem = f"subprocess exited with code {child.returncode} before writing any result"
    elif doc.get("fatal"):
        problem = doc["fatal"]
    elif child.timed_out:
        during = f" during {doc['step']!r}" if doc.get("step") else ""
        problem = f"timed out after {timeout:.0f} s{during}; results up to then are kept"
    elif child.returncode != 0 or not doc.get("complete"):
        during = f" during {doc['step']!r}" if doc.get("step") else ""
        problem = f"subprocess exited with code {child.returncode}{during} before finishing"
    kind = "start-up-only run" if startup_only else "full run"
    return {
        "kind": kind,
        "argv": argv,
        "returncode": child.returncode,
        "seconds": child.seconds,
        "problem": f"{kind}: {problem}" if problem else None,
        "orphans_killed": child.orphans_killed,
        "tail": child.tail if problem else [],
        "doc": doc,
    }


def _merge(backend: backends.Backend, runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """One backend's result: the full run, with the start-up samples of the other runs added."""
    metrics: Dict[str, Any] = {}
    errors: Dict[str, Any] = {}
    for run in runs:
        for name, m in ((run["doc"] or {}).get("metrics") or {}).items():
            if name in metrics:
                metrics[name]["samples"].extend(m["samples"])
            else:
                metrics[name] = {"samples": list(m["samples"]), "detail": m.get("detail", {})}
        for name, err in ((run["doc"] or {}).get("errors") or {}).items():
            errors.setdefault(name, err)
    first = runs[0]["doc"] or {}
    problems = [r["problem"] for r in runs if r["problem"]]
    if not first or first.get("fatal"):
        status = "failed"
    elif problems or errors:
        status = "partial"
    else:
        status = "ok"
    info = first.get("backend_info") or {}
    location = info.get("location") or _package_dir(backend.package)
    leftovers = [p for r in runs for p in ((r["doc"] or {}).get("leftover_processes") or [])]
    leftovers += [p for r in runs for p in r["orphans_killed"]]
    return {
        "name": backend.name,
        "label": backend.label,
        "api_module": backend.api_module,
        "env": dict(backend.env),
        "status": status,
        "problems": problems,
        "tail": next((r["tail"] for r in runs if r["tail"]), []),
        "info": info,
        "git": environment.git_info(location) if backend.name != "ray" else None,
        "metrics": metrics,
        "errors": errors,
        "leftover_processes": leftovers,
        "runs": [{k: v for k, v in r.items() if k != "tail"} for r in runs],
    }


def _package_dir(package: str) -> Optional[str]:
    """Source directory of a package without importing it (it may not import at all)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(iter(spec.submodule_search_locations))


def _command_line(argv: List[str]) -> str:
    main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    module = main_spec.name if main_spec else "benchmarks.run"
    module = module[: -len(".__main__")] if module.endswith(".__main__") else module
    return shlex.join(["python", "-m", module, *argv])


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds")


if __name__ == "__main__":
    sys.exit(main())
