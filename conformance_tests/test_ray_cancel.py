"""ray.cancel: pending tasks never run, running tasks are interrupted (or their worker killed
with force), cancelled tasks are not retried, children follow a recursive cancel, and actor
calls are cancelled the way Ray cancels them."""

import os
import time

import pytest
from conformance_helpers import Gate, count_lines, poll, wait_for_path

INIT_KWARGS = dict(num_cpus=2)
LONG = 60.0  # seconds a task would run if nothing stopped it


def spin(seconds):
    """Runs Python bytecode for `seconds` (a KeyboardInterrupt lands at once)."""
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(0.02)


def mark(path, text="x"):
    with open(path, "a") as f:
        f.write(text + "\n")


def started(path):
    assert wait_for_path(path, timeout=60), f"{path} never appeared"


def hold(path):
    """Occupies a CPU until the gate at `path` opens."""
    wait_for_path(path, timeout=60)


def occupy_every_cpu(ray, gate):
    return [ray.remote(hold).remote(gate.path) for _ in range(INIT_KWARGS["num_cpus"])]


def test_a_pending_task_is_cancelled_and_never_runs(ray, tmp_path):
    gate = Gate(tmp_path)

    @ray.remote
    def never(path):
        mark(path)

    blockers = occupy_every_cpu(ray, gate)
    ran = str(tmp_path / "ran")
    ref = never.remote(ran)
    ray.cancel(ref)
    try:
        with pytest.raises(ray.exceptions.TaskCancelledError) as caught:
            ray.get(ref, timeout=60)
        assert not isinstance(caught.value, ray.exceptions.RayTaskError)
    finally:
        gate.open()
    ray.get(blockers, timeout=60)
    assert ray.get(never.remote(str(tmp_path / "other")), timeout=60) is None
    assert not os.path.exists(ran)


def test_a_running_task_is_interrupted_with_keyboard_interrupt(ray, tmp_path):
    @ray.remote
    def busy(path):
        mark(path)
        spin(LONG)

    path = str(tmp_path / "started")
    ref = busy.remote(path)
    started(path)
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError) as caught:
        ray.get(ref, timeout=60)
    # Raised inside the task: a task error, with the task's traceback.
    assert isinstance(caught.value, ray.exceptions.RayTaskError)
    assert "was cancelled" in str(caught.value)


def test_a_task_that_catches_the_interrupt_returns_its_value(ray, tmp_path):
    @ray.remote
    def catcher(path):
        mark(path)
        try:
            spin(LONG)
        except KeyboardInterrupt:
            return "caught"
        return "not interrupted"

    path = str(tmp_path / "started")
    ref = catcher.remote(path)
    started(path)
    ray.cancel(ref)
    assert ray.get(ref, timeout=60) == "caught"


def test_a_forced_cancel_kills_the_worker_running_the_task(ray, tmp_path):
    @ray.remote
    def busy(path):
        mark(path, str(os.getpid()))
        spin(LONG)

    path = str(tmp_path / "pid")
    ref = busy.remote(path)
    started(path)
    pid = int(open(path).read().split()[0])
    ray.cancel(ref, force=True)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)

    def gone():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert poll(gone, timeout=30), "the worker still runs"


def test_a_cancelled_task_is_not_retried(ray, tmp_path):
    @ray.remote(max_retries=3, retry_exceptions=True)
    def attempt(path):
        mark(path)
        spin(LONG)

    for force in (False, True):
        path = str(tmp_path / f"attempts-{force}")
        ref = attempt.remote(path)
        started(path)
        ray.cancel(ref, force=force)
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(ref, timeout=60)
        time.sleep(1.0)
        assert count_lines(path) == 1


def test_cancelling_a_finished_task_changes_nothing(ray):
    @ray.remote
    def value():
        return 42

    ref = value.remote()
    assert ray.get(ref, timeout=60) == 42
    ray.cancel(ref)
    ray.cancel(ref, force=True)
    assert ray.get(ref, timeout=60) == 42


def test_a_task_depending_on_a_cancelled_one_fails_with_the_cancellation(ray, tmp_path):
    gate = Gate(tmp_path)

    @ray.remote
    def identity(x):
        return x

    blockers = occupy_every_cpu(ray, gate)
    source = identity.remote(1)
    dependent = identity.remote(source)
    ray.cancel(source)
    gate.open()
    with pytest.raises(ray.exceptions.TaskCancelledError) as caught:
        ray.get(dependent, timeout=60)
    assert isinstance(caught.value, ray.exceptions.RayTaskError)
    ray.get(blockers, timeout=60)


def child_task(started_path, outcome_path):
    mark(started_path)
    try:
        spin(8)
    except KeyboardInterrupt:
        mark(outcome_path, "cancelled")
        raise
    mark(outcome_path, "finished")


def parent_task(remote_child, started_path, outcome_path, parent_started):
    child = remote_child.remote(started_path, outcome_path)
    mark(parent_started)
    spin(LONG)
    return [child]


@pytest.mark.parametrize("recursive", [True, False])
def test_a_recursive_cancel_reaches_the_tasks_the_task_submitted(ray, tmp_path, recursive):
    child = ray.remote(child_task)
    parent = ray.remote(parent_task)
    child_started, outcome = str(tmp_path / "child"), str(tmp_path / "outcome")
    parent_started = str(tmp_path / "parent")
    ref = parent.remote(child, child_started, outcome, parent_started)
    started(parent_started)
    started(child_started)
    ray.cancel(ref, recursive=recursive)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)
    assert poll(lambda: os.path.exists(outcome), timeout=60)
    time.sleep(0.2)
    expected = "cancelled" if recursive else "finished"
    assert open(outcome).read().split() == [expected]


@pytest.fixture(scope="module")
def Worker(ray):
    @ray.remote
    class Worker:
        def hold(self, path, started_path):
            mark(started_path)
            wait_for_path(path, timeout=60)
            return "held"

        def echo(self, value):
            return value

        def watch(self, path):
            mark(path)
            deadline = time.time() + LONG
            while time.time() < deadline:
                if ray.get_runtime_context().is_canceled():
                    mark(path, "saw cancel")
                    return "saw cancel"
                time.sleep(0.02)
            return "no cancel seen"

    return Worker


def test_a_queued_actor_call_is_cancelled(ray, Worker, tmp_path):
    gate = Gate(tmp_path)
    actor = Worker.remote()
    holding = str(tmp_path / "holding")
    first = actor.hold.remote(gate.path, holding)
    started(holding)  # the actor runs `hold`: the next call waits in the actor's queue
    ran = str(tmp_path / "ran")
    queued = actor.watch.remote(ran)
    time.sleep(0.5)
    ray.cancel(queued)
    gate.open()
    assert ray.get(first, timeout=60) == "held"
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(queued, timeout=60)
    # Never run (fusion-flow, and Ray when the call waits in the actor's own queue), or run
    # with is_canceled() already true (Ray, when the call was still on its way there).
    assert ray.get(actor.echo.remote("after"), timeout=60) == "after"
    assert not os.path.exists(ran) or "saw cancel" in open(ran).read()


def test_a_running_actor_call_sees_is_canceled_and_reports_the_cancellation(ray, Worker, tmp_path):
    actor = Worker.remote()
    path = str(tmp_path / "watch")
    ref = actor.watch.remote(path)
    started(path)
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError) as caught:
        ray.get(ref, timeout=60)
    assert "was cancelled" in str(caught.value)
    assert poll(lambda: "saw cancel" in open(path).read(), timeout=10)
    assert ray.get(actor.echo.remote(1), timeout=60) == 1


def test_a_threaded_actor_call_sees_is_canceled(ray, Worker, tmp_path):
    actor = Worker.options(max_concurrency=4).remote()
    path = str(tmp_path / "watch")
    ref = actor.watch.remote(path)
    started(path)
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)
    assert "saw cancel" in open(path).read()


def test_force_is_refused_for_actor_calls(ray, Worker):
    actor = Worker.remote()
    ref = actor.echo.remote(1)
    with pytest.raises(ValueError, match="force=True is not supported for actor tasks"):
        ray.cancel(ref, force=True)
    assert ray.get(ref, timeout=60) == 1


def test_a_running_async_actor_call_is_cancelled_in_its_event_loop(ray, tmp_path):
    import asyncio

    @ray.remote
    class Async:
        async def sleep(self, path):
            mark(path)
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                mark(path, "cancelled")
                raise
            return "slept"

        async def swallow(self, path):
            mark(path)
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                return "swallowed"

        async def is_canceled(self):
            return ray.get_runtime_context().is_canceled()

        async def echo(self, value):
            return value

    actor = Async.remote()
    path = str(tmp_path / "sleep")
    ref = actor.sleep.remote(path)
    started(path)
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)
    assert poll(lambda: "cancelled" in open(path).read(), timeout=10)
    # A coroutine that swallows the CancelledError is still reported cancelled.
    path = str(tmp_path / "swallow")
    ref = actor.swallow.remote(path)
    started(path)
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)
    with pytest.raises(RuntimeError, match="not supported in an async actor"):
        ray.get(actor.is_canceled.remote(), timeout=60)
    assert ray.get(actor.echo.remote("alive"), timeout=60) == "alive"


def test_is_canceled_is_false_in_a_task_and_refused_in_the_driver(ray):
    @ray.remote
    def flag():
        return ray.get_runtime_context().is_canceled()

    assert ray.get(flag.remote(), timeout=60) is False
    with pytest.raises(RuntimeError, match="only available when the process is a worker"):
        ray.get_runtime_context().is_canceled()


def test_cancelling_a_generator_ends_its_stream_with_the_cancellation(ray):
    @ray.remote
    def numbers():
        for i in range(1000):
            time.sleep(0.02)
            yield i

    generator = numbers.remote()
    assert ray.get(next(generator), timeout=60) == 0
    ray.cancel(generator)
    seen = 1
    with pytest.raises(ray.exceptions.TaskCancelledError):
        for ref in generator:
            ray.get(ref, timeout=60)
            seen += 1
    assert seen < 1000


def test_cancel_takes_only_refs_and_keyword_options(ray):
    @ray.remote
    def value():
        return 1

    ref = value.remote()
    for wrong in (1, None, [ref]):
        with pytest.raises(TypeError, match=r"ray\.cancel\(\) only supported for object refs"):
            ray.cancel(wrong)
    with pytest.raises(TypeError):
        ray.cancel(ref, True)
    assert ray.get(ref, timeout=60) == 1


def test_a_task_can_cancel_another_task(ray, tmp_path):
    @ray.remote
    def busy(path):
        mark(path)
        spin(LONG)

    @ray.remote
    def canceller(refs, path):
        started(path)
        ray.cancel(refs[0])
        try:
            ray.get(refs[0], timeout=60)
        except ray.exceptions.TaskCancelledError:
            return "cancelled"
        return "not cancelled"

    path = str(tmp_path / "started")
    ref = busy.remote(path)
    assert ray.get(canceller.remote([ref], path), timeout=60) == "cancelled"
