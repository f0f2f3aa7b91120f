"""The side-by-side report: the real workloads (examples/) on Ray and on fusion-flow, with
a serial baseline, plus Ray's microbenchmark table, as Markdown with matplotlib charts in
benchmarks/results/report.md and benchmarks/results/report/*.png.

    python -m benchmarks.workloads_report            # workloads now, ray_perf from its last run
    python -m benchmarks.workloads_report --ray-perf # also rerun ray_perf (~20 minutes)

Each workload runs as its own subprocess per backend; the runner samples the RSS of the whole
process tree (driver, workers, Ray's daemons) every 50 ms and keeps the peak.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import psutil

from benchmarks import provenance

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
BACKENDS = ("ray", "fusion_flow")
LABELS = {"serial": "serial", "ray": "Ray", "fusion_flow": "fusion-flow"}


@dataclass
class Workload:
    name: str
    script: str
    args: List[str]
    # Seconds the same work takes in one process without a runtime (None: not meaningful).
    serial: Optional[Callable[[], float]]
    # What must be equal on both backends, from the example's JSON report.
    result: Callable[[Any], Any]
    # The seconds the example itself timed for the work (runtime start and stop excluded).
    compute: Callable[[Any], float] = lambda report: float("nan")


def _serial_matmul(n: int) -> Callable[[], float]:
    def run() -> float:
        import numpy as np

        rng = np.random.default_rng(n)
        a, b = rng.random((n, n)), rng.random((n, n))
        started = time.perf_counter()
        a @ b
        return time.perf_counter() - started

    return run


def _serial_primes(limit: int) -> Callable[[], float]:
    def run() -> float:
        sys.path.insert(0, EXAMPLES)
        import primes

        started = time.perf_counter()
        base = primes.base_primes(math.isqrt(limit) + 1)
        primes.count_in_segment(0, limit, base)
        return time.perf_counter() - started

    return run


def _serial_images(resolution: str, frames: int) -> Callable[[], float]:
    def run() -> float:
        sys.path.insert(0, EXAMPLES)
        import image_filter as f

        started = time.perf_counter()
        for frame in range(frames):
            height, width = f.RESOLUTIONS[resolution]
            f.threshold(f.sobel(f.blur(f.grayscale(f.generate(height, width, frame)))))
        return time.perf_counter() - started

    return run


def workloads() -> List[Workload]:
    found = []
    for n in (1000, 2000, 4000):
        found.append(
            Workload(
                f"matmul {n}x{n}",
                "matmul.py",
                ["--sizes", str(n)],
                _serial_matmul(n),
                lambda r: [(row["n"], row["equal"], row["checksum"]) for row in r],
                lambda r: sum(row["parallel_s"] for row in r),
            )
        )
    found.append(
        Workload(
            "primes below 100M",
            "primes.py",
            ["--limit", "100000000"],
            _serial_primes(100_000_000),
            lambda r: (r["count"], r["largest"]),
            lambda r: r["seconds"],
        )
    )
    for resolution in ("1080p", "2K", "4K"):
        found.append(
            Workload(
                f"image filter {resolution} x4",
                "image_filter.py",
                ["--frames", "4", "--resolutions", resolution],
                _serial_images(resolution, 4),
                lambda r: {k: v["frames"] for k, v in r.items()},
                lambda r: sum(v["seconds"] for v in r.values()),
            )
        )
    found.append(Workload("microscope workflow", "microscope.py", [], None, lambda r: r["digest"]))
    return found


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_example(workload: Workload, backend: str) -> Dict[str, Any]:
    argv = [sys.executable, os.path.join(EXAMPLES, workload.script), "--backend", backend]
    started = time.perf_counter()
    proc = subprocess.Popen([*argv, *workload.args, "--json"], stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            peak = max(peak, _tree_rss(root))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate(timeout=1800)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    report = json.loads(out.strip().splitlines()[-1]) if proc.returncode == 0 else None
    return {
        "seconds": seconds,
        "peak_rss": peak,
        "returncode": proc.returncode,
        "result": workload.result(report) if report is not None else None,
        "compute": workload.compute(report) if report is not None else float("nan"),
    }


def chart(path: str, title: str, labels: List[str], series: Dict[str, List[float]], unit: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        positions = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        ax.bar(positions, values, width, label=name)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def ray_perf_chart(path: str) -> Optional[str]:
    """A chart of the last ray_perf run's ratios; None if there is none."""
    source = os.path.join(RESULTS, "ray_perf.json")
    if not os.path.exists(source):
        return None
    with open(source) as f:
        runs = {run["backend"]: run["metrics"] for run in json.load(f)}
    names = [n for n in runs["ray"] if n in runs["fusion_flow"]]
    ratios = [runs["fusion_flow"][n][0] / runs["ray"][n][0] for n in names]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 7))
    ax.barh(names, ratios)
    ax.axvline(3, color="black", linestyle="--", linewidth=1, label="target 3x")
    ax.set_xscale("log")
    ax.set_xlabel("fusion-flow / Ray (per-second rates, log scale)")
    ax.set_title("Ray's ray_perf.py, unmodified")
    ax.invert_yaxis()
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return os.path.basename(path)


def render(rows: List[Dict[str, Any]], charts: List[str], command: str) -> str:
    lines = [
        "# fusion-flow and Ray side by side: real workloads and Ray's microbenchmark",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"- Command: `{command}`",
        "- Each workload is an example from examples/ run as its own process per backend "
        "(`python examples/<name>.py --backend ray|fusion_flow`), wall time including the "
        "runtime's start and stop; peak RSS is the sum over the whole process tree (a shared "
        "page counts in every process that maps it), sampled every 50 ms; serial is the same "
        "computation in one process without a runtime; compute is the time the example "
        "itself measured for the work, without the runtime's start and stop.",
        "",
        "| Workload | serial s | Ray s | fusion-flow s | fusion-flow vs Ray | Ray compute s | "
        "fusion-flow compute s | speed-up of the work over serial (Ray / fusion-flow) | "
        "peak RSS Ray | peak RSS fusion-flow | same result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ray, ours = row["ray"], row["fusion_flow"]
        serial = row["serial"]
        speedups = (
            f"{serial / ray['compute']:.2f}x / {serial / ours['compute']:.2f}x"
            if serial and not math.isnan(ours["compute"])
            else "-"
        )
        computes = " | ".join(
            "-" if math.isnan(r["compute"]) else f"{r['compute']:.2f}" for r in (ray, ours)
        )
        lines.append(
            f"| {row['name']} | {f'{serial:.2f}' if serial else '-'} | {ray['seconds']:.2f} | "
            f"{ours['seconds']:.2f} | {ray['seconds'] / ours['seconds']:.1f}x | {computes} | "
            f"{speedups} | {ray['peak_rss'] / 2**20:,.0f} MiB | "
            f"{ours['peak_rss'] / 2**20:,.0f} MiB | {'yes' if row['equal'] else '**no**'} |"
        )
    lines += ["", "## Charts", ""]
    lines += [f"![{name}](report/{name})" for name in charts]
    lines += [
        "",
        "## Ray's microbenchmark",
        "",
        "From the last `python -m benchmarks.ray_perf` run: [ray_perf.md](ray_perf.md).",
        "",
        *provenance.sections(provenance.repo_root()),
        "",
    ]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ray-perf", action="store_true", help="rerun ray_perf first")
    parser.add_argument("--only", help="run only the workloads whose name has this text")
    args = parser.parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python -m benchmarks.workloads_report", *given])
    if args.ray_perf:
        from benchmarks import ray_perf

        ray_perf.main([])
    rows = []
    for workload in workloads():
        if args.only and args.only not in workload.name:
            continue
        row: Dict[str, Any] = {"name": workload.name}
        row["serial"] = workload.serial() if workload.serial else None
        for backend in BACKENDS:
            row[backend] = run_example(workload, backend)
            print(f"{workload.name} on {backend}: {row[backend]['seconds']:.2f} s", flush=True)
        row["equal"] = (
            row["ray"]["result"] is not None
            and row["ray"]["result"] == row["fusion_flow"]["result"]
        )
        rows.append(row)
    figures = os.path.join(RESULTS, "report")
    os.makedirs(figures, exist_ok=True)
    labels = [row["name"] for row in rows]
    series = {LABELS[b]: [row[b]["seconds"] for row in rows] for b in BACKENDS}
    chart(os.path.join(figures, "wall_time.png"), "Wall time", labels, series, "seconds")
    memory = {LABELS[b]: [row[b]["peak_rss"] / 2**20 for row in rows] for b in BACKENDS}
    chart(os.path.join(figures, "peak_rss.png"), "Peak RSS of the process tree", labels,
          memory, "MiB")  # fmt: skip
    charts = ["wall_time.png", "peak_rss.png"]
    perf = ray_perf_chart(os.path.join(figures, "ray_perf_ratios.png"))
    if perf:
        charts.append(perf)
    text = render(rows, charts, command)
    with open(os.path.join(RESULTS, "report.md"), "w") as f:
        f.write(text)
    with open(os.path.join(RESULTS, "report.json"), "w") as f:
        json.dump(rows, f, indent=2, default=str)
    print(text)
    return 0 if all(row["equal"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
