"""Actors: construction, misuse of handles, calls and their ordering, threaded and async
actors, concurrency groups, num_returns and generator methods, exceptions raised in
methods, max_pending_calls, and the `(Actor pid=N)` prefix of actor output.
"""

import asyncio
import os
import re
import sys
import threading
import time

import pytest
from conformance_helpers import Gate, barrier, poll, strip_ansi, wait_for_path

INIT_KWARGS = dict(num_cpus=2)

THIS_FILE = os.path.abspath(__file__)


class ActorError(Exception):
    pass


# Plain classes at module level: the workers import them from this module.
class Counter:
    class_attribute = 5

    def __init__(self, start=0, *, step=1):
        self.value = start
        self.step = step

    def increment(self, by=None):
        self.value += self.step if by is None else by
        return self.value

    def get(self):
        return self.value

    def fail(self, message):
        raise ActorError(message)

    def pid(self):
        return os.getpid()

    @property
    def a_property(self):
        return self.value

    def _private(self):
        return "private"

    def __mangled(self):
        return "mangled"

    def __custom_dunder__(self):
        return "dunder"

    @staticmethod
    def static(x):
        return x * 2

    @classmethod
    def class_method(cls, x):
        return (cls.__name__, x * 3)

    def __repr__(self):
        return f"Counter(value={self.value})"


class NoInit:
    def ping(self):
        return "pong"


class NeedsArgument:
    def __init__(self, x):
        self.x = x

    def get(self):
        return self.x


class Log:
    def __init__(self):
        self.entries = []

    def add(self, entry):
        self.entries.append(entry)
        return entry

    def entries_so_far(self):
        return list(self.entries)

    def main_thread(self):
        return threading.current_thread() is threading.main_thread()


class Holder:
    """Calls that wait for a gate; `probe` tells how many of them finished."""

    def __init__(self):
        self.finished = 0
        self.lock = threading.Lock()

    def hold(self, barrier_dir, parties, gate_path):
        met = barrier(barrier_dir, parties, timeout=60)
        wait_for_path(gate_path, timeout=60)
        with self.lock:
            self.finished += 1
        return met

    def probe(self):
        with self.lock:
            return self.finished


class AsyncHolder:
    """Coroutines that meet (the last one to arrive creates `arrived_path`), then wait
    for a gate; `probe` tells how many finished."""

    def __init__(self):
        self.arrived = 0
        self.finished = 0
        self.all_arrived = None
        self.gate_open = None

    async def _watch_gate(self, gate_path):
        deadline = time.monotonic() + 60
        while not os.path.exists(gate_path) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self.gate_open.set()

    async def hold(self, parties, gate_path, arrived_path):
        if self.all_arrived is None:
            self.all_arrived = asyncio.Event()
            self.gate_open = asyncio.Event()
            self.watcher = asyncio.get_running_loop().create_task(self._watch_gate(gate_path))
        self.arrived += 1
        if self.arrived == parties:
            self.all_arrived.set()
            with open(arrived_path, "w"):
                pass
        try:
            await asyncio.wait_for(self.all_arrived.wait(), 60)
            met = True
        except asyncio.TimeoutError:
            met = False
        await self.gate_open.wait()
        self.finished += 1
        return met

    async def probe(self):
        return self.finished


class AsyncEvents:
    def __init__(self):
        self.event = None

    def _event(self):
        if self.event is None:
            self.event = asyncio.Event()
        return self.event

    async def wait(self, started_path):
        with open(started_path, "w"):
            pass
        await asyncio.wait_for(self._event().wait(), 60)
        return "woken"

    async def set(self):
        self._event().set()
        return "set"

    async def thread_id(self):
        return threading.get_ident()

    def sync_thread_id_and_loop(self):
        try:
            asyncio.get_running_loop()
            loop_running = True
        except RuntimeError:
            loop_running = False
        return threading.get_ident(), loop_running

    def sync_block(self, gate_path, started_path):
        with open(started_path, "w"):
            pass
        wait_for_path(gate_path, timeout=60)
        return "sync done"

    async def ping(self):
        return "pong"


class Returns:
    def pair(self):
        return 1, 2

    def values(self, n):
        for i in range(n):  # noqa: UP028 (Ray's generators need a for loop)
            yield i

    def fails_after_one(self):
        yield "first"
        raise ActorError("generator failed")

    async def async_values(self, n):
        for i in range(n):
            yield i * 10


def gated_value(gate_path, value):
    wait_for_path(gate_path, timeout=60)
    return value


def started(barrier_dir, count=1):
    """True once `count` calls have entered `barrier(barrier_dir, ...)`."""
    return os.path.isdir(barrier_dir) and len(os.listdir(barrier_dir)) >= count


def strip_caret_lines(text):
    return [line for line in text.splitlines() if line.strip().strip("^~")]


# ----------------------------------------------------------------- construction


def test_actor_keeps_state_between_calls(ray):
    counter = ray.remote(Counter).remote()
    assert ray.get([counter.increment.remote() for _ in range(3)]) == [1, 2, 3]
    assert ray.get(counter.get.remote()) == 3


def test_decorator_with_options_on_a_class(ray):
    @ray.remote(num_cpus=0, max_restarts=0)
    class Adder:
        def __init__(self, base):
            self.base = base

        def add(self, x):
            return self.base + x

    assert ray.get(Adder.remote(10).add.remote(5)) == 15


def test_constructor_positional_and_keyword_arguments(ray):
    counter = ray.remote(Counter).remote(10, step=5)
    assert ray.get(counter.increment.remote()) == 15
    counter = ray.remote(Counter).remote(start=1)
    assert ray.get(counter.increment.remote()) == 2


def test_constructor_object_ref_arguments_are_resolved(ray):
    counter = ray.remote(Counter).remote(ray.put(100), step=ray.put(7))
    assert ray.get(counter.increment.remote()) == 107
    # A ref nested in a container stays a ref.
    holder = ray.remote(NeedsArgument).remote([ray.put(1)])
    nested = ray.get(holder.get.remote())
    assert isinstance(nested[0], ray.ObjectRef)
    assert ray.get(nested[0]) == 1


def test_constructor_argument_from_a_pending_task(ray, tmp_path):
    gate = Gate(tmp_path)
    value = ray.remote(gated_value).remote(gate.path, 42)
    holder = ray.remote(NeedsArgument).remote(value)
    result = holder.get.remote()
    ready, _ = ray.wait([result], timeout=0.5)
    assert ready == []
    gate.open()
    assert ray.get(result, timeout=60) == 42


def test_class_without_init(ray):
    assert ray.get(ray.remote(NoInit).remote().ping.remote()) == "pong"


@pytest.mark.parametrize(
    ("cls", "args", "kwargs", "message"),
    [
        (Counter, (1, 2), {}, "too many positional arguments"),
        (Counter, (), {"stop": 1}, "got an unexpected keyword argument 'stop'"),
        (Counter, (1,), {"start": 1}, "multiple values for argument 'start'"),
        (NeedsArgument, (), {}, "missing a required argument: 'x'"),
        (NoInit, (1,), {}, "too many positional arguments"),
    ],
    ids=["too-many", "unknown-keyword", "multiple-values", "missing", "no-init"],
)
def test_constructor_argument_binding_errors(ray, cls, args, kwargs, message):
    with pytest.raises(TypeError) as info:
        ray.remote(cls).remote(*args, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1, 2), {}, "too many positional arguments"),
        ((), {"amount": 1}, "got an unexpected keyword argument 'amount'"),
        ((1,), {"by": 1}, "multiple values for argument 'by'"),
    ],
    ids=["too-many", "unknown-keyword", "multiple-values"],
)
def test_method_argument_binding_errors(ray, args, kwargs, message):
    counter = ray.remote(Counter).remote()
    with pytest.raises(TypeError) as info:
        counter.increment.remote(*args, **kwargs)
    assert str(info.value) == message
    # Nothing was submitted: the state is untouched.
    assert ray.get(counter.get.remote()) == 0


# ----------------------------------------------------------------- misuse of a handle


def test_calling_a_method_directly_is_a_type_error(ray):
    counter = ray.remote(Counter).remote()
    with pytest.raises(TypeError) as info:
        counter.increment()
    assert str(info.value) == (
        "Actor methods cannot be called directly. Instead of running 'object.increment()', "
        "try 'object.increment.remote()'."
    )
    with pytest.raises(TypeError):
        counter.increment(1)


@pytest.mark.parametrize("name", ["missing", "class_attribute", "a_property", "value"])
def test_unknown_and_non_callable_attributes_are_attribute_errors(ray, name):
    counter = ray.remote(Counter).remote()
    with pytest.raises(AttributeError) as info:
        getattr(counter, name)
    assert str(info.value) == f"'ActorHandle' object has no attribute '{name}'"


def test_private_and_dunder_methods_are_callable(ray):
    counter = ray.remote(Counter).remote()
    assert ray.get(counter._private.remote()) == "private"
    assert ray.get(counter._Counter__mangled.remote()) == "mangled"
    assert ray.get(counter.__custom_dunder__.remote()) == "dunder"


def test_static_and_class_methods_are_callable(ray):
    counter = ray.remote(Counter).remote()
    assert ray.get(counter.static.remote(4)) == 8
    assert ray.get(counter.class_method.remote(2)) == ("Counter", 6)


# ----------------------------------------------------------------- exceptions


def test_method_exception_is_both_ray_task_error_and_the_user_class(ray):
    counter = ray.remote(Counter).remote(3)
    with pytest.raises(ActorError) as info:
        ray.get(counter.fail.remote("boom"))
    error = info.value
    assert isinstance(error, ray.exceptions.RayTaskError)
    assert type(error).__name__ == "RayTaskError(ActorError)"
    assert isinstance(error.cause, ActorError)
    assert error.cause.args == ("boom",)
    # The actor survives its method's exception, state intact.
    assert ray.get(counter.increment.remote()) == 4


def test_method_exception_str_names_the_actor(ray):
    counter = ray.remote(Counter).remote(3)
    actor_id = re.fullmatch(r"Actor\(Counter, ([0-9a-f]{32})\)", repr(counter)).group(1)
    pid = ray.get(counter.pid.remote())
    with pytest.raises(ActorError) as info:
        ray.get(counter.fail.remote("boom"))
    text = strip_ansi(str(info.value))
    lines = strip_caret_lines(text)
    header = re.fullmatch(
        r"ray::Counter\.fail\(\) \(pid=(\d+), ip=(\S+), actor_id=([0-9a-f]{32}), "
        r"repr=Counter\(value=3\)\)",
        lines[0],
    )
    assert header, lines[0]
    assert int(header.group(1)) == pid
    assert header.group(3) == actor_id
    assert f'  File "{THIS_FILE}", line ' in text
    assert ", in fail" in text
    assert lines[-1] == f"{__name__}.ActorError: boom"
    frames = [line for line in lines if line.startswith("  File ")]
    assert frames and all(THIS_FILE in frame for frame in frames)
    # The header is coloured like a task's.
    assert str(info.value).startswith("\x1b[36mray::Counter.fail()\x1b[39m (pid=")


def test_builtin_exception_in_a_method(ray):
    @ray.remote
    class Divider:
        def divide(self, x):
            return 1 / x

    divider = Divider.remote()
    with pytest.raises(ZeroDivisionError) as info:
        ray.get(divider.divide.remote(0))
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert strip_ansi(str(info.value)).splitlines()[-1] == "ZeroDivisionError: division by zero"
    assert ray.get(divider.divide.remote(4)) == 0.25


# ----------------------------------------------------------------- ordering


def test_calls_from_one_caller_run_in_submission_order(ray):
    log = ray.remote(Log).remote()
    refs = [log.add.remote(i) for i in range(100)]
    assert ray.get(refs) == list(range(100))
    assert ray.get(log.entries_so_far.remote()) == list(range(100))


def test_order_is_kept_when_an_earlier_argument_is_pending(ray, tmp_path):
    gate = Gate(tmp_path)
    log = ray.remote(Log).remote()
    first = log.add.remote(ray.remote(gated_value).remote(gate.path, "first"))
    second = log.add.remote("second")
    ready, _ = ray.wait([second], timeout=1)
    assert ready == []  # waits behind the first call
    gate.open()
    assert ray.get([first, second], timeout=60) == ["first", "second"]
    assert ray.get(log.entries_so_far.remote()) == ["first", "second"]


def test_another_caller_is_not_blocked_by_a_pending_argument(ray, tmp_path):
    gate = Gate(tmp_path)
    log = ray.remote(Log).remote()
    first = log.add.remote(ray.remote(gated_value).remote(gate.path, "first"))

    @ray.remote
    def other_caller(handle):
        return ray.get(handle.add.remote("from-task"))

    try:
        assert ray.get(other_caller.remote(log), timeout=60) == "from-task"
    finally:
        gate.open()
    assert ray.get(first, timeout=60) == "first"
    assert ray.get(log.entries_so_far.remote()) == ["from-task", "first"]


def test_a_dependency_that_calls_the_actor_does_not_deadlock(ray):
    log = ray.remote(Log).remote()

    @ray.remote
    def dependency(handle):
        return ray.get(handle.add.remote("inner")) + "-then-outer"

    assert ray.get(log.add.remote(dependency.remote(log)), timeout=60) == "inner-then-outer"
    assert ray.get(log.entries_so_far.remote()) == ["inner", "inner-then-outer"]


def test_sync_actor_runs_calls_on_the_main_thread(ray):
    log = ray.remote(Log).remote()
    assert ray.get([log.main_thread.remote() for _ in range(3)]) == [True, True, True]


def test_sync_actor_runs_one_call_at_a_time(ray, tmp_path):
    gate = Gate(tmp_path)
    holder = ray.remote(Holder).remote()
    held = holder.hold.remote(str(tmp_path / "b"), 1, gate.path)
    try:
        assert poll(lambda: started(tmp_path / "b"), timeout=60)
        probe = holder.probe.remote()
        ready, _ = ray.wait([probe], timeout=1)
        assert ready == []
    finally:
        gate.open()
    assert ray.get(held, timeout=60) is True
    assert ray.get(probe, timeout=60) == 1


# ----------------------------------------------------------------- threaded actors


def test_threaded_actor_runs_calls_concurrently(ray):
    @ray.remote(max_concurrency=3)
    class Meeting:
        def __init__(self):
            self.barrier = threading.Barrier(3)

        def meet(self):
            self.barrier.wait(timeout=60)
            return threading.get_ident()

    meeting = Meeting.remote()
    threads = ray.get([meeting.meet.remote() for _ in range(3)], timeout=120)
    assert len(set(threads)) == 3


def test_threaded_actor_runs_no_more_than_max_concurrency(ray, tmp_path):
    gate = Gate(tmp_path)
    holder = ray.remote(Holder).options(max_concurrency=2).remote()
    held = [holder.hold.remote(str(tmp_path / "b"), 2, gate.path) for _ in range(2)]
    try:
        # (Calls to a threaded actor may start in any order: wait until both run.)
        assert poll(lambda: started(tmp_path / "b", 2), timeout=60)
        probe = holder.probe.remote()
        ready, _ = ray.wait([probe], timeout=1)
        assert ready == []  # both slots are taken
    finally:
        gate.open()
    assert ray.get(held, timeout=60) == [True, True]
    assert ray.get(probe, timeout=60) >= 1


def test_max_concurrency_option_on_the_class_options(ray, tmp_path):
    holder = ray.remote(Holder).options(max_concurrency=4).remote()
    gate = Gate(tmp_path)
    gate.open()
    held = [holder.hold.remote(str(tmp_path / "b"), 4, gate.path) for _ in range(4)]
    assert ray.get(held, timeout=120) == [True] * 4


# ----------------------------------------------------------------- async actors


def test_async_actor_runs_calls_concurrently(ray, tmp_path):
    events = ray.remote(AsyncEvents).remote()
    started = tmp_path / "started"
    waiting = events.wait.remote(str(started))
    assert poll(started.exists, timeout=60)
    assert ray.get(events.set.remote(), timeout=60) == "set"
    assert ray.get(waiting, timeout=60) == "woken"


def test_async_actor_default_max_concurrency_is_1000(ray, tmp_path):
    gate = Gate(tmp_path)
    arrived = tmp_path / "arrived"
    holder = ray.remote(AsyncHolder).remote()
    held = [holder.hold.remote(1000, gate.path, str(arrived)) for _ in range(1000)]
    try:
        # The 1000 calls all run at once (they meet), so the next one must wait.
        assert poll(arrived.exists, timeout=120)
        probe = holder.probe.remote()
        ready, _ = ray.wait([probe], timeout=1)
        assert ready == []
    finally:
        gate.open()
    assert ray.get(held, timeout=120) == [True] * 1000
    assert ray.get(probe, timeout=60) >= 1


def test_async_actor_max_concurrency_option(ray, tmp_path):
    gate = Gate(tmp_path)
    arrived = tmp_path / "arrived"
    holder = ray.remote(AsyncHolder).options(max_concurrency=2).remote()
    held = [holder.hold.remote(2, gate.path, str(arrived)) for _ in range(2)]
    try:
        assert poll(arrived.exists, timeout=60)
        probe = holder.probe.remote()
        ready, _ = ray.wait([probe], timeout=1)
        assert ready == []
    finally:
        gate.open()
    assert ray.get(held, timeout=60) == [True, True]
    assert ray.get(probe, timeout=60) >= 1


def test_async_actor_keeps_state(ray):
    @ray.remote
    class AsyncCounter:
        def __init__(self):
            self.value = 0

        async def increment(self):
            self.value += 1
            return self.value

    counter = AsyncCounter.remote()
    assert sorted(ray.get([counter.increment.remote() for _ in range(5)])) == [1, 2, 3, 4, 5]


def test_blocking_get_inside_an_async_method(ray):
    @ray.remote
    def seven():
        return 7

    @ray.remote
    class Getter:
        async def blocking(self, refs):
            return ray.get(refs[0])

        async def awaiting(self, refs):
            return await refs[0]

    getter = Getter.remote()
    assert ray.get(getter.blocking.remote([seven.remote()]), timeout=60) == 7
    assert ray.get(getter.awaiting.remote([seven.remote()]), timeout=60) == 7


def test_sync_methods_of_an_async_actor_run_on_the_event_loop(ray, tmp_path):
    events = ray.remote(AsyncEvents).remote()
    loop_thread = ray.get(events.thread_id.remote())
    sync_thread, loop_running = ray.get(events.sync_thread_id_and_loop.remote())
    assert sync_thread == loop_thread
    assert loop_running is True
    # So a blocking sync method blocks the async ones too.
    gate = Gate(tmp_path)
    started = tmp_path / "started"
    blocked = events.sync_block.remote(gate.path, str(started))
    try:
        # (An async actor may start calls in any order: wait until the sync one runs.)
        assert poll(started.exists, timeout=60)
        ping = events.ping.remote()
        ready, _ = ray.wait([ping], timeout=1)
        assert ready == []
    finally:
        gate.open()
    assert ray.get([blocked, ping], timeout=60) == ["sync done", "pong"]


def test_async_method_exception(ray):
    @ray.remote
    class AsyncFailing:
        async def fail(self):
            raise ActorError("async boom")

    with pytest.raises(ActorError) as info:
        ray.get(AsyncFailing.remote().fail.remote())
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert strip_ansi(str(info.value)).splitlines()[-1] == f"{__name__}.ActorError: async boom"


# ----------------------------------------------------------------- concurrency groups


def test_concurrency_groups(ray):
    @ray.remote(concurrency_groups={"io": 2, "compute": 1})
    class Grouped:
        def __init__(self):
            self.io_barrier = threading.Barrier(2)

        @ray.method(concurrency_group="io")
        def io(self):
            self.io_barrier.wait(timeout=60)
            return threading.get_ident()

        @ray.method(concurrency_group="compute")
        def compute(self):
            return threading.get_ident()

        def default(self):
            return threading.get_ident()

    grouped = Grouped.remote()
    io_threads = ray.get([grouped.io.remote(), grouped.io.remote()], timeout=120)
    assert len(set(io_threads)) == 2
    compute_thread = ray.get(grouped.compute.remote())
    default_thread = ray.get(grouped.default.remote())
    assert compute_thread not in io_threads
    assert default_thread not in io_threads
    assert default_thread != compute_thread


def test_default_group_of_an_actor_with_groups_runs_one_call_at_a_time(ray, tmp_path):
    gate = Gate(tmp_path)
    holder = ray.remote(concurrency_groups={"io": 2})(Holder).remote()
    held = holder.hold.remote(str(tmp_path / "b"), 1, gate.path)
    try:
        assert poll(lambda: started(tmp_path / "b"), timeout=60)
        probe = holder.probe.remote()
        ready, _ = ray.wait([probe], timeout=1)
        assert ready == []
    finally:
        gate.open()
    assert ray.get(held, timeout=60) is True
    assert ray.get(probe, timeout=60) == 1


def test_concurrency_group_chosen_per_call(ray, tmp_path):
    gate = Gate(tmp_path)
    gate.open()
    holder = ray.remote(concurrency_groups={"io": 2})(Holder).remote()
    held = [
        holder.hold.options(concurrency_group="io").remote(str(tmp_path / "b"), 2, gate.path)
        for _ in range(2)
    ]
    assert ray.get(held, timeout=120) == [True, True]


def test_a_group_calls_do_not_wait_for_the_default_group(ray, tmp_path):
    gate = Gate(tmp_path)
    holder = ray.remote(concurrency_groups={"io": 1})(Holder).remote()
    held = holder.hold.remote(str(tmp_path / "b"), 1, gate.path)
    try:
        assert poll(lambda: started(tmp_path / "b"), timeout=60)
        probe = holder.probe.options(concurrency_group="io").remote()
        assert ray.get(probe, timeout=60) == 0
    finally:
        gate.open()
    assert ray.get(held, timeout=60) is True


def test_async_actor_concurrency_groups(ray):
    @ray.remote(concurrency_groups={"io": 2})
    class AsyncGrouped:
        @ray.method(concurrency_group="io")
        async def io(self):
            return threading.get_ident()

        async def default(self):
            return threading.get_ident()

    grouped = AsyncGrouped.remote()
    io_thread, default_thread = ray.get([grouped.io.remote(), grouped.default.remote()])
    # Each group has an event loop of its own.
    assert io_thread != default_thread


def test_method_in_an_undeclared_concurrency_group(ray):
    @ray.remote(concurrency_groups={"io": 2})
    class Undeclared:
        @ray.method(concurrency_group="missing")
        def method(self):
            return 1

    with pytest.raises(AssertionError):
        Undeclared.remote()


# ----------------------------------------------------------------- num_returns


def test_method_num_returns_decorator(ray):
    @ray.remote
    class Multi:
        @ray.method(num_returns=2)
        def two(self):
            return "a", "b"

        @ray.method(num_returns=0)
        def none(self):
            return None

        def one(self):
            return "a", "b"

    multi = Multi.remote()
    refs = multi.two.remote()
    assert isinstance(refs, list) and len(refs) == 2
    assert ray.get(refs) == ["a", "b"]
    assert multi.none.remote() is None
    assert ray.get(multi.one.remote()) == ("a", "b")


def test_method_num_returns_in_options(ray):
    returns = ray.remote(Returns).remote()
    refs = returns.pair.options(num_returns=2).remote()
    assert isinstance(refs, list)
    assert ray.get(refs) == [1, 2]
    assert ray.get(returns.pair.options(num_returns=1).remote()) == (1, 2)


def test_method_wrong_number_of_returns(ray):
    returns = ray.remote(Returns).remote()
    refs = returns.pair.options(num_returns=3).remote()
    with pytest.raises(ValueError) as info:
        ray.get(refs[0])
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert strip_ansi(str(info.value)).endswith(
        "ValueError: Task returned 2 objects, but num_returns=3."
    )


def test_method_options_validation(ray):
    returns = ray.remote(Returns).remote()
    with pytest.raises(ValueError) as info:
        returns.pair.options(num_returns=-1)
    assert str(info.value) == "num_returns must be >= 0, but got -1."
    with pytest.raises(ValueError) as info:
        returns.pair.options(num_returns="streaming")
    assert str(info.value) == (
        "num_returns='streaming' can only be used with generator functions (functions "
        "that use 'yield'). The decorated function is not a generator function."
    )
    with pytest.raises(TypeError) as info:
        returns.pair.options(unknown_option=1).remote()
    assert str(info.value).endswith("got an unexpected keyword argument 'unknown_option'")


# ----------------------------------------------------------------- generator methods


def test_generator_method_streams_its_values(ray):
    returns = ray.remote(Returns).remote()
    generator = returns.values.remote(3)
    assert isinstance(generator, ray.ObjectRefGenerator)
    refs = list(generator)
    assert all(isinstance(ref, ray.ObjectRef) for ref in refs)
    assert [ray.get(ref) for ref in refs] == [0, 1, 2]


def test_generator_method_with_explicit_streaming(ray):
    @ray.remote
    class Streamer:
        @ray.method(num_returns="streaming")
        def stream(self, n):
            for i in range(n):
                yield i * i

    generator = Streamer.remote().stream.remote(4)
    assert isinstance(generator, ray.ObjectRefGenerator)
    assert [ray.get(ref) for ref in generator] == [0, 1, 4, 9]


def test_async_generator_method(ray):
    generator = ray.remote(Returns).remote().async_values.remote(3)
    assert isinstance(generator, ray.ObjectRefGenerator)
    assert [ray.get(ref) for ref in generator] == [0, 10, 20]


def test_generator_method_with_a_fixed_num_returns(ray):
    refs = ray.remote(Returns).remote().values.options(num_returns=2).remote(2)
    assert isinstance(refs, list)
    assert ray.get(refs) == [0, 1]


def test_generator_method_that_raises(ray):
    generator = ray.remote(Returns).remote().fails_after_one.remote()
    iterator = iter(generator)
    assert ray.get(next(iterator)) == "first"
    with pytest.raises(ActorError) as info:
        ray.get(next(iterator))
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    with pytest.raises(StopIteration):
        next(iterator)


def test_empty_generator_method(ray):
    assert list(ray.remote(Returns).remote().values.remote(0)) == []


# ----------------------------------------------------------------- max_pending_calls


def test_max_pending_calls(ray, tmp_path):
    gate = Gate(tmp_path)
    holder = ray.remote(Holder).options(max_pending_calls=2).remote()
    accepted = [holder.hold.remote(str(tmp_path / "b"), 1, gate.path) for _ in range(2)]
    try:
        with pytest.raises(ray.exceptions.PendingCallsLimitExceeded) as info:
            holder.probe.remote()
        assert isinstance(info.value, ray.exceptions.RayError)
        assert str(info.value) == (
            f"The task probe could not be submitted to {holder!r} because more than 2 tasks "
            "are queued on the actor. This limit can be adjusted with the "
            "`max_pending_calls` actor option."
        )
    finally:
        gate.open()
    assert ray.get(accepted, timeout=60) == [True, True]

    def submit_again():
        try:
            return holder.probe.remote()
        except ray.exceptions.PendingCallsLimitExceeded:
            return None

    ref = poll(submit_again, timeout=30)
    assert ref is not None
    assert ray.get(ref, timeout=60) == 2


def test_max_pending_calls_counts_per_caller(ray, tmp_path):
    gate = Gate(tmp_path)
    holder = ray.remote(Holder).options(max_pending_calls=1).remote()
    first = holder.hold.remote(str(tmp_path / "b"), 1, gate.path)
    assert poll(lambda: started(tmp_path / "b"), timeout=60)

    @ray.remote
    def submit_from_a_task(handle):
        ref = handle.probe.remote()
        try:
            handle.probe.remote()
        except ray.exceptions.PendingCallsLimitExceeded:
            return [ref], "limited"
        return [ref], "not limited"

    try:
        with pytest.raises(ray.exceptions.PendingCallsLimitExceeded):
            holder.probe.remote()
        refs, outcome = ray.get(submit_from_a_task.remote(holder), timeout=60)
        assert outcome == "limited"
    finally:
        gate.open()
    assert ray.get(first, timeout=60) is True
    assert ray.get(refs[0], timeout=60) == 1


# ----------------------------------------------------------------- output prefix


def read_output(capsys, *needles, timeout=30.0):
    out, err = [], []

    def seen():
        captured = capsys.readouterr()
        out.append(captured.out)
        err.append(captured.err)
        text = strip_ansi("".join(out) + "".join(err))
        return all(n in text for n in needles)

    poll(seen, timeout=timeout, interval=0.1)
    return strip_ansi("".join(out)), strip_ansi("".join(err))


def test_actor_output_has_the_class_name_prefix(ray, capsys):
    @ray.remote
    class Talker:
        def __init__(self):
            print("talker-constructor-line")

        def say(self):
            print("talker-stdout-line")
            print("talker-stderr-line", file=sys.stderr)
            return os.getpid()

    pid = ray.get(Talker.remote().say.remote())
    out, err = read_output(
        capsys, "talker-constructor-line", "talker-stdout-line", "talker-stderr-line"
    )
    assert f"(Talker pid={pid}) talker-constructor-line" in out.splitlines()
    assert f"(Talker pid={pid}) talker-stdout-line" in out.splitlines()
    assert f"(Talker pid={pid}) talker-stderr-line" in err.splitlines()


def test_actor_output_prefix_uses_repr_and_ignores_the_name(ray, capsys):
    @ray.remote
    class Reprd:
        def __init__(self, tag):
            self.tag = tag
            print("reprd-constructor-line")

        def __repr__(self):
            return f"Reprd(tag={self.tag})"

        def say(self):
            print("reprd-method-line")
            return os.getpid()

    @ray.remote
    class Named:
        def say(self):
            print("named-actor-line")
            return os.getpid()

    reprd_pid = ray.get(Reprd.remote("x").say.remote())
    named_pid = ray.get(Named.options(name="an-actor-name").remote().say.remote())
    out, _ = read_output(capsys, "reprd-constructor-line", "reprd-method-line", "named-actor-line")
    lines = out.splitlines()
    # The constructor runs before there is an instance to call __repr__ on.
    assert f"(Reprd pid={reprd_pid}) reprd-constructor-line" in lines
    assert f"(Reprd(tag=x) pid={reprd_pid}) reprd-method-line" in lines
    assert f"(Named pid={named_pid}) named-actor-line" in lines


def test_async_actor_output_prefix(ray, capsys):
    @ray.remote
    class AsyncTalker:
        async def say(self):
            print("async-talker-line")
            return os.getpid()

    pid = ray.get(AsyncTalker.remote().say.remote())
    out, _ = read_output(capsys, "async-talker-line")
    assert f"(AsyncTalker pid={pid}) async-talker-line" in out.splitlines()


# ----------------------------------------------------------------- cancellation


def test_cancel_a_running_async_actor_call(ray, tmp_path):
    @ray.remote
    class Waiter:
        async def wait(self, gate_path):
            for _ in range(3000):
                if os.path.exists(gate_path):
                    return "done"
                await asyncio.sleep(0.02)
            return "timed out"

        async def ping(self):
            return "pong"

    gate = Gate(tmp_path)
    waiter = Waiter.remote()
    ray.get(waiter.ping.remote())
    call = waiter.wait.remote(gate.path)
    try:
        ready, _ = ray.wait([call], timeout=0.5)
        assert ready == []
        assert ray.cancel(call) is None
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(call, timeout=60)
    finally:
        gate.open()
    # The actor lives on.
    assert ray.get(waiter.ping.remote(), timeout=60) == "pong"


def test_force_cancel_of_an_actor_call_is_rejected(ray, tmp_path):
    gate = Gate(tmp_path)
    holder = ray.remote(Holder).remote()
    held = holder.hold.remote(str(tmp_path / "b"), 1, gate.path)
    try:
        with pytest.raises(ValueError) as info:
            ray.cancel(held, force=True)
        assert str(info.value) == "force=True is not supported for actor tasks."
    finally:
        gate.open()
    assert ray.get(held, timeout=60) is True


def test_constructor_error_is_printed_with_the_actor_prefix(ray, capsys):
    @ray.remote
    class BrokenTalker:
        def __init__(self):
            raise ActorError("broken-talker-text")

        def ping(self):
            return "pong"

    with pytest.raises(ray.exceptions.ActorDiedError) as info:
        ray.get(BrokenTalker.remote().ping.remote(), timeout=60)
    pid = re.search(r"\(pid=(\d+), ", strip_ansi(str(info.value))).group(1)
    _, err = read_output(capsys, "broken-talker-text")
    prefix = (
        f"(BrokenTalker pid={pid}) Exception raised in creation task: The actor died because "
        "of an error raised in its creation task, ray::BrokenTalker.__init__() (pid="
    )
    assert any(line.startswith(prefix) for line in err.splitlines()), err
    assert f"(BrokenTalker pid={pid}) {__name__}.ActorError: broken-talker-text" in err.splitlines()
