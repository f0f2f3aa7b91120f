"""Small helpers shared by the conformance tests.

Only the standard library: this module is imported inside worker processes too
(functions used by remote tasks are pickled by reference to it), so it must stay
light and must not import the backend.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional

HERE = Path(__file__).resolve().parent
DRIVERS = HERE / "drivers"

ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
HEX_RE = re.compile(r"^[0-9a-f]+$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# PYTHONPATH as it was before the suite added its own directory (see conftest.py).
_ORIGINAL_PYTHONPATH: Optional[str] = None


def export_test_dir_to_workers() -> None:
    """Make this directory importable in worker processes.

    Remote functions defined at module level in a test module (and the helpers in
    this module) are pickled by reference, so a worker must be able to import the
    test module. A user's script gets that from Ray adding the driver's script
    directory and working directory to the workers' path; under pytest neither is
    this directory, so the suite puts it on PYTHONPATH, which every worker of both
    backends inherits from the driver.
    """
    global _ORIGINAL_PYTHONPATH
    if _ORIGINAL_PYTHONPATH is not None:
        return
    _ORIGINAL_PYTHONPATH = os.environ.get("PYTHONPATH", "")
    parts = [str(HERE)] + [p for p in _ORIGINAL_PYTHONPATH.split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(parts)


def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text)


def is_hex(text, length: int) -> bool:
    return isinstance(text, str) and len(text) == length and bool(HEX_RE.match(text))


def poll(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.05):
    """Call ``predicate`` until it returns a truthy value; return that value or None."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# ------------------------------------------------------------------ in-task helpers
# These run inside workers. They coordinate through the file system, which the
# driver and every worker of a single-node runtime share.


def wait_for_path(path: str, timeout: float = 30.0) -> bool:
    """Block until ``path`` exists (a gate opened by the test). True if it opened."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def barrier(directory: str, parties: int, timeout: float = 30.0) -> bool:
    """Register this process in ``directory`` and wait until ``parties`` have arrived.

    True when all parties were inside at the same time (so they ran concurrently),
    False on timeout.
    """
    os.makedirs(directory, exist_ok=True)
    marker = os.path.join(directory, f"{os.getpid()}-{time.monotonic_ns()}")
    with open(marker, "w"):
        pass
    deadline = time.monotonic() + timeout
    while len(os.listdir(directory)) < parties:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def append_line(path: str, text: str) -> int:
    """Append a line to ``path`` and return how many lines it now has."""
    with open(path, "a") as f:
        f.write(text + "\n")
    with open(path) as f:
        return len(f.read().splitlines())


def count_lines(path: str) -> int:
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return len(f.read().splitlines())


class Gate:
    """A file the test creates to release tasks blocked in ``wait_for_path``."""

    def __init__(self, directory: Path, name: str = "gate"):
        self.path = str(Path(directory) / name)

    def open(self) -> None:
        with open(self.path, "w"):
            pass


def intervals_overlap(a, b) -> bool:
    """(start, end) intervals measured with time.time() in the workers."""
    return a[0] < b[1] and b[0] < a[1]


# ------------------------------------------------------------------ driver processes


class DriverProcess:
    """A driver script run in its own interpreter, with its output captured.

    The scripts in ``drivers/`` take the backend name as their first argument,
    print ``@@<json>`` report lines on stdout and wait for commands on stdin.
    """

    def __init__(
        self,
        script: str,
        backend: str,
        *args: str,
        cwd: Optional[str] = None,
        env: Optional[dict] = None,
    ):
        full_env = dict(os.environ)
        # The driver sees the environment a user's script would see.
        if _ORIGINAL_PYTHONPATH is not None:
            if _ORIGINAL_PYTHONPATH:
                full_env["PYTHONPATH"] = _ORIGINAL_PYTHONPATH
            else:
                full_env.pop("PYTHONPATH", None)
        full_env["PYTHONUNBUFFERED"] = "1"
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, str(DRIVERS / script), backend, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=full_env,
        )
        self.stdout: List[str] = []
        self.stderr: List[str] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, stream, sink: List[str]) -> None:
        for line in stream:
            with self._cond:
                sink.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[List[str], List[str]], object], timeout: float = 60.0):
        """Wait until ``predicate(stdout_lines, stderr_lines)`` is truthy; return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(
                    [strip_ansi(x) for x in self.stdout], [strip_ansi(x) for x in self.stderr]
                )
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                if self.proc.poll() is not None and not any(t.is_alive() for t in self._threads):
                    return predicate(
                        [strip_ansi(x) for x in self.stdout], [strip_ansi(x) for x in self.stderr]
                    )
                self._cond.wait(min(remaining, 0.2))

    def report(self, key: str, timeout: float = 60.0):
        """The JSON value of the first ``@@{"<key>": ...}`` line on stdout."""
        import json

        def find(out, _err):
            for line in out:
                if line.startswith("@@"):
                    data = json.loads(line[2:])
                    if key in data:
                        return [data[key]]
            return None

        found = self.wait_for(find, timeout)
        if found is None:
            raise AssertionError(
                f"driver did not report {key!r} within {timeout}s\n{self.describe()}"
            )
        return found[0]

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 60.0) -> int:
        """Close stdin (the driver's cue to end) and wait for the exit code."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"driver did not exit in {timeout}s\n{self.describe()}") from None
        for thread in self._threads:
            thread.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def text(self, stream: str = "stdout") -> str:
        with self._lock:
            lines = list(self.stdout if stream == "stdout" else self.stderr)
        return strip_ansi("\n".join(lines))

    def describe(self) -> str:
        return f"--- stdout ---\n{self.text('stdout')}\n--- stderr ---\n{self.text('stderr')}"
