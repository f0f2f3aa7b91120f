"""The timing helper: warm-up, then several timed trials of an operation; plus statistics.

Standard-library only (imported before the backend in the workload subprocess).
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Dict, Sequence

from benchmarks.config import RunConfig

# How many times per trial the loop looks at the clock: often enough to stop close to
# trial_seconds, rarely enough that reading the clock costs nothing next to the operation.
_CLOCK_CHECKS_PER_TRIAL = 20


def measure_rate(op: Callable[[], object], multiplier: int, config: RunConfig) -> Dict[str, Any]:
    """Operations per second of ``op`` (one call = ``multiplier`` operations), one per trial."""
    start = time.perf_counter()
    warmup_calls = 0
    while True:  # at least one call, so lazy set-up (function export, ...) is never timed
        op()
        warmup_calls += 1
        if time.perf_counter() - start >= config.warmup_seconds:
            break
    warmup_elapsed = time.perf_counter() - start
    seconds_per_call = warmup_elapsed / warmup_calls
    step = max(1, int(config.trial_seconds / _CLOCK_CHECKS_PER_TRIAL / seconds_per_call))

    samples = []
    calls_per_trial = []
    for _ in range(config.trials):
        calls = 0
        t0 = time.perf_counter()
        while True:
            for _ in range(step):
                op()
            calls += step
            elapsed = time.perf_counter() - t0
            if elapsed >= config.trial_seconds:
                break
        samples.append(multiplier * calls / elapsed)
        calls_per_trial.append(calls)
    return {
        "samples": samples,
        "detail": {
            "multiplier": multiplier,
            "calls_per_trial": calls_per_trial,
            "warmup_calls": warmup_calls,
            "warmup_seconds": warmup_elapsed,
        },
    }


def time_call(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def summarize(samples: Sequence[float]) -> Dict[str, float]:
    """Mean and sample standard deviation (0 for a single sample)."""
    values = [float(s) for s in samples]
    if not values:
        return {"n": 0, "mean": float("nan"), "stdev": float("nan")}
    stdev = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"n": len(values), "mean": statistics.fmean(values), "stdev": stdev}
