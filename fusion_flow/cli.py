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


def _run(args: argparse.Namespace) -> int:
    """Runs a Ray program unmodified: its ``import ray`` gets fusion-flow (see ray_alias)."""
    import os
    import runpy

    from fusion_flow import ray_alias

    ray_alias.install()
    os.environ[ray_alias.ALIAS_ENV] = "1"  # and its workers' imports too
    if args.module:
        sys.argv = [args.target, *args.args]
        sys.path.insert(0, os.getcwd())  # as `python -m` does
        runpy.run_module(args.target, run_name="__main__", alter_sys=True)
    else:
        sys.argv = [args.target, *args.args]
        sys.path.insert(0, os.path.dirname(os.path.abspath(args.target)))  # as `python x.py`
        runpy.run_path(args.target, run_name="__main__")
    return 0


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
    run = commands.add_parser(
        "run",
        help="run a Ray program unmodified on fusion-flow (its `import ray` gets fusion-flow)",
    )
    run.add_argument("-m", dest="module", action="store_true", help="run a module, as python -m")
    run.add_argument("target", help="the script (or, with -m, the module) to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the program's own arguments")
    run.set_defaults(handler=_run)
    commands.add_parser("version", help="print the version").set_defaults(handler=_print_version)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
