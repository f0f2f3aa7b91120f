"""What a driver process sees: worker output with the `(name pid=N)` prefix,
log_to_driver=False, functions from `__main__` and from modules next to the script or
in the working directory, the infeasible-task warning, and no worker process left
behind by shutdown() or by interpreter exit.

Each test runs a driver script from drivers/ in its own interpreter; the pytest
process itself does not start the backend here.
"""

import re
import signal
import time

import psutil
import pytest
from conformance_helpers import DriverProcess, poll

INFEASIBLE_WARNING = (
    "Error: No available node types can fulfill resource request {'CPU': 4.0}. "
    "Add suitable node types to this cluster to resolve this issue."
)
CWD_MODULE = "ff_conformance_cwd_module"


@pytest.fixture(autouse=True)
def backend_not_running_here(ray_api):
    assert not ray_api.is_initialized()


def _output_driver(backend_name, tmp_path_factory, log_to_driver):
    cwd = tmp_path_factory.mktemp("driver-cwd")
    (cwd / f"{CWD_MODULE}.py").write_text("def value():\n    return 'from-cwd'\n")
    driver = DriverProcess(
        "output_driver.py",
        backend_name,
        "1" if log_to_driver else "0",
        CWD_MODULE,
        cwd=str(cwd),
    )
    try:
        driver.report("hello_pids", timeout=120)
        driver.report("infeasible_not_ready", timeout=60)
        if log_to_driver:
            # Ray prints this warning from its periodic resource report: allow time.
            driver.wait_for(lambda out, _err: any(INFEASIBLE_WARNING in x for x in out), 120)
        exit_code = driver.finish(timeout=120)
    except BaseException:
        driver.kill()
        raise
    return driver, exit_code


@pytest.fixture(scope="module")
def output_run(backend_name, tmp_path_factory):
    return _output_driver(backend_name, tmp_path_factory, log_to_driver=True)


@pytest.fixture(scope="module")
def quiet_run(backend_name, tmp_path_factory):
    return _output_driver(backend_name, tmp_path_factory, log_to_driver=False)


def lines_of(driver, stream):
    return driver.text(stream).splitlines()


# ----------------------------------------------------------------- log_to_driver=True


def test_driver_runs_and_exits_cleanly(output_run):
    driver, exit_code = output_run
    assert exit_code == 0, driver.describe()
    assert "conformance-driver-done" in lines_of(driver, "stdout")


def test_functions_from_main_and_neighbouring_modules(output_run):
    driver, _ = output_run
    assert driver.report("script_dir_value") == 42
    assert driver.report("cwd_value") == "from-cwd"


def test_worker_stdout_has_the_task_prefix(output_run):
    driver, _ = output_run
    out = lines_of(driver, "stdout")
    for i, pid in enumerate(driver.report("hello_pids")):
        assert f"(hello pid={pid}) conformance-stdout {i}" in out, driver.describe()


def test_worker_stderr_goes_to_driver_stderr(output_run):
    driver, _ = output_run
    out, err = lines_of(driver, "stdout"), lines_of(driver, "stderr")
    for i, pid in enumerate(driver.report("hello_pids")):
        assert f"(hello pid={pid}) conformance-stderr {i}" in err, driver.describe()
        assert not any(f"conformance-stderr {i}" in line for line in out)


def test_task_name_in_the_prefix(output_run):
    driver, _ = output_run
    out = lines_of(driver, "stdout")
    assert f"(renamed_task pid={driver.report('named_pid')}) conformance-named" in out
    assert f"(option_name pid={driver.report('option_named_pid')}) conformance-named" in out


def test_each_printed_line_gets_the_prefix(output_run):
    driver, _ = output_run
    out = lines_of(driver, "stdout")
    pid = driver.report("multi_pid")
    first = out.index(f"(multi_line pid={pid}) conformance-first")
    assert out[first + 1] == f"(multi_line pid={pid}) conformance-second"


def test_same_line_from_several_workers_is_deduplicated(output_run):
    driver, _ = output_run
    pids = set(driver.report("repeated_pids"))
    assert len(pids) == 3  # three different processes printed the same line
    matches = [
        re.fullmatch(r"\(repeated pid=(\d+)\) conformance-repeated-line(.*)", line)
        for line in lines_of(driver, "stdout")
    ]
    matches = [m for m in matches if m]
    assert len(matches) == 2, driver.describe()
    first, summary = matches
    assert int(first.group(1)) in pids
    assert first.group(2) == ""
    assert int(summary.group(1)) in pids
    assert summary.group(2).startswith(" [repeated 2x across cluster]")


def test_infeasible_task_warning(output_run):
    driver, _ = output_run
    assert driver.report("infeasible_ready") == 0
    assert driver.report("infeasible_not_ready") == 1
    warnings = [line for line in lines_of(driver, "stdout") if INFEASIBLE_WARNING in line]
    assert warnings, driver.describe()
    assert re.fullmatch(r"\(autoscaler \+\d+s\) " + re.escape(INFEASIBLE_WARNING), warnings[0])


# ----------------------------------------------------------------- log_to_driver=False


def test_log_to_driver_false_silences_workers(quiet_run):
    driver, exit_code = quiet_run
    assert exit_code == 0, driver.describe()
    # The program itself ran exactly as before...
    assert driver.report("script_dir_value") == 42
    assert driver.report("cwd_value") == "from-cwd"
    assert len(driver.report("hello_pids")) == 2
    # ...but nothing the workers printed reached the driver.
    both = driver.text("stdout") + "\n" + driver.text("stderr")
    for text in (
        "conformance-stdout",
        "conformance-stderr",
        "conformance-named",
        "conformance-first",
        "conformance-repeated-line",
    ):
        assert text not in both, driver.describe()
    assert "conformance-driver-done" in lines_of(driver, "stdout")


# ----------------------------------------------------------------- no orphans


def _alive(process):
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _session_processes(driver):
    """The workers the driver reported plus every process under the driver."""
    worker_pids = driver.report("worker_pids", timeout=120)
    root = psutil.Process(driver.proc.pid)
    processes = {p.pid: p for p in root.children(recursive=True)}
    for pid in worker_pids:
        if pid not in processes:
            processes[pid] = psutil.Process(pid)
    assert all(_alive(processes[pid]) for pid in worker_pids)
    return worker_pids, list(processes.values())


def test_shutdown_leaves_no_worker_process(backend_name):
    driver = DriverProcess("shutdown_driver.py", backend_name, "shutdown")
    try:
        worker_pids, processes = _session_processes(driver)
        assert len(set(worker_pids)) == 2
        driver.send("shutdown")
        assert driver.report("shutdown", timeout=120) is True
        assert driver.report("initialized") is False
        still_alive = poll(lambda: not any(_alive(p) for p in processes), 15)
        assert still_alive, [(p.pid, p.name()) for p in processes if _alive(p)]
        assert driver.proc.poll() is None  # the driver itself is still running
        assert driver.finish(timeout=60) == 0, driver.describe()
    finally:
        driver.kill()


def test_shutdown_with_work_running_ends_it_and_starts_nothing_queued(backend_name):
    driver = DriverProcess("shutdown_driver.py", backend_name, "busy")
    try:
        assert driver.report("running", timeout=120) is True
        _, processes = _session_processes(driver)
        driver.send("shutdown")
        took = driver.report("shutdown_seconds", timeout=120)
        assert took < 10.0, f"shutdown took {took:.1f} s with a 60 s task running"
        assert driver.report("initialized") is False
        # The running task was ended before it finished; the queued ones never started.
        assert driver.report("exist") == ["started"]
        gone = poll(lambda: not any(_alive(p) for p in processes), 15)
        assert gone, [(p.pid, p.name()) for p in processes if _alive(p)]
        assert driver.finish(timeout=60) == 0, driver.describe()
    finally:
        driver.kill()


def test_interpreter_exit_leaves_no_worker_process(backend_name):
    driver = DriverProcess("shutdown_driver.py", backend_name, "exit")
    try:
        worker_pids, processes = _session_processes(driver)
        assert len(set(worker_pids)) == 2
        assert driver.finish(timeout=120) == 0, driver.describe()
        gone = poll(lambda: not any(_alive(p) for p in processes), 15)
        assert gone, [(p.pid, p.name()) for p in processes if _alive(p)]
    finally:
        driver.kill()


# ----------------------------------------------------------------- process faults


def test_ctrl_c_interrupts_a_blocking_get_and_the_runtime_stays_usable(backend_name, tmp_path):
    driver = DriverProcess("faults_driver.py", backend_name, "ctrl_c", str(tmp_path))
    try:
        assert driver.report("blocking", timeout=120) is True
        time.sleep(0.5)  # the driver is inside get by now
        sent = time.monotonic()
        driver.proc.send_signal(signal.SIGINT)
        assert driver.report("interrupted", timeout=30) is True
        assert time.monotonic() - sent < 5.0, "Ctrl-C took too long to interrupt get"
        assert driver.report("after", timeout=60) == [0, 2, 4, 6, 8]
        assert driver.finish(timeout=60) == 0, driver.describe()
    finally:
        driver.kill()


def test_a_driver_killed_with_sigkill_leaves_no_worker(backend_name, tmp_path):
    driver = DriverProcess("faults_driver.py", backend_name, "killed", str(tmp_path))
    try:
        worker_pids = driver.report("worker_pids", timeout=120)
        workers = [psutil.Process(pid) for pid in set(worker_pids)]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        driver.proc.kill()
        driver.proc.wait(timeout=30)
        # Workers only: Ray's dashboard and runtime-env agents outlive a killed driver.
        gone = poll(lambda: not any(_alive(p) for p in workers), 30)
        assert gone, [(p.pid, p.name()) for p in workers if _alive(p)]
    finally:
        driver.kill()
