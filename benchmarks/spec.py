"""What a suite is: named metrics, and the benches that measure them.

The workload subprocess imports this before the backend: keep it standard-library only, so
nothing the backend needs is pre-loaded for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

from benchmarks.config import RunConfig

# Kinds decide the direction of the ratio: throughput is "higher is better", the rest "lower".
THROUGHPUT = "throughput"
TIME = "time"
MEMORY = "memory"
COUNT = "count"

# A measurement as the workload subprocess records it: raw samples (base units: ops/s,
# seconds, bytes) plus free-form details; the report derives mean and stdev.
Measurement = Dict[str, Any]


@dataclass(frozen=True)
class Metric:
    """One row of the report."""

    name: str
    unit: str  # unit as displayed
    kind: str
    target: Optional[float] = None  # required ratio in the "higher = fusion-flow better" sense
    description: str = ""
    scale: float = 1.0  # stored value * scale = displayed value (bytes -> MiB, ...)

    @property
    def higher_is_better(self) -> bool:
        return self.kind == THROUGHPUT

    def ratio(self, baseline: float, candidate: float) -> Optional[float]:
        """fusion-flow's advantage over the baseline (Ray): > 1 means fusion-flow is better."""
        num, den = (candidate, baseline) if self.higher_is_better else (baseline, candidate)
        if den <= 0:
            return None
        return num / den


class Bench(Protocol):
    """Something a workload subprocess runs after start-up; it yields one or more metrics.

    A bench may also have ``budget_seconds``: how long the driver lets ``run`` take before it
    declares a hang (default: a budget derived from the throughput trial settings).
    """

    @property
    def metrics(self) -> Sequence[Metric]: ...

    def run(self, api: Any, config: RunConfig) -> Mapping[str, Measurement]: ...


class BenchFailed(Exception):
    """Raised by a bench that could not finish but did measure something: the driver records
    ``measurements`` as usual and reports each metric of ``failed`` as an error with its own
    text (metric name -> what went wrong for it); ``detail`` goes into the JSON with them."""

    def __init__(
        self,
        message: str,
        measurements: Mapping[str, Measurement],
        failed: Mapping[str, str],
        detail: Optional[Mapping[str, Any]] = None,
    ):
        super().__init__(message)
        self.measurements = dict(measurements)
        self.failed = dict(failed)
        self.detail = dict(detail or {})


@dataclass(frozen=True)
class Throughput:
    """A bench that calls one operation in a loop and reports operations per second.

    ``make_op(api)`` does the set-up (define remote functions, put a value, ...) and returns
    the operation; one call of it counts as ``multiplier`` operations.
    """

    metric: Metric
    make_op: Callable[[Any], Callable[[], object]]
    multiplier: int = 1

    @property
    def metrics(self) -> Tuple[Metric, ...]:
        return (self.metric,)

    def run(self, api: Any, config: RunConfig) -> Dict[str, Measurement]:
        from benchmarks.timing import measure_rate

        op = self.make_op(api)
        return {self.metric.name: measure_rate(op, self.multiplier, config)}


@dataclass(frozen=True)
class Suite:
    """A named list of benches, run after a shared start-up phase (import, init, memory)."""

    name: str
    title: str
    init_kwargs: Mapping[str, Any]
    benches: Sequence[Bench] = field(default_factory=tuple)
    timeout_seconds: Optional[float] = None  # per full-run subprocess (runner default: 1200)

    @property
    def metrics(self) -> List[Metric]:
        from benchmarks.startup import startup_metrics

        rows = list(startup_metrics(self.init_kwargs))
        for bench in self.benches:
            rows.extend(bench.metrics)
        return rows
