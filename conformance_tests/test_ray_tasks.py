"""Remote functions: defining, calling, arguments, options, num_returns, dependencies,
nesting.
"""

import os
import threading
import time

import pytest
from conformance_helpers import Gate, poll, wait_for_path

INIT_KWARGS = dict(num_cpus=2)


# Module-level functions: pickled by reference, imported by the workers.
def add(x, y):
    return x + y


def with_defaults(a, b=2, *args, c=3, **kwargs):
    return a, b, args, c, kwargs


def square(x):
    return x * x


def uses_module_function(x):
    return square(x) + 1


def pair():
    return 1, 2


def timed(gate_path=None, value=None):
    start = time.time()
    if gate_path is not None:
        wait_for_path(gate_path)
    return start, time.time(), value


class Point:
    """A user class defined in the test module, sent both ways."""

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self):
        return hash((self.x, self.y))


def move(point, dx):
    return Point(point.x + dx, point.y)


# ----------------------------------------------------------------- defining and calling


def test_decorator_without_arguments(ray):
    @ray.remote
    def double(x):
        return 2 * x

    assert ray.get(double.remote(21)) == 42


def test_decorator_with_arguments(ray):
    @ray.remote(num_cpus=0.5, max_retries=0)
    def double(x):
        return 2 * x

    assert ray.get(double.remote(4)) == 8


def test_module_level_function(ray):
    assert ray.get(ray.remote(add).remote(1, 2)) == 3
    assert ray.get(ray.remote(uses_module_function).remote(3)) == 10


def test_closure_captures_values(ray):
    offset = 100
    table = {"a": 1}

    @ray.remote
    def lookup(key):
        return table[key] + offset

    assert ray.get(lookup.remote("a")) == 101


def test_user_class_instances_as_arguments_and_results(ray):
    assert ray.get(ray.remote(move).remote(Point(1, 2), 3)) == Point(4, 2)


def test_default_varargs_and_keyword_only_arguments(ray):
    f = ray.remote(with_defaults)
    assert ray.get(f.remote(1)) == (1, 2, (), 3, {})
    assert ray.get(f.remote(1, 5, 6, 7, c=8, d=9)) == (1, 5, (6, 7), 8, {"d": 9})
    assert ray.get(f.remote(a=1, b=4)) == (1, 4, (), 3, {})


def test_many_tasks_keep_their_order(ray):
    f = ray.remote(square)
    refs = [f.remote(i) for i in range(200)]
    assert ray.get(refs) == [i * i for i in range(200)]


def test_remote_function_passed_to_a_task(ray):
    remote_square = ray.remote(square)

    @ray.remote
    def apply(fn, x):
        return ray.get(fn.remote(x))

    assert ray.get(apply.remote(remote_square, 7)) == 49


def test_tasks_submitted_from_threads(ray):
    f = ray.remote(square)
    results = {}

    def submit(i):
        results[i] = ray.get(f.remote(i))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {i: i * i for i in range(8)}


# ----------------------------------------------------------------- argument binding


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1,), {}, "missing a required argument: 'y'"),
        ((), {}, "missing a required argument: 'x'"),
        ((1, 2, 3), {}, "too many positional arguments"),
        ((1, 2), {"z": 3}, "got an unexpected keyword argument 'z'"),
        ((1,), {"x": 2}, "multiple values for argument 'x'"),
    ],
    ids=["missing", "missing-all", "too-many", "unexpected-keyword", "duplicate"],
)
def test_arguments_are_bound_at_submit_time(ray, args, kwargs, message):
    f = ray.remote(add)
    with pytest.raises(TypeError) as info:
        f.remote(*args, **kwargs)
    assert type(info.value) is TypeError
    assert str(info.value) == message


def test_keyword_only_argument_binding(ray):
    @ray.remote
    def kwonly(a, *, b):
        return a, b

    with pytest.raises(TypeError) as info:
        kwonly.remote(1, 2)
    assert str(info.value) == "too many positional arguments"
    with pytest.raises(TypeError) as info:
        kwonly.remote(1)
    assert str(info.value) == "missing a required argument: 'b'"
    assert ray.get(kwonly.remote(1, b=2)) == (1, 2)


def test_unserializable_argument_fails_at_submit_time(ray):
    f = ray.remote(add)
    with pytest.raises(TypeError) as info:
        f.remote(threading.Lock(), 1)
    assert str(info.value).startswith("Could not serialize the argument <unlocked _thread.lock")


# ----------------------------------------------------------------- options at call time


def test_options_are_applied_per_call(ray):
    f = ray.remote(num_returns=2)(pair)
    refs = f.remote()
    assert isinstance(refs, list) and len(refs) == 2
    assert ray.get(refs) == [1, 2]
    # .options() returns a new callable; the remote function keeps its defaults.
    one_ref = f.options(num_returns=1).remote()
    assert isinstance(one_ref, ray.ObjectRef)
    assert ray.get(one_ref) == (1, 2)
    assert len(f.remote()) == 2


def test_whole_option_set_runs(ray):
    strategies = ray.util.scheduling_strategies
    node_id = ray.get_runtime_context().get_node_id()
    f = ray.remote(square)
    options = dict(
        num_cpus=0.5,
        num_gpus=0,
        memory=1024 * 1024,
        resources={},
        name="every-option",
        num_returns=1,
        max_retries=0,
        retry_exceptions=False,
        runtime_env={"env_vars": {"FF_CONFORMANCE_OPTION": "1"}},
        scheduling_strategy="DEFAULT",
        enable_task_events=False,
        label_selector={},
        accelerator_type=None,
        object_store_memory=None,
        placement_group_bundle_index=-1,
        placement_group_capture_child_tasks=None,
        _labels={"team": "conformance"},
    )
    assert ray.get(f.options(**options).remote(3), timeout=60) == 9
    assert ray.get(f.options(scheduling_strategy="SPREAD").remote(4), timeout=60) == 16
    affinity = strategies.NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)
    assert ray.get(f.options(scheduling_strategy=affinity).remote(5), timeout=60) == 25


def test_unknown_scheduling_strategy_string_fails_at_submit(ray):
    f = ray.remote(square)
    g = f.options(scheduling_strategy="BAD")  # accepted by .options()
    with pytest.raises(ValueError) as info:
        g.remote(1)
    assert str(info.value) == (
        'Invalid scheduling_strategy value BAD. Valid values are ["DEFAULT" | "SPREAD" '
        "| PlacementGroupSchedulingStrategy | NodeAffinitySchedulingStrategy]"
    )


# ----------------------------------------------------------------- num_returns


def test_num_returns_zero_returns_none(ray, tmp_path):
    marker = str(tmp_path / "ran")

    @ray.remote(num_returns=0)
    def side_effect(path):
        with open(path, "w") as f:
            f.write("ran")
        return "ignored"

    assert side_effect.remote(marker) is None
    # The task still runs.
    assert poll(lambda: os.path.exists(marker), 60)
    assert ray.remote(pair).options(num_returns=0).remote() is None


def test_num_returns_several(ray):
    @ray.remote(num_returns=3)
    def three():
        return "a", "b", "c"

    refs = three.remote()
    assert isinstance(refs, list)
    assert len(refs) == 3
    assert len(set(refs)) == 3
    assert ray.get(refs) == ["a", "b", "c"]
    assert ray.get(refs[2]) == "c"


def test_num_returns_one_keeps_a_tuple_whole(ray):
    assert ray.get(ray.remote(pair).remote()) == (1, 2)


def test_num_returns_mismatch(ray):
    f = ray.remote(num_returns=3)(pair)
    refs = f.remote()
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(refs[0])
    assert isinstance(info.value, ValueError)
    assert str(info.value).endswith("ValueError: Task returned 2 objects, but num_returns=3.")
    with pytest.raises(ValueError):
        ray.get(refs[2])


def test_num_returns_with_a_non_sequence(ray):
    @ray.remote(num_returns=2)
    def scalar():
        return 5

    with pytest.raises(TypeError) as info:
        ray.get(scalar.remote())
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert str(info.value).endswith("TypeError: object of type 'int' has no len()")


# ----------------------------------------------------------------- dependencies


def test_object_ref_arguments_are_resolved(ray):
    f = ray.remote(add)
    a = f.remote(1, 2)
    b = f.remote(a, ray.put(10))
    c = f.remote(x=b, y=a)
    assert ray.get(c) == 16


def test_dependent_task_waits_for_its_argument(ray, tmp_path):
    gate = Gate(tmp_path)
    f = ray.remote(timed)
    first = f.remote(gate.path, "first")
    second = f.remote(None, first)
    # While the first task is held, the dependent one is not ready.
    ready, not_ready = ray.wait([second], timeout=0.5)
    assert (ready, not_ready) == ([], [second])
    gate.open()
    second_start, _, (first_start, first_end, value) = ray.get(second, timeout=60)
    assert value == "first"
    assert second_start >= first_end >= first_start


def test_chain_of_dependencies(ray):
    f = ray.remote(add)
    ref = ray.put(0)
    for i in range(20):
        ref = f.remote(ref, i)
    assert ray.get(ref) == sum(range(20))


# ----------------------------------------------------------------- nesting


def test_nested_tasks_deeper_than_num_cpus(ray):
    @ray.remote
    def depth(n):
        if n == 0:
            return 0
        return 1 + ray.get(depth.remote(n - 1))

    assert ray.get(depth.remote(6), timeout=120) == 6


def test_a_remote_function_used_in_the_driver_can_be_called_from_a_task(ray):
    @ray.remote
    def square(x):
        return x * x

    assert ray.get(square.remote(3), timeout=60) == 9

    @ray.remote
    def sum_of_squares(function, n):
        return sum(ray.get([function.remote(i) for i in range(n)]))

    # The function travels by value, after the driver has used it.
    assert ray.get(sum_of_squares.remote(square, 4), timeout=60) == 14


def test_nested_fan_out_with_blocking_get(ray):
    @ray.remote
    def leaf(i):
        return i

    @ray.remote
    def middle(i):
        return sum(ray.get([leaf.remote(i * 10 + j) for j in range(3)]))

    @ray.remote
    def top():
        return ray.get([middle.remote(i) for i in range(3)])

    assert ray.get([top.remote() for _ in range(2)], timeout=120) == [[3, 33, 63]] * 2


def test_nested_wait_inside_tasks(ray):
    @ray.remote
    def leaf(i):
        return i

    @ray.remote
    def waiter():
        refs = [leaf.remote(i) for i in range(3)]
        ready, not_ready = ray.wait(refs, num_returns=3)
        return sorted(ray.get(ready)), not_ready

    assert ray.get([waiter.remote() for _ in range(3)], timeout=120) == [([0, 1, 2], [])] * 3


def test_blocked_parent_gives_its_cpu_to_children(ray):
    # Two parents hold both CPUs while they wait for children that need a CPU each.
    @ray.remote
    def child(i):
        return i

    @ray.remote
    def parent(i):
        return ray.get(child.remote(i))

    refs = [parent.remote(i) for i in range(2)]
    assert poll(lambda: len(ray.wait(refs, num_returns=2, timeout=0)[0]) == 2, 60)
    assert ray.get(refs) == [0, 1]


def worker_pid():
    return os.getpid()


def test_tasks_run_in_worker_processes(ray):
    assert ray.get(ray.remote(worker_pid).remote()) != os.getpid()
