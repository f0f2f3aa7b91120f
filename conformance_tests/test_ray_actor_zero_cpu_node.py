"""A node without CPUs: an actor with default options needs a CPU on the node to be
placed (it holds none once running), so it never starts there; `num_cpus=0` actors do.
"""

import os

INIT_KWARGS = dict(num_cpus=0, resources={"slot": 2})


class Probe:
    def __init__(self, started_path=None):
        if started_path is not None:
            with open(started_path, "w"):
                pass

    def pid(self):
        return os.getpid()


def test_default_actor_is_never_placed_on_a_node_without_cpus(ray, tmp_path):
    started = tmp_path / "started"
    actor = ray.remote(Probe).remote(str(started))
    pid = actor.pid.remote()
    ready, _ = ray.wait([pid], timeout=2)
    assert ready == []
    assert not started.exists()
    ray.kill(actor)


def test_zero_cpu_actor_runs_on_a_node_without_cpus(ray):
    actor = ray.remote(Probe).options(num_cpus=0).remote()
    assert isinstance(ray.get(actor.pid.remote(), timeout=60), int)


def test_custom_resources_alone_still_ask_for_a_cpu(ray):
    # Given any resource, an actor holds num_cpus=1 unless told otherwise.
    pending = ray.remote(Probe).options(resources={"slot": 1}).remote()
    pending_pid = pending.pid.remote()
    placed = ray.remote(Probe).options(num_cpus=0, resources={"slot": 1}).remote()
    assert isinstance(ray.get(placed.pid.remote(), timeout=60), int)
    ready, _ = ray.wait([pending_pid], timeout=1)
    assert ready == []
    ray.kill(pending)
