"""Blocked matrix multiplication: C = A @ B with each block of C a task.

A is split into row blocks and B into column blocks, each put in the object store once;
task (i, j) computes A_i @ B_j. The result is checked against serial numpy.

    python examples/matmul.py --sizes 1000 2000 4000
    python examples/matmul.py --backend ray --sizes 1000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _backend import add_backend_flag, import_backend


def multiply_block(a_block: np.ndarray, b_block: np.ndarray) -> np.ndarray:
    return a_block @ b_block


def blocked_matmul(ray, a: np.ndarray, b: np.ndarray, blocks: int) -> np.ndarray:
    task = ray.remote(multiply_block)
    rows = [ray.put(part) for part in np.array_split(a, blocks, axis=0)]
    cols = [ray.put(part) for part in np.array_split(b, blocks, axis=1)]
    grid = [[task.remote(r, c) for c in cols] for r in rows]
    return np.block([[ray.get(ref) for ref in row] for row in grid])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_backend_flag(parser)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--blocks", type=int, default=4, help="blocks per side")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ray = import_backend(args.backend)
    ray.init()
    report = []
    for n in args.sizes:
        rng = np.random.default_rng(n)
        a, b = rng.random((n, n)), rng.random((n, n))
        started = time.perf_counter()
        expected = a @ b
        serial = time.perf_counter() - started
        started = time.perf_counter()
        result = blocked_matmul(ray, a, b, args.blocks)
        parallel = time.perf_counter() - started
        report.append(
            {
                "n": n,
                "equal": bool(np.allclose(result, expected)),
                "checksum": round(float(result.sum()), 2),
                "serial_s": serial,
                "parallel_s": parallel,
            }
        )
    ray.shutdown()
    if args.json:
        print(json.dumps(report))
        return
    for row in report:
        print(
            f"{row['n']}x{row['n']}: serial {row['serial_s']:.2f} s, {args.backend} "
            f"{row['parallel_s']:.2f} s, equal to serial: {row['equal']}"
        )


if __name__ == "__main__":
    main()
