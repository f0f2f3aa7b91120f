"""Run configuration (trial counts and durations) and its command-line flags.

The runner parses the flags once and passes the resolved values to every backend's
subprocess, so all backends in a run are measured the same way. Standard-library only.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, List


@dataclass(frozen=True)
class RunConfig:
    trials: int = 5  # timed trials per throughput metric
    trial_seconds: float = 2.0  # length of one trial
    warmup_seconds: float = 1.0  # untimed calls before the trials (always at least one)
    settle_seconds: float = 2.0  # wait after init + first task before reading memory
    pause_seconds: float = 0.5  # idle gap between metrics, so one metric's tail cannot leak
    startup_trials: int = 3  # fresh processes per backend for the start-up metrics
    quick: bool = False

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


# Smoke-test preset: every code path once, in seconds rather than minutes.
QUICK = RunConfig(
    trials=1,
    trial_seconds=0.2,
    warmup_seconds=0.0,
    settle_seconds=0.5,
    pause_seconds=0.0,
    startup_trials=1,
    quick=True,
)

_FIELDS = {
    "trials": int,
    "trial_seconds": float,
    "warmup_seconds": float,
    "settle_seconds": float,
    "pause_seconds": float,
    "startup_trials": int,
}


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1 short trial per metric, 1 start-up sample (numbers not meaningful)",
    )
    for name, kind in _FIELDS.items():
        flag = "--" + name.replace("_", "-")
        default = getattr(RunConfig(), name)
        note = " (runner only)" if name == "startup_trials" else ""
        parser.add_argument(flag, type=kind, default=None, help=f"default {default}{note}")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    base = QUICK if args.quick else RunConfig()
    overrides = {n: getattr(args, n) for n in _FIELDS if getattr(args, n) is not None}
    return replace(base, **overrides)


def config_to_argv(config: RunConfig) -> List[str]:
    argv = ["--quick"] if config.quick else []
    for name in _FIELDS:
        argv += ["--" + name.replace("_", "-"), str(getattr(config, name))]
    return argv
