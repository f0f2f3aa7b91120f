"""Process faults outside any task: a worker that dies while idle is replaced, and a worker
that cannot start fails its tasks with a clear error at once instead of leaving them pending
(Ray keeps restarting such a worker and the get hangs)."""

import os
import signal
import time

import pytest

import fusion_flow.ray_compat as ray


@pytest.fixture(scope="module", autouse=True)
def runtime():
    ray.init(num_cpus=2)
    yield
    ray.shutdown()


@ray.remote
def pid():
    return os.getpid()


def test_workers_killed_while_idle_are_replaced():
    before = set(ray.get([pid.remote() for _ in range(20)], timeout=30))
    for worker in before:
        os.kill(worker, signal.SIGKILL)
    time.sleep(0.5)
    after = set(ray.get([pid.remote() for _ in range(20)], timeout=30))
    assert after and not after & before
    assert ray.available_resources()["CPU"] == 2.0


def test_a_worker_that_cannot_start_fails_its_task_with_the_reason():
    broken = {"runtime_env": {"env_vars": {"PYTHONHASHSEED": "not-a-number"}}}
    started = time.monotonic()
    with pytest.raises(ray.exceptions.RaySystemError, match="could not start"):
        ray.get(pid.options(**broken).remote(), timeout=60)
    assert time.monotonic() - started < 30
    assert isinstance(ray.get(pid.remote(), timeout=30), int)
