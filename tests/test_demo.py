"""`fusion-flow demo` (the README's main command) runs the microscope workflow to the end and
reports every task, the retried ones included."""

import re
import subprocess
import sys


def test_the_demo_runs_the_microscope_workflow():
    done = subprocess.run(
        [sys.executable, "-m", "fusion_flow", "demo"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"runtime started in [0-9.]+ ms with \d+ CPUs", out)
    tasks = re.findall(
        r"^  (capture|stack|predict)\b.*?(FINISHED|FAILED)\s+[0-9.]+\s+(\d+)$", out, re.M
    )
    kinds = [kind for kind, _, _ in tasks]
    assert kinds.count("capture") == 12 and kinds.count("stack") == 12
    assert kinds.count("predict") == 1
    assert all(state == "FINISHED" for _, state, _ in tasks)
    assert sum(int(attempts) > 1 for _, _, attempts in tasks) == 2  # the injected faults
    assert "96 images, 25 tasks (2 retried)" in out
