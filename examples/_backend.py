"""The one flag every example takes: which runtime runs it."""

from __future__ import annotations

import argparse
import importlib

MODULES = {"fusion_flow": "fusion_flow.ray_compat", "ray": "ray"}


def add_backend_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", choices=sorted(MODULES), default="fusion_flow", help="runtime to run on"
    )


def import_backend(name: str):
    return importlib.import_module(MODULES[name])
