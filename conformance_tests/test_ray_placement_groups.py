"""Placement groups on one node: bundles reserve resources under Ray's bundle names, tasks and
actors run in them, removal frees them and fails what waited, and bad arguments get Ray's
errors."""

import pickle

import pytest
from conformance_helpers import poll

INIT_KWARGS = dict(num_cpus=4, resources={"custom": 2})


@pytest.fixture
def pgs(ray):
    """ray.util.placement_group's functions, and every group a test made removed after it."""
    from importlib import import_module

    module = import_module(ray.__name__ + ".util.placement_group")
    made = []
    original = module.placement_group

    def tracked(*args, **kwargs):
        group = original(*args, **kwargs)
        made.append(group)
        return group

    yield module, tracked
    for group in made:
        module.remove_placement_group(group)


def strategy(ray, group, index=-1, capture=None):
    return ray.util.scheduling_strategies.PlacementGroupSchedulingStrategy(
        group, placement_group_bundle_index=index, placement_group_capture_child_tasks=capture
    )


def group_keys(resources, group):
    return {k: v for k, v in resources.items() if group.id.hex() in k}


def test_a_group_reserves_its_bundles_under_rays_names(ray, pgs):
    _module, placement_group = pgs
    group = placement_group([{"CPU": 1}, {"CPU": 2, "custom": 1}], strategy="PACK", name="pg1")
    assert ray.get(group.ready(), timeout=60) == group
    assert group.wait(10) is True
    assert len(group.id.hex()) == 36
    assert group.bundle_specs == [{"CPU": 1.0}, {"CPU": 2.0, "custom": 1.0}]
    assert group.bundle_count == 2
    h = group.id.hex()
    expected = {
        f"CPU_group_0_{h}": 1.0,
        f"CPU_group_1_{h}": 2.0,
        f"CPU_group_{h}": 3.0,
        f"custom_group_1_{h}": 1.0,
        f"custom_group_{h}": 1.0,
        f"bundle_group_0_{h}": 1000.0,
        f"bundle_group_1_{h}": 1000.0,
        f"bundle_group_{h}": 2000.0,
    }
    # Ray's resource view catches up with a new group a moment after it is placed.
    assert poll(lambda: group_keys(ray.cluster_resources(), group) == expected, timeout=30)
    assert poll(lambda: group_keys(ray.available_resources(), group) == expected, timeout=30)
    assert ray.cluster_resources()["CPU"] == 4.0
    assert poll(lambda: ray.available_resources()["CPU"] == 1.0, timeout=30)
    assert ray.available_resources()["custom"] == 1.0


def test_the_table_and_lookup_by_name(ray, pgs):
    module, placement_group = pgs
    group = placement_group([{"CPU": 1}], strategy="SPREAD", name="looked-up")
    group.wait(10)
    entry = module.placement_group_table(group)
    assert entry["placement_group_id"] == group.id.hex()
    assert entry["name"] == "looked-up"
    assert entry["bundles"] == {0: {"CPU": 1.0}}
    assert entry["strategy"] == "SPREAD"
    assert entry["state"] == "CREATED"
    assert set(entry["bundles_to_node_id"]) == {0}
    assert entry["bundles_to_node_id"][0] == ray.get_runtime_context().get_node_id()
    assert group.id.hex() in module.placement_group_table()
    assert module.get_placement_group("looked-up") == group
    with pytest.raises(ValueError) as info:
        module.get_placement_group("no-such-group")
    assert str(info.value) == "Failed to look up placement group with name: no-such-group"
    assert pickle.loads(pickle.dumps(group)) == group


def test_a_task_in_a_bundle_sees_its_group(ray, pgs):
    module, placement_group = pgs
    group = placement_group([{"CPU": 1}, {"CPU": 1}])
    group.wait(10)

    @ray.remote(num_cpus=1)
    def where():
        context = ray.get_runtime_context()
        current = module.get_current_placement_group()
        return (
            context.get_placement_group_id(),
            context.get_assigned_resources(),
            current.id.hex() if current is not None else None,
        )

    for index in (0, 1, -1):
        found = ray.get(where.options(scheduling_strategy=strategy(ray, group, index)).remote())
        assert found == (group.id.hex(), {"CPU": 1.0}, group.id.hex())
    assert ray.get(where.remote())[0] is None
    assert module.get_current_placement_group() is None  # the driver runs in no group


def test_children_follow_their_parent_only_when_captured(ray, pgs):
    _module, placement_group = pgs
    group = placement_group([{"CPU": 2}])
    group.wait(10)

    @ray.remote(num_cpus=1)
    def child():
        return ray.get_runtime_context().get_placement_group_id()

    @ray.remote(num_cpus=1)
    def parent():
        return ray.get(child.remote())

    plain = parent.options(scheduling_strategy=strategy(ray, group)).remote()
    captured = parent.options(scheduling_strategy=strategy(ray, group, capture=True)).remote()
    assert ray.get(plain, timeout=60) is None
    assert ray.get(captured, timeout=60) == group.id.hex()


def test_a_request_that_fits_no_bundle_is_refused_at_submit(ray, pgs):
    _module, placement_group = pgs
    group = placement_group([{"CPU": 1}])
    group.wait(10)

    @ray.remote(num_cpus=2)
    def too_big():
        return 1

    with pytest.raises(ValueError) as info:
        too_big.options(scheduling_strategy=strategy(ray, group, 0)).remote()
    assert str(info.value) == (
        f"Cannot schedule {too_big_name()} with the placement group because the resource "
        "request {'CPU': 2} cannot fit into any bundles for the placement group, "
        "[{'CPU': 1.0}]."
    )

    @ray.remote(num_cpus=3)
    class TooBig:
        pass

    with pytest.raises(ValueError) as info:
        TooBig.options(scheduling_strategy=strategy(ray, group)).remote()
    assert str(info.value) == (
        f"Cannot schedule {too_big_name('TooBig')} with the placement group because the "
        "resource request {'CPU': 3} cannot fit into any bundles for the placement group, "
        "[{'CPU': 1.0}]."
    )


def too_big_name(name="too_big"):
    return f"test_a_request_that_fits_no_bundle_is_refused_at_submit.<locals>.{name}"


def test_an_actor_in_a_group(ray, pgs):
    _module, placement_group = pgs
    group = placement_group([{"CPU": 1}])
    assert ray.get(group.ready(), timeout=60) is not None

    @ray.remote(num_cpus=1)
    class Placed:
        def group_id(self):
            return ray.get_runtime_context().get_placement_group_id()

    placed = Placed.options(scheduling_strategy=strategy(ray, group)).remote()
    assert ray.get(placed.group_id.remote(), timeout=60) == group.id.hex()
    held = f"CPU_group_{group.id.hex()}"
    assert poll(lambda: ray.available_resources().get(held, 0) == 0, timeout=30)
    ray.kill(placed)


def test_removal_fails_what_waits_and_ends_what_runs(ray, pgs, tmp_path):
    module, placement_group = pgs
    group = placement_group([{"CPU": 1}, {"CPU": 1}])
    group.wait(10)

    @ray.remote(num_cpus=1)
    def hold():
        import time

        time.sleep(60)

    @ray.remote(num_cpus=1)
    class Placed:
        def ping(self):
            return "pong"

    actor = Placed.options(scheduling_strategy=strategy(ray, group, 0)).remote()
    assert ray.get(actor.ping.remote(), timeout=60) == "pong"
    running = hold.options(scheduling_strategy=strategy(ray, group, 1)).remote()
    queued = hold.options(scheduling_strategy=strategy(ray, group, 1)).remote()
    ray.wait([running], timeout=0.5)
    module.remove_placement_group(group)
    with pytest.raises(ray.exceptions.TaskPlacementGroupRemoved) as info:
        ray.get(queued, timeout=60)
    assert str(info.value) == "The placement group corresponding to this task has been removed."
    with pytest.raises(ray.exceptions.ActorDiedError) as died:
        ray.get(actor.ping.remote(), timeout=60)
    assert "Destroying worker since its placement group was removed" in str(died.value)
    assert module.placement_group_table(group)["state"] == "REMOVED"
    assert poll(lambda: group_keys(ray.available_resources(), group) == {}, timeout=30)
    assert poll(lambda: ray.available_resources().get("CPU") == 4.0, timeout=30)
    module.remove_placement_group(group)  # again: nothing happens
    with pytest.raises(Exception, match="does not exist"):
        group.wait(1)


def test_tasks_and_actors_make_look_up_and_remove_groups(ray, pgs):
    module, _placement_group = pgs

    @ray.remote(num_cpus=0)
    def make(name):
        group = ray.util.placement_group([{"CPU": 1}], name=name)
        ray.get(group.ready(), timeout=60)
        return group

    @ray.remote(num_cpus=0)
    class Maker:
        def make(self, name):
            group = ray.util.placement_group([{"CPU": 1}], strategy="STRICT_PACK", name=name)
            assert group.wait(30)
            return group.id.hex()

        def state(self, group_id):
            return ray.util.placement_group_table()[group_id]["state"]

        def remove(self, group):
            ray.util.remove_placement_group(group)

        def find(self, name):
            return ray.util.get_placement_group(name).id.hex()

    from_task = ray.get(make.remote("from_task"), timeout=60)
    maker = Maker.remote()
    from_actor = ray.get(maker.make.remote("from_actor"), timeout=60)
    try:
        assert module.get_placement_group("from_task").id == from_task.id
        assert ray.get(maker.find.remote("from_task"), timeout=60) == from_task.id.hex()
        assert ray.get(maker.state.remote(from_actor), timeout=60) == "CREATED"
        assert module.placement_group_table()[from_actor]["strategy"] == "STRICT_PACK"

        @ray.remote(num_cpus=1)
        def where():
            return ray.get_runtime_context().get_placement_group_id()

        placed = where.options(scheduling_strategy=strategy(ray, from_task)).remote()
        assert ray.get(placed, timeout=60) == from_task.id.hex()

        # A group outlives the task or actor that made it (it lives as long as the job).
        ray.kill(maker)
        assert module.placement_group_table()[from_actor]["state"] == "CREATED"

        remover = Maker.remote()
        ray.get(remover.remove.remote(from_task), timeout=60)
        assert poll(lambda: module.placement_group_table(from_task)["state"] == "REMOVED")
        ray.kill(remover)
    finally:
        module.remove_placement_group(from_task)
        module.remove_placement_group(module.get_placement_group("from_actor"))
    assert poll(lambda: ray.available_resources().get("CPU") == 4.0, timeout=30)


def test_a_group_made_by_a_detached_actor_goes_when_the_actor_dies(ray, pgs):
    module, _placement_group = pgs

    @ray.remote(num_cpus=0)
    class Maker:
        def make(self, detached):
            lifetime = "detached" if detached else None
            group = ray.util.placement_group([{"CPU": 1}], lifetime=lifetime)
            assert group.wait(30)
            return group

    maker = Maker.options(lifetime="detached", name="group_maker").remote()
    made = ray.get(maker.make.remote(False), timeout=60)
    kept = ray.get(maker.make.remote(True), timeout=60)
    try:
        assert module.placement_group_table(made)["state"] == "CREATED"
        ray.kill(maker)
        assert poll(lambda: module.placement_group_table(made)["state"] == "REMOVED")
        # A detached group stays until it is removed.
        assert module.placement_group_table(kept)["state"] == "CREATED"
    finally:
        module.remove_placement_group(kept)
    assert poll(lambda: ray.available_resources().get("CPU") == 4.0, timeout=30)


def test_the_deprecated_placement_group_options_still_place(ray, pgs):
    _module, placement_group = pgs
    group = placement_group([{"CPU": 1}, {"CPU": 1}])
    assert group.wait(30)

    @ray.remote(num_cpus=1)
    def where():
        return ray.get_runtime_context().get_placement_group_id()

    @ray.remote(num_cpus=0)
    def children():
        inherited = where.remote()
        escaped = where.options(placement_group=None).remote()
        return ray.get([inherited, escaped])

    with pytest.warns(DeprecationWarning, match="placement_group parameter is deprecated"):
        placed = where.options(placement_group=group, placement_group_bundle_index=1).remote()
    assert ray.get(placed, timeout=60) == group.id.hex()
    held = f"CPU_group_1_{group.id.hex()}"
    with pytest.warns(DeprecationWarning):
        parent = children.options(
            placement_group=group, placement_group_capture_child_tasks=True
        ).remote()
    assert ray.get(parent, timeout=60) == [group.id.hex(), None]
    assert poll(lambda: ray.available_resources().get(held) == 1.0, timeout=30)

    @ray.remote(num_cpus=1)
    class Where:
        def group(self):
            return ray.get_runtime_context().get_placement_group_id()

    with pytest.warns(DeprecationWarning, match="placement_group parameter is deprecated"):
        actor = Where.options(placement_group=group).remote()
    assert ray.get(actor.group.remote(), timeout=60) == group.id.hex()
    ray.kill(actor)


def test_a_pending_group_is_placed_once_resources_free(ray, pgs):
    module, placement_group = pgs
    first = placement_group([{"CPU": 3}])
    first.wait(10)
    second = placement_group([{"CPU": 2}])
    assert second.wait(0.5) is False
    assert module.placement_group_table(second)["state"] == "PENDING"
    module.remove_placement_group(first)
    assert second.wait(30) is True
    assert ray.get(second.ready(), timeout=60) == second


def test_strict_spread_needs_a_node_per_bundle(ray, pgs):
    module, placement_group = pgs
    group = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    assert group.wait(1) is False
    assert module.placement_group_table(group)["state"] == "PENDING"
    alone = placement_group([{"CPU": 1}], strategy="STRICT_SPREAD")
    assert alone.wait(10) is True


BUNDLES_ERROR = (
    'Bundles must be a non-empty list of resource dictionaries. For example: `[{"CPU": 1.0}, '
    '{"GPU": 1.0}]`.'
)


@pytest.mark.parametrize(
    "kwargs, exc_type, message",
    [
        ({"bundles": []}, ValueError, BUNDLES_ERROR + " Got empty list instead."),
        (
            {"bundles": {"CPU": 1}},
            ValueError,
            "Placement group bundles must be a list, got <class 'dict'>.",
        ),
        ({"bundles": [1]}, ValueError, BUNDLES_ERROR),
        ({"bundles": [{"CPU": "1"}]}, ValueError, BUNDLES_ERROR),
        (
            {"bundles": [{}]},
            ValueError,
            "Bundles cannot be an empty dictionary or resources with only 0 values. Bundles: [{}]",
        ),
        (
            {"bundles": [{"CPU": 0}]},
            ValueError,
            "Bundles cannot be an empty dictionary or resources with only 0 values. "
            "Bundles: [{'CPU': 0}]",
        ),
        (
            {"bundles": [{"CPU": 1}], "lifetime": "forever"},
            ValueError,
            "Placement group `lifetime` argument must be either `None` or 'detached'. Got forever.",
        ),
        ({"bundles": [{"CPU": 1}], "name": 3}, TypeError, "expected bytes, int found"),
    ],
)
def test_bad_arguments(ray, pgs, kwargs, exc_type, message):
    _module, placement_group = pgs
    with pytest.raises(exc_type) as info:
        placement_group(**kwargs)
    assert str(info.value) == message


def test_an_unknown_strategy(ray, pgs):
    _module, placement_group = pgs
    with pytest.raises(ValueError) as info:
        placement_group([{"CPU": 1}], strategy="X")
    assert str(info.value).startswith("Invalid placement group strategy X. Supported strategies")


@pytest.mark.parametrize("index", [1, 5, -2])
def test_a_bundle_index_out_of_range(ray, pgs, index):
    _module, placement_group = pgs
    group = placement_group([{"CPU": 1}])
    group.wait(10)

    @ray.remote
    def f():
        return 1

    with pytest.raises(ValueError) as info:
        f.options(scheduling_strategy=strategy(ray, group, index)).remote()
    assert str(info.value) == (
        f"placement group bundle index {index} is invalid. Valid placement group indexes: 0-1"
    )
