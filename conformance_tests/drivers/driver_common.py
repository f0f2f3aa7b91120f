"""Shared start-up for the driver scripts: pick the backend, report, wait for commands.

A driver script is run as ``python drivers/<script>.py <backend> [args...]``.
"""

import importlib
import json
import sys

BACKEND_MODULES = {"ray": "ray", "fusion_flow": "fusion_flow.ray_compat"}


def backend_module(name: str):
    return importlib.import_module(BACKEND_MODULES[name])


def report(**values) -> None:
    """One machine-readable line on stdout: ``@@{...}``."""
    print("@@" + json.dumps(values), flush=True)


def wait_for_command() -> str:
    """The next command line from the test; "" once stdin is closed."""
    return sys.stdin.readline().strip()
