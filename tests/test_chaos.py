"""The chaos test, short: tasks that retry forever (some nested) and an actor that restarts
forever, while a random worker is SIGKILLed every 200 ms. Nothing may be lost, duplicated or
wrong; afterwards every CPU is free and no worker is left. (The long version, side by side
with Ray: ``python -m benchmarks.chaos``.)"""

import fusion_flow.ray_compat as ray
from benchmarks.workloads import chaos


def test_every_result_survives_a_worker_killed_every_200_ms():
    outcome = chaos.run(ray, tasks=1_000, actor_calls=200, killer=True, kill_every=0.2)
    assert outcome.kills >= 3, outcome
    assert outcome.wrong == 0, outcome
    assert outcome.resources_back, outcome
    assert outcome.orphans == [], outcome
