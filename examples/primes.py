"""Counting primes below N, split into chunks: each chunk is sieved by a task (a segmented
sieve with the base primes up to sqrt(N) passed in once, by reference).

    python examples/primes.py --limit 100000000 --chunks 64
    python examples/primes.py --backend ray
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
from _backend import add_backend_flag, import_backend


def base_primes(limit: int) -> np.ndarray:
    sieve = np.ones(limit + 1, dtype=bool)
    sieve[:2] = False
    for p in range(2, math.isqrt(limit) + 1):
        if sieve[p]:
            sieve[p * p :: p] = False
    return np.flatnonzero(sieve)


def count_in_segment(low: int, high: int, primes: np.ndarray) -> tuple:
    """(how many primes in [low, high), the largest one or 0)."""
    segment = np.ones(high - low, dtype=bool)
    for p in primes:
        p = int(p)
        if p * p >= high:
            break
        start = max(p * p, (low + p - 1) // p * p)
        segment[start - low :: p] = False
    if low < 2:
        segment[: 2 - low] = False
    found = np.flatnonzero(segment)
    return int(found.size), int(found[-1] + low) if found.size else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_backend_flag(parser)
    parser.add_argument("--limit", type=int, default=100_000_000)
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ray = import_backend(args.backend)
    ray.init()
    started = time.perf_counter()
    primes = ray.put(base_primes(math.isqrt(args.limit) + 1))
    task = ray.remote(count_in_segment)
    edges = np.linspace(0, args.limit, args.chunks + 1, dtype=np.int64)
    results = ray.get([task.remote(int(lo), int(hi), primes) for lo, hi in zip(edges, edges[1:])])
    seconds = time.perf_counter() - started
    ray.shutdown()
    count = sum(c for c, _ in results)
    largest = max(p for _, p in results)
    if args.json:
        print(json.dumps({"count": count, "largest": largest, "seconds": seconds}))
    else:
        print(f"{count:,} primes below {args.limit:,} (largest {largest:,}) in {seconds:.2f} s")


if __name__ == "__main__":
    main()
