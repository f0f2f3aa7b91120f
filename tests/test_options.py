"""Option tables and checks of fusion_flow.ray_compat._options.

Every expected exception type and message below was observed on Ray 2.60.0.
"""

import functools
import re
import sys
import types
import warnings

import pytest

from fusion_flow.ray_compat import _options as O
from fusion_flow.ray_compat.util.placement_group import PlacementGroup, PlacementGroupID
from fusion_flow.ray_compat.util.scheduling_strategies import (
    DoesNotExist,
    Exists,
    In,
    NodeAffinitySchedulingStrategy,
    NodeLabelSchedulingStrategy,
    NotIn,
    PlacementGroupSchedulingStrategy,
)

TASK_KEYS = [
    "label_selector", "fallback_strategy", "accelerator_type", "memory", "name", "num_cpus",
    "num_gpus", "object_store_memory", "placement_group", "placement_group_bundle_index",
    "placement_group_capture_child_tasks", "resources", "runtime_env", "scheduling_strategy",
    "enable_task_events", "_labels", "max_calls", "max_retries", "num_returns",
    "retry_exceptions", "_generator_backpressure_num_objects", "_num_objects_per_yield",
]  # fmt: skip
ACTOR_KEYS = [
    "label_selector", "fallback_strategy", "accelerator_type", "memory", "name", "num_cpus",
    "num_gpus", "object_store_memory", "placement_group", "placement_group_bundle_index",
    "placement_group_capture_child_tasks", "resources", "runtime_env", "scheduling_strategy",
    "enable_task_events", "_labels", "concurrency_groups", "enable_tensor_transport",
    "lifetime", "max_concurrency", "max_restarts", "max_task_retries", "max_pending_calls",
    "namespace", "get_if_exists", "allow_out_of_order_execution",
    "_actor_generator_backpressure_num_objects",
]  # fmt: skip
VALID_KEYS = [
    "max_calls", "max_retries", "num_cpus", "num_returns", "object_store_memory",
    "retry_exceptions", "_generator_backpressure_num_objects", "_num_objects_per_yield",
    "concurrency_groups", "enable_tensor_transport", "lifetime", "max_concurrency",
    "max_restarts", "max_task_retries", "max_pending_calls", "namespace", "get_if_exists",
    "allow_out_of_order_execution", "_actor_generator_backpressure_num_objects",
    "label_selector", "fallback_strategy", "accelerator_type", "memory", "name", "num_gpus",
    "placement_group", "placement_group_bundle_index", "placement_group_capture_child_tasks",
    "resources", "runtime_env", "scheduling_strategy", "enable_task_events", "_labels",
]  # fmt: skip

NODE = "ab" * 28
FLOAT_INT_NONE = "(<class 'float'>, <class 'int'>, <class 'NoneType'>)"
LABEL_RULE = (
    "must be 63 chars or less beginning and ending with an alphanumeric character "
    "([a-z0-9A-Z]) with dashes (-), underscores (_),dots (.), and alphanumerics between."
)
NUM_RETURNS_MSG = (
    "Default None. When None is passed, The default value is 1 for a task and actor task, "
    "and 'streaming' for generator tasks and generator actor tasks. The keyword 'num_returns' "
    "only accepts None, a non-negative integer, 'streaming' (for generators), or 'dynamic'. "
    "'dynamic' flag will be deprecated in the future, and it is recommended to use "
    "'streaming' instead."
)


def python_error(fn):
    """(type, message) of the error Python itself raises for ``fn``: Ray passes such
    errors through, and their wording changes between Python versions."""
    try:
        fn()
    except Exception as e:
        return type(e), str(e)
    raise AssertionError("no error")


def type_msg(key, constraint, received):
    return f"The type of keyword '{key}' must be {constraint}, but received type {received}"


def check(fn, outcome):
    """Run fn; ``outcome`` is None (no error) or (exception type, exact message)."""
    if outcome is None:
        fn()
        return
    exc_type, message = outcome
    with pytest.raises(BaseException) as info:
        fn()
    assert type(info.value) is exc_type
    assert str(info.value) == message


def test_option_key_order_matches_ray():
    assert list(O.TASK_OPTIONS) == TASK_KEYS
    assert list(O.ACTOR_OPTIONS) == ACTOR_KEYS
    assert list(O.VALID_OPTIONS) == VALID_KEYS
    assert O.REMOTE_ARGS_ERROR == (
        "The @ray.remote decorator must be applied either with no arguments and no "
        "parentheses, for example '@ray.remote', or it must be applied using some of the "
        f"arguments in the list {VALID_KEYS}, for example "
        "'@ray.remote(num_returns=2, resources={\"CustomResource\": 1})'."
    )


def test_defaults():
    assert O.TASK_OPTIONS["num_cpus"].default == 1
    assert O.TASK_OPTIONS["max_retries"].default == 3
    assert O.TASK_OPTIONS["max_calls"].default == 0
    assert O.TASK_OPTIONS["retry_exceptions"].default is False
    assert O.TASK_OPTIONS["placement_group"].default == "default"
    assert O.TASK_OPTIONS["placement_group_bundle_index"].default == -1
    assert O.ACTOR_OPTIONS["num_cpus"].default is None
    assert O.ACTOR_OPTIONS["max_pending_calls"].default == -1


TASK_CASES = [
    ({"num_cpus": 1}, None),
    ({"num_cpus": 0.0001}, None),
    ({"num_cpus": 0.00015}, None),
    ({"num_cpus": True}, None),
    ({"num_cpus": None}, None),
    ({"num_cpus": 0}, None),
    ({"num_cpus": -1}, (ValueError, "The quantity of resource num_cpus cannot be negative")),
    (
        {"num_cpus": 0.00001},
        (
            ValueError,
            "The precision of the fractional quantity of resource num_cpus cannot go beyond 0.0001",
        ),
    ),
    ({"num_cpus": "1"}, (TypeError, type_msg("num_cpus", FLOAT_INT_NONE, "<class 'str'>"))),
    ({"num_gpus": -0.5}, (ValueError, "The quantity of resource num_gpus cannot be negative")),
    ({"num_gpus": 0.5}, None),
    ({"memory": -1}, (ValueError, "The quantity of resource memory cannot be negative")),
    ({"resources": {"a": 1}}, None),
    ({"resources": None}, None),
    ({"label_selector": None}, None),
    ({"fallback_strategy": None}, None),
    ({"resources": {"memory": 1}}, None),  # only refused at submit time
    (
        {"resources": {"CPU": 1}},
        (
            ValueError,
            "Use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and 'GPU' in "
            "'resources' keyword",
        ),
    ),
    (
        {"resources": {"GPU": 1}},
        (
            ValueError,
            "Use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and 'GPU' in "
            "'resources' keyword",
        ),
    ),
    ({"resources": {"a": -1}}, (ValueError, "The quantity of resource a cannot be negative")),
    (
        {"resources": {"a": 0.00001}},
        (
            ValueError,
            "The precision of the fractional quantity of resource a cannot go beyond 0.0001",
        ),
    ),
    (
        {"resources": {"a": "1"}},
        python_error(lambda: "1" < 0),
    ),
    (
        {"resources": [1]},
        (
            TypeError,
            type_msg("resources", "(<class 'dict'>, <class 'NoneType'>)", "<class 'list'>"),
        ),
    ),
    (
        {"resources": {"TPU": 3}},
        (
            ValueError,
            "The number of requested 'TPU' was set to 3 which is not a supported chip "
            "configuration. Supported configs: (1, 2, 4, 8)",
        ),
    ),
    (
        {"resources": {"TPU": 0}},
        (
            ValueError,
            "The number of requested 'TPU' was set to 0 which is not a supported chip "
            "configuration. Supported configs: (1, 2, 4, 8)",
        ),
    ),
    ({"resources": {"TPU": 4}}, None),
    (
        {"resources": {"HPU": 1.5}},
        (
            ValueError,
            "HPU resource quantity must be whole numbers. The specified quantity 1.5 is invalid.",
        ),
    ),
    ({"resources": {"HPU": 2.0}}, None),
    (
        {"resources": {"neuron_cores": 0.5}},
        (
            ValueError,
            "neuron_cores resource quantity must be whole numbers. The specified quantity 0.5 "
            "is invalid.",
        ),
    ),
    (
        {"resources": {"RBLN": 1.2}},
        (
            ValueError,
            "RBLN resource quantity must be whole numbers. The specified quantity 1.2 is invalid.",
        ),
    ),
    (
        {"resources": {"FURIOSA": 0.5}},
        (
            ValueError,
            "FURIOSA resource quantity must be a whole number. Furiosa NPUs do not support "
            "fractional resource sharing. The specified quantity 0.5 is invalid.",
        ),
    ),
    (
        {"resources": {"MBLT": 1.5}},
        (
            ValueError,
            "MBLT resource quantity must be a whole number. Mobilint NPUs do not support "
            "fractional resource sharing. The specified quantity 1.5 is invalid.",
        ),
    ),
    ({"resources": {"MBLT": 2}}, None),
    (
        {"resources": {"TTNPU": 0.5}},
        (ValueError, "TTNPU resource quantity (0.5) must be an integer."),
    ),
    ({"resources": {"TTNPU": 1}}, None),
    ({"resources": {"NPU": 0.3}}, None),
    ({"resources": {"GPU_like": 0.3}}, None),
    ({"num_returns": 0}, None),
    ({"num_returns": -1}, (ValueError, NUM_RETURNS_MSG)),
    ({"num_returns": "x"}, python_error(lambda: "x" >= 0)),
    (
        {"num_returns": 1.0},
        (
            TypeError,
            type_msg(
                "num_returns",
                "(<class 'int'>, <class 'str'>, <class 'NoneType'>)",
                "<class 'float'>",
            ),
        ),
    ),
    (
        {"max_calls": -1},
        (ValueError, "The keyword 'max_calls' only accepts None, 0 or a positive integer."),
    ),
    (
        {"max_calls": 1.5},
        (
            TypeError,
            type_msg("max_calls", "(<class 'int'>, <class 'NoneType'>)", "<class 'float'>"),
        ),
    ),
    ({"max_retries": -1}, None),
    (
        {"max_retries": -2},
        (
            ValueError,
            "The keyword 'max_retries' only accepts None, 0, -1 or a positive integer, where -1 "
            "represents infinity.",
        ),
    ),
    ({"retry_exceptions": [ValueError]}, None),
    ({"retry_exceptions": (ValueError,)}, None),
    ({"retry_exceptions": []}, None),
    (
        {"retry_exceptions": [1]},
        (ValueError, "retry_exceptions must be either a boolean or a list of exceptions"),
    ),
    (
        {"retry_exceptions": [KeyboardInterrupt]},
        (ValueError, "retry_exceptions must be either a boolean or a list of exceptions"),
    ),
    (
        {"retry_exceptions": ValueError},
        (
            TypeError,
            type_msg(
                "retry_exceptions",
                "(<class 'bool'>, <class 'list'>, <class 'tuple'>)",
                "<class 'type'>",
            ),
        ),
    ),
    (
        {"retry_exceptions": None},
        (
            TypeError,
            type_msg(
                "retry_exceptions",
                "(<class 'bool'>, <class 'list'>, <class 'tuple'>)",
                "<class 'NoneType'>",
            ),
        ),
    ),
    ({"scheduling_strategy": "FOO"}, None),  # only refused at submit time
    ({"scheduling_strategy": NodeAffinitySchedulingStrategy(NODE, soft=False)}, None),
    (
        {"scheduling_strategy": 1},
        (
            TypeError,
            type_msg(
                "scheduling_strategy",
                "(<class 'NoneType'>, <class 'str'>, "
                "<class 'ray.util.scheduling_strategies.PlacementGroupSchedulingStrategy'>, "
                "<class 'ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy'>, "
                "<class 'ray.util.scheduling_strategies.NodeLabelSchedulingStrategy'>)",
                "<class 'int'>",
            ),
        ),
    ),
    (
        {"placement_group": 1},
        (
            TypeError,
            type_msg(
                "placement_group",
                "(<class 'NoneType'>, <class 'str'>, "
                "<class 'ray.util.placement_group.PlacementGroup'>)",
                "<class 'int'>",
            ),
        ),
    ),
    (
        {"placement_group": "x", "scheduling_strategy": "SPREAD"},
        (
            ValueError,
            "Placement groups should be specified via the scheduling_strategy option. The "
            "placement_group option is deprecated.",
        ),
    ),
    ({"placement_group": None, "scheduling_strategy": "SPREAD"}, None),
    (
        {"placement_group_bundle_index": None},
        (
            TypeError,
            type_msg("placement_group_bundle_index", "<class 'int'>", "<class 'NoneType'>"),
        ),
    ),
    (
        {"object_store_memory": 1},
        (ValueError, "Setting 'object_store_memory' is not implemented for tasks"),
    ),
    ({"object_store_memory": None}, None),
    (
        {"name": 1},
        (TypeError, type_msg("name", "(<class 'str'>, <class 'NoneType'>)", "<class 'int'>")),
    ),
    (
        {"runtime_env": 1},
        (
            TypeError,
            type_msg("runtime_env", "(<class 'dict'>, <class 'NoneType'>)", "<class 'int'>"),
        ),
    ),
    ({"runtime_env": {"env_vars": {"A": "1"}}}, None),
    ({"runtime_env": {"foo": 1}}, None),
    ({"runtime_env": {"env_vars": {}}}, None),
    ({"runtime_env": {"env_vars": None}}, None),
    (
        {"runtime_env": {"env_vars": {"A": 1}}},
        (
            TypeError,
            "runtime_env['env_vars'] must be of type Dict[str, str], but the value 1 is of type "
            "<class 'int'>",
        ),
    ),
    (
        {"runtime_env": {"env_vars": {1: "a"}}},
        (
            TypeError,
            "runtime_env['env_vars'] must be of type Dict[str, str], but the key 1 is of type "
            "<class 'int'>",
        ),
    ),
    (
        {"runtime_env": {"env_vars": ["A=1"]}},
        (
            TypeError,
            "runtime_env['env_vars'] must be of type Dict[str, str], got <class 'list'>",
        ),
    ),
    ({"runtime_env": {"env_vars": 1}}, python_error(lambda: len(1))),
    (
        {"enable_task_events": None},
        (TypeError, type_msg("enable_task_events", "<class 'bool'>", "<class 'NoneType'>")),
    ),
    (
        {"_labels": 1},
        (TypeError, type_msg("_labels", "(<class 'dict'>, <class 'NoneType'>)", "<class 'int'>")),
    ),
    (
        {"accelerator_type": 1},
        (
            TypeError,
            type_msg("accelerator_type", "(<class 'str'>, <class 'NoneType'>)", "<class 'int'>"),
        ),
    ),
    ({"label_selector": {"a": "b"}}, None),
    ({"label_selector": {"a": "in(x,y)"}}, None),
    ({"label_selector": {"a": "!in(x, y)"}}, None),
    ({"label_selector": {"a": "(x)"}}, None),
    ({"label_selector": {"a": "!b"}}, None),
    ({"label_selector": {"a": ""}}, None),
    ({"label_selector": {"a": None}}, None),
    ({"label_selector": {"p.x/a": "b"}}, None),
    ({"label_selector": {"a..b/c": "d"}}, None),
    (
        {"label_selector": {"-a": "b"}},
        (ValueError, f"Invalid label key name `-a`. Name {LABEL_RULE}"),
    ),
    (
        {"label_selector": {"x" * 64: "a"}},
        (ValueError, f"Invalid label key name `{'x' * 64}`. Name {LABEL_RULE}"),
    ),
    (
        {"label_selector": {"p_/a": "b"}},
        (
            ValueError,
            "Invalid label key prefix `p_`. Prefix must be a series of DNS labels separated by "
            "dots (.), not longer than 253 characters in total.",
        ),
    ),
    (
        {"label_selector": {"p" * 254 + "/a": "b"}},
        (
            ValueError,
            f"Invalid label key prefix `{'p' * 254}`. Prefix must be a series of DNS labels "
            "separated by dots (.), not longer than 253 characters in total.",
        ),
    ),
    (
        {"label_selector": {"a": "b c"}},
        (
            ValueError,
            "Invalid label selector value `b c`. The label selector value should contain "
            "optional operators and a label value. Supported operators are: ! and {'in'}. "
            f"Value {LABEL_RULE}",
        ),
    ),
    ({"label_selector": {"a": 1}}, python_error(lambda: re.fullmatch("a", 1))),
    ({"fallback_strategy": []}, None),
    ({"fallback_strategy": [{"label_selector": {"a": "b"}}]}, None),
    ({"fallback_strategy": [{"label_selector": {}}]}, None),
    (
        {"fallback_strategy": [1]},
        (ValueError, "Each element in fallback_strategy must be a dictionary."),
    ),
    ({"fallback_strategy": [{}]}, (ValueError, "Empty dictionary found in `fallback_strategy`.")),
    (
        {"fallback_strategy": [{"x": 1}]},
        (
            ValueError,
            "Unsupported option found: 'x'. Only ['label_selector'] is currently supported.",
        ),
    ),
    (
        {"fallback_strategy": [{"label_selector": 1}]},
        (ValueError, 'The value of "label_selector" must be a dictionary.'),
    ),
    (
        {"fallback_strategy": [{"label_selector": {"-a": "b"}}]},
        (ValueError, f"Invalid label key name `-a`. Name {LABEL_RULE}"),
    ),
    (
        {"_generator_backpressure_num_objects": 0},
        (
            ValueError,
            "_generator_backpressure_num_objects=0 is not allowed. Use a value > 0. If the value "
            "is equal to 1, the behavior is identical to Python generator (generator 1 object "
            "whenever `next` is called). Use -1 to disable this feature. ",
        ),
    ),
    ({"_generator_backpressure_num_objects": -1}, None),
    (
        {"_num_objects_per_yield": 0},
        (
            ValueError,
            "_num_objects_per_yield is a private streaming generator option that must be set to "
            "a positive integer.",
        ),
    ),
    (
        {"max_concurrency": 2},
        (
            ValueError,
            f"Invalid option keyword max_concurrency for remote functions. Valid ones are "
            f"{TASK_KEYS}.",
        ),
    ),
    (
        {"foo": 1},
        (
            ValueError,
            f"Invalid option keyword foo for remote functions. Valid ones are {TASK_KEYS}.",
        ),
    ),
]


@pytest.mark.parametrize("options, outcome", TASK_CASES)
def test_validate_task_options(options, outcome):
    check(lambda: O.validate_task_options(options, False), outcome)


def test_max_calls_only_in_remote():
    O.validate_task_options({"max_calls": 1}, False)
    check(
        lambda: O.validate_task_options({"max_calls": 1}, True),
        (ValueError, "Setting 'max_calls' is not supported in '.options()'."),
    )


NOT_A_GENERATOR = (
    "num_returns='{}' can only be used with generator functions (functions that use "
    "'yield'). The decorated function is not a generator function."
)
DYNAMIC_WARNING = (
    "num_returns='dynamic' is deprecated and will be removed in a future Ray release. Use "
    "num_returns='streaming' instead."
)


def test_num_returns_generator_rules():
    O.validate_task_options({"num_returns": "streaming"}, False, True)
    O.validate_task_options({"num_returns": "streaming"}, False, None)
    O.validate_task_options({"num_returns": 2}, False, False)
    check(
        lambda: O.validate_task_options({"num_returns": "streaming"}, False, False),
        (ValueError, NOT_A_GENERATOR.format("streaming")),
    )
    with pytest.warns(O.RayDeprecationWarning) as record:
        check(
            lambda: O.validate_task_options({"num_returns": "dynamic"}, True, False),
            (ValueError, NOT_A_GENERATOR.format("dynamic")),
        )
    assert [str(w.message) for w in record] == [DYNAMIC_WARNING]
    with pytest.warns(O.RayDeprecationWarning):
        O.validate_task_options({"num_returns": "dynamic"}, False, True)
    assert issubclass(O.RayDeprecationWarning, DeprecationWarning)


ACTOR_CASES = [
    ({"lifetime": "detached"}, None),
    ({"lifetime": "non_detached"}, None),
    (
        {"lifetime": "x"},
        (
            ValueError,
            "actor `lifetime` argument must be one of 'detached', 'non_detached' and 'None'.",
        ),
    ),
    (
        {"get_if_exists": True},
        (ValueError, "The actor name must be specified to use `get_if_exists`."),
    ),
    ({"get_if_exists": True, "name": "a"}, None),
    ({"concurrency_groups": {"a": 1}}, None),
    (
        {"concurrency_groups": 1},
        (
            TypeError,
            type_msg(
                "concurrency_groups",
                "(<class 'list'>, <class 'dict'>, <class 'NoneType'>)",
                "<class 'int'>",
            ),
        ),
    ),
    (
        {"max_restarts": -2},
        (
            ValueError,
            "The keyword 'max_restarts' only accepts None, 0, -1 or a positive integer, where -1 "
            "represents infinity.",
        ),
    ),
    (
        {"max_concurrency": -1},
        (ValueError, "The keyword 'max_concurrency' only accepts None, 0 or a positive integer."),
    ),
    (
        {"object_store_memory": -1},
        (
            ValueError,
            "The keyword 'object_store_memory' only accepts None, 0 or a positive integer.",
        ),
    ),
    ({"_actor_generator_backpressure_num_objects": -1}, None),
    (
        {"_actor_generator_backpressure_num_objects": 0},
        (
            ValueError,
            "_actor_generator_backpressure_num_objects must be > 0 to cap the actor's total "
            "unconsumed generator objects, or -1 to disable. Got 0.",
        ),
    ),
    (
        {"max_calls": 1},
        (ValueError, f"Invalid option keyword max_calls for actors. Valid ones are {ACTOR_KEYS}."),
    ),
    (
        {"num_returns": 1},
        (
            ValueError,
            f"Invalid option keyword num_returns for actors. Valid ones are {ACTOR_KEYS}.",
        ),
    ),
    (
        {"placement_group": "x", "scheduling_strategy": "SPREAD"},
        (
            ValueError,
            "Placement groups should be specified via the scheduling_strategy option. The "
            "placement_group option is deprecated.",
        ),
    ),
    (
        {"runtime_env": {"env_vars": {"A": 1}}},
        (
            TypeError,
            "runtime_env['env_vars'] must be of type Dict[str, str], but the value 1 is of type "
            "<class 'int'>",
        ),
    ),
]


@pytest.mark.parametrize("options, outcome", ACTOR_CASES)
def test_validate_actor_options(options, outcome):
    check(lambda: O.validate_actor_options(options, False), outcome)


def test_actor_options_in_options_rules():
    O.validate_actor_options({"concurrency_groups": {}}, False)
    check(
        lambda: O.validate_actor_options({"concurrency_groups": {}}, True),
        (ValueError, "Setting 'concurrency_groups' is not supported in '.options()'."),
    )
    with pytest.warns(DeprecationWarning) as record:
        O.validate_actor_options({"object_store_memory": 1}, True)
    assert [str(w.message) for w in record] == [
        "Setting 'object_store_memory' for actors is deprecated since it doesn't actually "
        "reserve the required object store memory. Use object spilling that's enabled by "
        "default (https://docs.ray.io/en/releases-2.60.0/ray-core/objects/object-spilling.html) "
        "instead to bypass the object store memory size limitation."
    ]


def test_placement_group_type_accepts_a_loaded_placement_group_class(monkeypatch):
    module = types.ModuleType("fusion_flow.ray_compat.util.placement_group")

    class PlacementGroup:
        pass

    module.PlacementGroup = PlacementGroup
    O.validate_task_options({"placement_group": "default"}, False)
    with pytest.raises(TypeError):
        O.validate_task_options({"placement_group": PlacementGroup()}, False)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    O.validate_task_options({"placement_group": PlacementGroup()}, False)


def test_merge_task_options():
    defaults = {"max_calls": 2, "num_cpus": 2}
    assert O.merge_task_options(defaults, {"num_gpus": 1}, False) == {"num_cpus": 2, "num_gpus": 1}
    assert defaults == {"max_calls": 2, "num_cpus": 2}
    check(
        lambda: O.merge_task_options({}, {"max_calls": 1}, False),
        (ValueError, "Setting 'max_calls' is not supported in '.options()'."),
    )
    check(
        lambda: O.merge_task_options({}, {"foo": 1}, False),
        (
            ValueError,
            f"Invalid option keyword foo for remote functions. Valid ones are {TASK_KEYS}.",
        ),
    )
    # num_returns is checked against the function only when this call sets it.
    check(
        lambda: O.merge_task_options({}, {"num_returns": "streaming"}, False),
        (ValueError, NOT_A_GENERATOR.format("streaming")),
    )
    assert O.merge_task_options({"num_returns": "streaming"}, {"num_cpus": 1}, False) == {
        "num_returns": "streaming",
        "num_cpus": 1,
    }
    assert O.merge_task_options({}, {"_num_objects_per_yield": 1}, True) == {
        "_num_objects_per_yield": 1
    }
    assert O.merge_task_options({"_num_objects_per_yield": 2}, {"_num_objects_per_yield": 2}, True)
    check(
        lambda: O.merge_task_options({}, {"_num_objects_per_yield": 2}, True),
        (
            ValueError,
            "_num_objects_per_yield cannot be overridden per task call. Use "
            "@ray.remote(_num_objects_per_yield=...) instead.",
        ),
    )


def test_merge_actor_options():
    defaults = {"concurrency_groups": {"a": 1}, "name": "x"}
    assert O.merge_actor_options(defaults, {"get_if_exists": True}) == {
        "name": "x",
        "get_if_exists": True,
    }
    check(
        lambda: O.merge_actor_options({}, {"concurrency_groups": {}}),
        (ValueError, "Setting 'concurrency_groups' is not supported in '.options()'."),
    )
    check(
        lambda: O.merge_actor_options({}, {"get_if_exists": True}),
        (ValueError, "The actor name must be specified to use `get_if_exists`."),
    )


def f():
    return 1


def gen():
    yield 1


async def agen():
    yield 1


async def coro():
    return 1


class C:
    pass


class CallableObject:
    def __call__(self):
        pass


def test_parse_remote_decorator():
    assert O.parse_remote_decorator((f,), {}) == ("apply", f, {})
    assert O.parse_remote_decorator((C,), {}) == ("apply", C, {})
    assert O.parse_remote_decorator((), {"num_cpus": 1}) == ("decorator", {"num_cpus": 1})
    assert O.parse_remote_decorator((), {"foo": 1}) == ("decorator", {"foo": 1})
    for args, kwargs in [((), {}), ((1,), {}), (("s",), {}), ((f,), {"num_cpus": 1}), ((f, f), {})]:
        check(
            lambda a=args, k=kwargs: O.parse_remote_decorator(a, k),
            (AssertionError, O.REMOTE_ARGS_ERROR),
        )


NOT_FUNCTION_OR_CLASS = "The @ray.remote decorator must be applied to either a function or a class."


@pytest.mark.parametrize(
    "target, options, outcome",
    [
        (f, {}, "function"),
        (gen, {"num_returns": "streaming"}, "function"),
        (agen, {}, "function"),
        (lambda: 1, {}, "function"),
        (C, {}, "class"),
        (C, {"lifetime": "detached"}, "class"),
        (len, {}, (TypeError, NOT_FUNCTION_OR_CLASS)),
        (
            functools.partial(f),
            {},
            (TypeError, NOT_FUNCTION_OR_CLASS)
            if hasattr(functools.partial(f), "__module__")  # Python >= 3.11
            else python_error(lambda: functools.partial(f).__module__),
        ),
        (CallableObject(), {}, (TypeError, NOT_FUNCTION_OR_CLASS)),
        (
            str.upper,
            {"num_cpus": 1},
            python_error(lambda: str.upper.__module__),
        ),
        (1, {"num_cpus": 1}, python_error(lambda: (1).__module__)),
        (
            coro,
            {},
            (
                ValueError,
                "'async def' should not be used for remote tasks. You can wrap the async function "
                "with `asyncio.run(f())`. See more at:https://docs.ray.io/en/latest/ray-core/"
                "actors/async_api.html ",
            ),
        ),
        (f, {"num_returns": "streaming"}, (ValueError, NOT_A_GENERATOR.format("streaming"))),
        (f, {"max_calls": 1}, "function"),
        (
            f,
            {"max_concurrency": 2},
            (
                ValueError,
                f"Invalid option keyword max_concurrency for remote functions. Valid ones are "
                f"{TASK_KEYS}.",
            ),
        ),
        (
            C,
            {"max_calls": 1},
            (
                ValueError,
                f"Invalid option keyword max_calls for actors. Valid ones are {ACTOR_KEYS}.",
            ),
        ),
        (
            f,
            {"runtime_env": {"env_vars": {"A": 1}}},
            (
                TypeError,
                "runtime_env['env_vars'] must be of type Dict[str, str], but the value 1 is of "
                "type <class 'int'>",
            ),
        ),
    ],
)
def test_remote_target_kind(target, options, outcome):
    if isinstance(outcome, str):
        assert O.remote_target_kind(target, options) == outcome
    else:
        check(lambda: O.remote_target_kind(target, options), outcome)


def test_remote_target_checks_options_before_async_def():
    check(
        lambda: O.remote_target_kind(coro, {"foo": 1}),
        (
            ValueError,
            f"Invalid option keyword foo for remote functions. Valid ones are {TASK_KEYS}.",
        ),
    )


def test_remote_target_without_module_gets_global():
    def nameless():
        pass

    nameless.__module__ = None
    assert O.remote_target_kind(nameless, {}) == "function"
    assert nameless.__module__ == "global"


def test_cython_functions_count_as_functions():
    cython_type = type("cython_function_or_method", (), {"__module__": "m"})
    assert O.remote_target_kind(cython_type(), {}) == "function"
    bound = types.SimpleNamespace(__func__=cython_type(), __module__="m")
    assert O.remote_target_kind(bound, {}) == "function"


def test_is_generator_function():
    assert O.is_generator_function(gen)
    assert O.is_generator_function(agen)
    assert not O.is_generator_function(f)
    assert not O.is_generator_function(coro)


def test_default_max_calls():
    # A worker runs a GPU function once by default (Ray 2.60); 0 means no limit.
    assert O.default_max_calls({}) == 0
    assert O.default_max_calls({"num_gpus": 1}) == 1
    assert O.default_max_calls({"num_gpus": 0.5}) == 1
    assert O.default_max_calls({"num_gpus": 0}) == 0
    assert O.default_max_calls({"num_gpus": None}) == 0
    assert O.default_max_calls({"num_gpus": 1, "max_calls": 5}) == 5
    assert O.default_max_calls({"num_gpus": 1, "max_calls": None}) == 1
    assert O.default_max_calls({"max_calls": 3}) == 3


@pytest.mark.parametrize(
    "options, request_",
    [
        ({}, {"CPU": 1.0}),
        ({"num_cpus": 0}, {}),
        ({"num_cpus": None}, {}),
        ({"num_cpus": 0.5, "memory": 1000.7}, {"CPU": 0.5, "memory": 1000.0}),
        ({"num_gpus": 1}, {"CPU": 1.0, "GPU": 1.0}),
        ({"num_gpus": 0}, {"CPU": 1.0}),
        ({"resources": {"a": 2, "zero": 0}}, {"a": 2.0, "CPU": 1.0}),
        ({"resources": None, "num_cpus": 2}, {"CPU": 2.0}),
        ({"accelerator_type": "V100"}, {"CPU": 1.0, "accelerator_type:V100": 0.001}),
    ],
)
def test_task_resource_request(options, request_):
    assert O.task_resource_request(options) == request_


RESERVED_MEMORY = (
    "The resources dictionary must not contain the key 'memory' or 'object_store_memory'"
)


@pytest.mark.parametrize(
    "resources, message",
    [
        ({"CPU": 1}, "The resources dictionary must not contain the key 'CPU' or 'GPU'"),
        ({"memory": 1}, RESERVED_MEMORY),
        ({"object_store_memory": 1}, RESERVED_MEMORY),
        (
            {"bundle": 1},
            "The resource should not include `bundle` which is reserved for Ray. "
            "resources: {'bundle': 1}",
        ),
    ],
)
def test_resource_request_rejects_reserved_keys(resources, message):
    check(lambda: O.task_resource_request({"resources": resources}), (ValueError, message))
    check(lambda: O.actor_resource_request({"resources": resources}), (ValueError, message))
    check(lambda: O.validate_submit_options({"resources": resources}), (ValueError, message))


@pytest.mark.parametrize(
    "options, placement, running",
    [
        # Ray places a default actor with 1 CPU and holds none while it runs.
        ({}, {"CPU": 1.0}, {}),
        ({"num_cpus": None}, {"CPU": 1.0}, {}),
        ({"memory": 100}, {"CPU": 1.0, "memory": 100.0}, {"memory": 100.0}),
        (
            {"object_store_memory": 10},
            {"CPU": 1.0, "object_store_memory": 10.0},
            {"object_store_memory": 10.0},
        ),
        # Any resource given: CPU defaults to 1, held for the actor's life.
        ({"num_cpus": 1}, {"CPU": 1.0}, {"CPU": 1.0}),
        ({"num_cpus": 0}, {}, {}),
        ({"num_cpus": 2}, {"CPU": 2.0}, {"CPU": 2.0}),
        ({"num_gpus": 1}, {"CPU": 1.0, "GPU": 1.0}, {"CPU": 1.0, "GPU": 1.0}),
        ({"resources": {"a": 1}}, {"CPU": 1.0, "a": 1.0}, {"CPU": 1.0, "a": 1.0}),
        ({"resources": {"a": 0}}, {"CPU": 1.0}, {"CPU": 1.0}),
    ],
)
def test_actor_resource_request(options, placement, running):
    assert O.actor_resource_request(options) == (placement, running)


INVALID_STRATEGY = (
    'Invalid scheduling_strategy value {}. Valid values are ["DEFAULT" | "SPREAD" | '
    "PlacementGroupSchedulingStrategy | NodeAffinitySchedulingStrategy]"
)
NO_GROUP_INDEX = "If placement group is not set, the value of bundle index must be -1."


def deprecation(key):
    return (
        f"{key} parameter is deprecated. Use "
        "scheduling_strategy=PlacementGroupSchedulingStrategy(...) instead, see the usage at "
        "https://docs.ray.io/en/releases-2.60.0/ray-core/package-ref.html#ray-remote."
    )


ONE_BUNDLE = PlacementGroup(PlacementGroupID(b"\x01" * 18), bundle_cache=[{"CPU": 1.0}])
BAD_BUNDLE_INDEX = "placement group bundle index 1 is invalid. Valid placement group indexes: 0-1"


@pytest.mark.parametrize(
    "options, outcome",
    [
        ({}, None),
        ({"scheduling_strategy": None}, None),
        ({"scheduling_strategy": "DEFAULT"}, None),
        ({"scheduling_strategy": "SPREAD"}, None),
        ({"scheduling_strategy": "FOO"}, (ValueError, INVALID_STRATEGY.format("FOO"))),
        ({"scheduling_strategy": "spread"}, (ValueError, INVALID_STRATEGY.format("spread"))),
        ({"scheduling_strategy": NodeAffinitySchedulingStrategy(NODE, soft=True)}, None),
        ({"placement_group_bundle_index": 0}, (ValueError, NO_GROUP_INDEX)),
        ({"placement_group_bundle_index": 0, "scheduling_strategy": "SPREAD"}, None),
        (
            {"placement_group": None, "placement_group_bundle_index": 0},
            (ValueError, NO_GROUP_INDEX),
        ),
        ({"placement_group": "x"}, (AssertionError, "")),
        (
            {"scheduling_strategy": PlacementGroupSchedulingStrategy(None, 1)},
            (ValueError, NO_GROUP_INDEX),
        ),
        ({"scheduling_strategy": PlacementGroupSchedulingStrategy(None)}, None),
        ({"scheduling_strategy": PlacementGroupSchedulingStrategy(ONE_BUNDLE)}, None),
        ({"scheduling_strategy": PlacementGroupSchedulingStrategy(ONE_BUNDLE, 0)}, None),
        (
            {"scheduling_strategy": PlacementGroupSchedulingStrategy(ONE_BUNDLE, 1)},
            (ValueError, BAD_BUNDLE_INDEX),
        ),
    ],
)
def test_validate_submit_options(options, outcome):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        check(lambda: O.validate_submit_options(options), outcome)


def test_submit_warns_about_deprecated_placement_options():
    with pytest.warns(DeprecationWarning) as record:
        O.validate_submit_options(
            {
                "placement_group": None,
                "placement_group_capture_child_tasks": True,
                "scheduling_strategy": "SPREAD",
            }
        )
    assert [str(w.message) for w in record] == [
        deprecation("placement_group"),
        deprecation("placement_group_capture_child_tasks"),
    ]
    with pytest.warns(DeprecationWarning) as record:
        O.validate_submit_options(
            {"placement_group_bundle_index": 1, "scheduling_strategy": "SPREAD"}
        )
    assert [str(w.message) for w in record] == [deprecation("placement_group_bundle_index")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        O.validate_submit_options({"scheduling_strategy": PlacementGroupSchedulingStrategy(None)})
        O.validate_submit_options({"placement_group": "default"})


def test_unsupported_task_features():
    assert O.unsupported_task_features({}) == []
    assert (
        O.unsupported_task_features(
            {
                "placement_group": None,
                "scheduling_strategy": "SPREAD",
                "runtime_env": {"env_vars": {"A": "1"}},
                "num_returns": 2,
                "label_selector": {},
                "memory": 10,
                "name": "n",
            }
        )
        == []
    )
    assert O.unsupported_task_features(
        {
            "placement_group": object(),
            "placement_group_capture_child_tasks": True,
            "scheduling_strategy": PlacementGroupSchedulingStrategy(None),
            "label_selector": {"a": "b"},
            "fallback_strategy": [{"label_selector": {"a": "b"}}],
            "accelerator_type": "V100",
            "num_returns": "streaming",
            "runtime_env": {"env_vars": {}, "pip": ["x"], "working_dir": "."},
        }
    ) == [
        "label_selector",
        "fallback_strategy",
        "runtime_env['pip']",
        "runtime_env['working_dir']",
    ]
    assert O.unsupported_task_features(
        {"scheduling_strategy": NodeAffinitySchedulingStrategy(NODE, soft=False)}
    ) == ["scheduling_strategy=NodeAffinitySchedulingStrategy"]
    # One node honours affinity to itself, and any soft affinity.
    assert (
        O.unsupported_task_features(
            {"scheduling_strategy": NodeAffinitySchedulingStrategy(NODE, soft=False)}, NODE
        )
        == []
    )
    assert (
        O.unsupported_task_features(
            {"scheduling_strategy": NodeAffinitySchedulingStrategy(NODE, soft=True)}, "other"
        )
        == []
    )
    assert O.unsupported_task_features(
        {
            "scheduling_strategy": NodeLabelSchedulingStrategy({"a": Exists()}),
            "num_returns": "dynamic",
        }
    ) == ["scheduling_strategy=NodeLabelSchedulingStrategy", "num_returns='dynamic'"]
    # The actor-wide generator backpressure is not honoured yet; -1 (Ray's "off") is fine.
    assert (
        O.unsupported_task_features(
            {
                "_generator_backpressure_num_objects": -1,
                "_actor_generator_backpressure_num_objects": -1,
            }
        )
        == []
    )
    assert O.unsupported_task_features(
        {"_generator_backpressure_num_objects": 2, "_actor_generator_backpressure_num_objects": 1}
    ) == ["_actor_generator_backpressure_num_objects"]  # the per-generator one is supported
    # Tensor transport between actors (GPU objects) is not there yet.
    assert O.unsupported_task_features({"enable_tensor_transport": False}) == []
    assert O.unsupported_task_features({"enable_tensor_transport": True}) == [
        "enable_tensor_transport"
    ]


class _ReferenceExists:  # Ray's Exists: a no-argument __init__
    def __init__(self):
        pass


_ReferenceExists.__init__.__qualname__ = "Exists.__init__"

INVALID_NODE = (
    "Invalid node_id '{}'. Node ID must be a valid hex string. To get a list of all nodes and "
    "their IDs in your cluster, use ray.nodes(). See "
    "https://docs.ray.io/en/latest/ray-core/miscellaneous.html#node-information for more details."
)


@pytest.mark.parametrize(
    "make, outcome",
    [
        (lambda: NodeAffinitySchedulingStrategy(NODE, soft=False), None),
        (lambda: NodeAffinitySchedulingStrategy("AB" * 28, soft=True), None),
        (lambda: NodeAffinitySchedulingStrategy("00" * 28, soft=True), None),
        (lambda: NodeAffinitySchedulingStrategy(b"\x01" * 28, soft=True), None),
        (
            lambda: NodeAffinitySchedulingStrategy("abc", soft=False),
            (ValueError, INVALID_NODE.format("abc")),
        ),
        (
            lambda: NodeAffinitySchedulingStrategy("ff" * 28, soft=False),
            (ValueError, INVALID_NODE.format("ff" * 28)),
        ),
        (
            lambda: NodeAffinitySchedulingStrategy("FF" * 28, soft=False),
            (ValueError, INVALID_NODE.format("FF" * 28)),
        ),
        (
            lambda: NodeAffinitySchedulingStrategy("zz" * 28, soft=False),
            (ValueError, INVALID_NODE.format("zz" * 28)),
        ),
        (
            lambda: NodeAffinitySchedulingStrategy("ab" * 29, soft=False),
            (ValueError, INVALID_NODE.format("ab" * 29)),
        ),
        (
            lambda: NodeAffinitySchedulingStrategy(None, soft=True),
            (AttributeError, "'NoneType' object has no attribute 'hex'"),
        ),
        (
            lambda: NodeAffinitySchedulingStrategy(NODE, soft=False, _spill_on_unavailable=True),
            (
                ValueError,
                "_spill_on_unavailable cannot be set when soft is False. Please set soft to True "
                "to use _spill_on_unavailable.",
            ),
        ),
        (
            lambda: NodeAffinitySchedulingStrategy(NODE, soft=True, _fail_on_unavailable=True),
            (
                ValueError,
                "_fail_on_unavailable cannot be set when soft is True. Please set soft to False "
                "to use _fail_on_unavailable.",
            ),
        ),
        (
            lambda: NodeLabelSchedulingStrategy({}),
            (
                ValueError,
                "The `hard` and `soft` parameter of NodeLabelSchedulingStrategy cannot both be "
                "empty.",
            ),
        ),
        (
            lambda: NodeLabelSchedulingStrategy([1]),
            (
                ValueError,
                'The hard parameter must be a map (e.g. {"key1": In("value1")}) but got type '
                "<class 'list'>.",
            ),
        ),
        (
            lambda: NodeLabelSchedulingStrategy({1: In("a")}),
            (
                ValueError,
                'The map key of the hard parameter must be of type str (e.g. {"key1": '
                "In(\"value1\")}) but got 1 of type <class 'int'>.",
            ),
        ),
        (
            lambda: NodeLabelSchedulingStrategy({"a": "b"}),
            (
                ValueError,
                "The map value for key a of the hard parameter must be one of the `In`, `NotIn`, "
                '`Exists` or `DoesNotExist` operator (e.g. {"key1": In("value1")}) but got b of '
                "type <class 'str'>.",
            ),
        ),
        (lambda: NodeLabelSchedulingStrategy({}, soft={"a": DoesNotExist()}), None),
        (lambda: NodeLabelSchedulingStrategy({"a": NotIn("x")}, soft={"b": Exists()}), None),
        (
            lambda: In(),
            (
                ValueError,
                "The variadic parameter of the In operator must be a non-empty tuple: e.g. "
                'In("value1", "value2").',
            ),
        ),
        (
            lambda: NotIn(),
            (
                ValueError,
                "The variadic parameter of the NotIn operator must be a non-empty tuple: e.g. "
                'NotIn("value1", "value2").',
            ),
        ),
        (
            lambda: In("a", 1),
            (
                ValueError,
                'Type of value in position 1 for the In operator must be str (e.g. In("value1", '
                "\"value2\")) but got 1 of type <class 'int'>.",
            ),
        ),
        (
            lambda: Exists(1),
            python_error(lambda: _ReferenceExists(1)),
        ),
    ],
)
def test_scheduling_strategy_constructors(make, outcome):
    check(make, outcome)


def test_scheduling_strategy_fields():
    s = PlacementGroupSchedulingStrategy("pg")
    assert (s.placement_group, s.placement_group_bundle_index) == ("pg", -1)
    assert s.placement_group_capture_child_tasks is None
    n = NodeAffinitySchedulingStrategy(b"\x01" * 28, soft=True, _spill_on_unavailable=True)
    assert (n.node_id, n.soft, n._spill_on_unavailable, n._fail_on_unavailable) == (
        "01" * 28,
        True,
        True,
        False,
    )
    label = NodeLabelSchedulingStrategy({"a": In("x", "y")}, soft={"b": Exists()})
    assert [(e.key, type(e.operator)) for e in label.hard] == [("a", In)]
    assert label.hard[0].operator.values == ["x", "y"]
    assert [e.key for e in label.soft] == ["b"]
