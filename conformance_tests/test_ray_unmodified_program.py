"""Unmodified Ray programs (``programs/``, plain ``import ray``) print the same on both
backends: run with ``python`` on Ray and with ``fusion-flow run`` on fusion-flow."""

import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "programs"
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
# The Ray Client through ray_start_client_server: a driver started by the client server, and
# every call of the program going through the client connection until it closes.
EXPECTED_WITH_CLIENT = [
    "connected before False False",
    "connected True True",
    "server driver running True",
    "put {'k': [1, 2]}",
    "squares [0, 1, 4, 9, 16]",
    "chained 6",
    "task uses the api 7",
    "error True RayTaskError(KeyError)",
    "actor [101, 103, 106]",
    "named 116",
    "wait 1 1 2",
    "timeout GetTimeoutError",
    "array 499999500000",
    "connected after False False",
    "initialized after shutdown False",
    "server driver after shutdown False",
]


@pytest.fixture(autouse=True)
def backend_not_running_here(ray_api):
    assert not ray_api.is_initialized()


def _run(backend_name, program, *args, cwd):
    command = [sys.executable, str(PROGRAMS / program), *args]
    if backend_name != "ray":
        command[1:1] = ["-m", "fusion_flow", "run"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_an_unmodified_program_prints_the_same(backend_name, tmp_path):
    done = _run(backend_name, "unmodified_ray_program.py", "--flag", "value", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED, done.stderr


def test_an_unmodified_ray_client_program_prints_the_same(backend_name, tmp_path):
    done = _run(backend_name, "ray_client_program.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED_WITH_CLIENT, done.stderr
