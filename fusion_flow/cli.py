"""The ``fusion-flow`` command."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fusion-flow")
    except PackageNotFoundError:
        return "unknown"


def _demo(_: argparse.Namespace) -> int:
    from fusion_flow import demo

    return demo.main()


def _print_version(_: argparse.Namespace) -> int:
    print(f"fusion-flow {_version()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fusion-flow", description="Run Ray Core programs on the fusion-flow runtime."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the demo workload and report timings").set_defaults(
        handler=_demo
    )
    commands.add_parser("version", help="print the version").set_defaults(handler=_print_version)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
