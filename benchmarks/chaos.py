"""The chaos test, long, side by side: the same script (``benchmarks/workloads/chaos.py``) on
Ray and on fusion-flow, each with and without the killer, one subprocess at a time, then a
Markdown table in benchmarks/results/chaos.md.

    python -m benchmarks.chaos                 # 10,000 tasks, 1,000 actor calls, kill every 0.2 s
    python -m benchmarks.chaos --tasks 2000    # shorter
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from typing import Any, Dict, List, Optional

from benchmarks import backends, provenance
from benchmarks.child import run_child

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _run_one(backend: str, killer: bool, args: argparse.Namespace) -> Dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "benchmarks.workloads.chaos",
        "--backend",
        backend,
        "--tasks",
        str(args.tasks),
        "--actor-calls",
        str(args.actor_calls),
        "--kill-every",
        str(args.kill_every),
    ]
    if not killer:
        argv.append("--no-killer")
    label = f"{backend}{'' if killer else ', no killer'}"
    child = run_child(argv, timeout=args.timeout, prefix=f"[{label}] ")
    report: Optional[Dict[str, Any]] = None
    for line in child.tail:
        if line.startswith("@@"):
            report = json.loads(line[2:])
    if report is None:
        reason = "timed out" if child.timed_out else f"exit code {child.returncode}"
        return {"backend": backend, "killer": killer, "error": reason, "tail": child.tail[-5:]}
    return {"backend": backend, "killer": killer, **report}


def _row(result: Dict[str, Any]) -> str:
    name = backends.get_backend(result["backend"]).label
    killer = "yes" if result["killer"] else "no"
    if "error" in result:
        return f"| {name} | {killer} | - | - | - | - | - | {result['error']} |"
    verdict = "pass" if result["passed"] else "**fail**"
    return (
        f"| {name} | {killer} | {result['seconds']:.1f} | {result['kills']} | "
        f"{result['wrong']} | {'yes' if result['resources_back'] else 'no'} | "
        f"{len(result['orphans'])} | {verdict} |"
    )


def render(results: List[Dict[str, Any]], args: argparse.Namespace, command: str) -> str:
    lines = [
        "# Chaos test: Ray and fusion-flow, same script, same run",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
        f"- Command: `{command}`",
        f"- Workload: {args.tasks:,} tasks with max_retries=-1 (every tenth submits two "
        f"children and sums them), {args.actor_calls:,} calls on an actor with "
        "max_restarts=-1 and max_task_retries=-1; the killer SIGKILLs a random worker that "
        f"ran our code every {args.kill_every} s.",
        "- Checks: every result equals its expected value, exactly one per call; all CPUs "
        "free again afterwards; no worker process alive 10 s after shutdown.",
        "",
        "| Backend | Killer | Seconds | Kills | Wrong or missing | CPUs back | Orphans | Verdict |",
        "|---|---|---:|---:|---:|---|---:|---|",
        *(_row(r) for r in results),
        "",
        *provenance.sections(provenance.repo_root()),
        "",
    ]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--actor-calls", type=int, default=1_000)
    parser.add_argument("--kill-every", type=float, default=0.2)
    parser.add_argument("--backends", default="ray,fusion_flow")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--out", default=os.path.join(RESULTS, "chaos.md"))
    args = parser.parse_args(argv)
    command = "python -m benchmarks.chaos " + " ".join(argv if argv is not None else sys.argv[1:])
    results = [
        _run_one(backend, killer, args)
        for backend in args.backends.split(",")
        for killer in (False, True)
    ]
    text = render(results, args, command.strip())
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(results, f, indent=2)
    print(text)
    return 0 if all(r.get("passed") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
