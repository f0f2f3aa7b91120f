"""The demo workload: a small pipeline on the embedded runtime that reports what it ran and
how long each step took.

It estimates pi by Monte Carlo over many independent tasks, chains dependent tasks, nests
tasks deeper than there are CPUs, and passes refs inside values, so one run touches every
part of the task and object path.
"""

from __future__ import annotations

import random
import time
from typing import Callable, List, Tuple


def _timed(label: str, step: Callable[[], str], rows: List[Tuple[str, float, str]]) -> None:
    started = time.perf_counter()
    outcome = step()
    rows.append((label, time.perf_counter() - started, outcome))


def run(ray, *, samples_per_task: int = 20_000, tasks: int = 200) -> List[Tuple[str, float, str]]:
    """Runs the demo steps on ``ray`` (fusion_flow.ray_compat or ray itself)."""

    @ray.remote
    def count_inside(seed: int, samples: int) -> int:
        rng = random.Random(seed)
        inside = 0
        for _ in range(samples):
            x, y = rng.random(), rng.random()
            inside += x * x + y * y <= 1.0
        return inside

    @ray.remote
    def add(a: int, b: int) -> int:
        return a + b

    @ray.remote
    def depth(n: int) -> int:
        return 0 if n == 0 else ray.get(depth.remote(n - 1)) + 1

    @ray.remote
    def total(refs: list) -> int:
        return sum(ray.get(refs))

    @ray.remote
    def nop() -> None:
        return None

    rows: List[Tuple[str, float, str]] = []

    def monte_carlo() -> str:
        counts = ray.get([count_inside.remote(seed, samples_per_task) for seed in range(tasks)])
        estimate = 4.0 * sum(counts) / (samples_per_task * tasks)
        return f"pi ~ {estimate:.4f} from {tasks} tasks x {samples_per_task:,} samples"

    def chain() -> str:
        ref = ray.put(0)
        for step in range(1, 101):
            ref = add.remote(ref, step)
        return f"sum of 1..100 through 100 dependent tasks = {ray.get(ref)}"

    def nested() -> str:
        levels = 8
        return f"recursion {ray.get(depth.remote(levels))} levels deep, each level blocked in get"

    def refs_in_values() -> str:
        parts = [ray.put(i) for i in range(1000)]
        summed = ray.get(total.remote(parts))
        return f"a task summed 1000 objects passed as refs inside a list: {summed}"

    def round_trips() -> str:
        count = 2000
        started = time.perf_counter()
        for _ in range(count):
            ray.get(nop.remote())
        per_task = (time.perf_counter() - started) / count
        return f"{count} submit-and-wait round trips, {per_task * 1e6:.0f} us each"

    _timed("Monte Carlo pi", monte_carlo, rows)
    _timed("dependency chain", chain, rows)
    _timed("nested tasks", nested, rows)
    _timed("refs inside values", refs_in_values, rows)
    _timed("sequential tasks", round_trips, rows)
    return rows


def main() -> int:
    import fusion_flow.ray_compat as ray

    started = time.perf_counter()
    ray.init()
    init_seconds = time.perf_counter() - started
    cpus = int(ray.cluster_resources().get("CPU", 0))
    print(f"fusion-flow demo: runtime started in {init_seconds * 1000:.1f} ms with {cpus} CPUs")
    try:
        rows = run(ray)
    finally:
        ray.shutdown()
    width = max(len(label) for label, _, _ in rows)
    for label, seconds, outcome in rows:
        print(f"  {label:<{width}}  {seconds * 1000:8.1f} ms  {outcome}")
    print(f"done in {time.perf_counter() - started:.2f} s")
    return 0
