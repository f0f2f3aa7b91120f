"""The benchmark harness still runs end to end (tiny counts, fusion-flow only): benchmarks
are reports, not tests, but a harness that no longer runs is a defect."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_quick_core_suite_runs_on_fusion_flow(tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--quick",
            "--backends",
            "fusion_flow",
            "--out-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    backend = json.loads((tmp_path / "core-quick.json").read_text())["backends"]["fusion_flow"]
    assert backend["status"] == "ok", backend["problems"]
    assert backend["errors"] == {}
    assert backend["leftover_processes"] == []
    for metric in ("init time", "single client tasks sync", "single client wait 1k refs"):
        samples = backend["metrics"][metric]["samples"]
        assert samples and all(value > 0 for value in samples), metric
