"""Ray's own microbenchmark, unmodified, on both backends in one run: the installed wheel's
``ray/_private/ray_perf.py`` with ``python`` (Ray) and under ``fusion-flow run``
(fusion-flow), then a table of both outputs with the ratios in
benchmarks/results/ray_perf.md.

    python -m benchmarks.ray_perf                        # every section
    python -m benchmarks.ray_perf --only "1:1 actor"     # Ray's TESTS_TO_RUN filter
    python -m benchmarks.ray_perf --skip "client:"       # Ray's TESTS_TO_SKIP filter

The client section runs on each backend's own Ray Client: Ray's gRPC client server in the
driver process, fusion-flow's driver attached to the node over its socket.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
from typing import Dict, List, Optional, Tuple

from benchmarks import provenance
from benchmarks.child import run_child

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
_LINE = re.compile(r"^(?P<name>.+) per second (?P<mean>[0-9.e+-]+) \+- (?P<sd>[0-9.e+-]+)$")
# The target: at least 3x Ray everywhere, put gigabytes at least at parity.
_TARGET = 3.0
_PARITY_METRICS = ("put gigabytes",)


def ray_perf_script() -> str:
    import ray

    return os.path.join(os.path.dirname(ray.__file__), "_private", "ray_perf.py")


def parse(lines: List[str]) -> Dict[str, Tuple[float, float]]:
    """name -> (mean, sd) from the benchmark's ``<name> per second <mean> +- <sd>`` lines."""
    found = {}
    for line in lines:
        match = _LINE.match(line.strip())
        if match:
            found[match.group("name")] = (float(match.group("mean")), float(match.group("sd")))
    return found


def run(
    backend: str, script: str, only: Optional[str], skip: Optional[str], timeout: float
) -> Dict:
    if backend == "ray":
        argv = [sys.executable, script]
    else:
        argv = [sys.executable, "-m", "fusion_flow", "run", script]
    env = {}
    if only:
        env["TESTS_TO_RUN"] = only
    if skip:
        env["TESTS_TO_SKIP"] = skip
    child = run_child(argv, timeout=timeout, prefix=f"[{backend}] ", env=env, keep_all=True)
    return {
        "backend": backend,
        "returncode": child.returncode,
        "timed_out": child.timed_out,
        "seconds": child.seconds,
        "metrics": parse(child.tail),
    }


def _target(name: str) -> float:
    return 1.0 if any(part in name for part in _PARITY_METRICS) else _TARGET


def render(runs: List[Dict], command: str) -> str:
    ray, ours = (next(r for r in runs if r["backend"] == b) for b in ("ray", "fusion_flow"))
    names = list(ray["metrics"]) + [n for n in ours["metrics"] if n not in ray["metrics"]]
    rows = []
    met = 0
    for name in names:
        theirs, mine = ray["metrics"].get(name), ours["metrics"].get(name)
        if theirs is None or mine is None:
            rows.append(f"| {name} | {_cell(theirs)} | {_cell(mine)} | - | - |")
            continue
        ratio = mine[0] / theirs[0]
        target = _target(name)
        met += ratio >= target
        verdict = "yes" if ratio >= target else "**no**"
        cells = f"| {name} | {_cell(theirs)} | {_cell(mine)} | {ratio:.1f}x "
        rows.append(f"{cells}| {verdict} (>= {target:g}x) |")
    compared = sum(1 for n in names if n in ray["metrics"] and n in ours["metrics"])
    lines = [
        "# Ray's microbenchmark (ray_perf.py), unmodified, on Ray and on fusion-flow",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"- Command: `{command}`",
        "- Ray: `python ray/_private/ray_perf.py`; fusion-flow: "
        "`fusion-flow run ray/_private/ray_perf.py` (the same file from the ray wheel), "
        "every section. The `client:` metrics run on each backend's Ray Client: Ray's gRPC "
        "client server in the driver process, fusion-flow's driver attached to the node "
        "over its Unix socket.",
        f"- Exit codes: Ray {ray['returncode']}, fusion-flow {ours['returncode']}; wall time "
        f"Ray {ray['seconds']:.0f} s, fusion-flow {ours['seconds']:.0f} s.",
        f"- Target met on {met} of {compared} metrics.",
        "",
        "| Metric (per second) | Ray | fusion-flow | fusion-flow / Ray | Target met |",
        "|---|---:|---:|---:|---|",
        *rows,
        "",
        *provenance.sections(provenance.repo_root()),
        "",
    ]
    return "\n".join(lines)


def _cell(value: Optional[Tuple[float, float]]) -> str:
    if value is None:
        return "-"
    mean, sd = value
    return f"{mean:,.1f} ± {sd:,.1f}" if mean < 100 else f"{mean:,.0f} ± {sd:,.0f}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="Ray's TESTS_TO_RUN: keep metrics whose name has this")
    parser.add_argument("--skip", help="Ray's TESTS_TO_SKIP: drop metrics whose name has this")
    parser.add_argument("--timeout", type=float, default=2400.0, help="seconds per backend")
    parser.add_argument("--out", default=os.path.join(RESULTS, "ray_perf.md"))
    args = parser.parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = "python -m benchmarks.ray_perf " + " ".join(given)
    script = ray_perf_script()
    runs = [
        run(backend, script, args.only, args.skip, args.timeout)
        for backend in ("ray", "fusion_flow")
    ]
    text = render(runs, command.strip())
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(runs, f, indent=2)
    print(text)
    return 0 if all(r["returncode"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
