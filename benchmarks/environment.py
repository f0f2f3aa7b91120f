"""Where and with what a run happened: machine, OS, Python, git."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any, Dict, Optional

import psutil


def machine() -> Dict[str, Any]:
    mem = psutil.virtual_memory()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cpus": usable,
        "ram_bytes": mem.total,
        "kernel": f"{platform.system()} {platform.release()}",
        "os": _os_release(),
        "arch": platform.machine(),
        "hostname": platform.node(),
        "loadavg": os.getloadavg(),
    }


def python() -> Dict[str, str]:
    return {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "executable": sys.executable,
    }


def git_info(path: Optional[str]) -> Dict[str, Any]:
    """Commit and dirty state of the git checkout containing ``path``."""
    if not path or not os.path.isdir(path):
        return {"commit": None, "dirty": None, "note": "no source directory"}
    commit = _git(path, "rev-parse", "HEAD")
    status = _git(path, "status", "--porcelain", "--untracked-files=no")
    top = _git(path, "rev-parse", "--show-toplevel")
    if top is None:
        return {"commit": None, "dirty": None, "note": "not a git checkout"}
    return {
        "commit": commit,
        "dirty": bool(status) if status is not None else None,
        "toplevel": top,
        "note": None if commit else "no commit yet",
    }


def _git(cwd: str, *args: str) -> Optional[str]:
    try:
        out = subprocess.run(
            ["git", "-C", cwd, *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_release() -> str:
    try:
        with open("/etc/os-release") as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()
