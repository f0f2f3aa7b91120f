"""An image filter pipeline over generated 1080p, 2K and 4K frames: grayscale, Gaussian
blur, Sobel edges, threshold. Each stage is a task that takes the previous stage's result
by reference (large arrays go through shared memory), and the frames run concurrently.

    python examples/image_filter.py --frames 4
    python examples/image_filter.py --backend ray
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _backend import add_backend_flag, import_backend

RESOLUTIONS = {"1080p": (1080, 1920), "2K": (1440, 2560), "4K": (2160, 3840)}
_GAUSS = np.array([1, 6, 15, 20, 15, 6, 1], dtype=np.float32) / 64.0


def generate(height: int, width: int, seed: int) -> np.ndarray:
    """An RGB frame: smooth gradients, a few discs and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frame = np.stack([x / width, y / height, (x + y) / (width + height)], axis=-1) * 120
    for _ in range(12):
        cy, cx, r = rng.integers(0, height), rng.integers(0, width), rng.integers(20, 200)
        frame[(y - cy) ** 2 + (x - cx) ** 2 < r * r] += rng.integers(40, 120, 3)
    frame += rng.normal(0, 4, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def grayscale(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _convolve_axis(image: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    radius = len(kernel) // 2
    padded = np.pad(image, [(radius, radius) if a == axis else (0, 0) for a in range(2)], "edge")
    out = np.zeros_like(image)
    length = image.shape[axis]
    for offset, weight in enumerate(kernel):
        out += weight * np.take(padded, range(offset, offset + length), axis=axis)
    return out


def blur(image: np.ndarray) -> np.ndarray:
    return _convolve_axis(_convolve_axis(image, _GAUSS, 0), _GAUSS, 1)


def sobel(image: np.ndarray) -> np.ndarray:
    padded = np.pad(image, 1, "edge")
    gx = (padded[1:-1, 2:] - padded[1:-1, :-2]) * 2 + (padded[:-2, 2:] - padded[:-2, :-2])
    gx += padded[2:, 2:] - padded[2:, :-2]
    gy = (padded[2:, 1:-1] - padded[:-2, 1:-1]) * 2 + (padded[2:, :-2] - padded[:-2, :-2])
    gy += padded[2:, 2:] - padded[:-2, 2:]
    return np.hypot(gx, gy)


def threshold(edges: np.ndarray) -> dict:
    mask = edges > 60.0
    return {"edge_pixels": int(mask.sum()), "mean_edge": round(float(edges.mean()), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_backend_flag(parser)
    parser.add_argument("--frames", type=int, default=4, help="frames per resolution")
    parser.add_argument("--resolutions", nargs="+", default=list(RESOLUTIONS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ray = import_backend(args.backend)
    ray.init()
    stages = [ray.remote(f) for f in (generate, grayscale, blur, sobel, threshold)]
    report = {}
    for name in args.resolutions:
        height, width = RESOLUTIONS[name]
        started = time.perf_counter()
        results = []
        for frame in range(args.frames):
            ref = stages[0].remote(height, width, frame)
            for stage in stages[1:]:
                ref = stage.remote(ref)
            results.append(ref)
        values = ray.get(results)
        report[name] = {"frames": values, "seconds": time.perf_counter() - started}
    ray.shutdown()
    if args.json:
        print(json.dumps(report))
        return
    for name, row in report.items():
        edges = sum(v["edge_pixels"] for v in row["frames"])
        print(f"{name}: {args.frames} frames in {row['seconds']:.2f} s, {edges:,} edge pixels")


if __name__ == "__main__":
    main()
