"""Actor classes: `remote` on classes, calling the class directly, the actor option set
and its validation errors (decorator and `.options()`), `@method` validation.

All of this is checked when the decorator or `.options()` is applied, before anything
is submitted, so this module never starts the backend (and checks it stays down).
"""

import ast
import warnings

import pytest

# Ray 2.60's actor option names (ray/_common/ray_option_utils.py: actor_options).
ACTOR_OPTION_NAMES = {
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
    "concurrency_groups",
    "enable_tensor_transport",
    "lifetime",
    "max_concurrency",
    "max_restarts",
    "max_task_retries",
    "max_pending_calls",
    "namespace",
    "get_if_exists",
    "allow_out_of_order_execution",
    "_actor_generator_backpressure_num_objects",
}

RESOURCE_TYPES = "(<class 'float'>, <class 'int'>, <class 'NoneType'>)"
COUNT_TYPES = "(<class 'int'>, <class 'NoneType'>)"


class Plain:
    """A plain class, made an actor class by the tests."""

    def __init__(self, x=0):
        self.x = x

    def value(self):
        return self.x


class WithAsync:
    async def value(self):
        return 1


def plain_method(self):
    return 1


def generator_method(self):
    yield 1


@pytest.fixture(autouse=True)
def backend_stays_down(ray_api):
    """Nothing here may start the backend."""
    assert not ray_api.is_initialized()
    yield
    assert not ray_api.is_initialized()


def type_message(keyword, allowed, received):
    return f"The type of keyword '{keyword}' must be {allowed}, but received type {received}"


# ----------------------------------------------------------------- decorator forms


def test_remote_on_a_class_without_parentheses(ray_api):
    cls = ray_api.remote(Plain)
    assert callable(cls.remote)
    assert callable(cls.options)


def test_remote_on_a_class_with_options(ray_api):
    cls = ray_api.remote(num_cpus=0, max_restarts=1, max_concurrency=4)(Plain)
    assert callable(cls.remote)


def test_remote_on_a_class_with_async_methods(ray_api):
    assert callable(ray_api.remote(WithAsync).remote)


def test_options_on_an_actor_class_returns_something_with_remote(ray_api):
    wrapper = ray_api.remote(Plain).options(num_cpus=1, name="a-name")
    assert callable(wrapper.remote)


def test_remote_on_an_actor_class_is_rejected(ray_api):
    # An actor class is an object, not a class: decorating it again is misuse.
    with pytest.raises(TypeError) as info:
        ray_api.remote(ray_api.remote(Plain))
    assert str(info.value) == (
        "The @ray.remote decorator must be applied to either a function or a class."
    )


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda cls: cls(), id="no-arguments"),
        pytest.param(lambda cls: cls(1), id="positional"),
        pytest.param(lambda cls: cls(x=1), id="keyword"),
    ],
)
def test_calling_an_actor_class_directly_is_a_type_error(ray_api, call):
    cls = ray_api.remote(Plain)
    with pytest.raises(TypeError) as info:
        call(cls)
    assert str(info.value) == (
        "Actors cannot be instantiated directly. Instead of 'Plain()', use 'Plain.remote()'."
    )


def test_calling_a_nested_actor_class_directly_names_its_qualified_name(ray_api):
    def make():
        class Inner:
            pass

        return Inner

    cls = ray_api.remote(make())
    with pytest.raises(TypeError) as info:
        cls()
    assert str(info.value) == (
        "Actors cannot be instantiated directly. Instead of "
        "'test_calling_a_nested_actor_class_directly_names_its_qualified_name.<locals>.make."
        "<locals>.Inner()', use 'test_calling_a_nested_actor_class_directly_names_its_"
        "qualified_name.<locals>.make.<locals>.Inner.remote()'."
    )


# ----------------------------------------------------------------- valid options


@pytest.mark.parametrize(
    "options",
    [
        {"num_cpus": 0},
        {"num_cpus": 0.5},
        {"num_cpus": 2},
        {"num_gpus": 1},
        {"num_gpus": 0.25},
        {"memory": 1024},
        {"resources": {"custom": 1}},
        {"resources": None},
        {"name": "a-name"},
        {"name": None},
        {"namespace": "a-namespace"},
        {"lifetime": "detached"},
        {"lifetime": "non_detached"},
        {"lifetime": None},
        {"name": "a-name", "get_if_exists": True},
        {"get_if_exists": False},
        {"max_restarts": -1},
        {"max_restarts": 0},
        {"max_restarts": 5},
        {"max_task_retries": -1},
        {"max_task_retries": 3},
        {"max_concurrency": 1},
        {"max_concurrency": 0},
        {"max_concurrency": 100},
        {"max_pending_calls": -1},
        {"max_pending_calls": 0},
        {"max_pending_calls": 10},
        {"runtime_env": {"env_vars": {"A": "1"}}},
        {"runtime_env": None},
        {"scheduling_strategy": "DEFAULT"},
        {"scheduling_strategy": "SPREAD"},
        {"enable_task_events": False},
    ],
    ids=lambda o: ",".join(f"{k}={v!r}" for k, v in o.items()),
)
def test_valid_actor_options_are_accepted(ray_api, options):
    assert callable(ray_api.remote(Plain).options(**options).remote)
    assert callable(ray_api.remote(**options)(Plain).remote)


def test_concurrency_groups_in_the_decorator(ray_api):
    assert callable(ray_api.remote(concurrency_groups={"io": 2, "compute": 1})(Plain).remote)
    assert callable(ray_api.remote(concurrency_groups=None)(Plain).remote)


def test_object_store_memory_is_deprecated_for_actors(ray_api):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ray_api.remote(Plain).options(object_store_memory=1)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any(
        m.startswith("Setting 'object_store_memory' for actors is deprecated") for m in messages
    ), messages


# ----------------------------------------------------------------- validation errors


ACTOR_OPTION_ERRORS = [
    # (options, exception type, exact message)
    (
        {"max_concurrency": -1},
        ValueError,
        "The keyword 'max_concurrency' only accepts None, 0 or a positive integer.",
    ),
    (
        {"max_concurrency": 1.5},
        TypeError,
        type_message("max_concurrency", COUNT_TYPES, "<class 'float'>"),
    ),
    (
        {"max_restarts": -2},
        ValueError,
        "The keyword 'max_restarts' only accepts None, 0, -1 or a positive integer, where "
        "-1 represents infinity.",
    ),
    (
        {"max_restarts": "1"},
        TypeError,
        type_message("max_restarts", COUNT_TYPES, "<class 'str'>"),
    ),
    (
        {"max_task_retries": -2},
        ValueError,
        "The keyword 'max_task_retries' only accepts None, 0, -1 or a positive integer, "
        "where -1 represents infinity.",
    ),
    (
        {"max_pending_calls": -2},
        ValueError,
        "The keyword 'max_pending_calls' only accepts None, 0, -1 or a positive integer, "
        "where -1 represents infinity.",
    ),
    (
        {"max_pending_calls": 1.0},
        TypeError,
        type_message("max_pending_calls", COUNT_TYPES, "<class 'float'>"),
    ),
    (
        {"lifetime": "forever"},
        ValueError,
        "actor `lifetime` argument must be one of 'detached', 'non_detached' and 'None'.",
    ),
    (
        {"lifetime": 1},
        TypeError,
        type_message("lifetime", "(<class 'str'>, <class 'NoneType'>)", "<class 'int'>"),
    ),
    (
        {"get_if_exists": True},
        ValueError,
        "The actor name must be specified to use `get_if_exists`.",
    ),
    (
        {"name": "a-name", "get_if_exists": 1},
        TypeError,
        type_message("get_if_exists", "<class 'bool'>", "<class 'int'>"),
    ),
    (
        {"name": 1},
        TypeError,
        type_message("name", "(<class 'str'>, <class 'NoneType'>)", "<class 'int'>"),
    ),
    (
        {"namespace": 1},
        TypeError,
        type_message("namespace", "(<class 'str'>, <class 'NoneType'>)", "<class 'int'>"),
    ),
    ({"num_cpus": -1}, ValueError, "The quantity of resource num_cpus cannot be negative"),
    (
        {"num_cpus": "1"},
        TypeError,
        type_message("num_cpus", RESOURCE_TYPES, "<class 'str'>"),
    ),
    ({"num_gpus": -1}, ValueError, "The quantity of resource num_gpus cannot be negative"),
    ({"memory": -1}, ValueError, "The quantity of resource memory cannot be negative"),
    (
        {"num_cpus": 0.00001},
        ValueError,
        "The precision of the fractional quantity of resource num_cpus cannot go beyond 0.0001",
    ),
    (
        {"resources": {"CPU": 1}},
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
        {"runtime_env": ["env_vars"]},
        TypeError,
        type_message("runtime_env", "(<class 'dict'>, <class 'NoneType'>)", "<class 'list'>"),
    ),
    (
        {"runtime_env": {"env_vars": {"A": 1}}},
        TypeError,
        "runtime_env['env_vars'] must be of type Dict[str, str], but the value 1 is of type "
        "<class 'int'>",
    ),
    (
        {"enable_task_events": 1},
        TypeError,
        type_message("enable_task_events", "<class 'bool'>", "<class 'int'>"),
    ),
    (
        {"placement_group_bundle_index": "0"},
        TypeError,
        type_message("placement_group_bundle_index", "<class 'int'>", "<class 'str'>"),
    ),
]


def _option_id(case):
    return ",".join(f"{k}={v!r}" for k, v in case[0].items())


@pytest.mark.parametrize(
    "case", ACTOR_OPTION_ERRORS, ids=[_option_id(c) for c in ACTOR_OPTION_ERRORS]
)
def test_invalid_actor_option_in_options(ray_api, case):
    options, exc_type, message = case
    cls = ray_api.remote(Plain)
    with pytest.raises(exc_type) as info:
        cls.options(**options)
    assert type(info.value) is exc_type
    assert str(info.value) == message


@pytest.mark.parametrize(
    "case", ACTOR_OPTION_ERRORS, ids=[_option_id(c) for c in ACTOR_OPTION_ERRORS]
)
def test_invalid_actor_option_in_decorator(ray_api, case):
    options, exc_type, message = case
    with pytest.raises(exc_type) as info:
        ray_api.remote(**options)(Plain)
    assert type(info.value) is exc_type
    assert str(info.value) == message


def test_concurrency_groups_of_the_wrong_type(ray_api):
    with pytest.raises(TypeError) as info:
        ray_api.remote(concurrency_groups=3)(Plain)
    assert str(info.value) == type_message(
        "concurrency_groups",
        "(<class 'list'>, <class 'dict'>, <class 'NoneType'>)",
        "<class 'int'>",
    )


def test_concurrency_groups_are_not_allowed_in_options(ray_api):
    for cls in (ray_api.remote(Plain), ray_api.remote(concurrency_groups={"io": 1})(Plain)):
        with pytest.raises(ValueError) as info:
            cls.options(concurrency_groups={"io": 2})
        assert str(info.value) == "Setting 'concurrency_groups' is not supported in '.options()'."


@pytest.mark.parametrize("where", ["options", "decorator"])
@pytest.mark.parametrize(
    "keyword",
    # unknown everywhere, and the task-only options
    ["foo", "num_returns", "max_retries", "max_calls", "retry_exceptions"],
)
def test_unknown_actor_option(ray_api, where, keyword):
    with pytest.raises(ValueError) as info:
        if where == "options":
            ray_api.remote(Plain).options(**{keyword: 1})
        else:
            ray_api.remote(**{keyword: 1})(Plain)
    message = str(info.value)
    prefix = f"Invalid option keyword {keyword} for actors. Valid ones are "
    assert message.startswith(prefix)
    assert message.endswith(".")
    assert set(ast.literal_eval(message[len(prefix) : -1])) == ACTOR_OPTION_NAMES


# ----------------------------------------------------------------- @method


def test_method_decorator_without_parentheses_returns_the_function(ray_api):
    assert ray_api.method(plain_method) is plain_method
    assert ray_api.method()(plain_method) is plain_method


def test_method_decorator_with_options_returns_the_function(ray_api):
    assert ray_api.method(num_returns=2)(plain_method) is plain_method
    assert ray_api.method(concurrency_group="io")(plain_method) is plain_method
    assert ray_api.method(max_task_retries=1, retry_exceptions=True)(plain_method) is (plain_method)
    assert ray_api.method(num_returns="streaming")(generator_method) is generator_method


def test_method_decorator_unknown_keyword(ray_api):
    with pytest.raises(AssertionError) as info:
        ray_api.method(foo=1)
    message = str(info.value)
    prefix = (
        "Unexpected keyword argument to @ray.method: 'foo'. The supported keyword arguments are "
    )
    assert message.startswith(prefix)
    supported = set(ast.literal_eval(message[len(prefix) :]))
    assert {
        "num_returns",
        "concurrency_group",
        "max_task_retries",
        "retry_exceptions",
        "enable_task_events",
    } <= supported


def test_method_decorator_positional_arguments(ray_api):
    with pytest.raises(AssertionError) as info:
        ray_api.method(1, 2)
    message = str(info.value)
    assert message.startswith(
        "The @ray.method decorator must be applied using no arguments or at least one of "
        "the arguments in the list ["
    )
    assert message.endswith("], for example '@ray.method(num_returns=2)'.")


def test_method_decorator_negative_num_returns(ray_api):
    decorator = ray_api.method(num_returns=-1)  # checked when applied to the method
    with pytest.raises(ValueError) as info:
        decorator(plain_method)
    assert str(info.value) == "num_returns must be >= 0, but got -1."


def test_method_decorator_streaming_on_a_plain_method(ray_api):
    with pytest.raises(ValueError) as info:
        ray_api.method(num_returns="streaming")(plain_method)
    assert str(info.value) == (
        "num_returns='streaming' can only be used with generator functions (functions "
        "that use 'yield'). The decorated function is not a generator function."
    )


def test_exit_actor_in_the_driver_is_a_type_error(ray_api):
    with pytest.raises(TypeError) as info:
        ray_api.actor.exit_actor()
    assert str(info.value).startswith("exit_actor API is called on a non-actor worker, ")
