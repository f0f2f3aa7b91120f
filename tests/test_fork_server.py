"""Workers forked from the fork server: who their parent is, what they inherit and what they
must not, what happens when the fork server goes, and the fallback to new processes."""

import os
import random
import signal
import subprocess
import sys
import time

import psutil
import pytest

import fusion_flow.ray_compat as ray
from fusion_flow import _runtime


@ray.remote
def parent_and_self():
    return os.getppid(), os.getpid()


@ray.remote
def environment(name):
    return os.getppid(), os.environ.get(name), hash("fusion-flow")


@pytest.fixture(autouse=True)
def _no_session_left():
    yield
    ray.shutdown()


def _native():
    return _runtime.current().native


def test_workers_are_forked_by_one_fork_server_that_the_driver_started():
    ray.init(num_cpus=2)
    server = _native().fork_server_pid()
    assert server is not None
    assert psutil.Process(server).ppid() == os.getpid()
    parents = {parent for parent, _ in ray.get([parent_and_self.remote() for _ in range(8)])}
    assert parents == {server}


def test_with_the_fork_server_off_workers_are_new_processes(monkeypatch):
    monkeypatch.setenv(_runtime.FORK_SERVER_ENV, "0")
    ray.init(num_cpus=2)
    assert _native().fork_server_pid() is None
    parent, _ = ray.get(parent_and_self.remote())
    assert parent == os.getpid()


def test_forked_workers_draw_different_random_numbers():
    ray.init(num_cpus=2)

    @ray.remote
    class Drawer:
        def draw(self):
            return os.getpid(), random.random()

    draws = ray.get([d.draw.remote() for d in [Drawer.remote() for _ in range(6)]])
    assert len({pid for pid, _ in draws}) == 6
    assert len({value for _, value in draws}) == 6


def test_an_ordinary_env_var_is_set_in_a_forked_worker():
    ray.init(num_cpus=1)
    options = {"runtime_env": {"env_vars": {"FF_FORK_TEST": "forked"}}}
    parent, value, _ = ray.get(environment.options(**options).remote("FF_FORK_TEST"))
    assert parent == _native().fork_server_pid()
    assert value == "forked"


def test_a_variable_the_interpreter_reads_at_start_gets_a_new_process():
    expected_hash = subprocess.run(
        [sys.executable, "-c", "print(hash('fusion-flow'))"],
        env={**os.environ, "PYTHONHASHSEED": "7"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ray.init(num_cpus=1)
    options = {"runtime_env": {"env_vars": {"PYTHONHASHSEED": "7"}}}
    parent, value, seeded_hash = ray.get(environment.options(**options).remote("PYTHONHASHSEED"))
    assert parent == os.getpid()
    assert value == "7"
    assert str(seeded_hash) == expected_hash


def test_work_goes_on_when_the_fork_server_is_killed(tmp_path):
    ray.init(num_cpus=2)
    server = _native().fork_server_pid()
    gate = tmp_path / "gate"
    started = tmp_path / "started"

    @ray.remote(max_retries=3)
    def held():
        started.write_text(str(os.getpid()))
        while not gate.exists():
            time.sleep(0.01)
        return os.getppid()

    ref = held.remote()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    first_worker = int(started.read_text())
    os.kill(server, signal.SIGKILL)
    # The workers it forked die with it; the task is retried on a worker the node starts.
    psutil.Process(first_worker).wait(timeout=10)
    gate.write_text("open")
    assert ray.get(ref, timeout=60) == os.getpid()
    assert _native().fork_server_pid() is None
    parent, _ = ray.get(parent_and_self.remote(), timeout=60)
    assert parent == os.getpid()


def test_shutdown_ends_the_fork_server_and_leaves_no_child():
    ray.init(num_cpus=2)
    server = _native().fork_server_pid()
    ray.get([parent_and_self.remote() for _ in range(4)])
    ray.shutdown()
    assert not psutil.pid_exists(server)
    assert psutil.Process().children(recursive=True) == []


def test_idle_forked_actor_shares_most_of_its_memory():
    """An idle forked actor's own pages (USS) are a small part of what it maps (RSS).

    No CPUs, so no prestarted worker: those are forked before the fork server has imported
    the actor modules (so that the first task starts sooner), and an actor placed on one
    imports them itself."""
    ray.init(num_cpus=0)

    @ray.remote(num_cpus=0)
    class Idle:
        def pid(self):
            return os.getpid()

    actor = Idle.remote()  # held: an actor without handles ends
    pid = ray.get(actor.pid.remote())
    memory = psutil.Process(pid).memory_full_info()
    assert 0 < memory.uss < memory.rss / 3, memory
