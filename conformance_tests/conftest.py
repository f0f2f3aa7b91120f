"""Shared fixtures for the conformance suite.

Every test body runs unchanged against real Ray (the specification) and against
fusion-flow. The backend is chosen with ``--backend=ray|fusion_flow``.

* ``ray_api`` (session): the backend module, not initialised.
* ``ray`` (module): the backend module, initialised once per test module with the
  module's ``INIT_KWARGS`` (default ``{"num_cpus": 2}``) and shut down at module end.
* ``backend_name`` (session): ``"ray"`` or ``"fusion_flow"``.

``@pytest.mark.later(issue)`` marks behaviour owned by an issue that has not landed (one of
``LATER_ISSUES``): such a test runs on Ray and is skipped on fusion-flow. Every issue so far
has landed, so no test carries the mark now.

At session end the outcome of every test is written to
``conformance_tests/results/<backend>.json``; ``coverage_table.py`` turns the
available result files into ``docs/conformance.md``.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
import signal
import threading
import warnings
from pathlib import Path

import conformance_helpers
import pytest

conformance_helpers.export_test_dir_to_workers()

# A process started with SIGINT ignored (a background job of a non-interactive shell) passes
# that on through exec, and Python then never raises KeyboardInterrupt: not in the driver, and
# not in Ray's workers, whose cancellation (force=False) relies on it. A user's terminal
# starts programs with the default disposition; so does the suite.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

BACKENDS = ("ray", "fusion_flow")
BACKEND_MODULES = {"ray": "ray", "fusion_flow": "fusion_flow.ray_compat"}
# Issues not yet landed that own features tested here (issue number -> what it brings).
LATER_ISSUES: dict = {}
DEFAULT_INIT_KWARGS = {"num_cpus": 2}

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        action="store",
        choices=BACKENDS,
        default="fusion_flow",
        help="which runtime the conformance tests run against (default: fusion_flow)",
    )
    parser.addoption(
        "--test-timeout",
        action="store",
        type=int,
        default=300,
        help="fail a conformance test that runs longer than this many seconds "
        "(a hung runtime must not hang the suite; 0 disables)",
    )


# Outcome of every test of this session (node id -> passed/failed/skipped).
_OUTCOMES: dict = {}
_DESELECTED: list = []


def pytest_collection_modifyitems(config, items):
    backend = config.getoption("--backend")
    for item in items:
        marker = item.get_closest_marker("later")
        if marker is None:
            continue
        if len(marker.args) != 1 or marker.args[0] not in LATER_ISSUES:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.later takes one issue number among "
                f"{sorted(LATER_ISSUES)}, got {marker.args!r}"
            )
        if backend == "fusion_flow":
            issue = marker.args[0]
            item.add_marker(
                pytest.mark.skip(reason=f"later: issue {issue} ({LATER_ISSUES[issue]})")
            )


def pytest_deselected(items):
    _DESELECTED.extend(item.nodeid for item in items)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _test_timeout(request):
    """Turn a hung test into a failure (SIGALRM; main thread only)."""
    seconds = request.config.getoption("--test-timeout")
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        pytest.fail(f"test timed out after {seconds}s", pytrace=True)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def backend_name(request) -> str:
    return request.config.getoption("--backend")


@pytest.fixture(scope="session")
def ray_api(backend_name):
    """The backend module (``ray`` or ``fusion_flow.ray_compat``), not initialised."""
    return importlib.import_module(BACKEND_MODULES[backend_name])


@pytest.fixture(scope="module")
def ray(ray_api, request):
    """The backend, initialised once for the test module with its ``INIT_KWARGS``."""
    kwargs = dict(getattr(request.module, "INIT_KWARGS", DEFAULT_INIT_KWARGS))
    if ray_api.is_initialized():
        warnings.warn(
            f"the backend was left initialised before {request.module.__name__}; shutting it down",
            stacklevel=1,
        )
        ray_api.shutdown()
    ray_api.init(**kwargs)
    try:
        yield ray_api
    finally:
        ray_api.shutdown()


# --------------------------------------------------------------------------- results


def _record(nodeid: str, outcome: str) -> None:
    outcomes = _OUTCOMES
    previous = outcomes.get(nodeid)
    # A failure in any phase (setup, call, teardown) makes the test failed; a skip in
    # setup makes it skipped; otherwise the call phase decides.
    if previous == "failed":
        return
    if previous == "skipped" and outcome == "passed":
        return
    outcomes[nodeid] = outcome


def pytest_runtest_logreport(report):
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            outcome = "failed" if report.passed else "passed"  # strict xfail semantics
        else:
            outcome = report.outcome
        _record(report.nodeid, outcome)
    elif report.when == "setup":
        if report.failed:
            _record(report.nodeid, "failed")
        elif report.skipped:
            _record(report.nodeid, "skipped")
    elif report.when == "teardown" and report.failed:
        _record(report.nodeid, "failed")


def _is_full_run(session) -> bool:
    """True when the whole conformance directory ran without deselection."""
    if _DESELECTED:
        return False
    if session.config.getoption("keyword") or session.config.getoption("markexpr"):
        return False
    args = [Path(str(a).split("::")[0]).resolve() for a in session.config.args]
    return all(HERE == a or HERE.is_relative_to(a) for a in args)


def _backend_version(backend: str):
    """Informative only: ray's version, or the fusion-flow distribution's."""
    try:
        if backend == "fusion_flow":
            from importlib import metadata

            return metadata.version("fusion-flow")
        return importlib.import_module(BACKEND_MODULES[backend]).__version__
    except Exception:
        return None


def pytest_sessionfinish(session, exitstatus):
    outcomes = _OUTCOMES
    if not outcomes:
        return
    backend = session.config.getoption("--backend")
    path = RESULTS_DIR / f"{backend}.json"
    results = {}
    full = _is_full_run(session)
    if not full and path.exists():
        try:
            results = json.loads(path.read_text()).get("results", {})
        except (ValueError, OSError):
            results = {}
    results.update(outcomes)
    payload = {
        "backend": backend,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "full_run": full,
        "results": dict(sorted(results.items())),
    }
    payload["backend_version"] = _backend_version(backend)
    RESULTS_DIR.mkdir(exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)
