"""The machine and versions sections that every committed results file ends with."""

from __future__ import annotations

import os
from typing import List

from benchmarks import backends, environment


def sections(repo_path: str) -> List[str]:
    """Markdown lines: the machine, then Ray's and fusion-flow's versions, git and Python."""
    machine = environment.machine()
    lines = [
        "## Machine",
        "",
        f"- CPU: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs",
        f"- RAM: {machine['ram_bytes'] / 2**30:.1f} GiB",
        f"- Kernel: {machine['kernel']}; OS: {machine['os']}",
        "",
        "## Versions",
        "",
    ]
    for name in ("ray", "fusion_flow"):
        backend = backends.get_backend(name)
        backends.import_api(backend)
        lines.append(f"- {backend.label}: {backends.describe(backend)['version']}")
    git = environment.git_info(repo_path)
    lines.append(f"- git commit: {git.get('commit')}{' (dirty)' if git.get('dirty') else ''}")
    py = environment.python()
    lines.append(f"- Python: {py['implementation']} {py['version']}")
    return lines


def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
