"""Start a workload subprocess, echo its output live, keep the tail, enforce a timeout."""

from __future__ import annotations

import collections
import ctypes
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import psutil

TAIL_LINES = 40


_PR_SET_CHILD_SUBREAPER = 36


@dataclass
class ChildResult:
    returncode: Optional[int]
    seconds: float
    timed_out: bool = False
    tail: List[str] = field(default_factory=list)
    orphans_killed: List[str] = field(default_factory=list)


def _become_subreaper() -> None:
    """Linux: processes orphaned below us (a crashed driver's workers or daemons) re-parent
    to this runner instead of init, so they can still be found and stopped by pid."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def run_child(
    argv: List[str],
    *,
    timeout: float,
    prefix: str,
    env: Optional[Dict[str, str]] = None,
    keep_all: bool = False,
) -> ChildResult:
    """Run ``argv`` with stdout+stderr echoed line by line under ``prefix``; ``env`` adds to
    the environment; ``keep_all`` keeps every line in the result's tail, not the last few.

    On timeout (or Ctrl-C) the child and every process under it are killed by pid: never
    by name, so another user's Ray on a shared machine is safe.
    """
    _become_subreaper()
    tail: collections.deque = collections.deque(maxlen=None if keep_all else TAIL_LINES)
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **env} if env else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    )
    pump = threading.Thread(target=_pump, args=(proc, tail, prefix), daemon=True)
    pump.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(proc.pid)
    except KeyboardInterrupt:
        _kill_tree(proc.pid)
        raise
    pump.join(timeout=5)
    orphans = _kill_orphans()
    return ChildResult(proc.returncode, time.perf_counter() - start, timed_out, list(tail), orphans)


def _pump(proc: subprocess.Popen, tail: collections.deque, prefix: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail.append(line)
        sys.stdout.write(f"{prefix} {line}\n")
        sys.stdout.flush()


def _kill_orphans() -> List[str]:
    """Kill what the finished child left behind: with the child gone, every process still
    below the runner is a leftover (the runner starts nothing else)."""
    leftovers = psutil.Process().children(recursive=True)
    described = []
    for proc in leftovers:
        try:
            described.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(leftovers, timeout=10)
    return described


def _kill_tree(pid: int) -> None:
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)
