"""Task and actor options: Ray 2.60's option tables, validation (same messages and
exception types), the ``@remote`` decorator's argument rules and resource requests.

Where each check runs in Ray:
- ``@remote``: ``parse_remote_decorator`` then ``remote_target_kind`` (validates the
  options against the target);
- ``.options()``: ``merge_task_options`` / ``merge_actor_options``;
- ``.remote()``: ``validate_submit_options`` then ``task_resource_request`` /
  ``actor_resource_request``; ``unsupported_task_features`` names what fusion-flow
  does not honour yet.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple

from fusion_flow.ray_compat.util.scheduling_strategies import (
    NodeAffinitySchedulingStrategy,
    NodeLabelSchedulingStrategy,
    PlacementGroupSchedulingStrategy,
)


class RayDeprecationWarning(DeprecationWarning):
    """Ray's deprecation warning class (``ray.util.annotations``)."""


DYNAMIC_NUM_RETURNS_WARNING = (
    "num_returns='dynamic' is deprecated and will be removed in a future "
    "Ray release. Use num_returns='streaming' instead."
)


class _PlacementGroupMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        # Placement groups come in a later issue; until their module is loaded no
        # instance can exist.
        module = sys.modules.get("fusion_flow.ray_compat.util.placement_group")
        pg_class = getattr(module, "PlacementGroup", None)
        return pg_class is not None and isinstance(obj, pg_class)


class _PlacementGroup(metaclass=_PlacementGroupMeta):
    """Stands for ``PlacementGroup`` in the ``placement_group`` type constraint."""


# Users reach these classes as ray.util.*, so Ray's type-error texts name them so.
_RAY_TYPE_NAMES = {
    **{
        cls: f"ray.util.scheduling_strategies.{cls.__name__}"
        for cls in (
            PlacementGroupSchedulingStrategy,
            NodeAffinitySchedulingStrategy,
            NodeLabelSchedulingStrategy,
        )
    },
    _PlacementGroup: "ray.util.placement_group.PlacementGroup",
}


def _type_text(constraint: Any) -> str:
    def one(t: type) -> str:
        return f"<class '{_RAY_TYPE_NAMES[t]}'>" if t in _RAY_TYPE_NAMES else repr(t)

    if isinstance(constraint, tuple):
        return "(" + ", ".join(one(t) for t in constraint) + ")"
    return one(constraint)


class Option:
    """One option: its type constraint, a value check returning an error message or
    None, and its default."""

    def __init__(
        self,
        types: Any = None,
        check: Optional[Callable[[Any], Optional[str]]] = None,
        default: Any = None,
    ):
        self.types = types
        self.check = check
        self.default = default

    def validate(self, keyword: str, value: Any) -> None:
        if self.types is not None and not isinstance(value, self.types):
            raise TypeError(
                f"The type of keyword '{keyword}' must be {_type_text(self.types)}, "
                f"but received type {type(value)}"
            )
        if self.check is not None:
            message = self.check(value)
            if message:
                raise ValueError(message)


_NONE = type(None)


def _counting_option(name: str, infinite: bool = True, default: Any = None) -> Option:
    if infinite:
        return Option(
            (int, _NONE),
            lambda x: (
                None
                if x is None or x >= -1
                else f"The keyword '{name}' only accepts None, 0, -1"
                " or a positive integer, where -1 represents infinity."
            ),
            default,
        )
    return Option(
        (int, _NONE),
        lambda x: (
            None
            if x is None or x >= 0
            else f"The keyword '{name}' only accepts None, 0 or a positive integer."
        ),
        default,
    )


def _whole_number_message(name: str, quantity: Any) -> str:
    return (
        f"{name} resource quantity must be whole numbers. "
        f"The specified quantity {quantity} is invalid."
    )


def _accelerator_quantity_error(resource: str, q: Any) -> Optional[str]:
    """Ray's per-accelerator quantity rules (GPU and NPU accept any quantity)."""
    fractional = isinstance(q, float) and not q.is_integer()
    if resource in ("neuron_cores", "HPU", "RBLN") and fractional:
        return _whole_number_message(resource, q)
    if resource == "FURIOSA" and fractional:
        return (
            "FURIOSA resource quantity must be a whole number. Furiosa NPUs do not "
            f"support fractional resource sharing. The specified quantity {q} is invalid."
        )
    if resource == "MBLT" and math.isfinite(float(q)) and not float(q).is_integer():
        return (
            "MBLT resource quantity must be a whole number. Mobilint NPUs do not "
            f"support fractional resource sharing. The specified quantity {q} is invalid."
        )
    if resource == "TTNPU" and q > 0 and q % 1 != 0:
        return f"TTNPU resource quantity ({q}) must be an integer."
    if resource == "TPU" and q not in (1, 2, 4, 8):
        return (
            f"The number of requested 'TPU' was set to {q} which is not a supported "
            "chip configuration. Supported configs: (1, 2, 4, 8)"
        )
    return None


def _resource_quantity_error(name: str, quantity: Any) -> Optional[str]:
    if quantity < 0:
        return f"The quantity of resource {name} cannot be negative"
    # Ray stores resources in units of 1/10000.
    if isinstance(quantity, float) and quantity != 0.0 and int(quantity * 10000) == 0:
        return (
            f"The precision of the fractional quantity of resource {name} cannot go beyond 0.0001"
        )
    return _accelerator_quantity_error("GPU" if name == "num_gpus" else name, quantity)


def _resource_option(name: str, default: Any = None) -> Option:
    return Option(
        (float, int, _NONE),
        lambda x: None if x is None else _resource_quantity_error(name, x),
        default,
    )


def _resources_error(resources: Optional[dict]) -> Optional[str]:
    if resources is None:
        return None
    if "CPU" in resources or "GPU" in resources:
        return (
            "Use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and 'GPU' "
            "in 'resources' keyword"
        )
    for name, quantity in resources.items():
        message = _resource_quantity_error(name, quantity)
        if message:
            return message
    return None


# Kubernetes label syntax, as Ray checks it.
_LABEL_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?"
_LABEL_PREFIX = rf"(?:{_LABEL_NAME})?(?:\.(?:{_LABEL_NAME})?)*"
_LABEL_SELECTOR = rf"!?(?:in)?\({_LABEL_NAME}(?:, ?{_LABEL_NAME})*\)|!?{_LABEL_NAME}"
_LABEL_RULE = (
    "must be 63 chars or less beginning and ending with an alphanumeric character "
    "([a-z0-9A-Z]) with dashes (-), underscores (_),dots (.), and alphanumerics between."
)


def _label_key_error(key: str) -> Optional[str]:
    name = key
    if "/" in key:
        prefix, name = key.rsplit("/", 1)
        if len(prefix) > 253 or not re.fullmatch(_LABEL_PREFIX, prefix):
            return (
                f"Invalid label key prefix `{prefix}`. Prefix must be a series of DNS labels "
                "separated by dots (.), not longer than 253 characters in total."
            )
    if len(name) > 63 or not re.fullmatch(_LABEL_NAME, name):
        return f"Invalid label key name `{name}`. Name {_LABEL_RULE}"
    return None


def _label_selector_error(selector: Optional[dict]) -> Optional[str]:
    if selector is None:
        return None
    for key, value in selector.items():
        message = _label_key_error(key)
        if message:
            return message
        if value is not None and value != "" and not re.fullmatch(_LABEL_SELECTOR, value):
            return (
                f"Invalid label selector value `{value}`. The label selector value should "
                "contain optional operators and a label value. Supported operators are: ! "
                f"and {{'in'}}. Value {_LABEL_RULE}"
            )
    return None


def _fallback_strategy_error(strategies: Optional[list]) -> Optional[str]:
    if strategies is None:
        return None
    for strategy in strategies:
        if not isinstance(strategy, dict):
            return "Each element in fallback_strategy must be a dictionary."
        if not strategy:
            return "Empty dictionary found in `fallback_strategy`."
        for option in strategy:
            if option != "label_selector":
                return (
                    f"Unsupported option found: '{option}'. "
                    "Only ['label_selector'] is currently supported."
                )
        selector = strategy.get("label_selector")
        if selector:
            if not isinstance(selector, dict):
                return 'The value of "label_selector" must be a dictionary.'
            message = _label_selector_error(selector)
            if message:
                return message
    return None


def _is_exception_class(x: Any) -> bool:
    return isinstance(x, type) and issubclass(x, Exception)


_COMMON_OPTIONS: Dict[str, Option] = {
    "label_selector": Option((dict, _NONE), _label_selector_error),
    "fallback_strategy": Option((list, _NONE), _fallback_strategy_error),
    "accelerator_type": Option((str, _NONE)),
    "memory": _resource_option("memory"),
    "name": Option((str, _NONE)),
    "num_cpus": _resource_option("num_cpus"),
    "num_gpus": _resource_option("num_gpus"),
    "object_store_memory": _counting_option("object_store_memory", False),
    "placement_group": Option((_NONE, str, _PlacementGroup), default="default"),
    "placement_group_bundle_index": Option(int, default=-1),
    "placement_group_capture_child_tasks": Option((bool, _NONE)),
    "resources": Option((dict, _NONE), _resources_error),
    "runtime_env": Option((dict, _NONE)),
    "scheduling_strategy": Option(
        (
            _NONE,
            str,
            PlacementGroupSchedulingStrategy,
            NodeAffinitySchedulingStrategy,
            NodeLabelSchedulingStrategy,
        )
    ),
    "enable_task_events": Option(bool, default=True),
    "_labels": Option((dict, _NONE)),
}

_TASK_ONLY_OPTIONS: Dict[str, Option] = {
    "max_calls": _counting_option("max_calls", False, default=0),
    "max_retries": _counting_option("max_retries", default=3),
    "num_cpus": _resource_option("num_cpus", default=1),
    "num_returns": Option(
        (int, str, _NONE),
        lambda x: (
            None
            if x is None or x == "dynamic" or x == "streaming" or x >= 0
            else "Default None. When None is passed, "
            "The default value is 1 for a task and actor task, and "
            "'streaming' for generator tasks and generator actor tasks. "
            "The keyword 'num_returns' only accepts None, "
            "a non-negative integer, "
            "'streaming' (for generators), or 'dynamic'. 'dynamic' flag "
            "will be deprecated in the future, and it is recommended to use "
            "'streaming' instead."
        ),
    ),
    "object_store_memory": Option(
        (int, _NONE),
        lambda x: (
            None if x is None else "Setting 'object_store_memory' is not implemented for tasks"
        ),
    ),
    "retry_exceptions": Option(
        (bool, list, tuple),
        lambda x: (
            None
            if isinstance(x, bool) or all(_is_exception_class(e) for e in x)
            else "retry_exceptions must be either a boolean or a list of exceptions"
        ),
        default=False,
    ),
    "_generator_backpressure_num_objects": Option(
        (int, _NONE),
        lambda x: (
            None
            if x != 0
            else (
                "_generator_backpressure_num_objects=0 is not allowed. "
                "Use a value > 0. If the value is equal to 1, the behavior "
                "is identical to Python generator (generator 1 object "
                "whenever `next` is called). Use -1 to disable this feature. "
            )
        ),
    ),
    "_num_objects_per_yield": Option(
        (int, _NONE),
        lambda x: (
            None
            if x is None or x > 0
            else (
                "_num_objects_per_yield is a private streaming generator option "
                "that must be set to a positive integer."
            )
        ),
        default=1,
    ),
}

_ACTOR_ONLY_OPTIONS: Dict[str, Option] = {
    "concurrency_groups": Option((list, dict, _NONE)),
    "enable_tensor_transport": Option((bool, _NONE)),
    "lifetime": Option(
        (str, _NONE),
        lambda x: (
            None
            if x in (None, "detached", "non_detached")
            else "actor `lifetime` argument must be one of 'detached', 'non_detached' and 'None'."
        ),
    ),
    "max_concurrency": _counting_option("max_concurrency", False),
    "max_restarts": _counting_option("max_restarts", default=0),
    "max_task_retries": _counting_option("max_task_retries", default=0),
    "max_pending_calls": _counting_option("max_pending_calls", default=-1),
    "namespace": Option((str, _NONE)),
    "get_if_exists": Option(bool, default=False),
    "allow_out_of_order_execution": Option((bool, _NONE)),
    "_actor_generator_backpressure_num_objects": Option(
        (int, _NONE),
        lambda x: (
            None
            if x is None or x > 0 or x == -1
            else (
                "_actor_generator_backpressure_num_objects must be > 0 to cap the "
                "actor's total unconsumed generator objects, or -1 to disable. "
                f"Got {x}."
            )
        ),
    ),
}

# Key order matters: Ray's error messages list the keys in this order.
TASK_OPTIONS: Dict[str, Option] = {**_COMMON_OPTIONS, **_TASK_ONLY_OPTIONS}
ACTOR_OPTIONS: Dict[str, Option] = {**_COMMON_OPTIONS, **_ACTOR_ONLY_OPTIONS}
VALID_OPTIONS: Dict[str, Option] = {**_TASK_ONLY_OPTIONS, **_ACTOR_ONLY_OPTIONS, **_COMMON_OPTIONS}

REMOTE_ARGS_ERROR = (
    "The @ray.remote decorator must be applied either with no arguments and no "
    "parentheses, for example '@ray.remote', or it must be applied using some of "
    f"the arguments in the list {list(VALID_OPTIONS)}, for example "
    "'@ray.remote(num_returns=2, resources={\"CustomResource\": 1})'."
)


def _check_placement_group_option(options: Dict[str, Any]) -> None:
    placement_group = options.get("placement_group", "default")
    if placement_group not in ("default", None) and options.get("scheduling_strategy") is not None:
        raise ValueError(
            "Placement groups should be specified via the "
            "scheduling_strategy option. "
            "The placement_group option is deprecated."
        )


def _check_num_returns(is_generator: bool, num_returns: Any) -> None:
    if num_returns == "dynamic":
        warnings.warn(DYNAMIC_NUM_RETURNS_WARNING, RayDeprecationWarning, stacklevel=5)
    if num_returns in ("streaming", "dynamic") and not is_generator:
        raise ValueError(
            f"num_returns='{num_returns}' can only be used with generator functions "
            "(functions that use 'yield'). "
            "The decorated function is not a generator function."
        )


def validate_num_returns(is_generator: bool, num_returns: Any) -> None:
    """The num_returns checks of ``@ray.method``: not negative, and 'streaming'/'dynamic'
    only on generators."""
    if isinstance(num_returns, int) and num_returns < 0:
        raise ValueError(f"num_returns must be >= 0, but got {num_returns}.")
    _check_num_returns(is_generator, num_returns)


def validate_runtime_env(runtime_env: Optional[dict]) -> None:
    """The runtime_env checks Ray makes when it parses the option (only ``env_vars``
    has a format fusion-flow relies on)."""
    if not runtime_env or runtime_env.get("env_vars") is None:
        return
    env_vars = runtime_env["env_vars"]
    if len(env_vars) == 0:
        return
    if not isinstance(env_vars, dict):
        raise TypeError(
            f"runtime_env['env_vars'] must be of type Dict[str, str], got {type(env_vars)}"
        )
    for key, value in env_vars.items():
        if not isinstance(key, str):
            raise TypeError(
                "runtime_env['env_vars'] must be of type "
                f"Dict[str, str], but the key {key} is of type {type(key)}"
            )
        if not isinstance(value, str):
            raise TypeError(
                "runtime_env['env_vars'] must be of type "
                f"Dict[str, str], but the value {value} is of type {type(value)}"
            )


def _check_task_options(
    options: Dict[str, Any], in_options: bool, is_generator: Optional[bool]
) -> None:
    for key, value in options.items():
        if key not in TASK_OPTIONS:
            raise ValueError(
                f"Invalid option keyword {key} for remote functions. "
                f"Valid ones are {list(TASK_OPTIONS)}."
            )
        TASK_OPTIONS[key].validate(key, value)
    if in_options and "max_calls" in options:
        raise ValueError("Setting 'max_calls' is not supported in '.options()'.")
    _check_placement_group_option(options)
    if is_generator is not None and options.get("num_returns") is not None:
        _check_num_returns(is_generator, options["num_returns"])


def validate_task_options(
    options: Dict[str, Any], in_options: bool, is_generator: Optional[bool] = None
) -> None:
    """Every check Ray makes on a remote function's options. ``in_options``: checking
    ``.options()``; ``is_generator``: whether the function is a (async) generator, or
    None to skip the num_returns 'streaming'/'dynamic' check (Ray skips it when
    ``.options()`` does not set num_returns)."""
    _check_task_options(options, in_options, is_generator)
    validate_runtime_env(options.get("runtime_env"))


def validate_actor_options(options: Dict[str, Any], in_options: bool) -> None:
    """Every check Ray makes on an actor class's options."""
    for key, value in options.items():
        if key not in ACTOR_OPTIONS:
            raise ValueError(
                f"Invalid option keyword {key} for actors. Valid ones are {list(ACTOR_OPTIONS)}."
            )
        ACTOR_OPTIONS[key].validate(key, value)
    if in_options and "concurrency_groups" in options:
        raise ValueError("Setting 'concurrency_groups' is not supported in '.options()'.")
    if options.get("get_if_exists") and not options.get("name"):
        raise ValueError("The actor name must be specified to use `get_if_exists`.")
    if "object_store_memory" in options:
        warnings.warn(
            "Setting 'object_store_memory'"
            " for actors is deprecated since it doesn't actually"
            " reserve the required object store memory."
            " Use object spilling that's enabled by default (https://docs.ray.io/en/"
            "releases-2.60.0/ray-core/objects/object-spilling.html) "
            "instead to bypass the object store memory size limitation.",
            DeprecationWarning,
            stacklevel=2,
        )
    _check_placement_group_option(options)
    validate_runtime_env(options.get("runtime_env"))


def merge_task_options(
    defaults: Dict[str, Any], overrides: Dict[str, Any], is_generator: bool
) -> Dict[str, Any]:
    """``RemoteFunction.options(**overrides)``: the checked options of the call."""
    if "_num_objects_per_yield" in overrides:
        current = defaults.get("_num_objects_per_yield") or 1
        if overrides["_num_objects_per_yield"] != current:
            raise ValueError(
                "_num_objects_per_yield cannot be overridden per task call. "
                "Use @ray.remote(_num_objects_per_yield=...) instead."
            )
    # max_calls from @remote is not carried into .options() (it cannot be set there).
    merged = {k: v for k, v in defaults.items() if k != "max_calls"}
    merged.update(overrides)
    validate_task_options(merged, True, is_generator if "num_returns" in overrides else None)
    return merged


def merge_actor_options(defaults: Dict[str, Any], overrides: Dict[str, Any]) -> Dict[str, Any]:
    """``ActorClass.options(**overrides)``: the checked options of the call."""
    merged = {k: v for k, v in defaults.items() if k != "concurrency_groups"}
    merged.update(overrides)
    validate_actor_options(merged, True)
    return merged


def parse_remote_decorator(args: tuple, kwargs: dict) -> tuple:
    """How ``remote(*args, **kwargs)`` was called: ``("apply", target, {})`` for
    ``@remote`` / ``remote(f)``, ``("decorator", options)`` for ``@remote(...)``.
    Anything else (``remote()``, ``remote(1)``, ``remote(f, num_cpus=1)``) raises
    Ray's AssertionError. Apply with ``remote_target_kind(target, options)``."""
    if len(args) == 1 and not kwargs and callable(args[0]):
        return ("apply", args[0], {})
    if len(args) != 0 or len(kwargs) == 0:
        raise AssertionError(REMOTE_ARGS_ERROR)
    return ("decorator", dict(kwargs))


def _is_cython(obj: Any) -> bool:
    def check(x: Any) -> bool:
        return type(x).__name__ == "cython_function_or_method"

    return check(obj) or (hasattr(obj, "__func__") and check(obj.__func__))


def is_generator_function(function: Callable) -> bool:
    return inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)


def remote_target_kind(target: Any, options: Dict[str, Any]) -> str:
    """Ray's checks when ``remote`` is applied: "function" or "class", or Ray's error
    (TypeError for other targets, ValueError for ``async def`` functions or bad
    options). Like Ray, gives a target without ``__module__`` the module "global"."""
    if not target.__module__:
        target.__module__ = "global"
    if inspect.isfunction(target) or _is_cython(target):
        _check_task_options(options, False, is_generator_function(target))
        if inspect.iscoroutinefunction(target):
            raise ValueError(
                "'async def' should not be used for remote tasks. You can wrap the "
                "async function with `asyncio.run(f())`. See more at:"
                "https://docs.ray.io/en/latest/ray-core/actors/async_api.html "
            )
        validate_runtime_env(options.get("runtime_env"))
        return "function"
    if inspect.isclass(target):
        validate_actor_options(options, False)
        return "class"
    raise TypeError("The @ray.remote decorator must be applied to either a function or a class.")


def default_max_calls(options: Dict[str, Any]) -> int:
    """Calls a worker may run of this function before it exits (0: no limit). Ray 2.60
    makes it 1 for a function declared with num_gpus > 0 and no max_calls, so GPU
    memory is released; ``.options(num_gpus=...)`` does not change it."""
    max_calls = options.get("max_calls")
    if max_calls is None:
        return 1 if (options.get("num_gpus") or 0) > 0 else 0
    return max_calls


def _requested_resources(options: Dict[str, Any], default_num_cpus: Any) -> Dict[str, float]:
    """Ray's resources_from_ray_options (with its submit-time checks)."""
    resources = dict(options.get("resources") or {})
    if "CPU" in resources or "GPU" in resources:
        raise ValueError("The resources dictionary must not contain the key 'CPU' or 'GPU'")
    if "memory" in resources or "object_store_memory" in resources:
        raise ValueError(
            "The resources dictionary must not contain the key 'memory' or 'object_store_memory'"
        )
    if "bundle" in resources:
        raise ValueError(
            "The resource should not include `bundle` which "
            f"is reserved for Ray. resources: {resources}"
        )
    # An explicit num_cpus=None requests no CPU (Ray fills defaults only for absent keys).
    num_cpus = options.get("num_cpus", default_num_cpus)
    if num_cpus is not None:
        resources["CPU"] = num_cpus
    if options.get("num_gpus") is not None:
        resources["GPU"] = options["num_gpus"]
    if options.get("memory") is not None:
        resources["memory"] = int(options["memory"])
    if options.get("object_store_memory") is not None:
        resources["object_store_memory"] = options["object_store_memory"]
    if options.get("accelerator_type") is not None:
        resources[f"accelerator_type:{options['accelerator_type']}"] = 0.001
    return resources


def _nonzero(resources: Dict[str, Any]) -> Dict[str, float]:
    return {name: float(q) for name, q in resources.items() if q != 0}


def resources_as_given(options: Dict[str, Any], default_num_cpus: Any) -> Dict[str, Any]:
    """The nonzero requested amounts as the user wrote them (ints stay ints), for messages."""
    return {name: q for name, q in _requested_resources(options, default_num_cpus).items() if q}


def task_resource_request(options: Dict[str, Any]) -> Dict[str, float]:
    """What a task holds while it runs (CPU defaults to 1; zero entries dropped)."""
    return _nonzero(_requested_resources(options, 1))


def actor_resource_request(options: Dict[str, Any]) -> Tuple[Dict[str, float], Dict[str, float]]:
    """(resources needed to place the actor, resources it holds while alive).

    With no resource options (memory aside) Ray places an actor with 1 CPU and holds
    0 CPU; once any resource is given, CPU defaults to 1 and is held for life."""
    resources = _requested_resources(options, None)
    if not set(resources) - {"memory", "object_store_memory"}:
        resources.setdefault("CPU", 0)
        placement = dict(resources)
        placement["CPU"] += 1
    else:
        resources.setdefault("CPU", 1)
        placement = resources
    return _nonzero(placement), _nonzero(resources)


_DEPRECATED_PLACEMENT_OPTIONS = (
    ("placement_group", "default"),
    ("placement_group_bundle_index", -1),
    ("placement_group_capture_child_tasks", None),
)


def warn_deprecated_placement_options(options: Dict[str, Any], stacklevel: int) -> None:
    """Ray's deprecation warning for each ``placement_group*`` option given (they still
    work) unless a PlacementGroupSchedulingStrategy is given too."""
    if isinstance(options.get("scheduling_strategy"), PlacementGroupSchedulingStrategy):
        return
    for key, default in _DEPRECATED_PLACEMENT_OPTIONS:
        if options.get(key, default) != default:
            warnings.warn(
                f"{key} parameter is deprecated. Use "
                "scheduling_strategy=PlacementGroupSchedulingStrategy(...) "
                "instead, see the usage at https://docs.ray.io/en/releases-2.60.0/"
                "ray-core/package-ref.html#ray-remote.",
                DeprecationWarning,
                stacklevel=stacklevel,
            )


def validate_submit_options(options: Dict[str, Any]) -> None:
    """The checks Ray makes only when ``.remote()`` submits (resource dictionary keys,
    placement group bundle index, scheduling strategy names), with its deprecation
    warnings for the placement_group* options."""
    strategy = options.get("scheduling_strategy")
    warn_deprecated_placement_options(options, stacklevel=3)
    _requested_resources(options, None)
    if strategy is None or isinstance(strategy, PlacementGroupSchedulingStrategy):
        if isinstance(strategy, PlacementGroupSchedulingStrategy):
            group = strategy.placement_group
            bundle_index = strategy.placement_group_bundle_index
        else:
            group = options.get("placement_group", "default")
            bundle_index = options.get("placement_group_bundle_index", -1)
        if isinstance(group, str) and group != "default":
            raise AssertionError  # Ray asserts that a placement group is a PlacementGroup
        if group in ("default", None) and bundle_index != -1:
            raise ValueError("If placement group is not set, the value of bundle index must be -1.")
        if group not in ("default", None):
            from fusion_flow.ray_compat.util.placement_group import check_placement_group_index

            check_placement_group_index(group, bundle_index)
    elif isinstance(strategy, str) and strategy not in ("DEFAULT", "SPREAD"):
        raise ValueError(
            f"Invalid scheduling_strategy value {strategy}. Valid values are "
            '["DEFAULT" | "SPREAD" | PlacementGroupSchedulingStrategy | '
            "NodeAffinitySchedulingStrategy]"
        )


_STRATEGY_CLASSES = (
    PlacementGroupSchedulingStrategy,
    NodeAffinitySchedulingStrategy,
    NodeLabelSchedulingStrategy,
)


def _runs_on_this_node(strategy: Any, node_id: Optional[str]) -> bool:
    """A node-affinity strategy that a single node honours: its own id, or a soft one
    (which may run anywhere)."""
    if isinstance(strategy, PlacementGroupSchedulingStrategy):
        return True  # one node holds every bundle
    if not isinstance(strategy, NodeAffinitySchedulingStrategy):
        return False
    return strategy.soft or strategy.node_id == node_id


def unsupported_task_features(options: Dict[str, Any], node_id: Optional[str] = None) -> List[str]:
    """Options given that fusion-flow's runtime does not honour yet, by name, so the
    API layer can refuse them clearly instead of ignoring them. ``accelerator_type`` is
    honoured: it is a resource request that a node without that accelerator cannot meet.
    ``node_id`` is the node this runtime runs on (node affinity to it is honoured)."""
    found = []
    strategy = options.get("scheduling_strategy")
    if isinstance(strategy, _STRATEGY_CLASSES) and not _runs_on_this_node(strategy, node_id):
        found.append(f"scheduling_strategy={type(strategy).__name__}")
    for key in ("label_selector", "fallback_strategy"):
        if options.get(key):
            found.append(key)
    if options.get("num_returns") == "dynamic":
        found.append("num_returns='dynamic'")
    if options.get("enable_tensor_transport"):
        found.append("enable_tensor_transport")
    if options.get("_actor_generator_backpressure_num_objects") not in (None, -1):  # -1: off
        found.append("_actor_generator_backpressure_num_objects")
    for key in options.get("runtime_env") or {}:
        if key != "env_vars":
            found.append(f"runtime_env['{key}']")
    return found


def generator_backpressure(options: Dict[str, Any]) -> int:
    """How many unconsumed items a generator may get ahead by (0: no limit; Ray's -1)."""
    limit = options.get("_generator_backpressure_num_objects")
    return limit if limit is not None and limit > 0 else 0
