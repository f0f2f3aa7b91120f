"""Memory of a process tree: the driver, every descendant, and any extra processes given."""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Optional

import psutil


def pids_with_cmdline_containing(needle: str) -> List[int]:
    pids = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if any(needle in arg for arg in cmdline):
            pids.append(proc.info["pid"])
    return pids


def tree(root_pid: Optional[int] = None, extra: Iterable[int] = ()) -> List[psutil.Process]:
    """The root, its descendants and the extra pids, each once, alive at the time of the call."""
    root = psutil.Process(root_pid or os.getpid())
    procs = {root.pid: root}
    for child in root.children(recursive=True):
        procs.setdefault(child.pid, child)
    for pid in extra:
        if pid not in procs:
            try:
                procs[pid] = psutil.Process(pid)
            except psutil.Error:
                pass
    return [procs[pid] for pid in sorted(procs)]


def tree_memory(root_pid: Optional[int] = None, extra: Iterable[int] = ()) -> Dict[str, Any]:
    """RSS, USS and PSS summed over the tree, with a per-process breakdown (bytes).

    RSS double-counts pages shared between processes (the interpreter, shared libraries);
    USS counts only pages private to each process and PSS splits shared pages fairly, so
    the PSS sum is the closest single number to what the tree really costs.
    """
    rows = []
    totals = {"rss": 0, "uss": 0, "pss": 0}
    uss_complete = True
    for proc in tree(root_pid, extra):
        try:
            with proc.oneshot():
                name = proc.name()
                cmdline = " ".join(proc.cmdline())
                try:
                    info = proc.memory_full_info()
                    row = {"rss": info.rss, "uss": info.uss, "pss": getattr(info, "pss", None)}
                except psutil.AccessDenied:
                    row = {"rss": proc.memory_info().rss, "uss": None, "pss": None}
        except psutil.NoSuchProcess:
            continue
        row.update(pid=proc.pid, name=name, cmdline=cmdline[:200])
        rows.append(row)
        for key in totals:
            if row[key] is None:
                uss_complete = False
            else:
                totals[key] += row[key]
    return {
        "rss": totals["rss"],
        "uss": totals["uss"] if uss_complete else None,
        "pss": totals["pss"] if uss_complete else None,
        "count": len(rows),
        "processes": rows,
    }


def descendants(root_pid: Optional[int] = None) -> List[psutil.Process]:
    try:
        return psutil.Process(root_pid or os.getpid()).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def reap(procs: List[psutil.Process], grace_seconds: float) -> List[Dict[str, Any]]:
    """Wait for processes to exit, then kill (by pid) those that did not. Returns the killed."""
    _gone, alive = psutil.wait_procs(procs, timeout=grace_seconds)
    killed = []
    for proc in alive:
        try:
            killed.append({"pid": proc.pid, "cmdline": " ".join(proc.cmdline())[:200]})
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)
    return killed
