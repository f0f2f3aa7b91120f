"""``ray._private.ray_microbenchmark_helpers``: the timing loop of Ray's microbenchmark.

The protocol is Ray's, so figures compare: an optional pause (to let noisy neighbours settle),
one second of warm-up, then four rounds of two seconds; each round's rate is
``multiplier * calls / seconds``, and the line printed is ``<name> per second <mean> +- <sd>``.
``TESTS_TO_RUN`` keeps only the names containing it, ``TESTS_TO_SKIP`` drops those that do.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from typing import Any, Awaitable, Callable, Iterator, List, Optional, Tuple

import fusion_flow.ray_compat as ray

Result = Optional[Tuple[str, float, float]]
_ROUNDS = 4
_ROUND_SECONDS = 2.0
_WARMUP_SECONDS = 1.0


def _selected(name: str) -> bool:
    wanted = os.environ.get("TESTS_TO_RUN", "")
    skipped = os.environ.get("TESTS_TO_SKIP", "")
    return (not wanted or wanted in name) and not (skipped and skipped in name)


def _report(name: str, rates: List[float]) -> List[Result]:
    mean = statistics.fmean(rates)
    spread = statistics.pstdev(rates)
    print(name, "per second", round(mean, 2), "+-", round(spread, 2))
    return [(name, mean, spread)]


def timeit(
    name: str, fn: Callable[[], Any], multiplier: float = 1, warmup_time_sec: float = 10
) -> List[Result]:
    """Times ``fn`` as Ray's microbenchmark does; ``[None]`` when filtered out."""
    if not _selected(name):
        return [None]
    time.sleep(warmup_time_sec)
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < _WARMUP_SECONDS:
        fn()
        calls += 1
    batch = calls // 10 + 1  # calls between clock reads
    rates = []
    for _ in range(_ROUNDS):
        calls = 0
        started = time.perf_counter()
        while time.perf_counter() - started < _ROUND_SECONDS:
            for _ in range(batch):
                fn()
            calls += batch
        rates.append(multiplier * calls / (time.perf_counter() - started))
    return _report(name, rates)


async def asyncio_timeit(
    name: str,
    async_fn: Callable[[], Awaitable[Any]],
    multiplier: float = 1,
    warmup_time_sec: float = 10,
) -> List[Result]:
    """``timeit`` for a coroutine function, awaited in the running loop."""
    if not _selected(name):
        return [None]
    time.sleep(warmup_time_sec)
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < _WARMUP_SECONDS:
        await async_fn()
        calls += 1
    batch = calls // 10 + 1
    rates = []
    for _ in range(_ROUNDS):
        calls = 0
        started = time.perf_counter()
        while time.perf_counter() - started < _ROUND_SECONDS:
            for _ in range(batch):
                await async_fn()
            calls += batch
        rates.append(multiplier * calls / (time.perf_counter() - started))
    return _report(name, rates)


@contextlib.contextmanager
def ray_setup_and_teardown(**init_args: Any) -> Iterator[None]:
    ray.init(**init_args)
    try:
        yield None
    finally:
        ray.shutdown()
