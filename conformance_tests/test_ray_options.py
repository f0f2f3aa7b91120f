"""`remote` and `.options()`: the task option set and its validation errors.

Validation happens when the decorator or `.options()` is applied, before anything
is submitted, so this module never starts the backend (and checks it stays down).
"""

import ast

import pytest

# Ray 2.60's task option names (ray/_common/ray_option_utils.py: task_options).
TASK_OPTION_NAMES = {
    "label_selector",
    "fallback_strategy",
    "accelerator_type",
    "memory",
    "name",
    "num_cpus",
    "num_gpus",
    "object_store_memory",
    "placement_group",
    "placement_group_bundle_index",
    "placement_group_capture_child_tasks",
    "resources",
    "runtime_env",
    "scheduling_strategy",
    "enable_task_events",
    "_labels",
    "max_calls",
    "max_retries",
    "num_returns",
    "retry_exceptions",
    "_generator_backpressure_num_objects",
    "_num_objects_per_yield",
}

RESOURCE_TYPES = "(<class 'float'>, <class 'int'>, <class 'NoneType'>)"
NUM_RETURNS_MESSAGE = (
    "Default None. When None is passed, The default value is 1 for a task and actor "
    "task, and 'streaming' for generator tasks and generator actor tasks. The keyword "
    "'num_returns' only accepts None, a non-negative integer, 'streaming' (for "
    "generators), or 'dynamic'. 'dynamic' flag will be deprecated in the future, and it "
    "is recommended to use 'streaming' instead."
)


def plain_add(x, y=1):
    return x + y


class Flaky(Exception):
    pass


@pytest.fixture(autouse=True)
def backend_stays_down(ray_api):
    """Nothing here may start the backend."""
    assert not ray_api.is_initialized()
    yield
    assert not ray_api.is_initialized()


# ----------------------------------------------------------------- decorator forms


def test_remote_without_parentheses(ray_api):
    f = ray_api.remote(plain_add)
    assert callable(f.remote)
    assert callable(f.options)


def test_remote_with_options(ray_api):
    f = ray_api.remote(num_cpus=0.5, num_returns=2, max_retries=0)(plain_add)
    assert callable(f.remote)


def test_remote_on_lambda_is_allowed(ray_api):
    assert callable(ray_api.remote(lambda: 1).remote)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda r: r.remote(), id="no-arguments-with-parentheses"),
        pytest.param(lambda r: r.remote(1), id="positional-non-callable"),
        pytest.param(lambda r: r.remote(plain_add, 1), id="two-positional"),
        pytest.param(lambda r: r.remote("abc"), id="string"),
    ],
)
def test_remote_misuse_is_an_assertion_error(ray_api, call):
    with pytest.raises(AssertionError) as info:
        call(ray_api)
    message = str(info.value)
    assert message.startswith(
        "The @ray.remote decorator must be applied either with no arguments and no "
        "parentheses, for example '@ray.remote', or it must be applied using some of "
        "the arguments in the list ["
    )
    assert message.endswith(
        "for example '@ray.remote(num_returns=2, resources={\"CustomResource\": 1})'."
    )


def test_remote_on_a_builtin_is_rejected(ray_api):
    with pytest.raises(TypeError) as info:
        ray_api.remote(len)
    assert str(info.value) == (
        "The @ray.remote decorator must be applied to either a function or a class."
    )


def test_remote_on_async_function_is_rejected(ray_api):
    async def coroutine_function():
        return 1

    with pytest.raises(ValueError) as info:
        ray_api.remote(coroutine_function)
    assert str(info.value).startswith(
        "'async def' should not be used for remote tasks. You can wrap the async "
        "function with `asyncio.run(f())`."
    )


def test_calling_a_remote_function_directly(ray_api):
    f = ray_api.remote(plain_add)
    with pytest.raises(TypeError) as info:
        f(1, 2)
    assert str(info.value) == (
        "Remote functions cannot be called directly. Instead of running "
        f"'{__name__}.plain_add()', try '{__name__}.plain_add.remote()'."
    )


# ----------------------------------------------------------------- valid options


@pytest.mark.parametrize(
    "options",
    [
        {"num_cpus": 0.0001},
        {"num_cpus": 0},
        {"num_cpus": 3},
        {"num_cpus": True},  # bool is an int for Ray
        {"num_gpus": 0.5},
        {"num_gpus": 1.5},
        {"memory": 1024},
        {"resources": {"custom": 0.25}},
        {"resources": {}},
        {"resources": None},
        {"num_returns": 0},
        {"num_returns": 3},
        {"num_returns": None},
        {"max_retries": -1},
        {"max_retries": 0},
        {"max_retries": None},
        {"retry_exceptions": True},
        {"retry_exceptions": [ValueError, Flaky]},
        {"retry_exceptions": (ValueError,)},
        {"retry_exceptions": []},
        {"name": "a-name"},
        {"runtime_env": {"env_vars": {"A": "1"}}},
        {"runtime_env": None},
        {"scheduling_strategy": "DEFAULT"},
        {"scheduling_strategy": "SPREAD"},
        {"scheduling_strategy": None},
        {"enable_task_events": False},
        {"accelerator_type": None},
        {"label_selector": {}},
        {"placement_group": None},
        {"object_store_memory": None},
    ],
    ids=lambda o: ",".join(f"{k}={v!r}" for k, v in o.items()),
)
def test_valid_options_are_accepted(ray_api, options):
    f = ray_api.remote(plain_add)
    assert callable(f.options(**options).remote)
    if "retry_exceptions" in options or "num_returns" in options:
        assert callable(ray_api.remote(**options)(plain_add).remote)


# ----------------------------------------------------------------- validation errors


def type_message(keyword, allowed, received):
    return f"The type of keyword '{keyword}' must be {allowed}, but received type {received}"


OPTION_ERRORS = [
    # (options, exception type, exact message)
    (
        {"num_cpus": "1"},
        TypeError,
        type_message("num_cpus", RESOURCE_TYPES, "<class 'str'>"),
    ),
    (
        {"num_gpus": [1]},
        TypeError,
        type_message("num_gpus", RESOURCE_TYPES, "<class 'list'>"),
    ),
    (
        {"memory": "x"},
        TypeError,
        type_message("memory", RESOURCE_TYPES, "<class 'str'>"),
    ),
    ({"num_cpus": -1}, ValueError, "The quantity of resource num_cpus cannot be negative"),
    ({"num_gpus": -0.5}, ValueError, "The quantity of resource num_gpus cannot be negative"),
    ({"memory": -1}, ValueError, "The quantity of resource memory cannot be negative"),
    (
        {"num_cpus": 0.00001},
        ValueError,
        "The precision of the fractional quantity of resource num_cpus cannot go beyond 0.0001",
    ),
    (
        {"num_gpus": 0.00001},
        ValueError,
        "The precision of the fractional quantity of resource num_gpus cannot go beyond 0.0001",
    ),
    (
        {"resources": {"CPU": 1}},
        ValueError,
        "Use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and 'GPU' in "
        "'resources' keyword",
    ),
    (
        {"resources": {"GPU": 1}},
        ValueError,
        "Use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and 'GPU' in "
        "'resources' keyword",
    ),
    (
        {"resources": {"custom": -1}},
        ValueError,
        "The quantity of resource custom cannot be negative",
    ),
    (
        {"resources": {"custom": 0.00001}},
        ValueError,
        "The precision of the fractional quantity of resource custom cannot go beyond 0.0001",
    ),
    (
        {"resources": [("custom", 1)]},
        TypeError,
        type_message("resources", "(<class 'dict'>, <class 'NoneType'>)", "<class 'list'>"),
    ),
    ({"num_returns": -1}, ValueError, NUM_RETURNS_MESSAGE),
    (
        {"num_returns": 1.5},
        TypeError,
        type_message(
            "num_returns",
            "(<class 'int'>, <class 'str'>, <class 'NoneType'>)",
            "<class 'float'>",
        ),
    ),
    (
        {"num_returns": "streaming"},
        ValueError,
        "num_returns='streaming' can only be used with generator functions (functions "
        "that use 'yield'). The decorated function is not a generator function.",
    ),
    (
        {"max_retries": -2},
        ValueError,
        "The keyword 'max_retries' only accepts None, 0, -1 or a positive integer, where "
        "-1 represents infinity.",
    ),
    (
        {"max_retries": 1.0},
        TypeError,
        type_message("max_retries", "(<class 'int'>, <class 'NoneType'>)", "<class 'float'>"),
    ),
    (
        {"retry_exceptions": 1},
        TypeError,
        type_message(
            "retry_exceptions",
            "(<class 'bool'>, <class 'list'>, <class 'tuple'>)",
            "<class 'int'>",
        ),
    ),
    (
        {"retry_exceptions": ValueError},
        TypeError,
        type_message(
            "retry_exceptions",
            "(<class 'bool'>, <class 'list'>, <class 'tuple'>)",
            "<class 'type'>",
        ),
    ),
    (
        {"retry_exceptions": [int]},
        ValueError,
        "retry_exceptions must be either a boolean or a list of exceptions",
    ),
    (
        {"retry_exceptions": [ValueError, "KeyError"]},
        ValueError,
        "retry_exceptions must be either a boolean or a list of exceptions",
    ),
    (
        {"retry_exceptions": [KeyboardInterrupt]},
        ValueError,
        "retry_exceptions must be either a boolean or a list of exceptions",
    ),
    (
        {"name": 1},
        TypeError,
        type_message("name", "(<class 'str'>, <class 'NoneType'>)", "<class 'int'>"),
    ),
    (
        {"runtime_env": ["env_vars"]},
        TypeError,
        type_message("runtime_env", "(<class 'dict'>, <class 'NoneType'>)", "<class 'list'>"),
    ),
    (
        {"object_store_memory": 1},
        ValueError,
        "Setting 'object_store_memory' is not implemented for tasks",
    ),
    (
        {"accelerator_type": 1},
        TypeError,
        type_message("accelerator_type", "(<class 'str'>, <class 'NoneType'>)", "<class 'int'>"),
    ),
    (
        {"enable_task_events": 1},
        TypeError,
        type_message("enable_task_events", "<class 'bool'>", "<class 'int'>"),
    ),
    (
        {"label_selector": "zone=a"},
        TypeError,
        type_message("label_selector", "(<class 'dict'>, <class 'NoneType'>)", "<class 'str'>"),
    ),
    (
        {"placement_group_bundle_index": "0"},
        TypeError,
        type_message("placement_group_bundle_index", "<class 'int'>", "<class 'str'>"),
    ),
]


def _option_id(case):
    options = case[0]
    return ",".join(f"{k}={v!r}" for k, v in options.items())


@pytest.mark.parametrize("case", OPTION_ERRORS, ids=[_option_id(c) for c in OPTION_ERRORS])
def test_invalid_option_in_options(ray_api, case):
    options, exc_type, message = case
    f = ray_api.remote(plain_add)
    with pytest.raises(exc_type) as info:
        f.options(**options)
    assert type(info.value) is exc_type
    assert str(info.value) == message


@pytest.mark.parametrize("case", OPTION_ERRORS, ids=[_option_id(c) for c in OPTION_ERRORS])
def test_invalid_option_in_decorator(ray_api, case):
    options, exc_type, message = case
    with pytest.raises(exc_type) as info:
        ray_api.remote(**options)(plain_add)
    assert type(info.value) is exc_type
    assert str(info.value) == message


def test_scheduling_strategy_of_wrong_type(ray_api):
    f = ray_api.remote(plain_add)
    with pytest.raises(TypeError) as info:
        f.options(scheduling_strategy=1)
    message = str(info.value)
    assert message.startswith("The type of keyword 'scheduling_strategy' must be (")
    assert message.endswith(", but received type <class 'int'>")


@pytest.mark.parametrize("where", ["options", "decorator"])
@pytest.mark.parametrize("keyword", ["foo", "max_concurrency", "lifetime", "num_cpu"])
def test_unknown_option(ray_api, where, keyword):
    with pytest.raises(ValueError) as info:
        if where == "options":
            ray_api.remote(plain_add).options(**{keyword: 1})
        else:
            ray_api.remote(**{keyword: 1})(plain_add)
    message = str(info.value)
    prefix = f"Invalid option keyword {keyword} for remote functions. Valid ones are "
    assert message.startswith(prefix)
    assert message.endswith(".")
    assert set(ast.literal_eval(message[len(prefix) : -1])) == TASK_OPTION_NAMES


def test_max_calls_is_not_allowed_in_options(ray_api):
    f = ray_api.remote(max_calls=2)(plain_add)
    with pytest.raises(ValueError) as info:
        f.options(max_calls=3)
    assert str(info.value) == "Setting 'max_calls' is not supported in '.options()'."
    # The decorator's own max_calls does not make other options fail.
    assert callable(f.options(num_cpus=1).remote)


def test_max_calls_in_decorator(ray_api):
    assert callable(ray_api.remote(max_calls=1)(plain_add).remote)
    assert callable(ray_api.remote(max_calls=0)(plain_add).remote)
    with pytest.raises(ValueError) as info:
        ray_api.remote(max_calls=-1)(plain_add)
    assert str(info.value) == (
        "The keyword 'max_calls' only accepts None, 0 or a positive integer."
    )
