"""Resources, scheduling, GPUs, the runtime context and the cluster state calls."""

import os
import socket
import time

import pytest
from conformance_helpers import (
    UUID_RE,
    Gate,
    barrier,
    intervals_overlap,
    is_hex,
    poll,
    wait_for_path,
)

INIT_KWARGS = dict(num_cpus=2, num_gpus=2, resources={"custom": 2})

EXPECTED_RESOURCES = {"CPU": 2.0, "GPU": 2.0, "custom": 2.0}


def interval(seconds=0.3):
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def in_barrier(directory, parties):
    return barrier(directory, parties, timeout=20)


def held(gate_path):
    wait_for_path(gate_path)
    return os.getpid()


def max_concurrency(intervals):
    """The largest number of (start, end) intervals that overlap at one moment."""
    events = sorted(
        [(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
        key=lambda ev: (ev[0], ev[1]),
    )
    current = best = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


def resources_back_to_idle(ray):
    return poll(lambda: ray.available_resources() == ray.cluster_resources(), 30)


# ----------------------------------------------------------------- cluster state


def test_cluster_resources(ray):
    resources = ray.cluster_resources()
    node_ip = ray.nodes()[0]["NodeManagerAddress"]
    assert set(resources) == {
        "CPU",
        "GPU",
        "custom",
        "memory",
        "object_store_memory",
        "node:__internal_head__",
        f"node:{node_ip}",
    }
    for name, amount in EXPECTED_RESOURCES.items():
        assert resources[name] == amount
    assert resources["node:__internal_head__"] == 1.0
    assert resources[f"node:{node_ip}"] == 1.0
    assert resources["memory"] > 0
    assert resources["object_store_memory"] > 0
    assert all(type(v) is float for v in resources.values())


def test_available_resources_when_idle(ray):
    assert resources_back_to_idle(ray)
    assert all(type(v) is float for v in ray.available_resources().values())


def test_available_resources_while_tasks_hold_them(ray, tmp_path):
    gate = Gate(tmp_path)
    f = ray.remote(held)
    refs = [f.options(num_cpus=1, resources={"custom": 1.5}).remote(gate.path)]
    try:

        def partly_used():
            available = ray.available_resources()
            return available.get("CPU") == 1.0 and available.get("custom") == 0.5

        assert poll(partly_used, 30), ray.available_resources()
        refs.append(f.options(num_cpus=1).remote(gate.path))
        # A resource with nothing left disappears from the dict.
        assert poll(lambda: "CPU" not in ray.available_resources(), 30), ray.available_resources()
        assert ray.available_resources()["GPU"] == 2.0
    finally:
        gate.open()
    ray.get(refs, timeout=60)
    assert resources_back_to_idle(ray)


def test_nodes(ray):
    nodes = ray.nodes()
    assert isinstance(nodes, list)
    assert len(nodes) == 1
    node = nodes[0]
    assert node["NodeID"] == ray.get_runtime_context().get_node_id()
    assert node["Alive"] is True
    assert node["alive"] is True
    assert node["Resources"] == ray.cluster_resources()
    assert node["NodeManagerHostname"] == socket.gethostname()
    address = node["NodeManagerAddress"]
    assert isinstance(address, str)
    socket.inet_aton(address)  # an IPv4 address
    assert node["NodeName"] == address
    for key in ("NodeManagerPort", "ObjectManagerPort"):
        assert isinstance(node[key], int)
    for key in ("ObjectStoreSocketName", "RayletSocketName"):
        assert isinstance(node[key], str)
    assert isinstance(node["Labels"], dict)


# ----------------------------------------------------------------- runtime context


def test_runtime_context_in_the_driver(ray):
    context = ray.get_runtime_context()
    job_id = context.get_job_id()
    assert is_hex(job_id, 8)
    assert is_hex(context.get_node_id(), 56)
    assert is_hex(context.get_worker_id(), 56)
    assert context.get_task_id() is None
    assert UUID_RE.match(context.namespace)  # no namespace given: a random UUID
    with pytest.raises(AssertionError):
        context.get_assigned_resources()


def test_runtime_context_in_a_task(ray):
    @ray.remote
    def context_in_task():
        context = ray.get_runtime_context()
        return {
            "job": context.get_job_id(),
            "node": context.get_node_id(),
            "worker": context.get_worker_id(),
            "task": context.get_task_id(),
            "namespace": context.namespace,
            "resources": context.get_assigned_resources(),
        }

    driver = ray.get_runtime_context()
    first, second = ray.get([context_in_task.remote(), context_in_task.remote()])
    for seen in (first, second):
        assert seen["job"] == driver.get_job_id()
        assert seen["node"] == driver.get_node_id()
        assert is_hex(seen["worker"], 56)
        assert seen["worker"] != driver.get_worker_id()
        assert is_hex(seen["task"], 48)
        assert seen["namespace"] == driver.namespace
        assert seen["resources"] == {"CPU": 1.0}
    assert first["task"] != second["task"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"CPU": 1.0}),
        ({"num_cpus": 0.5}, {"CPU": 0.5}),
        ({"num_cpus": 2}, {"CPU": 2.0}),
        (
            {"num_cpus": 0.5, "num_gpus": 1, "resources": {"custom": 0.5}},
            {"CPU": 0.5, "GPU": 1.0, "custom": 0.5},
        ),
        ({"num_cpus": 0, "resources": {"custom": 2}}, {"custom": 2.0}),
    ],
    ids=["default", "half-cpu", "two-cpus", "mixed", "custom-only"],
)
def test_assigned_resources(ray, options, expected):
    @ray.remote
    def assigned():
        return ray.get_runtime_context().get_assigned_resources()

    assert ray.get(assigned.options(**options).remote(), timeout=60) == expected


# ----------------------------------------------------------------- GPUs


def test_gpu_ids_in_driver_and_cpu_tasks(ray):
    assert ray.get_gpu_ids() == []

    @ray.remote
    def no_gpu():
        return ray.get_gpu_ids()

    assert ray.get(no_gpu.remote()) == []


@pytest.mark.parametrize(("num_gpus", "count"), [(1, 1), (2, 2), (0.5, 1)])
def test_gpu_ids_and_cuda_visible_devices(ray, num_gpus, count):
    @ray.remote
    def gpu_task():
        return ray.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")

    ids, visible = ray.get(gpu_task.options(num_gpus=num_gpus).remote(), timeout=60)
    assert len(ids) == count
    assert all(type(i) is int for i in ids)
    assert set(ids) <= {0, 1}
    assert visible == ",".join(str(i) for i in ids)


def test_concurrent_gpu_tasks_get_distinct_gpus(ray, tmp_path):
    @ray.remote(num_cpus=0)
    def gpu_task(directory):
        ok = barrier(directory, 2, timeout=20)
        return ok, ray.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")

    directory = str(tmp_path / "barrier")
    results = ray.get(
        [gpu_task.options(num_gpus=1).remote(directory) for _ in range(2)], timeout=60
    )
    assert all(ok for ok, _, _ in results)
    assert sorted(ids[0] for _, ids, _ in results) == [0, 1]
    assert all(visible == str(ids[0]) for _, ids, visible in results)


def test_gpu_tasks_wait_for_free_gpus(ray, tmp_path):
    gate = Gate(tmp_path)
    holders = [ray.remote(held).options(num_cpus=0, num_gpus=1).remote(gate.path) for _ in range(2)]
    third = ray.remote(interval).options(num_cpus=0, num_gpus=1).remote(0)
    try:
        assert ray.wait([third], timeout=0.5) == ([], [third])
        # A task without GPUs is not held up.
        assert ray.get(ray.remote(interval).remote(0), timeout=60)
    finally:
        gate.open()
    assert ray.wait([third], timeout=60) == ([third], [])
    ray.get(holders, timeout=60)


def test_gpu_decorator_defaults_to_a_fresh_worker_per_call(ray):
    @ray.remote(num_gpus=1)
    def gpu_pid():
        return os.getpid()

    pids = [ray.get(gpu_pid.remote(), timeout=60) for _ in range(3)]
    assert len(set(pids)) == 3


# ----------------------------------------------------------------- scheduling


def test_two_cpu_task_runs_alone(ray):
    f = ray.remote(interval)
    big = f.options(num_cpus=2).remote(0.5)
    small = [f.remote(0.3) for _ in range(3)]
    big_interval = ray.get(big, timeout=60)
    for small_interval in ray.get(small, timeout=60):
        assert not intervals_overlap(big_interval, small_interval)


def test_tasks_needing_all_cpus_do_not_overlap(ray):
    f = ray.remote(interval).options(num_cpus=2)
    first, second = ray.get([f.remote(0.3), f.remote(0.3)], timeout=60)
    assert not intervals_overlap(first, second)


def test_one_cpu_tasks_run_two_at_a_time(ray, tmp_path):
    f = ray.remote(in_barrier)
    directory = str(tmp_path / "barrier")
    assert ray.get([f.remote(directory, 2) for _ in range(2)], timeout=60) == [True, True]
    intervals = ray.get([ray.remote(interval).remote(0.3) for _ in range(4)], timeout=60)
    assert max_concurrency(intervals) <= 2


def test_fractional_cpus(ray, tmp_path):
    f = ray.remote(in_barrier).options(num_cpus=0.5)
    directory = str(tmp_path / "barrier")
    assert ray.get([f.remote(directory, 4) for _ in range(4)], timeout=60) == [True] * 4


def test_zero_cpu_tasks_run_while_cpus_are_busy(ray, tmp_path):
    gate = Gate(tmp_path)
    holders = [ray.remote(held).remote(gate.path) for _ in range(2)]
    try:
        free = ray.remote(interval).options(num_cpus=0).remote(0)
        assert ray.wait([free], timeout=60)[0] == [free]
        assert ray.wait(holders, timeout=0)[0] == []
    finally:
        gate.open()
    ray.get(holders, timeout=60)


def test_custom_resources(ray, tmp_path):
    f = ray.remote(in_barrier).options(num_cpus=0, resources={"custom": 1})
    directory = str(tmp_path / "barrier")
    assert ray.get([f.remote(directory, 2) for _ in range(2)], timeout=60) == [True, True]
    g = ray.remote(interval).options(num_cpus=0, resources={"custom": 2})
    first, second = ray.get([g.remote(0.3), g.remote(0.3)], timeout=60)
    assert not intervals_overlap(first, second)


def test_memory_resource(ray):
    f = ray.remote(interval).options(memory=64 * 1024 * 1024)
    assert len(ray.get(f.remote(0), timeout=60)) == 2


@pytest.mark.parametrize(
    "options",
    [
        {"num_cpus": 3},
        {"num_gpus": 3},
        {"resources": {"custom": 3}},
        {"resources": {"missing": 1}},
        {"accelerator_type": "A100"},
        {"memory": "twice the node's memory"},
    ],
    ids=["cpus", "gpus", "custom", "unknown-resource", "accelerator", "memory"],
)
def test_infeasible_task_stays_pending(ray, options):
    if "memory" in options:
        options = {"memory": int(ray.cluster_resources()["memory"] * 2)}
    ref = ray.remote(interval).options(**options).remote(0)
    start = time.monotonic()
    ready, not_ready = ray.wait([ref], timeout=0.5)
    assert time.monotonic() - start >= 0.4
    assert (ready, not_ready) == ([], [ref])
    with pytest.raises(ray.exceptions.GetTimeoutError):
        ray.get(ref, timeout=0.2)
    # The rest of the node keeps working.
    assert ray.get(ray.remote(interval).remote(0), timeout=60)


def test_pending_tasks_run_when_resources_free_up(ray, tmp_path):
    gate = Gate(tmp_path)
    holder = ray.remote(held).options(num_cpus=2).remote(gate.path)
    waiting = ray.remote(interval).remote(0)
    try:
        assert ray.wait([waiting], timeout=0.5) == ([], [waiting])
    finally:
        gate.open()
    assert ray.wait([waiting], timeout=60) == ([waiting], [])
    ray.get(holder, timeout=60)
