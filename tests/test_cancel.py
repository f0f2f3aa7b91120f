"""fusion-flow's own cancellation guarantees, beyond what Ray makes deterministic: a call
queued on an actor never runs once cancelled, and cancelled work leaves no trace."""

import os
import time

import pytest

import fusion_flow.ray_compat as ray


@pytest.fixture(scope="module", autouse=True)
def runtime():
    ray.init(num_cpus=2)
    yield
    ray.shutdown()


def wait_for(path, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, path
        time.sleep(0.01)


@ray.remote
class Holder:
    def hold(self, started, gate):
        open(started, "w").close()
        wait_for(gate)
        return "held"

    def run(self, path):
        open(path, "w").close()
        return "ran"


def test_a_call_queued_on_an_actor_never_runs_once_cancelled(tmp_path):
    actor = Holder.remote()
    started, gate, ran = (str(tmp_path / name) for name in ("started", "gate", "ran"))
    first = actor.hold.remote(started, gate)
    wait_for(started)
    queued = [actor.run.remote(ran) for _ in range(3)]
    for ref in queued:
        ray.cancel(ref)
    open(gate, "w").close()
    assert ray.get(first, timeout=30) == "held"
    for ref in queued:
        with pytest.raises(ray.exceptions.TaskCancelledError, match="before it executes"):
            ray.get(ref, timeout=30)
    assert not os.path.exists(ran)
    assert ray.get(actor.run.remote(ran), timeout=30) == "ran"


def test_cancelled_tasks_give_their_resources_back(tmp_path):
    @ray.remote
    def spin():
        while True:
            time.sleep(0.01)

    refs = [spin.remote() for _ in range(6)]
    time.sleep(0.5)
    for ref in refs:
        ray.cancel(ref)
    for ref in refs:
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(ref, timeout=30)
    deadline = time.monotonic() + 10
    while ray.available_resources().get("CPU") != ray.cluster_resources()["CPU"]:
        assert time.monotonic() < deadline, ray.available_resources()
        time.sleep(0.05)
