"""Actors (Ray's ``ray.actor``): ``@remote`` on a class, handles, method calls, ``method``,
``exit_actor``.

A handle holds a ref to its actor's handle object; the node counts those refs across
processes, so an anonymous actor ends when its last handle is gone anywhere. What a process
needs to make a handle (class name, method table, concurrency settings) travels as an
``ActorDescriptor``, pickled into the handle and registered with the node for ``get_actor``.
"""

from __future__ import annotations

import hashlib
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from fusion_flow import _native, _runtime, _serialization
from fusion_flow._placement import placement_of
from fusion_flow.ray_compat import _options, exceptions
from fusion_flow.ray_compat._unsupported import Unsupported
from fusion_flow.ray_compat.object_ref_generator import ObjectRefGenerator
from fusion_flow.ray_compat.session import ensure_runtime
from fusion_flow.ray_compat.util.placement_group import check_bundle_shape

# The default concurrency of an actor with async methods, as in Ray.
ASYNC_DEFAULT_MAX_CONCURRENCY = 1000
TERMINATE_METHOD = "__ray_terminate__"
# What @ray.method accepts, in Ray's order.
METHOD_OPTIONS = (
    "num_returns",
    "concurrency_group",
    "max_task_retries",
    "retry_exceptions",
    "_generator_backpressure_num_objects",
    "_num_objects_per_yield",
    "enable_task_events",
    "tensor_transport",
)


@dataclass(frozen=True)
class MethodInfo:
    num_returns: Any = 1
    concurrency_group: Optional[str] = None
    max_task_retries: Optional[int] = None
    retry_exceptions: Any = None
    is_async: bool = False
    is_generator: bool = False
    # The parameters a call binds to (self left out): (name, kind, has a default). Kept as
    # plain data so the descriptor pickles whatever the defaults are.
    parameters: Optional[Tuple[Tuple[str, int, bool], ...]] = None

    def signature(self) -> Optional[inspect.Signature]:
        if self.parameters is None:
            return None
        return inspect.Signature(
            [
                inspect.Parameter(
                    name,
                    inspect._ParameterKind(kind),
                    default=None if has_default else inspect.Parameter.empty,
                )
                for name, kind, has_default in self.parameters
            ]
        )


@dataclass(frozen=True)
class ActorDescriptor:
    """What any process needs to host the actor or to make a handle to it."""

    class_name: str  # qualified: how handles and errors name the class
    short_name: str  # how worker output is prefixed
    module: str
    function_id: bytes
    methods: Dict[str, MethodInfo]
    is_async: bool
    max_concurrency: int
    concurrency_groups: Dict[str, int] = field(default_factory=dict)
    max_task_retries: int = 0
    retry_exceptions: Any = False
    max_pending_calls: int = -1
    name: Optional[str] = None
    namespace: Optional[str] = None


def method(*args: Any, **kwargs: Any) -> Any:
    """``@ray.method`` or ``@ray.method(num_returns=..., concurrency_group=..., ...)`` on an
    actor method: records per-method options on the function, which is returned as is."""

    def annotate(function: Callable) -> Callable:
        if "num_returns" in kwargs:
            is_generator = _options.is_generator_function(function)
            _options.validate_num_returns(is_generator, kwargs["num_returns"])
        options = dict(getattr(function, "__ray_method_options__", {}))
        options.update(kwargs)
        function.__ray_method_options__ = options  # type: ignore[attr-defined]
        return function

    if len(args) == 1 and callable(args[0]) and not kwargs:
        return annotate(args[0])
    assert not args, (
        "The @ray.method decorator must be applied using no arguments or at least one of the "
        f"arguments in the list {list(METHOD_OPTIONS)}, for example "
        "'@ray.method(num_returns=2)'."
    )
    for key in kwargs:
        assert key in METHOD_OPTIONS, (
            f"Unexpected keyword argument to @ray.method: '{key}'. The supported keyword "
            f"arguments are {list(METHOD_OPTIONS)}"
        )
    return annotate


def exit_actor() -> None:
    """Ends the actor this is called in, after the call (its caller sees the actor's death)."""
    runtime = _runtime.current()
    if runtime is None or runtime.current_actor is None:
        raise TypeError(
            "exit_actor API is called on a non-actor worker, WORKER_MODE. Call this API "
            "inside an actor methodsif you'd like to exit the actor gracefully."
        )
    raise exceptions.AsyncioActorExit() if runtime.current_actor.is_async else SystemExit(0)


def _parameters(member: Any, function: Any, drop_self: bool) -> Optional[tuple]:
    try:
        parameters = list(
            inspect.signature(member if not drop_self else function).parameters.values()
        )
    except (TypeError, ValueError):
        return None
    if drop_self and parameters:
        parameters = parameters[1:]
    return tuple((p.name, int(p.kind), p.default is not p.empty) for p in parameters)


def _method_table(cls: type) -> Dict[str, MethodInfo]:
    """Every method a handle can call: the class's own functions (private and dunder ones
    too, but not those every object has), static and class methods."""
    methods = {}
    for name, member in inspect.getmembers(cls):
        function = getattr(member, "__func__", member)
        if not inspect.isfunction(function) or name == "__init__":
            continue
        if getattr(object, name, None) is not None and name.startswith("__"):
            if getattr(cls, name) is getattr(object, name):
                continue
        raw = inspect.getattr_static(cls, name, None)
        drop_self = not isinstance(raw, (staticmethod, classmethod))
        options = getattr(function, "__ray_method_options__", {})
        is_generator = inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)
        num_returns = options.get("num_returns", "streaming" if is_generator else 1)
        methods[name] = MethodInfo(
            num_returns=num_returns,
            concurrency_group=options.get("concurrency_group"),
            max_task_retries=options.get("max_task_retries"),
            retry_exceptions=options.get("retry_exceptions"),
            is_async=inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function),
            is_generator=is_generator,
            parameters=_parameters(member, function, drop_self),
        )
    methods[TERMINATE_METHOD] = MethodInfo()
    return methods


class ActorID:
    """The id of an actor (``handle._actor_id``)."""

    __slots__ = ("_binary",)

    def __init__(self, binary: bytes) -> None:
        self._binary = binary

    def hex(self) -> str:
        return self._binary.hex()

    def binary(self) -> bytes:
        return self._binary

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorID) and other._binary == self._binary

    def __hash__(self) -> int:
        return hash(self._binary)

    def __repr__(self) -> str:
        return f"ActorID({self.hex()})"


class ActorClass:
    """A class made remote: create actors with ``.remote(...)``."""

    def __init__(self, cls: type, options: Dict[str, Any]) -> None:
        self._cls = cls
        self._default_options = options
        self.__ray_metadata__ = _ClassMetadata(cls.__name__)
        self.__name__ = cls.__name__
        self.__qualname__ = cls.__qualname__
        self.__module__ = cls.__module__
        self.__doc__ = cls.__doc__
        self._methods = _method_table(cls)
        self._export: Optional[Tuple[bytes, bytes]] = None
        self._init_signature = _constructor_signature(cls)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "Actors cannot be instantiated directly. "
            f"Instead of '{self._cls.__qualname__}()', use '{self._cls.__qualname__}.remote()'."
        )

    def remote(self, *args: Any, **kwargs: Any) -> ActorHandle:
        return self._create(args, kwargs, self._default_options)

    def options(self, **options: Any) -> _ActorClassOptions:
        merged = _options.merge_actor_options(self._default_options, options)
        return _ActorClassOptions(self, merged)

    def _remote(
        self, args: Optional[tuple] = None, kwargs: Optional[dict] = None, **options: Any
    ) -> ActorHandle:
        """Ray's older spelling: ``Cls._remote(args, kwargs, **options)``."""
        merged = _options.merge_actor_options(self._default_options, options)
        return self._create(tuple(args or ()), dict(kwargs or {}), merged)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported("Ray DAGs (.bind())")

    def _exported(self) -> Tuple[bytes, bytes]:
        """(class id, pickled class): pickled once per definition."""
        if self._export is None:
            pickled = _serialization.dumps_function(self._cls)
            digest = hashlib.blake2b(pickled, digest_size=_native.FUNCTION_ID_SIZE).digest()
            self._export = (digest, pickled)
        return self._export

    def _descriptor(self, options: Dict[str, Any], function_id: bytes, namespace: str):
        is_async = any(info.is_async for info in self._methods.values())
        max_concurrency = options.get("max_concurrency")
        if max_concurrency is None:
            max_concurrency = ASYNC_DEFAULT_MAX_CONCURRENCY if is_async else 1
        groups = options.get("concurrency_groups") or {}
        if isinstance(groups, list):
            raise Unsupported("concurrency_groups given as a list")
        for method_name, info in self._methods.items():
            group = info.concurrency_group
            assert group is None or group in groups, (
                f"The method {method_name} of {self._cls.__qualname__} uses the concurrency "
                f"group {group!r}, which is not in its concurrency_groups {list(groups)}."
            )
        name = options.get("name")
        return ActorDescriptor(
            class_name=self._cls.__qualname__,
            short_name=self._cls.__name__,
            module=self._cls.__module__,
            function_id=function_id,
            methods=self._methods,
            is_async=is_async,
            max_concurrency=max_concurrency,
            concurrency_groups=dict(groups),
            max_task_retries=options.get("max_task_retries") or 0,
            retry_exceptions=options.get("retry_exceptions", False),
            max_pending_calls=options.get("max_pending_calls", -1),
            name=name,
            namespace=(options.get("namespace") or namespace) if name else None,
        )

    def _create(self, args: tuple, kwargs: dict, options: Dict[str, Any]) -> ActorHandle:
        runtime = ensure_runtime()
        _options.warn_deprecated_placement_options(options, stacklevel=4)
        unsupported = _options.unsupported_task_features(
            {k: v for k, v in options.items() if k != "max_concurrency"}, runtime.native.node_id
        )
        if unsupported:
            raise Unsupported(f"the actor option {unsupported[0]}")
        if self._init_signature is not None:
            self._init_signature.bind(*args, **kwargs)
        function_id, pickled = self._exported()
        runtime.ensure_function(function_id, pickled)
        descriptor = self._descriptor(options, function_id, runtime.namespace)
        placement, running = _options.actor_resource_request(options)
        task = runtime.current_task
        parent = task.placement if task is not None else None
        given = _options.resources_as_given(options, None)
        check_bundle_shape(options, given, placement, self._cls.__qualname__)
        bundle = placement_of(options, parent)
        if bundle is not None:
            placement, running = bundle.rename(placement), bundle.rename(running)
        # The actor holds `running` from its constructor on; `placement` only has to exist on
        # the node (a default actor needs a node with a CPU but takes none).
        template = _native.TaskTemplate(
            function_id=function_id,
            name=self._cls.__name__,
            num_returns=0,
            resources=running,
            max_retries=0,
            retry_exceptions=False,
            retry_allowlist=b"",
            max_calls=0,
            env_vars=dict((options.get("runtime_env") or {}).get("env_vars") or {}),
            placement_group=bundle.group_id if bundle is not None else None,
            capture_child_tasks=bundle is not None and bundle.capture_child_tasks,
        )
        data, nested, ref_args = _serialization.pack_args(args, kwargs)
        name = options.get("name")
        if name == "":
            raise ValueError("Actor name cannot be an empty string.")
        if options.get("namespace") == "":
            raise ValueError('"" is not a valid namespace. Pass None to not specify a namespace.')
        namespace = options.get("namespace") or runtime.namespace
        max_restarts = options.get("max_restarts") or 0
        try:
            actor_id, ref, existing = runtime.native.create_actor(
                template,
                data,
                nested,
                ref_args,
                class_name=self._cls.__qualname__,
                running=running,
                placement=placement,
                max_restarts=max_restarts,
                namespace=namespace,
                name=name,
                detached=options.get("lifetime") == "detached",
                max_pending_calls=descriptor.max_pending_calls,
                descriptor=pickle.dumps(descriptor),
                get_if_exists=bool(options.get("get_if_exists")),
            )
        except _native.ActorNameTakenError:
            given = options.get("namespace")  # Ray names the namespace as it was given
            raise exceptions.ActorAlreadyExistsError(
                f"The name {name} (namespace={given}) is already taken. Please use a "
                "different name or get the existing actor using "
                f"ray.get_actor('{name}', namespace='{given}')"
            ) from None
        if existing is not None:
            descriptor = pickle.loads(existing)
        return ActorHandle(actor_id, ref, descriptor)


def _constructor_signature(cls: type) -> Optional[inspect.Signature]:
    """What ``Cls.remote(...)`` binds to: ``__init__`` without self (nothing at all for a
    class that does not define one)."""
    if cls.__init__ is object.__init__:
        return inspect.Signature([])
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())
    except (TypeError, ValueError):
        return None
    return inspect.Signature(parameters[1:])


class _ClassMetadata:
    __slots__ = ("class_name",)

    def __init__(self, class_name: str) -> None:
        self.class_name = class_name


class _ActorClassOptions:
    """What ``ActorClass.options(...)`` returns."""

    def __init__(self, actor_class: ActorClass, options: Dict[str, Any]) -> None:
        self._actor_class = actor_class
        self._options = options

    def remote(self, *args: Any, **kwargs: Any) -> ActorHandle:
        return self._actor_class._create(args, kwargs, self._options)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported("Ray DAGs (.bind())")


def _rebuild_handle(actor_id: bytes, ref: _native.ObjectRef, descriptor: bytes) -> ActorHandle:
    return ActorHandle(actor_id, ref, pickle.loads(descriptor))


class ActorHandle:
    """A handle to an actor: call its methods with ``handle.method.remote(...)``."""

    def __init__(
        self, actor_id: bytes, ref: _native.ObjectRef, descriptor: ActorDescriptor
    ) -> None:
        self.__dict__["_actor_id_bytes"] = actor_id
        self.__dict__["_ref"] = ref
        self.__dict__["_descriptor"] = descriptor
        # Templates per method name; the methods themselves are made on each access, so
        # that a handle and its methods never form a cycle (which would keep a dropped
        # handle, and so its actor, alive until the garbage collector runs).
        self.__dict__["_templates"] = {}

    @property
    def _actor_id(self) -> ActorID:
        return ActorID(self._actor_id_bytes)

    def __getattr__(self, name: str) -> ActorMethod:
        info = self.__dict__["_descriptor"].methods.get(name)
        if info is None:
            raise AttributeError(f"'ActorHandle' object has no attribute '{name}'")
        return ActorMethod(self, name, info)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorHandle) and other._actor_id_bytes == self._actor_id_bytes

    def __hash__(self) -> int:
        return hash(self._actor_id_bytes)

    def __repr__(self) -> str:
        return f"Actor({self._descriptor.class_name}, {self._actor_id_bytes.hex()})"

    def __reduce__(self) -> tuple:
        return (_rebuild_handle, (self._actor_id_bytes, self._ref, pickle.dumps(self._descriptor)))


class ActorMethod:
    """One method of an actor, through a handle."""

    def __init__(
        self,
        handle: ActorHandle,
        name: str,
        info: MethodInfo,
        overrides: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._handle = handle
        self._name = name
        self._info = info
        self._overrides = overrides or {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "Actor methods cannot be called directly. Instead "
            f"of running 'object.{self._name}()', try 'object.{self._name}.remote()'."
        )

    def options(self, **options: Any) -> ActorMethod:
        # Unknown options surface when the call is made, as in Ray.
        if "num_returns" in options:
            _options.validate_num_returns(self._info.is_generator, options["num_returns"])
        return ActorMethod(self._handle, self._name, self._info, {**self._overrides, **options})

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        for key in self._overrides:
            if key not in (*METHOD_OPTIONS, "name"):
                raise TypeError(f"ActorMethod._remote() got an unexpected keyword argument '{key}'")
        return self._submit(args, kwargs)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported("Ray DAGs (.bind())")

    def _option(self, key: str) -> Any:
        if key in self._overrides:
            return self._overrides[key]
        return getattr(self._info, key)

    def _num_returns(self) -> Any:
        return self._option("num_returns")

    def _build_template(self, runtime: _runtime.Runtime) -> _native.TaskTemplate:
        descriptor: ActorDescriptor = self._handle._descriptor
        num_returns = self._num_returns()
        if num_returns == "dynamic":
            raise Unsupported("num_returns='dynamic' (use num_returns='streaming')")
        retries = self._option("max_task_retries")
        if retries is None:
            retries = descriptor.max_task_retries
        retry = self._option("retry_exceptions")
        if retry is None:
            retry = descriptor.retry_exceptions
        allowlist = b""
        if isinstance(retry, (list, tuple)):
            allowlist = _serialization.dumps_function(tuple(retry))
        return _native.TaskTemplate(
            function_id=descriptor.function_id,
            name=self._overrides.get("name") or f"{descriptor.short_name}.{self._name}",
            num_returns=1 if num_returns == "streaming" else num_returns,
            resources={},
            max_retries=retries,
            retry_exceptions=bool(retry),
            retry_allowlist=allowlist,
            max_calls=0,
            env_vars={},
            streaming=num_returns == "streaming",
            backpressure=_options.generator_backpressure(self._overrides),
        )

    def _submit(self, args: tuple, kwargs: dict) -> Any:
        runtime = ensure_runtime()
        # Calls without .options() reuse the handle's template for the method.
        templates = self._handle._templates
        cached = None if self._overrides else templates.get(self._name)
        if cached is None or cached[0] is not runtime:
            cached = (runtime, self._build_template(runtime))
            if not self._overrides:
                templates[self._name] = cached
        template = cached[1]
        descriptor: ActorDescriptor = self._handle._descriptor
        signature = self._info.signature()
        if signature is not None:
            signature.bind(*args, **kwargs)
        data, nested, ref_args = _serialization.pack_args(args, kwargs)
        try:
            refs = runtime.native.submit(
                template,
                data,
                nested,
                ref_args,
                actor_id=self._handle._actor_id_bytes,
                method=self._name,
                concurrency_group=self._option("concurrency_group"),
                confirm=descriptor.max_pending_calls >= 0,
                parent=runtime.parent_task(),
            )
        except _native.PendingCallsLimitError:
            raise exceptions.PendingCallsLimitExceeded(
                f"The task {self._name} could not be submitted to "
                f"{self._handle!r} because more than "
                f"{descriptor.max_pending_calls} tasks are queued on the actor. This limit "
                "can be adjusted with the `max_pending_calls` actor option."
            ) from None
        if template.streaming:
            return ObjectRefGenerator(refs[0])
        num_returns = template.num_returns
        if num_returns == 1:
            return refs[0]
        if num_returns == 0:
            return None
        return refs


def make_actor_class(cls: type, options: Dict[str, Any]) -> ActorClass:
    return ActorClass(cls, options)


__all__: List[str] = [
    "ActorClass",
    "ActorHandle",
    "ActorID",
    "ActorMethod",
    "exit_actor",
    "method",
]
