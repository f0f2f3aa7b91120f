"""Graceful shutdown: no new work is taken, running tasks get the grace period to finish,
whatever is still running after it is killed, and the shared memory is freed."""

import os
import time

import numpy as np
import psutil
import pytest

import fusion_flow.ray_compat as ray
from fusion_flow import _runtime

SEGMENT_NAME = "/memfd:fusion-flow-object"


@pytest.fixture(autouse=True)
def _no_session_left(monkeypatch):
    monkeypatch.delenv(_runtime.SHUTDOWN_GRACE_ENV, raising=False)
    yield
    ray.shutdown()


def _mark_then_write(mark, path, seconds):
    if mark:
        open(mark, "w").close()
    time.sleep(seconds)
    with open(path, "w") as out:
        out.write("finished")
    return os.getpid()


mark_then_write = ray.remote(_mark_then_write)


@ray.remote
class Writer:
    def mark_then_write(self, mark, path, seconds):
        return _mark_then_write(mark, path, seconds)


def _wait_for(*paths, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not all(path.exists() for path in paths):
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.01)


def _alive(pids):
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _shutdown_timed():
    started = time.monotonic()
    ray.shutdown()
    return time.monotonic() - started


def test_running_tasks_and_actor_calls_finish_within_the_grace_period(tmp_path, monkeypatch):
    monkeypatch.setenv(_runtime.SHUTDOWN_GRACE_ENV, "10")
    ray.init(num_cpus=2)
    writer = Writer.remote()
    task_done, call_done = tmp_path / "task", tmp_path / "call"
    task_started, call_started = tmp_path / "task-started", tmp_path / "call-started"
    mark_then_write.remote(str(task_started), str(task_done), 0.5)
    writer.mark_then_write.remote(str(call_started), str(call_done), 0.5)
    _wait_for(task_started, call_started)

    took = _shutdown_timed()

    assert task_done.read_text() == "finished"
    assert call_done.read_text() == "finished"
    assert took < 5.0, "shutdown waited for the running work only, not the whole grace"


def test_queued_tasks_never_start_once_shutdown_begins(tmp_path, monkeypatch):
    monkeypatch.setenv(_runtime.SHUTDOWN_GRACE_ENV, "10")
    ray.init(num_cpus=1)
    first, second = tmp_path / "first", tmp_path / "second"
    started_marker = tmp_path / "started"
    mark_then_write.remote(str(started_marker), str(first), 0.5)
    mark_then_write.remote(None, str(second), 0.0)  # queued behind the first: one CPU
    _wait_for(started_marker)

    _shutdown_timed()

    assert first.read_text() == "finished"
    time.sleep(0.2)
    assert not second.exists(), "a queued task ran after shutdown began"


def test_work_still_running_after_the_grace_period_is_killed(tmp_path, monkeypatch):
    monkeypatch.setenv(_runtime.SHUTDOWN_GRACE_ENV, "0.3")
    ray.init(num_cpus=1)
    native = _runtime.current().native
    started_marker, never = tmp_path / "started", tmp_path / "never"
    mark_then_write.remote(str(started_marker), str(never), 60)
    _wait_for(started_marker)
    workers = native.worker_pids()

    took = _shutdown_timed()

    assert 0.3 <= took < 3.0
    assert _alive(workers) == []
    assert not never.exists()


def test_an_idle_runtime_shuts_down_at_once():
    ray.init(num_cpus=2)
    ray.get([mark_then_write.remote(None, os.devnull, 0) for _ in range(4)])
    assert _shutdown_timed() < 1.0


def test_shutdown_frees_the_shared_memory(tmp_path):
    ray.init(num_cpus=1)
    session_dir = str(_runtime.current().native.session_dir)

    @ray.remote
    def produce():
        return np.ones(4 << 20, dtype=np.uint8)

    held = [ray.put(np.zeros(4 << 20, dtype=np.uint8)), produce.remote()]
    ray.wait(held, num_returns=2, fetch_local=False)
    del held

    ray.shutdown()

    with open("/proc/self/maps") as maps:
        assert SEGMENT_NAME not in maps.read()
    assert not os.path.exists(session_dir)


def test_submitting_after_shutdown_starts_a_new_runtime_as_ray_does():
    ray.init(num_cpus=1)
    first = _runtime.current()
    ray.shutdown()
    assert ray.get(mark_then_write.remote(None, os.devnull, 0)) > 0
    assert ray.is_initialized() and _runtime.current() is not first


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_malformed_grace_period_is_refused_before_anything_starts(monkeypatch, value):
    monkeypatch.setenv(_runtime.SHUTDOWN_GRACE_ENV, value)
    with pytest.raises(ValueError, match=_runtime.SHUTDOWN_GRACE_ENV):
        ray.init(num_cpus=1)
    assert not ray.is_initialized()
