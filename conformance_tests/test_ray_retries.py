"""max_retries (worker deaths), retry_exceptions (application errors), max_calls."""

import os
import signal
import sys

import psutil
import pytest
from conformance_helpers import append_line, count_lines, poll

INIT_KWARGS = dict(num_cpus=2)


class Flaky(Exception):
    pass


class Other(Exception):
    pass


def die_until(path, deaths):
    """Kill the worker process on the first `deaths` attempts, then succeed."""
    attempt = append_line(path, str(os.getpid()))
    if attempt <= deaths:
        os._exit(1)
    return attempt


def exit_until(path, deaths):
    attempt = append_line(path, str(os.getpid()))
    if attempt <= deaths:
        sys.exit(3)
    return attempt


def raise_until(path, failures, error_type=Flaky):
    attempt = append_line(path, "attempt")
    if attempt <= failures:
        raise error_type(f"attempt {attempt}")
    return attempt


def worker_pid():
    return os.getpid()


@pytest.fixture
def attempts_file(tmp_path):
    return str(tmp_path / "attempts")


def pids_in(path):
    with open(path) as f:
        return [int(line) for line in f.read().split()]


# ----------------------------------------------------------------- worker deaths


def test_worker_death_is_retried(ray, attempts_file):
    f = ray.remote(die_until).options(max_retries=1)
    assert ray.get(f.remote(attempts_file, 1), timeout=120) == 2
    first_pid, second_pid = pids_in(attempts_file)
    assert first_pid != second_pid  # the retry ran in a new worker


def test_default_max_retries_is_three(ray, attempts_file):
    f = ray.remote(die_until)
    assert ray.get(f.remote(attempts_file, 3), timeout=120) == 4
    assert count_lines(attempts_file) == 4


def test_worker_crashed_error_after_retries_are_used_up(ray, attempts_file):
    f = ray.remote(die_until)
    with pytest.raises(ray.exceptions.WorkerCrashedError) as info:
        ray.get(f.remote(attempts_file, 100), timeout=120)
    assert count_lines(attempts_file) == 4  # one attempt plus three retries
    assert not isinstance(info.value, ray.exceptions.RayTaskError)
    assert str(info.value) == (
        "The worker died unexpectedly while executing this task. Check "
        "python-core-worker-*.log files for more information."
    )


def test_max_retries_minus_one_retries_until_it_succeeds(ray, attempts_file):
    f = ray.remote(max_retries=-1)(die_until)
    assert ray.get(f.remote(attempts_file, 5), timeout=120) == 6
    assert len(set(pids_in(attempts_file))) == 6  # each attempt in a new worker


def test_a_nested_task_is_retried_and_its_parent_gets_the_result(ray, attempts_file):
    child = ray.remote(max_retries=2)(die_until)

    @ray.remote
    def parent(path):
        return ray.get(child.remote(path, 2)) * 10

    assert ray.get(parent.remote(attempts_file), timeout=120) == 30


def test_no_retry_with_max_retries_zero(ray, attempts_file):
    f = ray.remote(max_retries=0)(die_until)
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(f.remote(attempts_file, 1), timeout=120)
    assert count_lines(attempts_file) == 1


def test_sys_exit_in_a_task_is_a_worker_death(ray, attempts_file):
    f = ray.remote(exit_until).options(max_retries=0)
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(f.remote(attempts_file, 1), timeout=120)
    assert count_lines(attempts_file) == 1


def test_max_retries_alone_does_not_retry_exceptions(ray, attempts_file):
    # max_retries alone does not retry exceptions raised by the task.
    f = ray.remote(raise_until).options(max_retries=3)
    with pytest.raises(Flaky) as info:
        ray.get(f.remote(attempts_file, 1), timeout=60)
    assert "attempt 1" in str(info.value)
    assert count_lines(attempts_file) == 1


def test_the_session_survives_worker_deaths(ray, attempts_file):
    f = ray.remote(die_until).options(max_retries=0)
    refs = [f.remote(attempts_file + str(i), 1) for i in range(3)]
    for ref in refs:
        with pytest.raises(ray.exceptions.WorkerCrashedError):
            ray.get(ref, timeout=120)
    assert ray.get([ray.remote(worker_pid).remote() for _ in range(4)], timeout=60)


# ----------------------------------------------------------------- retry_exceptions


@pytest.mark.parametrize(
    ("options", "failures", "expected_attempts", "succeeds"),
    [
        ({"retry_exceptions": True}, 2, 3, True),
        ({"retry_exceptions": True}, 4, 4, False),
        ({"retry_exceptions": True, "max_retries": 1}, 2, 2, False),
        ({"retry_exceptions": True, "max_retries": 0}, 1, 1, False),
        ({"retry_exceptions": [Flaky]}, 1, 2, True),
        ({"retry_exceptions": (Flaky, Other)}, 1, 2, True),
        ({"retry_exceptions": [Exception], "max_retries": 1}, 1, 2, True),
        ({"retry_exceptions": [Other]}, 2, 1, False),
        ({"retry_exceptions": [KeyError, ValueError]}, 2, 1, False),
        ({"retry_exceptions": False}, 2, 1, False),
    ],
    ids=[
        "true-default-retries",
        "true-exhausted",
        "true-max-retries-1",
        "true-max-retries-0",
        "list-match",
        "tuple-match",
        "base-class-match",
        "list-no-match",
        "list-of-builtins-no-match",
        "false",
    ],
)
def test_retry_exceptions(ray, attempts_file, options, failures, expected_attempts, succeeds):
    f = ray.remote(raise_until).options(**options)
    ref = f.remote(attempts_file, failures)
    if succeeds:
        assert ray.get(ref, timeout=120) == expected_attempts
    else:
        with pytest.raises(Flaky) as info:
            ray.get(ref, timeout=120)
        # The error of the last attempt is the one raised.
        assert f"attempt {expected_attempts}" in str(info.value)
    assert count_lines(attempts_file) == expected_attempts


def test_retry_exceptions_in_the_decorator(ray, attempts_file):
    @ray.remote(retry_exceptions=[ValueError], max_retries=5)
    def mixed(path):
        attempt = append_line(path, "attempt")
        if attempt < 3:
            raise ValueError(attempt)
        if attempt < 5:
            raise KeyError(attempt)
        return attempt

    # ValueError is retried, the first KeyError is not.
    with pytest.raises(KeyError):
        ray.get(mixed.remote(attempts_file), timeout=120)
    assert count_lines(attempts_file) == 3


# ----------------------------------------------------------------- max_calls


def test_an_idle_worker_killed_from_outside_is_replaced(ray):
    f = ray.remote(worker_pid)
    victim = ray.get(f.remote(), timeout=60)
    os.kill(victim, signal.SIGKILL)
    assert poll(lambda: not psutil.pid_exists(victim) or _is_zombie(victim), timeout=30)
    pids = ray.get([f.remote() for _ in range(20)], timeout=120)
    assert victim not in pids


def _is_zombie(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_max_calls_starts_a_fresh_worker(ray):
    f = ray.remote(max_calls=2)(worker_pid)
    pids = [ray.get(f.remote(), timeout=60) for _ in range(6)]
    assert all(pids.count(pid) <= 2 for pid in pids)
    assert len(set(pids)) >= 3


def test_max_calls_one_exits_after_each_call(ray):
    f = ray.remote(max_calls=1)(worker_pid)
    pids = [ray.get(f.remote(), timeout=60) for _ in range(3)]
    assert len(set(pids)) == 3
    # The worker process goes away once its call is done.
    assert poll(
        lambda: (
            not psutil.pid_exists(pids[0])
            or psutil.Process(pids[0]).status() == psutil.STATUS_ZOMBIE
        ),
        20,
    )


def test_max_calls_survives_options(ray):
    f = ray.remote(max_calls=1)(worker_pid)
    pids = [ray.get(f.options(num_cpus=1).remote(), timeout=60) for _ in range(3)]
    assert len(set(pids)) == 3


def test_workers_are_reused_without_max_calls(ray):
    f = ray.remote(worker_pid)
    pids = [ray.get(f.remote(), timeout=60) for _ in range(6)]
    assert len(set(pids)) < 6
