"""A microscope acquisition workflow, simulated, on the Ray Core API (either backend).

1. The stage actor reports the z-positions to image at (a focus map per stripe).
2. One camera actor per stripe captures batches of images at those positions; the three
   stripes are captured concurrently, each camera streaming its batches out as it takes them
   (a generator method, so each batch is available the moment it exists).
3. Each batch is focus-stacked by a task as soon as it arrives, while the cameras keep
   capturing: the stacking tasks keep every CPU busy. Some stacks fail once on purpose (a
   "transient" fault) and are retried.
4. A prediction task counts the features in every stack and classifies each stripe.

Every image is synthesised from a seed, so the results are the same on every run and on
both backends; the summary lists each task with its state, duration and attempts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import numpy as np


@dataclass(frozen=True)
class Config:
    stripes: int = 3
    batches_per_stripe: int = 4
    images_per_batch: int = 8
    image_size: int = 384
    exposure_s: float = 0.002
    # Every n-th stack fails on its first attempt (0: never), to show retries.
    flaky_every: int = 5
    seed: int = 7


@dataclass
class TaskRecord:
    name: str
    state: str
    seconds: float
    attempts: int


@dataclass
class Summary:
    stripes: Dict[int, Dict[str, Any]]
    tasks: List[TaskRecord] = field(default_factory=list)
    images: int = 0
    seconds: float = 0.0

    def digest(self) -> Tuple:
        """What must be equal on every run and backend."""
        return tuple(
            (s, info["features"], info["class"], info["checksum"])
            for s, info in sorted(self.stripes.items())
        )


class TransientFault(Exception):
    """A simulated fault that goes away when the stack is retried."""


class Stage:
    """The motorised stage: where to focus, and moving there."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.moves = 0

    def z_positions(self, stripes: int, planes: int) -> Dict[int, List[float]]:
        """A focus map: for each stripe, the planes around its (tilted) focal plane."""
        focus = 10.0 + 0.5 * np.arange(stripes) + self.rng.normal(0, 0.05, stripes)
        return {s: [round(float(focus[s] + dz), 3) for dz in np.linspace(-1, 1, planes)]
                for s in range(stripes)}  # fmt: skip

    def move(self, stripe: int, z: float) -> float:
        self.moves += 1
        return z


class Camera:
    """The camera on one stripe: captures batches, one image per z-position."""

    def __init__(self, stripe: int, config: Config) -> None:
        self.stripe = stripe
        self.config = config

    def capture_stripe(self, stage: Any, z_positions: List[float], api_module: str):
        """Yields (batch index, images, seconds) per batch as each is captured."""
        import importlib

        ray = importlib.import_module(api_module)
        config = self.config
        for batch in range(config.batches_per_stripe):
            started = time.perf_counter()
            images = []
            for plane, z in enumerate(z_positions[: config.images_per_batch]):
                ray.get(stage.move.remote(self.stripe, z))
                time.sleep(config.exposure_s)
                images.append(_synthesise(config, self.stripe, batch, plane, z, z_positions))
            yield batch, np.stack(images), time.perf_counter() - started


def _synthesise(config: Config, stripe: int, batch: int, plane: int, z: float, zs: List[float]):
    """A field of bright cells, blurred by how far ``z`` is from focus, plus sensor noise."""
    size = config.image_size
    rng = np.random.default_rng([config.seed, stripe, batch])
    cells = 20 + 10 * stripe
    ys, xs = rng.integers(8, size - 8, cells), rng.integers(8, size - 8, cells)
    image = np.zeros((size, size), dtype=np.float32)
    image[ys, xs] = 1000.0
    focus = zs[len(zs) // 2]
    sigma = 0.6 + 2.5 * abs(z - focus)
    image = _blur(image, sigma)
    noise = np.random.default_rng([config.seed, stripe, batch, plane]).normal(0, 2, image.shape)
    return (image + 100 + noise).astype(np.float32)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    radius = max(1, int(3 * sigma))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    rows = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, image)
    return np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 0, rows)


def _sharpness(image: np.ndarray) -> float:
    laplacian = (
        -4 * image[1:-1, 1:-1]
        + image[:-2, 1:-1]
        + image[2:, 1:-1]
        + image[1:-1, :-2]
        + image[1:-1, 2:]
    )
    return float(laplacian.var())


class AttemptLedger:
    """Counts attempts per task, so that retries can be shown (and faults injected once)."""

    def __init__(self) -> None:
        self.attempts: Dict[str, int] = {}

    def attempt(self, key: str) -> int:
        self.attempts[key] = self.attempts.get(key, 0) + 1
        return self.attempts[key]

    def all(self) -> Dict[str, int]:
        return dict(self.attempts)


def _focus_stack(images: np.ndarray) -> np.ndarray:
    """Each plane weighted by its sharpness, then a denoising pass (the CPU-heavy part)."""
    weights = np.array([_sharpness(image) for image in images])
    weights = weights / weights.sum()
    stacked = np.tensordot(weights, images.astype(np.float64), axes=1)
    return _blur(stacked, 0.8).astype(np.float32)


def stack_batch(images: np.ndarray, key: str, flaky: bool, ledger: Any, api_module: str):
    """The stacking task. Returns (stack, seconds)."""
    import importlib

    ray = importlib.import_module(api_module)
    started = time.perf_counter()
    if ray.get(ledger.attempt.remote(key)) == 1 and flaky:
        raise TransientFault(f"{key}: the frame grabber dropped a frame")
    return _focus_stack(images), time.perf_counter() - started


def predict(stacks: Dict[int, List[np.ndarray]]):
    """Counts bright features per stripe and classifies it. Returns (per stripe, seconds)."""
    started = time.perf_counter()
    found = {}
    for stripe, images in stacks.items():
        features = 0
        checksum = 0.0
        for image in images:
            threshold = image.mean() + 4 * image.std()
            core = image[1:-1, 1:-1]
            peaks = (
                (core > threshold)
                & (core >= image[:-2, 1:-1])
                & (core >= image[2:, 1:-1])
                & (core >= image[1:-1, :-2])
                & (core >= image[1:-1, 2:])
            )
            features += int(peaks.sum())
            checksum += round(float(image.sum()) / image.size, 3)
        found[stripe] = {
            "features": features,
            "class": "dense" if features / len(images) > 30 else "sparse",
            "checksum": round(checksum, 3),
        }
    return found, time.perf_counter() - started


def run(ray: Any, config: Config = Config()) -> Summary:
    """Runs the workflow on ``ray`` (fusion_flow.ray_compat or ray itself, initialised)."""
    started = time.perf_counter()
    api = ray.__name__
    stage = ray.remote(Stage).remote(config.seed)
    ledger = ray.remote(AttemptLedger).remote()
    cameras = [ray.remote(Camera).remote(s, config) for s in range(config.stripes)]
    stack_task = ray.remote(stack_batch).options(max_retries=2, retry_exceptions=[TransientFault])
    zs = ray.get(stage.z_positions.remote(config.stripes, config.images_per_batch))
    streams = {
        s: camera.capture_stripe.remote(stage, zs[s], api) for s, camera in enumerate(cameras)
    }
    records: List[TaskRecord] = []
    pending: Dict[Any, Tuple[int, int, str]] = {}
    # Stack each batch as soon as its camera yields it, from whichever stripe is first.
    live = dict(streams)
    while live:
        ready, _ = ray.wait(list(live.values()), num_returns=1)
        stripe = next(s for s, g in live.items() if g is ready[0])
        try:
            batch, images, seconds = ray.get(next(live[stripe]))
        except StopIteration:
            del live[stripe]
            continue
        name = f"capture stripe {stripe} batch {batch}"
        records.append(TaskRecord(name, "FINISHED", seconds, 1))
        key = f"stack stripe {stripe} batch {batch}"
        serial = stripe * config.batches_per_stripe + batch + 1
        flaky = config.flaky_every > 0 and serial % config.flaky_every == 0
        pending[stack_task.remote(images, key, flaky, ledger, api)] = (stripe, batch, key)
    stacks: Dict[int, List[Any]] = {s: [None] * config.batches_per_stripe for s in streams}
    durations: Dict[str, float] = {}
    states: Dict[str, str] = {}
    for ref, (stripe, batch, key) in pending.items():
        try:
            stacked, seconds = ray.get(ref)
            stacks[stripe][batch] = stacked
            durations[key], states[key] = seconds, "FINISHED"
        except Exception:
            durations[key], states[key] = 0.0, "FAILED"
    attempts = ray.get(ledger.all.remote())
    for _, _, key in pending.values():
        records.append(TaskRecord(key, states[key], durations[key], attempts.get(key, 0)))
    complete = {s: [x for x in images if x is not None] for s, images in stacks.items()}
    per_stripe, seconds = ray.get(ray.remote(predict).remote(complete))
    records.append(TaskRecord("predict", "FINISHED", seconds, 1))
    images = config.stripes * config.batches_per_stripe * config.images_per_batch
    return Summary(per_stripe, records, images, time.perf_counter() - started)


def serial_digest(config: Config = Config()) -> Tuple:
    """The digest computed in this process without any runtime: what ``run`` must match."""
    zs = Stage(config.seed).z_positions(config.stripes, config.images_per_batch)
    stacks = {}
    for stripe in range(config.stripes):
        stacks[stripe] = []
        for batch in range(config.batches_per_stripe):
            planes = zs[stripe][: config.images_per_batch]
            images = np.stack(
                [
                    _synthesise(config, stripe, batch, plane, z, zs[stripe])
                    for plane, z in enumerate(planes)
                ]
            )
            stacks[stripe].append(_focus_stack(images))
    per_stripe, _ = predict(stacks)
    return Summary(per_stripe).digest()


def format_summary(summary: Summary) -> List[str]:
    width = max(len(r.name) for r in summary.tasks)
    lines = [f"  {'task':<{width}}  {'state':<8}  {'ms':>8}  attempts"]
    for record in summary.tasks:
        lines.append(
            f"  {record.name:<{width}}  {record.state:<8}  {record.seconds * 1000:8.1f}  "
            f"{record.attempts}"
        )
    for stripe, info in sorted(summary.stripes.items()):
        lines.append(
            f"  stripe {stripe}: {info['features']} features, {info['class']} "
            f"(checksum {info['checksum']})"
        )
    retried = sum(1 for r in summary.tasks if r.attempts > 1)
    lines.append(
        f"  {summary.images} images, {len(summary.tasks)} tasks ({retried} retried) "
        f"in {summary.seconds:.2f} s"
    )
    return lines
