"""Core suite: tasks and small objects, as in Ray's microbenchmark (`ray microbenchmark`).

Metric names, operation counts and semantics follow ``ray/_private/ray_perf.py`` so numbers
can be compared with Ray's own; Ray labels put/get "(Plasma Store)", here without the suffix.
Run on one backend: ``python -m benchmarks.workloads.core --backend ray --out core-ray.json``.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from benchmarks import driver
from benchmarks.spec import THROUGHPUT, Metric, Suite, Throughput
from benchmarks.startup import trivial_task

BATCH = 1000  # tasks per batch and refs per wait round, as in ray_perf


def _tasks_sync(api: Any) -> Callable[[], object]:
    task = trivial_task(api)
    return lambda: api.get(task.remote())


def _tasks_batch(api: Any) -> Callable[[], object]:
    task = trivial_task(api)
    return lambda: api.get([task.remote() for _ in range(BATCH)])


def _put_calls(api: Any) -> Callable[[], object]:
    return lambda: api.put(0)


def _get_calls(api: Any) -> Callable[[], object]:
    ref = api.put(0)
    return lambda: api.get(ref)


def _wait_1k_refs(api: Any) -> Callable[[], object]:
    """Submit BATCH tasks, then wait for them one at a time (num_returns=1), passing the
    shrinking not-ready list back each round. As in ray_perf, only the first wait asks for
    the objects to be fetched: Ray keeps the fetch requests alive after wait returns."""
    task = trivial_task(api)

    def one_round() -> None:
        pending = [task.remote() for _ in range(BATCH)]
        for i in range(BATCH):
            _ready, pending = api.wait(pending, fetch_local=(i == 0))

    return one_round


def _throughput(name: str, unit: str, target: float, description: str) -> Metric:
    return Metric(name, unit, THROUGHPUT, target=target, description=description)


SUITE = Suite(
    name="core",
    title="tasks and small objects",
    init_kwargs={"num_cpus": 2},
    benches=(
        Throughput(
            _throughput(
                "single client tasks sync", "tasks/s", 20.0, "`get(f.remote())`, one at a time"
            ),
            _tasks_sync,
        ),
        Throughput(
            _throughput(
                "single client tasks async",
                "tasks/s",
                10.0,
                f"`get([f.remote() for _ in range({BATCH})])`, counted per task",
            ),
            _tasks_batch,
            multiplier=BATCH,
        ),
        Throughput(
            _throughput(
                "single client tasks and get batch",
                "batches/s",
                10.0,
                f"the same batch of {BATCH} tasks + one get, counted per batch",
            ),
            _tasks_batch,
        ),
        Throughput(
            _throughput(
                "single client put calls",
                "calls/s",
                10.0,
                '`put(0)` (Ray: "single client put calls (Plasma Store)")',
            ),
            _put_calls,
        ),
        Throughput(
            _throughput(
                "single client get calls",
                "calls/s",
                5.0,
                '`get(ref)` of a `put(0)` (Ray: "single client get calls (Plasma Store)")',
            ),
            _get_calls,
        ),
        Throughput(
            _throughput(
                "single client wait 1k refs",
                "rounds/s",
                10.0,
                f"submit {BATCH} tasks, then {BATCH} x `wait(not_ready)` (num_returns=1),"
                " counted per round",
            ),
            _wait_1k_refs,
        ),
    ),
)

if __name__ == "__main__":
    sys.exit(driver.main(SUITE))
