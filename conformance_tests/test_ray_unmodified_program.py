"""An unmodified Ray program (``programs/unmodified_ray_program.py``, plain ``import ray``)
prints the same on both backends: run with ``python`` on Ray and with ``fusion-flow run`` on
fusion-flow."""

import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parent / "programs" / "unmodified_ray_program.py"
EXPECTED = [
    "args ['--flag', 'value']",
    "squares [0, 1, 4, 9, 16]",
    "nested 285",
    "error True RayTaskError(KeyError)",
    "actor [101, 102, 103]",
    "named 113",
    "async actor hi",
    "stream [0, 10, 20, 30]",
    "pool [2, 4, 6, 8]",
    "queue [1, 2, 3]",
    "wait 2 0 {'k': [1, 2]}",
    "timeout GetTimeoutError",
    "resources 2.0",
    "initialized False",
]


@pytest.fixture(autouse=True)
def backend_not_running_here(ray_api):
    assert not ray_api.is_initialized()


def _command(backend_name):
    if backend_name == "ray":
        return [sys.executable, str(PROGRAM)]
    return [sys.executable, "-m", "fusion_flow", "run", str(PROGRAM)]


def test_an_unmodified_program_prints_the_same(backend_name, tmp_path):
    done = subprocess.run(
        [*_command(backend_name), "--flag", "value"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED, done.stderr
