"""Actor resources: the default (a CPU to place it, none held while it lives), what an
actor holds when resources are given, GPUs (ids, CUDA_VISIBLE_DEVICES), custom
resources, memory, actors waiting for resources, runtime_env env_vars.
"""

import os

import pytest
from conformance_helpers import Gate, barrier, poll, wait_for_path

INIT_KWARGS = dict(
    num_cpus=2,
    num_gpus=2,
    resources={"custom": 2},
    runtime_env={"env_vars": {"JOB_VAR": "job", "SHARED_VAR": "job"}},
)

MIB = 1024 * 1024


class Probe:
    def __init__(self, started_path=None):
        if started_path is not None:
            with open(started_path, "w"):
                pass

    def pid(self):
        return os.getpid()

    def meet(self, directory, parties):
        return barrier(directory, parties, timeout=60)

    def env(self, *names):
        return {name: os.environ.get(name) for name in names}


def meet(directory, parties):
    return barrier(directory, parties, timeout=60)


def held(gate_path, started_path):
    with open(started_path, "w"):
        pass
    wait_for_path(gate_path, timeout=60)
    return os.getpid()


def make_resource_probe(ray):
    @ray.remote
    class ResourceProbe:
        def assigned(self):
            return ray.get_runtime_context().get_assigned_resources()

        def gpus(self):
            return ray.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")

    return ResourceProbe


def idle(ray):
    """Wait until the actors of earlier tests have released everything."""
    assert poll(lambda: ray.available_resources() == ray.cluster_resources(), timeout=30)


# ----------------------------------------------------------------- the default: 0 CPU held


def test_default_actors_hold_no_cpu(ray, tmp_path):
    idle(ray)
    # Four actors plus two one-CPU tasks, all at once, on two CPUs.
    actors = [ray.remote(Probe).remote() for _ in range(4)]
    directory = str(tmp_path / "barrier")
    refs = [a.meet.remote(directory, 6) for a in actors]
    refs += [ray.remote(meet).remote(directory, 6) for _ in range(2)]
    assert ray.get(refs, timeout=120) == [True] * 6


def test_available_cpus_ignore_default_actors(ray):
    idle(ray)
    actors = [ray.remote(Probe).remote() for _ in range(3)]
    ray.get([a.pid.remote() for a in actors])
    one_cpu = ray.remote(Probe).options(num_cpus=1).remote()
    ray.get(one_cpu.pid.remote())
    # Only the actor that asked for a CPU holds one.
    assert poll(lambda: ray.available_resources().get("CPU") == 1.0, timeout=30)
    del one_cpu
    assert poll(lambda: ray.available_resources().get("CPU") == 2.0, timeout=30)
    assert len(ray.get([a.pid.remote() for a in actors])) == 3


def test_default_actor_starts_while_all_cpus_are_busy(ray, tmp_path):
    idle(ray)
    gate = Gate(tmp_path)
    holders = [ray.remote(held).remote(gate.path, str(tmp_path / f"started-{i}")) for i in range(2)]
    try:
        assert poll(lambda: all((tmp_path / f"started-{i}").exists() for i in range(2)), timeout=60)
        # Placing it needs a CPU on the node, not a free one.
        default = ray.remote(Probe).remote(str(tmp_path / "default-started"))
        assert ray.get(default.pid.remote(), timeout=60)
        # One that holds a CPU waits for one.
        one_cpu = ray.remote(Probe).options(num_cpus=1).remote(str(tmp_path / "cpu-started"))
        pid = one_cpu.pid.remote()
        ready, _ = ray.wait([pid], timeout=1)
        assert ready == []
        assert not (tmp_path / "cpu-started").exists()
    finally:
        gate.open()
    assert ray.get(pid, timeout=60)
    ray.get(holders, timeout=60)


# ----------------------------------------------------------------- what an actor holds


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {}),
        ({"num_cpus": 1}, {"CPU": 1.0}),
        ({"num_cpus": 0.5}, {"CPU": 0.5}),
        # Any resource given makes the actor hold a CPU too, unless num_cpus says not.
        ({"num_gpus": 1}, {"CPU": 1.0, "GPU": 1.0}),
        ({"resources": {"custom": 1}}, {"CPU": 1.0, "custom": 1.0}),
        ({"num_cpus": 0, "num_gpus": 1}, {"GPU": 1.0}),
        ({"num_cpus": 0, "resources": {"custom": 0.5}}, {"custom": 0.5}),
        ({"num_cpus": 1, "memory": 100 * MIB}, {"CPU": 1.0, "memory": 100.0 * MIB}),
    ],
    ids=["default", "one-cpu", "half-cpu", "gpu", "custom", "gpu-no-cpu", "custom-no-cpu", "mem"],
)
def test_assigned_resources_in_an_actor(ray, options, expected):
    probe = make_resource_probe(ray).options(**options).remote()
    assert ray.get(probe.assigned.remote(), timeout=60) == expected


def test_actor_resources_are_held_while_it_lives(ray):
    idle(ray)
    probe = make_resource_probe(ray).options(num_gpus=1, resources={"custom": 1.5}).remote()
    ray.get(probe.assigned.remote(), timeout=60)

    def held_as_expected():
        available = ray.available_resources()
        return (
            available.get("CPU") == 1.0
            and available.get("GPU") == 1.0
            and available.get("custom") == 0.5
        )

    assert poll(held_as_expected, timeout=30)
    ray.kill(probe)
    idle(ray)


def test_actors_wait_for_cpus(ray, tmp_path):
    idle(ray)
    cls = ray.remote(Probe).options(num_cpus=1)
    first, second = cls.remote(), cls.remote()
    ray.get([first.pid.remote(), second.pid.remote()], timeout=60)
    third = cls.remote(str(tmp_path / "third-started"))
    pid = third.pid.remote()
    ready, _ = ray.wait([pid], timeout=1)
    assert ready == []
    assert not (tmp_path / "third-started").exists()
    # Work that needs no CPU is not held up.
    assert ray.get(ray.remote(lambda: "zero").options(num_cpus=0).remote(), timeout=60) == "zero"
    ray.kill(first)
    assert ray.get(pid, timeout=60)
    assert (tmp_path / "third-started").exists()


def test_actors_wait_for_custom_resources(ray, tmp_path):
    idle(ray)
    cls = ray.remote(Probe).options(num_cpus=0, resources={"custom": 1})
    first, second = cls.remote(), cls.remote()
    ray.get([first.pid.remote(), second.pid.remote()], timeout=60)
    third = cls.remote()
    pid = third.pid.remote()
    ready, _ = ray.wait([pid], timeout=1)
    assert ready == []
    ray.kill(second)
    assert ray.get(pid, timeout=60)


def test_actor_asking_for_more_than_the_node_has_stays_pending(ray):
    probe = ray.remote(Probe).options(num_cpus=0, resources={"custom": 3}).remote()
    pid = probe.pid.remote()
    ready, _ = ray.wait([pid], timeout=1)
    assert ready == []
    # Other work is not held up.
    other = ray.remote(Probe).remote()
    assert ray.get(other.pid.remote(), timeout=60)
    ray.kill(probe)


# ----------------------------------------------------------------- GPUs


def test_gpu_ids_in_a_cpu_actor(ray):
    probe = make_resource_probe(ray).remote()
    ids, _ = ray.get(probe.gpus.remote(), timeout=60)
    assert ids == []


@pytest.mark.parametrize(("num_gpus", "count"), [(1, 1), (2, 2), (0.5, 1)])
def test_gpu_ids_and_cuda_visible_devices_in_an_actor(ray, num_gpus, count):
    idle(ray)
    probe = make_resource_probe(ray).options(num_cpus=0, num_gpus=num_gpus).remote()
    ids, visible = ray.get(probe.gpus.remote(), timeout=60)
    assert len(ids) == count
    assert all(type(i) is int for i in ids)
    assert set(ids) <= {0, 1}
    assert visible == ",".join(str(i) for i in ids)
    # The same for every call: the actor keeps its GPUs.
    assert ray.get(probe.gpus.remote(), timeout=60) == (ids, visible)


def test_gpu_actors_get_distinct_gpus_and_wait_for_a_free_one(ray):
    idle(ray)
    cls = make_resource_probe(ray).options(num_cpus=0, num_gpus=1)
    first, second = cls.remote(), cls.remote()
    (first_ids, first_visible), (second_ids, _) = ray.get(
        [first.gpus.remote(), second.gpus.remote()], timeout=60
    )
    assert sorted(first_ids + second_ids) == [0, 1]
    third = cls.remote()
    third_gpus = third.gpus.remote()
    ready, _ = ray.wait([third_gpus], timeout=1)
    assert ready == []
    ray.kill(first)
    assert ray.get(third_gpus, timeout=60) == (first_ids, first_visible)


def test_driver_environment_is_untouched_by_gpu_actors(ray):
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    probe = make_resource_probe(ray).options(num_cpus=0, num_gpus=1).remote()
    ray.get(probe.gpus.remote(), timeout=60)
    assert os.environ.get("CUDA_VISIBLE_DEVICES") == before
    assert ray.get_gpu_ids() == []


# ----------------------------------------------------------------- runtime_env


def test_actor_sees_the_jobs_env_vars(ray):
    probe = ray.remote(Probe).remote()
    assert ray.get(probe.env.remote("JOB_VAR", "SHARED_VAR")) == {
        "JOB_VAR": "job",
        "SHARED_VAR": "job",
    }


def test_actor_env_vars_merge_with_the_jobs(ray):
    env = {"env_vars": {"SHARED_VAR": "actor", "ACTOR_VAR": "mine"}}
    for cls in (ray.remote(Probe).options(runtime_env=env), ray.remote(runtime_env=env)(Probe)):
        probe = cls.remote()
        assert ray.get(probe.env.remote("JOB_VAR", "SHARED_VAR", "ACTOR_VAR")) == {
            "JOB_VAR": "job",
            "SHARED_VAR": "actor",
            "ACTOR_VAR": "mine",
        }
    # Not in the driver, and not in other actors.
    assert "ACTOR_VAR" not in os.environ
    other = ray.remote(Probe).remote()
    assert ray.get(other.env.remote("ACTOR_VAR", "SHARED_VAR")) == {
        "ACTOR_VAR": None,
        "SHARED_VAR": "job",
    }


def test_actor_env_vars_seen_by_the_constructor(ray):
    @ray.remote
    class FromConstructor:
        def __init__(self):
            self.seen = os.environ.get("CONSTRUCTOR_VAR")

        def get(self):
            return self.seen

    actor = FromConstructor.options(runtime_env={"env_vars": {"CONSTRUCTOR_VAR": "yes"}}).remote()
    assert ray.get(actor.get.remote()) == "yes"
