"""Objects suite: large values through the object store.

The first three rows are Ray's own (``ray/_private/ray_perf.py``): ``put`` of an 800 MB numpy
array counted in gigabytes, ten tasks each putting ten 80 MB arrays, and ``get`` of an object
holding 10,000 refs. Then ``get`` of an 800 MB and of an 8 MB array (a zero-copy get costs the
same for both), and what the process tree keeps after an 800 MB object is freed.

Run on one backend: ``python -m benchmarks.workloads.objects --backend ray --out objects.json``.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Tuple

from benchmarks import backends, driver
from benchmarks.config import RunConfig
from benchmarks.spec import MEMORY, THROUGHPUT, Measurement, Metric, Suite, Throughput
from benchmarks.startup import MIB

LARGE_INTS = 100 * 1024 * 1024  # int64s: 800 MB, ray_perf's array
SMALL_INTS = 1024 * 1024  # 8 MB
MULTI_PUTS = 10  # per task, ray_perf's do_put
MULTI_TASKS = 10
MULTI_INTS = 10 * 1024 * 1024  # 80 MB per put
SETTLE_AFTER_FREE_SECONDS = 2.0


def _numpy() -> Any:
    import numpy

    return numpy


def _put_gigabytes(api: Any) -> Callable[[], object]:
    array = _numpy().zeros(LARGE_INTS, dtype=_numpy().int64)
    return lambda: api.put(array)


def _multi_put_gigabytes(api: Any) -> Callable[[], object]:
    def do_put():
        import numpy

        for _ in range(MULTI_PUTS):
            api.put(numpy.zeros(MULTI_INTS, dtype=numpy.int64))

    remote = api.remote(do_put)
    return lambda: api.get([remote.remote() for _ in range(MULTI_TASKS)])


def _get_10k_refs(api: Any) -> Callable[[], object]:
    def create_object_containing_refs():
        return api.put([api.put(1) for _ in range(10_000)])

    ref = api.get(api.remote(create_object_containing_refs).remote())
    return lambda: api.get(ref)


def _get_array(ints: int) -> Callable[[Any], Callable[[], object]]:
    def setup(api: Any) -> Callable[[], object]:
        ref = api.put(_numpy().ones(ints, dtype=_numpy().int64))
        return lambda: api.get(ref)

    return setup


@dataclass(frozen=True)
class MemoryAfterFree:
    """Process-tree RSS once an 800 MB object is freed; the detail has the RSS before the
    put, and the growth as a share of it."""

    metric: Metric

    @property
    def metrics(self) -> Tuple[Metric, ...]:
        return (self.metric,)

    def run(self, api: Any, config: RunConfig) -> Dict[str, Measurement]:
        from benchmarks import memory

        extra = backends.session_pids(api)

        def tree_rss() -> int:
            return sum(p.memory_info().rss for p in memory.tree(extra=extra))

        gc.collect()
        time.sleep(SETTLE_AFTER_FREE_SECONDS)
        before = tree_rss()
        array = _numpy().ones(LARGE_INTS, dtype=_numpy().int64)
        array_rss = array.nbytes
        ref = api.put(array)
        del array
        value = api.get(ref)
        checksum = int(value[:: 1 << 20].sum())  # touch a page in every 8 MB of the mapping
        peak = tree_rss()
        del value, ref
        gc.collect()
        time.sleep(SETTLE_AFTER_FREE_SECONDS)
        after = tree_rss()
        growth = max(after - before, 0)
        detail = {
            "before": before,
            "peak": peak,
            "after": after,
            "array_bytes": array_rss,
            "checksum": checksum,
            "growth_percent_of_before": 100.0 * growth / before,
        }
        return {self.metric.name: {"samples": [after], "detail": detail}}


def _gigabytes(name: str, description: str) -> Metric:
    return Metric(name, "GB/s", THROUGHPUT, target=1.0, description=description)


SUITE = Suite(
    name="objects",
    title="large objects",
    init_kwargs={"num_cpus": 2},
    benches=(
        Throughput(
            _gigabytes(
                "single client put gigabytes",
                "`put` of one 800 MB int64 array (ray_perf: 100 Mi int64), counted in GB",
            ),
            _put_gigabytes,
            multiplier=LARGE_INTS * 8 / 1e9,
        ),
        Throughput(
            _gigabytes(
                "multi client put gigabytes",
                f"{MULTI_TASKS} tasks, each putting {MULTI_PUTS} 80 MB int64 arrays",
            ),
            _multi_put_gigabytes,
            multiplier=MULTI_TASKS * MULTI_PUTS * MULTI_INTS * 8 / 1e9,
        ),
        Throughput(
            Metric(
                "single client get object containing 10k refs",
                "gets/s",
                THROUGHPUT,
                description="`get` of a put list of 10,000 refs, made by a task",
            ),
            _get_10k_refs,
        ),
        Throughput(
            Metric(
                "single client get 800 MB array",
                "gets/s",
                THROUGHPUT,
                description="`get` of a put 800 MB int64 array (not touching its pages)",
            ),
            _get_array(LARGE_INTS),
        ),
        Throughput(
            Metric(
                "single client get 8 MB array",
                "gets/s",
                THROUGHPUT,
                description="the same for an 8 MB array",
            ),
            _get_array(SMALL_INTS),
        ),
        MemoryAfterFree(
            Metric(
                "process tree RSS after an 800 MB object is freed",
                "MiB",
                MEMORY,
                scale=MIB,
                description="tree RSS (driver, descendants, Ray's daemons) after `put` of an"
                " 800 MB array, a `get` touching a page per 8 MB, dropping every ref and"
                f" {SETTLE_AFTER_FREE_SECONDS:g} s settle (the detail has the RSS before)",
            )
        ),
    ),
)

if __name__ == "__main__":
    sys.exit(driver.main(SUITE))
