"""Workload suites. Each module defines ``SUITE`` and runs it on one backend as ``__main__``.

Add a suite: write ``workloads/<name>.py`` like core.py and list it here.
"""

from __future__ import annotations

import importlib

from benchmarks.spec import Suite

SUITES = ("core", "actors", "objects")


def module_name(suite: str) -> str:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    return f"{__name__}.{suite}"


def load_suite(suite: str) -> Suite:
    return importlib.import_module(module_name(suite)).SUITE
