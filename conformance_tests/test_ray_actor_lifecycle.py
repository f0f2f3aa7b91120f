"""Actor lifecycle and failures: ray.kill (with and without restart), __ray_terminate__,
exit_actor, a constructor that raises, crashes (os._exit, SIGKILL), restarts with
max_restarts, retries with max_task_retries, and the end of an actor once no handle to
it is left (or not: detached actors, handles kept in objects and tasks).
"""

import os
import re
import signal

import psutil
import pytest
from conformance_helpers import Gate, append_line, count_lines, poll, strip_ansi, wait_for_path

INIT_KWARGS = dict(num_cpus=2)

THIS_FILE = os.path.abspath(__file__)
DIED_FIRST_LINE = "The actor died unexpectedly before finishing this task."
KILLED_REASON = "The actor is dead because it was killed by `ray.kill`."
PROCESS_DIED_REASON = "The actor is dead because its worker process has died."
EXIT_ACTOR_DETAIL = "exit_actor() is called."
# Ray races two reports when exit_actor() runs inside an async actor: the
# worker's own "exit_actor() is called." and the core worker's generic one.
ASYNC_EXIT_ACTOR_DETAILS = (EXIT_ACTOR_DETAIL, "User requested to exit the actor.")


class ActorError(Exception):
    pass


class Life:
    """An actor that records each construction (one line per constructor run)."""

    def __init__(self, log_path=None, fail=False):
        if log_path is not None:
            append_line(log_path, str(os.getpid()))
        if fail:
            raise ActorError("constructor failed")
        self.value = 0

    def pid(self):
        return os.getpid()

    def increment(self):
        self.value += 1
        return self.value

    def hold(self, gate_path, started_path=None):
        if started_path is not None:
            with open(started_path, "w"):
                pass
        wait_for_path(gate_path, timeout=60)
        return os.getpid()

    def crash(self):
        os._exit(1)


def process_gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def actor_id_of(handle):
    match = re.fullmatch(r"Actor\([\w.<>]+, ([0-9a-f]{32})\)", repr(handle))
    assert match, repr(handle)
    return match.group(1)


def check_died_layout(ray, error, cls_name, handle, pid, name=None):
    """The common head of an ActorDiedError's message."""
    lines = str(error).splitlines()
    expected = [
        DIED_FIRST_LINE,
        f"\tclass_name: {cls_name}",
        f"\tactor_id: {actor_id_of(handle)}",
        f"\tpid: {pid}",
    ]
    if name is not None:
        expected.append(f"\tname: {name}")
    expected.append(f"\tnamespace: {ray.get_runtime_context().namespace}")
    assert lines[: len(expected)] == expected, str(error)
    assert lines[len(expected)].startswith("\tip: "), str(error)
    return "\n".join(lines[len(expected) + 1 :])


def make_exiting(ray):
    @ray.remote
    class Exiting:
        def pid(self):
            return os.getpid()

        def exit(self, marker_path):
            ray.actor.exit_actor()
            with open(marker_path, "w"):  # never reached
                pass

        def hold(self, gate_path, started_path):
            with open(started_path, "w"):
                pass
            wait_for_path(gate_path, timeout=60)
            return "held"

    @ray.remote
    class AsyncExiting:
        async def pid(self):
            return os.getpid()

        async def exit(self, marker_path):
            ray.actor.exit_actor()
            with open(marker_path, "w"):  # never reached
                pass

        async def hold(self, gate_path, started_path):
            import asyncio

            with open(started_path, "w"):
                pass
            for _ in range(3000):
                if os.path.exists(gate_path):
                    break
                await asyncio.sleep(0.02)
            return "held"

    return Exiting, AsyncExiting


def make_restartable(ray):
    @ray.remote
    class Restartable:
        def __init__(self, log_path):
            append_line(log_path, str(os.getpid()))
            self.value = 0

        def pid(self):
            return os.getpid()

        def increment(self):
            self.value += 1
            return self.value

        def reconstructed(self):
            return ray.get_runtime_context().was_current_actor_reconstructed

        def hold(self, gate_path, started_path):
            with open(started_path, "w"):
                pass
            wait_for_path(gate_path, timeout=60)
            return os.getpid()

    return Restartable


def call_until_pid_changes(ray, handle, old_pid, timeout=60):
    def new_pid():
        try:
            pid = ray.get(handle.pid.remote(), timeout=30)
        except ray.exceptions.RayActorError:
            return None
        return pid if pid != old_pid else None

    return poll(new_pid, timeout=timeout, interval=0.1)


def died_error(ray, handle):
    """The ActorDiedError a call raises, or None while calls still succeed."""
    try:
        ray.get(handle.pid.remote(), timeout=30)
    except ray.exceptions.ActorDiedError as error:
        return error
    return None


# ----------------------------------------------------------------- ray.kill


def test_kill_fails_pending_and_later_calls(ray, tmp_path):
    gate = Gate(tmp_path)
    actor = ray.remote(Life).remote()
    pid = ray.get(actor.pid.remote())
    started = tmp_path / "started"
    pending = actor.hold.remote(gate.path, str(started))
    assert poll(started.exists, timeout=60)
    try:
        ray.kill(actor)
        with pytest.raises(ray.exceptions.ActorDiedError) as info:
            ray.get(pending, timeout=60)
    finally:
        gate.open()
    error = info.value
    assert isinstance(error, ray.exceptions.RayActorError)
    assert not isinstance(error, ray.exceptions.RayTaskError)
    assert error.actor_id == actor_id_of(actor)
    assert check_died_layout(ray, error, "Life", actor, pid) == KILLED_REASON
    with pytest.raises(ray.exceptions.ActorDiedError) as info:
        ray.get(actor.increment.remote(), timeout=60)
    assert check_died_layout(ray, info.value, "Life", actor, pid) == KILLED_REASON
    assert poll(lambda: process_gone(pid), timeout=30)


def test_kill_message_of_a_named_actor_has_its_name(ray):
    actor = ray.remote(Life).options(name="killed-by-name").remote()
    pid = ray.get(actor.pid.remote())
    ray.kill(actor)
    # (ray.kill takes effect asynchronously: a call right after it may still succeed.)
    error = poll(lambda: died_error(ray, actor), timeout=60, interval=0.1)
    assert error is not None
    reason = check_died_layout(ray, error, "Life", actor, pid, name="killed-by-name")
    assert reason == KILLED_REASON


def test_kill_with_no_restart_false_restarts_the_actor(ray, tmp_path):
    log = str(tmp_path / "constructions")
    actor = ray.remote(Life).options(max_restarts=1).remote(log)
    first_pid = ray.get(actor.pid.remote())
    assert ray.get(actor.increment.remote()) == 1
    ray.kill(actor, no_restart=False)
    second_pid = call_until_pid_changes(ray, actor, first_pid)
    assert second_pid is not None
    # The constructor ran again, in the new process; the state starts over.
    with open(log) as f:
        assert f.read().split() == [str(first_pid), str(second_pid)]
    assert ray.get(actor.increment.remote()) == 1
    # No restart left: the next kill is final.
    ray.kill(actor, no_restart=False)
    error = poll(lambda: died_error(ray, actor), timeout=60, interval=0.1)
    assert error is not None
    assert str(error).endswith(KILLED_REASON)
    assert count_lines(log) == 2


def test_kill_by_default_does_not_restart(ray, tmp_path):
    log = str(tmp_path / "constructions")
    actor = ray.remote(Life).options(max_restarts=3).remote(log)
    pid = ray.get(actor.pid.remote())
    ray.kill(actor)
    # (The kill takes effect asynchronously: a call made right after it may still reach
    # the old instance.)
    error = poll(lambda: died_error(ray, actor), timeout=60, interval=0.1)
    assert error is not None
    assert str(error).endswith(KILLED_REASON)
    assert poll(lambda: process_gone(pid), timeout=30)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.pid.remote(), timeout=60)
    assert count_lines(log) == 1


def test_kill_twice_is_harmless(ray):
    actor = ray.remote(Life).remote()
    ray.get(actor.pid.remote())
    assert ray.kill(actor) is None
    assert ray.kill(actor) is None


@pytest.mark.parametrize("target", ["a-string", 1])
def test_kill_of_something_else_than_an_actor(ray, target):
    with pytest.raises(ValueError) as info:
        ray.kill(target)
    assert str(info.value) == (
        f"ray.kill() only supported for actors. For tasks, try ray.cancel(). Got: {type(target)}."
    )


def test_kill_of_an_object_ref(ray):
    with pytest.raises(ValueError) as info:
        ray.kill(ray.put(1))
    assert str(info.value).startswith(
        "ray.kill() only supported for actors. For tasks, try ray.cancel(). Got: <class '"
    )


def test_kill_gives_the_actors_resources_back(ray):
    actor = ray.remote(Life).options(num_cpus=1).remote()
    pid = ray.get(actor.pid.remote())
    assert poll(lambda: ray.available_resources().get("CPU") == 1.0, timeout=30)
    ray.kill(actor)
    assert poll(lambda: ray.available_resources().get("CPU") == 2.0, timeout=30)
    assert poll(lambda: process_gone(pid), timeout=30)


# ----------------------------------------------------------------- graceful ends


def test_terminate_runs_the_calls_queued_before_it(ray, tmp_path):
    gate = Gate(tmp_path)
    actor = ray.remote(Life).remote()
    pid = ray.get(actor.pid.remote())
    first = actor.hold.remote(gate.path)
    second = actor.increment.remote()
    terminate = actor.__ray_terminate__.remote()
    after = actor.increment.remote()
    ready, _ = ray.wait([terminate], timeout=0.5)
    assert ready == []
    gate.open()
    assert ray.get([first, second], timeout=60) == [pid, 1]
    with pytest.raises(ray.exceptions.ActorDiedError) as info:
        ray.get(terminate, timeout=60)
    reason = check_died_layout(ray, info.value, "Life", actor, pid)
    assert reason.startswith(PROCESS_DIED_REASON)
    assert "Worker exit type: INTENDED_USER_EXIT" in reason
    assert reason.endswith(EXIT_ACTOR_DETAIL)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(after, timeout=60)
    assert poll(lambda: process_gone(pid), timeout=30)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_exit_actor_from_inside(ray, tmp_path, kind):
    sync_cls, async_cls = make_exiting(ray)
    cls = sync_cls if kind == "sync" else async_cls
    actor = cls.remote()
    pid = ray.get(actor.pid.remote())
    marker = tmp_path / "after-exit"
    exiting = actor.exit.remote(str(marker))
    with pytest.raises(ray.exceptions.ActorDiedError) as info:
        ray.get(exiting, timeout=60)
    name = "Exiting" if kind == "sync" else "AsyncExiting"
    reason = check_died_layout(ray, info.value, f"make_exiting.<locals>.{name}", actor, pid)
    assert reason.startswith(PROCESS_DIED_REASON)
    assert "Worker exit type: INTENDED_USER_EXIT" in reason
    assert reason.endswith(EXIT_ACTOR_DETAIL if kind == "sync" else ASYNC_EXIT_ACTOR_DETAILS)
    assert not marker.exists()
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.pid.remote(), timeout=60)
    assert poll(lambda: process_gone(pid), timeout=30)


def test_exit_actor_fails_the_calls_queued_behind_it(ray, tmp_path):
    sync_cls, _ = make_exiting(ray)
    actor = sync_cls.remote()
    ray.get(actor.pid.remote())
    exiting = actor.exit.remote(str(tmp_path / "marker"))
    queued = actor.pid.remote()
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(exiting, timeout=60)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(queued, timeout=60)


@pytest.mark.parametrize("kind", ["threaded", "async"])
def test_exit_actor_lets_running_calls_finish(ray, tmp_path, kind):
    sync_cls, async_cls = make_exiting(ray)
    if kind == "threaded":
        actor = sync_cls.options(max_concurrency=2).remote()
    else:
        actor = async_cls.remote()
    pid = ray.get(actor.pid.remote())
    gate = Gate(tmp_path)
    started = tmp_path / "started"
    held = actor.hold.remote(gate.path, str(started))
    try:
        assert poll(started.exists, timeout=60)
        exiting = actor.exit.remote(str(tmp_path / "marker"))
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(exiting, timeout=60)
    finally:
        gate.open()
    assert ray.get(held, timeout=60) == "held"
    assert poll(lambda: process_gone(pid), timeout=30)


def test_exit_actor_in_a_task_is_a_type_error(ray):
    @ray.remote
    def not_an_actor():
        try:
            ray.actor.exit_actor()
        except TypeError as error:
            return str(error)
        return "no error"

    assert ray.get(not_an_actor.remote()).startswith(
        "exit_actor API is called on a non-actor worker, "
    )


# ----------------------------------------------------------------- constructor failure


def test_constructor_error_fails_every_call(ray):
    actor = ray.remote(Life).remote(fail=True)
    for _ in range(2):
        with pytest.raises(ray.exceptions.ActorDiedError) as info:
            ray.get(actor.increment.remote(), timeout=60)
        error = info.value
        assert not isinstance(error, ActorError)
        assert not isinstance(error, ray.exceptions.RayTaskError)
        assert isinstance(error, ray.exceptions.RayActorError)
        message = str(error)
        assert message.startswith(
            "The actor died because of an error raised in its creation task, "
            "\x1b[36mray::Life.__init__()\x1b[39m (pid="
        )
        text = strip_ansi(message)
        header = re.match(
            r"The actor died because of an error raised in its creation task, "
            r"ray::Life\.__init__\(\) \(pid=(\d+), ip=\S+, actor_id=([0-9a-f]{32}), repr=",
            text,
        )
        assert header, text
        assert header.group(2) == actor_id_of(actor)
        assert f'  File "{THIS_FILE}", line ' in text
        assert ", in __init__" in text
        assert text.splitlines()[-1] == f"{__name__}.ActorError: constructor failed"


def test_constructor_error_is_not_restarted(ray, tmp_path):
    log = str(tmp_path / "constructions")
    actor = ray.remote(Life).options(max_restarts=2).remote(log, fail=True)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.increment.remote(), timeout=60)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.increment.remote(), timeout=60)
    assert count_lines(log) == 1


# ----------------------------------------------------------------- crashes


def test_crash_in_a_method(ray):
    actor = ray.remote(Life).remote()
    pid = ray.get(actor.pid.remote())
    with pytest.raises(ray.exceptions.ActorDiedError) as info:
        ray.get(actor.crash.remote(), timeout=60)
    reason = check_died_layout(ray, info.value, "Life", actor, pid)
    assert reason.startswith(PROCESS_DIED_REASON)
    with pytest.raises(ray.exceptions.ActorDiedError) as info:
        ray.get(actor.increment.remote(), timeout=60)
    assert PROCESS_DIED_REASON in str(info.value)
    assert poll(lambda: process_gone(pid), timeout=30)


def test_actor_process_killed_from_outside(ray, tmp_path):
    gate = Gate(tmp_path)
    actor = ray.remote(Life).remote()
    pid = ray.get(actor.pid.remote())
    started = tmp_path / "started"
    in_flight = actor.hold.remote(gate.path, str(started))
    assert poll(started.exists, timeout=60)
    try:
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ray.exceptions.ActorDiedError) as info:
            ray.get(in_flight, timeout=60)
    finally:
        gate.open()
    reason = check_died_layout(ray, info.value, "Life", actor, pid)
    assert reason.startswith(PROCESS_DIED_REASON)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(actor.increment.remote(), timeout=60)


def test_restart_after_a_crash(ray, tmp_path):
    log = str(tmp_path / "constructions")
    actor = make_restartable(ray).options(max_restarts=1).remote(log)
    first_pid = ray.get(actor.pid.remote())
    assert ray.get(actor.increment.remote()) == 1
    assert ray.get(actor.reconstructed.remote()) is False
    gate = Gate(tmp_path)
    started = tmp_path / "started"
    in_flight = actor.hold.remote(gate.path, str(started))
    assert poll(started.exists, timeout=60)
    try:
        os.kill(first_pid, signal.SIGKILL)
        with pytest.raises(ray.exceptions.ActorUnavailableError) as info:
            ray.get(in_flight, timeout=60)
    finally:
        gate.open()
    error = info.value
    assert isinstance(error, ray.exceptions.RayActorError)
    assert not isinstance(error, ray.exceptions.ActorDiedError)
    message = str(error)
    assert message.startswith(f"The actor {actor_id_of(actor)} is unavailable: ")
    assert message.endswith("The task may or may not have been executed on the actor.")
    # Later calls go to a new instance: constructor run again, state reset.
    second_pid = ray.get(actor.pid.remote(), timeout=60)
    assert second_pid != first_pid
    with open(log) as f:
        assert f.read().split() == [str(first_pid), str(second_pid)]
    assert ray.get(actor.increment.remote()) == 1
    assert ray.get(actor.reconstructed.remote()) is True
    # No restart left.
    os.kill(second_pid, signal.SIGKILL)
    with pytest.raises(ray.exceptions.ActorDiedError) as info:
        ray.get(actor.pid.remote(), timeout=60)
    assert PROCESS_DIED_REASON in str(info.value)


def test_crash_in_a_method_with_restarts_left(ray, tmp_path):
    log = str(tmp_path / "constructions")
    actor = ray.remote(Life).options(max_restarts=1).remote(log)
    first_pid = ray.get(actor.pid.remote())
    with pytest.raises(ray.exceptions.ActorUnavailableError):
        ray.get(actor.crash.remote(), timeout=60)
    second_pid = call_until_pid_changes(ray, actor, first_pid)
    assert second_pid is not None
    assert count_lines(log) == 2


def test_max_task_retries_retries_the_call_in_flight(ray, tmp_path):
    log = str(tmp_path / "constructions")
    actor = make_restartable(ray).options(max_restarts=1, max_task_retries=1).remote(log)
    first_pid = ray.get(actor.pid.remote())
    gate = Gate(tmp_path)
    started = tmp_path / "started"
    in_flight = actor.hold.remote(gate.path, str(started))
    assert poll(started.exists, timeout=60)
    os.kill(first_pid, signal.SIGKILL)
    gate.open()
    # The retry ran on the restarted actor.
    second_pid = ray.get(in_flight, timeout=60)
    assert second_pid != first_pid
    with open(log) as f:
        assert f.read().split() == [str(first_pid), str(second_pid)]


class DiesOnCalls:
    """Its process dies on the first `deaths` calls of ``work``, counted across restarts."""

    def __init__(self, constructions, calls, deaths):
        append_line(constructions, str(os.getpid()))
        self.calls, self.deaths = calls, deaths

    def work(self, value):
        if append_line(self.calls, "call") <= self.deaths:
            os._exit(1)
        return value * 2


def test_calls_retry_across_several_restarts_with_minus_one(ray, tmp_path):
    constructions, calls = str(tmp_path / "constructions"), str(tmp_path / "calls")
    actor = (
        ray.remote(DiesOnCalls)
        .options(max_restarts=-1, max_task_retries=-1)
        .remote(constructions, calls, 3)
    )
    assert ray.get(actor.work.remote(21), timeout=120) == 42
    assert count_lines(calls) == 4  # three attempts died with their process, the fourth ran
    assert count_lines(constructions) == 4
    assert ray.get(actor.work.remote(5), timeout=60) == 10


def test_a_call_fails_once_its_max_task_retries_are_used_up(ray, tmp_path):
    constructions, calls = str(tmp_path / "constructions"), str(tmp_path / "calls")
    actor = (
        ray.remote(DiesOnCalls)
        .options(max_restarts=-1, max_task_retries=1)
        .remote(constructions, calls, 5)
    )
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.work.remote(1), timeout=120)
    assert count_lines(calls) == 2  # the call and its one retry
    # The actor restarts again and the next call gets its own retries.
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(actor.work.remote(1), timeout=120)
    assert count_lines(calls) == 4
    assert ray.get(actor.work.remote(3), timeout=120) == 6


def test_method_retry_exceptions(ray):
    @ray.remote(max_task_retries=2)
    class Flaky:
        def __init__(self):
            self.attempts = 0

        @ray.method(retry_exceptions=True)
        def succeeds_on_third(self):
            self.attempts += 1
            if self.attempts < 3:
                raise ActorError(f"attempt {self.attempts}")
            return self.attempts

        def always_fails(self):
            self.attempts += 1
            raise ActorError(f"attempt {self.attempts}")

        def attempts_so_far(self):
            return self.attempts

    flaky = Flaky.remote()
    assert ray.get(flaky.succeeds_on_third.remote(), timeout=60) == 3
    # Without retry_exceptions an exception is not retried.
    other = Flaky.remote()
    with pytest.raises(ActorError):
        ray.get(other.always_fails.remote(), timeout=60)
    assert ray.get(other.attempts_so_far.remote()) == 1
    # retry_exceptions per call: all attempts are used, the last error is raised.
    third = Flaky.remote()
    with pytest.raises(ActorError) as info:
        ray.get(third.always_fails.options(retry_exceptions=True).remote(), timeout=60)
    assert info.value.cause.args == ("attempt 3",)
    assert ray.get(third.attempts_so_far.remote()) == 3


# ----------------------------------------------------------------- ends by reference counting


def test_anonymous_actor_ends_when_no_handle_is_left(ray):
    actor = ray.remote(Life).remote()
    pid = ray.get(actor.pid.remote())
    del actor
    assert poll(lambda: process_gone(pid), timeout=30)


def test_resources_return_when_no_handle_is_left(ray):
    actor = ray.remote(Life).options(num_cpus=1).remote()
    pid = ray.get(actor.pid.remote())
    assert poll(lambda: ray.available_resources().get("CPU") == 1.0, timeout=30)
    del actor
    assert poll(lambda: process_gone(pid), timeout=30)
    assert poll(lambda: ray.available_resources().get("CPU") == 2.0, timeout=30)


def test_handle_inside_an_object_keeps_the_actor_alive(ray):
    cls = ray.remote(Life)
    kept, control = cls.remote(), cls.remote()
    kept_pid, control_pid = ray.get([kept.pid.remote(), control.pid.remote()])
    box = ray.put([kept])
    del kept, control
    # Once the control actor is gone, the kept one would be gone too if it could be.
    assert poll(lambda: process_gone(control_pid), timeout=30)
    assert not process_gone(kept_pid)
    assert ray.get(ray.get(box)[0].pid.remote(), timeout=60) == kept_pid
    del box
    assert poll(lambda: process_gone(kept_pid), timeout=30)


def test_handle_held_by_a_running_task_keeps_the_actor_alive(ray, tmp_path):
    cls = ray.remote(Life)
    kept, control = cls.remote(), cls.remote()
    kept_pid, control_pid = ray.get([kept.pid.remote(), control.pid.remote()])
    gate = Gate(tmp_path)

    @ray.remote
    def use_later(handle, gate_path):
        wait_for_path(gate_path, timeout=60)
        return ray.get(handle.pid.remote())

    result = use_later.remote(kept, gate.path)
    del kept, control
    try:
        assert poll(lambda: process_gone(control_pid), timeout=30)
        assert not process_gone(kept_pid)
    finally:
        gate.open()
    assert ray.get(result, timeout=60) == kept_pid
    del result
    assert poll(lambda: process_gone(kept_pid), timeout=30)


def test_actor_created_in_a_task_ends_with_the_task(ray):
    cls = ray.remote(Life)

    @ray.remote
    def create_and_drop():
        actor = cls.remote()
        return ray.get(actor.pid.remote())

    pid = ray.get(create_and_drop.remote())
    assert poll(lambda: process_gone(pid), timeout=30)


def test_named_actor_is_not_kept_alive_by_its_name(ray):
    actor = ray.remote(Life).options(name="named-but-dropped").remote()
    pid = ray.get(actor.pid.remote())
    del actor
    assert poll(lambda: process_gone(pid), timeout=30)
    assert poll(lambda: "named-but-dropped" not in ray.util.list_named_actors(), timeout=30)
    with pytest.raises(ValueError):
        ray.get_actor("named-but-dropped")


def test_detached_actor_outlives_its_handles(ray):
    cls = ray.remote(Life)
    detached = cls.options(name="detached-one", lifetime="detached").remote()
    control = cls.remote()
    detached_pid, control_pid = ray.get([detached.pid.remote(), control.pid.remote()])
    del detached, control
    assert poll(lambda: process_gone(control_pid), timeout=30)
    assert not process_gone(detached_pid)
    found = ray.get_actor("detached-one")
    assert ray.get(found.pid.remote(), timeout=60) == detached_pid
    assert "detached-one" in ray.util.list_named_actors()
    ray.kill(found)
    assert poll(lambda: process_gone(detached_pid), timeout=30)


def test_non_detached_lifetime_is_the_default(ray):
    actor = ray.remote(Life).options(lifetime="non_detached").remote()
    pid = ray.get(actor.pid.remote())
    del actor
    assert poll(lambda: process_gone(pid), timeout=30)
