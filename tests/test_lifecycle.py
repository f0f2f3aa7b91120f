"""Starting and stopping the runtime: fast start, no process or directory left behind, and
clean-up at interpreter exit or when the driver is killed."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

import fusion_flow.ray_compat as ray
from fusion_flow import _runtime


def _wait_gone(pids, seconds=5.0):
    deadline = time.monotonic() + seconds
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if psutil.pid_exists(pid) and _not_zombie(pid)]
        time.sleep(0.05)
    return alive


def _not_zombie(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(autouse=True)
def _no_session_left():
    yield
    ray.shutdown()


def test_shutdown_stops_every_worker_and_removes_the_session_directory():
    ray.init(num_cpus=2)
    native = _runtime.current().native

    @ray.remote
    def pid():
        return os.getpid()

    pids = set(ray.get([pid.remote() for _ in range(20)]))
    session_dir = str(native.session_dir)
    workers = native.worker_pids()
    assert pids <= set(workers)
    assert os.path.isdir(session_dir)
    ray.shutdown()
    assert _wait_gone(workers, seconds=0.1) == []
    assert not os.path.exists(session_dir)
    assert not ray.is_initialized()


def test_shutdown_twice_and_init_again():
    ray.init(num_cpus=1)
    ray.shutdown()
    ray.shutdown()
    ray.init(num_cpus=1)

    @ray.remote
    def one():
        return 1

    assert ray.get(one.remote()) == 1


def test_a_killed_worker_process_holds_no_resources_afterwards():
    ray.init(num_cpus=1)

    @ray.remote(max_retries=0)
    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(die.remote())
    assert ray.available_resources()["CPU"] == 1.0


def _run_driver(body, *args):
    script = textwrap.dedent(
        """
        import os, sys, json
        import fusion_flow.ray_compat as ray
        from fusion_flow import _runtime
        ray.init(num_cpus=2)
        @ray.remote
        def pid():
            return os.getpid()
        ray.get([pid.remote() for _ in range(4)])
        native = _runtime.current().native
        print(json.dumps({"workers": native.worker_pids(), "dir": str(native.session_dir)}),
              flush=True)
        """
    ) + textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )


def test_interpreter_exit_shuts_the_runtime_down():
    import json

    driver = _run_driver("")
    info = json.loads(driver.stdout.readline())
    assert driver.wait(timeout=30) == 0
    assert _wait_gone(info["workers"]) == []
    assert not os.path.exists(info["dir"])


def test_workers_exit_when_the_driver_is_killed():
    import json

    driver = _run_driver("import time\ntime.sleep(60)\n")
    info = json.loads(driver.stdout.readline())
    assert info["workers"]
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=10)
    assert _wait_gone(info["workers"], seconds=1.0) == []  # within a second


def test_workers_get_their_own_process_group():
    ray.init(num_cpus=1)

    @ray.remote
    def group():
        return os.getpgid(0)

    assert ray.get(group.remote()) != os.getpgid(0)


def test_workers_use_the_drivers_fusion_flow_even_with_another_copy_in_the_cwd(tmp_path):
    # A decoy package where `python -m` would look first (the working directory).
    decoy = tmp_path / "cwd" / "fusion_flow"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('the decoy package was imported')\n")
    script = tmp_path / "driver.py"
    script.write_text(
        "import fusion_flow.ray_compat as ray\n"
        "ray.init(num_cpus=1)\n"
        "print(ray.get(ray.remote(lambda: 'real package').remote(), timeout=60))\n"
        "ray.shutdown()\n"
    )
    completed = subprocess.run(
        [sys.executable, str(script)],
        cwd=decoy.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "real package"
    assert "decoy" not in completed.stderr


def test_ctrl_c_interrupts_a_blocked_get_and_the_runtime_still_shuts_down_cleanly(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(
        "import faulthandler, json, signal, time\n"
        "faulthandler.register(signal.SIGUSR1, all_threads=True)\n"
        # Python ignores Ctrl-C if it started with SIGINT ignored, as a background job of a
        # non-interactive shell does (make in CI, say); a user's terminal does not.
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import fusion_flow.ray_compat as ray\n"
        "from fusion_flow import _runtime\n"
        "ray.init(num_cpus=1)\n"
        "@ray.remote\n"
        "def forever():\n"
        "    time.sleep(600)\n"
        "ref = forever.remote()\n"
        "ray.wait([ref], timeout=1.0)\n"
        "print(json.dumps(_runtime.current().native.worker_pids()), flush=True)\n"
        "try:\n"
        "    ray.get(ref)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
        "print(ray.get(ray.put('still usable')), flush=True)\n"
    )
    import json

    driver = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    workers = json.loads(driver.stdout.readline())
    time.sleep(0.5)  # the driver is blocked in get by now
    started = time.monotonic()
    driver.send_signal(signal.SIGINT)
    try:
        out, err = driver.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        driver.send_signal(signal.SIGUSR1)  # every thread's stack to stderr
        time.sleep(1.0)
        driver.kill()
        out, err = driver.communicate()
        pytest.fail(f"the driver hung after Ctrl-C; stdout: {out!r}\nstderr:\n{err}")
    assert time.monotonic() - started < 5.0, "Ctrl-C took too long to interrupt get"
    assert out.splitlines() == ["interrupted", "still usable"], err
    assert driver.returncode == 0, err
    assert _wait_gone(workers) == []
