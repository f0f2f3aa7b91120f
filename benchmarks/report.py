"""The Markdown report and the raw JSON of a run.

Files in the output directory: ``<suite>-<UTC stamp>.md/.json`` for every full run, and the
stable ``<suite>.md/.json`` (what the README links to), rewritten by full runs only. A quick
run writes ``<suite>-quick.md/.json`` and nothing else.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
from typing import Any, Dict, List, Optional

from benchmarks.backends import BACKENDS, BASELINE
from benchmarks.spec import Metric, Suite
from benchmarks.timing import summarize

GIB = float(1 << 30)
MIB_BYTES = float(1 << 20)
TIMES = "\u00d7"  # multiplication sign
DASH = "\u2013"  # en dash: no value


def write(doc: Dict[str, Any], suite: Suite, out_dir: str, update_latest: bool) -> List[str]:
    os.makedirs(out_dir, exist_ok=True)
    if doc["config"]["quick"]:
        stems = [f"{suite.name}-quick"]
    else:
        stamp = datetime.datetime.fromisoformat(doc["started_at"]).strftime("%Y-%m-%dT%H%M%SZ")
        stems = [f"{suite.name}-{stamp}"] + ([suite.name] if update_latest else [])
    paths = []
    for stem in stems:
        json_path = os.path.join(out_dir, f"{stem}.json")
        md_path = os.path.join(out_dir, f"{stem}.md")
        with open(json_path, "w") as fh:
            json.dump(doc, fh, indent=1, default=str)
            fh.write("\n")
        with open(md_path, "w") as fh:
            fh.write(render(doc, suite, raw_json=os.path.basename(json_path)))
        paths += [md_path, json_path]
    return paths


def render(doc: Dict[str, Any], suite: Suite, raw_json: str) -> str:
    lines = [f"# fusion-flow vs Ray: {suite.name} suite ({suite.title})", ""]
    if doc["config"]["quick"]:
        lines += ["> **Quick smoke run** (1 short trial): the numbers are not meaningful.", ""]
    lines += [
        f"- Date: {doc['started_at']} (UTC), took {doc['duration_seconds']:.0f} s",
        f"- Command: `{doc['command']}` (from `{doc['cwd']}`)",
        f"- Raw data: [{raw_json}]({raw_json})",
        "",
        table(doc, suite),
        "",
    ]
    lines += _backends_section(doc)
    lines += _memory_section(doc)
    lines += _machine_section(doc)
    lines += _versions_section(doc)
    lines += _method_section(doc, suite)
    return "\n".join(lines) + "\n"


def table(doc: Dict[str, Any], suite: Suite) -> str:
    """The results table, with its caption and the footnotes for failed cells."""
    n_runs = doc["config"]["startup_trials"]
    lines = [
        "| Metric | Unit | " + " | ".join(b.label for b in BACKENDS.values()) + " | Ratio "
        "| Target | Met? |",
        "|---|---|" + "---:|" * len(BACKENDS) + "---:|---:|:---:|",
    ]
    notes: List[str] = []
    for metric in suite.metrics:
        cells = [_cell(doc, name, metric, notes) for name in BACKENDS]
        ratio = _ratio(doc, metric)
        target = f"≥ {metric.target:g}{TIMES}" if metric.target else ""
        if not metric.target:
            met = ""
        elif ratio is None:
            met = DASH
        else:
            met = "met" if ratio >= metric.target else "**not met**"
        ratio_text = f"{_num(ratio)}{TIMES}" if ratio is not None else DASH
        lines.append(
            f"| {metric.name} | {metric.unit} | "
            + " | ".join(cells)
            + f" | {ratio_text} | {target} | {met} |"
        )
    lines += [
        "",
        "Ratio = fusion-flow / Ray for throughput, Ray / fusion-flow for times, memory and"
        " process counts: **higher = fusion-flow better** throughout; the target is the ratio"
        " the issue asks for. Cells are mean ± sample stdev: throughput over"
        f" {_plural(doc['config']['trials'], 'timed trial')} of"
        f" {doc['config']['trial_seconds']:g} s each (after a warm-up), start-up rows over"
        f" {_plural(n_runs, 'fresh process', 'fresh processes')} per backend.",
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def _plural(n: int, one: str, many: Optional[str] = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _summary(doc: Dict[str, Any], backend: str, metric: Metric) -> Optional[Dict[str, float]]:
    result = doc["backends"].get(backend)
    # A backend that failed to start has no comparable numbers, even if its import was timed.
    if not result or result["status"] == "failed" or metric.name not in result["metrics"]:
        return None
    return summarize(result["metrics"][metric.name]["samples"])


def _cell(doc: Dict[str, Any], backend: str, metric: Metric, notes: List[str]) -> str:
    result = doc["backends"].get(backend)
    if result is None:
        return "not run"
    summary = _summary(doc, backend, metric)
    if summary is not None:
        mean, stdev = summary["mean"] * metric.scale, summary["stdev"] * metric.scale
        if summary["n"] == 1 or stdev == 0:
            return _num(mean)
        return f"{_num(mean)} ± {_spread(stdev)}"
    if result["status"] == "failed":
        return "failed"
    if metric.name in result["errors"]:
        notes.append(
            f"{len(notes) + 1}. {result['label']}, {metric.name}: "
            f"`{result['errors'][metric.name]['error']}`"
        )
        return f"error ({len(notes)})"
    return "not reached"


def _ratio(doc: Dict[str, Any], metric: Metric) -> Optional[float]:
    others = [name for name in BACKENDS if name != BASELINE]
    base = _summary(doc, BASELINE, metric)
    cand = _summary(doc, others[0], metric) if others else None
    if base is None or cand is None:
        return None
    return metric.ratio(base["mean"], cand["mean"])


def _num(x: Optional[float]) -> str:
    """Readable number: about three significant digits, thousands separated."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return DASH
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    ref = abs(x)
    if ref >= 100:
        decimals = 0
    elif ref >= 10:
        decimals = 1
    elif ref >= 1 or ref == 0:
        decimals = 2
    else:
        decimals = min(6, 2 - math.floor(math.log10(ref)))
    return f"{x:,.{decimals}f}"


def _spread(stdev: float) -> str:
    """A standard deviation to two significant digits."""
    if stdev >= 10:
        return f"{round(stdev, 1 - math.floor(math.log10(stdev))):,.0f}"
    return f"{stdev:.2g}"


def _backends_section(doc: Dict[str, Any]) -> List[str]:
    lines = ["## Backends", ""]
    for result in doc["backends"].values():
        lines.append(
            f"- **{result['label']}** (`import {result['api_module']}`): {result['status']}"
        )
        lines += _load_lines(result)
        lines += [f"  - {p}" for p in result["problems"]]
        for name, err in result["errors"].items():
            lines.append(f"  - {name}: `{err['error']}`")
        if result["leftover_processes"]:
            lines.append(
                f"  - {len(result['leftover_processes'])} process(es) were still running after"
                " shutdown or a crash and were killed by the harness"
            )
        if result["tail"]:
            lines += ["", "  <details><summary>last output</summary>", "", "  ```"]
            lines += [f"  {line}" for line in result["tail"]]
            lines += ["  ```", "  </details>", ""]
    for name, backend in BACKENDS.items():
        if name not in doc["backends"]:
            lines.append(f"- **{backend.label}**: not requested in this run")
    return [*lines, ""]


def _load_lines(result: Dict[str, Any]) -> List[str]:
    """The machine is shared: show how busy it was while this backend was measured."""
    full = (result["runs"][0].get("doc") or {}) if result["runs"] else {}
    start, end = full.get("loadavg_start"), full.get("loadavg_end")
    if not start or not end:
        return []
    return [f"  - 1-min load average over the full run: {start[0]:.2f} -> {end[0]:.2f}"]


def _memory_section(doc: Dict[str, Any]) -> List[str]:
    """Where the tree's memory goes, grouped by process name (from the full run)."""
    lines = ["## Process tree after init, by process", ""]
    found = False
    for result in doc["backends"].values():
        rss_rows = [m for n, m in result["metrics"].items() if n.startswith("process tree RSS")]
        procs = rss_rows[0]["detail"].get("processes") if rss_rows else None
        if not procs or result["status"] == "failed":
            continue
        found = True
        driver_pid = (result["runs"][0].get("doc") or {}).get("pid")
        groups: Dict[str, Dict[str, float]] = {}
        for p in procs:
            g = groups.setdefault(_process_label(p, driver_pid), {"n": 0, "rss": 0, "pss": 0})
            g["n"] += 1
            g["rss"] += p["rss"]
            g["pss"] += p["pss"] or 0
        lines += [
            f"{result['label']}:",
            "",
            "| Process | Count | RSS MiB | PSS MiB |",
            "|---|---:|---:|---:|",
        ]
        for name, g in sorted(groups.items(), key=lambda kv: -kv[1]["rss"]):
            lines.append(
                f"| `{name}` | {g['n']} | {g['rss'] / MIB_BYTES:.1f} | {g['pss'] / MIB_BYTES:.1f} |"
            )
        lines.append("")
    return lines if found else []


def _process_label(proc: Dict[str, Any], driver_pid: Optional[int]) -> str:
    """``python`` alone says little: name Python processes by their script or module."""
    if proc["pid"] == driver_pid:
        return "driver (benchmark process)"
    name = proc["name"]
    args = proc["cmdline"].split()
    if not name.startswith("python") or len(args) < 2:
        return name
    if args[1] == "-m" and len(args) > 2:
        return f"{name} -m {args[2]}"
    if args[1] == "-u" and len(args) > 2:
        args = args[1:]
    return f"{name} {os.path.basename(args[1])}"


def _machine_section(doc: Dict[str, Any]) -> List[str]:
    m = doc["machine"]
    load = ", ".join(f"{x:.2f}" for x in m["loadavg"])
    return [
        "## Machine",
        "",
        f"- CPU: {m['cpu_model']}, {m['logical_cpus']} logical CPUs"
        f" ({m['physical_cores']} physical cores, {m['usable_cpus']} usable by this process)",
        f"- RAM: {m['ram_bytes'] / GIB:.1f} GiB",
        f"- Kernel: {m['kernel']} ({m['arch']}); OS: {m['os']}",
        f"- Load average at start (1, 5, 15 min): {load}",
        "",
    ]


def _versions_section(doc: Dict[str, Any]) -> List[str]:
    py = doc["python"]
    lines = ["## Versions", "", f"- Python: {py['implementation']} {py['version']}"]
    for result in doc["backends"].values():
        info = result["info"]
        version = info.get("version") or "unknown"
        if result["name"] == "ray":
            commit = f" (build commit {info['commit']})" if info.get("commit") else ""
            lines.append(f"- {result['label']}: {version}{commit}")
        else:
            lines.append(f"- {result['label']}: {version}, {_git_text(result['git'])}")
    if "fusion_flow" not in doc["backends"]:
        lines.append(f"- fusion-flow (not run): {_git_text(doc['harness_git'])}")
    return [*lines, f"- Harness: {_git_text(doc['harness_git'])}", ""]


def _git_text(git: Optional[Dict[str, Any]]) -> str:
    if not git:
        return "git commit unknown"
    if not git.get("commit"):
        return f"git commit unknown ({git.get('note')})"
    dirty = " + uncommitted changes" if git.get("dirty") else ""
    return f"git commit {git['commit'][:12]}{dirty}"


def _method_section(doc: Dict[str, Any], suite: Suite) -> List[str]:
    c = doc["config"]
    lines = [
        "## Method",
        "",
        "Each backend runs in its own subprocess, one after the other"
        f" (`python -m benchmarks.workloads.{suite.name} --backend NAME`), with the same calls"
        " on both (`import ray` or `import fusion_flow.ray_compat as ray`).",
        f"Throughput: {c['warmup_seconds']:g} s warm-up (at least one call), then"
        f" {_plural(c['trials'], 'trial')} of {c['trial_seconds']:g} s,"
        f" {c['pause_seconds']:g} s pause"
        " between metrics. Start-up: import and init are timed in a fresh interpreter, then one"
        f" trivial task, then {c['settle_seconds']:g} s settle before memory is read; repeated"
        f" in {_plural(c['startup_trials'], 'fresh process', 'fresh processes')}.",
        "",
    ]
    lines += [f"- **{m.name}**: {m.description}" for m in suite.metrics if m.description]
    if doc.get("only"):
        lines += ["", f"Only benches matching `{doc['only']}` were run."]
    return [*lines, ""]


def main(argv: Optional[List[str]] = None) -> int:
    """Re-render Markdown from a saved run: ``python -m benchmarks.report results/core.json``."""
    from benchmarks.workloads import load_suite

    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=main.__doc__)
    parser.add_argument("json", nargs="+")
    for path in parser.parse_args(argv).json:
        with open(path) as fh:
            doc = json.load(fh)
        md_path = os.path.splitext(path)[0] + ".md"
        with open(md_path, "w") as fh:
            fh.write(render(doc, load_suite(doc["suite"]), raw_json=os.path.basename(path)))
        print(f"wrote {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
