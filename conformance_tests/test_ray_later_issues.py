"""Behaviour that later issues own. These run on Ray now and are skipped on
fusion-flow until their issue lands (see the `later` marker in conftest.py).
"""

import pytest
from conformance_helpers import wait_for_path

INIT_KWARGS = dict(num_cpus=2)


def held(gate_path):
    wait_for_path(gate_path, timeout=60)
    return "finished"


# ----------------------------------------------------------------- issue 5


# ----------------------------------------------------------------- issue 6


@pytest.mark.later(6)
def test_placement_group_schedules_a_task(ray):
    util = ray.util
    group = util.placement_group([{"CPU": 1}])
    assert ray.get(group.ready(), timeout=60) is not None
    strategy = util.scheduling_strategies.PlacementGroupSchedulingStrategy(group)

    @ray.remote
    def inside():
        return ray.get_runtime_context().get_placement_group_id()

    assert ray.get(inside.options(scheduling_strategy=strategy).remote(), timeout=60) == (
        group.id.hex()
    )
    util.remove_placement_group(group)
