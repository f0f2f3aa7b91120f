"""Remote functions: ``@remote`` on a function, ``.remote()``, ``.options()``."""

from __future__ import annotations

import hashlib
import inspect
from typing import Any, Callable, Dict, Optional, Tuple

from fusion_flow import _native, _runtime, _serialization
from fusion_flow._placement import Placement, placement_of
from fusion_flow.ray_compat import _options
from fusion_flow.ray_compat._unsupported import Unsupported
from fusion_flow.ray_compat.object_ref_generator import ObjectRefGenerator
from fusion_flow.ray_compat.session import ensure_runtime
from fusion_flow.ray_compat.util.placement_group import check_bundle_shape

DEFAULT_MAX_RETRIES = 3


class _Submitter:
    """One set of options, checked, and the native task template built from it (per session:
    a new ``init`` gets a new template)."""

    def __init__(self, owner: RemoteFunction, options: Dict[str, Any]) -> None:
        self.owner = owner
        self.options = options
        self.num_returns = options.get("num_returns")
        if self.num_returns is None:
            self.num_returns = "streaming" if owner._is_generator else 1
        self.streaming = self.num_returns == "streaming"
        self._checked = False
        # Per placement, for the current session (a task capturing its children into a
        # placement group gives the same options another bundle).
        self._templates: Dict[Optional[Placement], _native.TaskTemplate] = {}
        self._runtime: Optional[_runtime.Runtime] = None

    def template(self, runtime: _runtime.Runtime) -> _native.TaskTemplate:
        task = runtime.current_task
        parent = task.placement if task is not None else None
        placement = placement_of(self.options, parent)
        if self._runtime is not runtime:
            self._templates.clear()
            self._runtime = runtime
        cached = self._templates.get(placement)
        if cached is not None:
            return cached
        if not self._checked:
            self._check(runtime)
        function_id, pickled = self.owner._exported()
        runtime.ensure_function(function_id, pickled)
        options = self.options
        retry = options.get("retry_exceptions", False)
        allowlist = b""
        if isinstance(retry, (list, tuple)):
            allowlist = _serialization.dumps_function(tuple(retry))
        max_retries = options.get("max_retries")
        resources = _options.task_resource_request(options)
        name = self.owner._function.__qualname__
        check_bundle_shape(options, _options.resources_as_given(options, 1), {}, name)
        template = _native.TaskTemplate(
            function_id=function_id,
            name=options.get("name") or self.owner._name,
            num_returns=1 if self.streaming else self.num_returns,
            resources=placement.rename(resources) if placement is not None else resources,
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
            retry_exceptions=bool(retry),
            retry_allowlist=allowlist,
            max_calls=self.owner._max_calls,
            env_vars=dict((options.get("runtime_env") or {}).get("env_vars") or {}),
            streaming=self.streaming,
            backpressure=_options.generator_backpressure(options),
            placement_group=placement.group_id if placement is not None else None,
            capture_child_tasks=placement is not None and placement.capture_child_tasks,
        )
        self._templates[placement] = template
        return template

    def _check(self, runtime: _runtime.Runtime) -> None:
        _options.validate_submit_options(self.options)
        unsupported = _options.unsupported_task_features(self.options, runtime.native.node_id)
        if unsupported:
            raise Unsupported(f"the task option {unsupported[0]}")
        self._checked = True

    def submit(self, args: tuple, kwargs: dict) -> Any:
        runtime = ensure_runtime()
        template = self.template(runtime)
        self.owner._check_arguments(args, kwargs)
        try:
            data, nested, ref_args = _serialization.pack_args(args, kwargs)
        except Exception as error:
            raise self.owner._serialization_error(args, kwargs, error) from error
        refs = runtime.native.submit(template, data, nested, ref_args, parent=runtime.parent_task())
        if self.streaming:
            return ObjectRefGenerator(refs[0])
        if self.num_returns == 1:
            return refs[0]
        if self.num_returns == 0:
            return None
        return refs


class _OptionsView:
    """What ``.options(...)`` returns: the function with other options for its calls."""

    def __init__(self, submitter: _Submitter) -> None:
        self._submitter = submitter

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return self._submitter.submit(args, kwargs)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported("Ray DAGs (.bind())")


class RemoteFunction:
    """A function made remote: call it with ``.remote(...)``."""

    def __init__(self, function: Callable, options: Dict[str, Any]) -> None:
        self._function = function
        self._name = function.__name__
        self._qualified = f"{function.__module__}.{function.__qualname__}"
        self._is_generator = _options.is_generator_function(function)
        self._default_options = options
        self._max_calls = _options.default_max_calls(options)
        self._param_count, self._signature = _call_shape(function)
        self._export: Optional[Tuple[bytes, bytes]] = None
        self._default = _Submitter(self, options)
        self.__doc__ = function.__doc__
        self.__name__ = function.__name__
        self.__qualname__ = function.__qualname__
        self.__module__ = function.__module__
        self.__wrapped__ = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "Remote functions cannot be called directly. Instead "
            f"of running '{self._qualified}()', "
            f"try '{self._qualified}.remote()'."
        )

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return self._default.submit(args, kwargs)

    def options(self, **options: Any) -> _OptionsView:
        merged = _options.merge_task_options(self._default_options, options, self._is_generator)
        return _OptionsView(_Submitter(self, merged))

    def _remote(
        self, args: Optional[tuple] = None, kwargs: Optional[dict] = None, **options: Any
    ) -> Any:
        """Ray's older spelling: ``f._remote(args, kwargs, **options)``."""
        view = self.options(**options) if options else None
        submitter = view._submitter if view is not None else self._default
        return submitter.submit(tuple(args or ()), dict(kwargs or {}))

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported("Ray DAGs (.bind())")

    def __reduce__(self) -> tuple:
        # A task that calls this function pickles it; its caches (the session's template
        # among them) stay here, and the copy builds its own in the process that uses it.
        return (RemoteFunction, (self._function, self._default_options))

    def _exported(self) -> Tuple[bytes, bytes]:
        """(function id, pickled function): pickled once per definition."""
        if self._export is None:
            pickled = _serialization.dumps_function(self._function)
            digest = hashlib.blake2b(pickled, digest_size=_native.FUNCTION_ID_SIZE).digest()
            self._export = (digest, pickled)
        return self._export

    def _serialization_error(self, args: tuple, kwargs: dict, error: Exception) -> TypeError:
        """Ray's error for an argument that cannot be pickled, naming that argument."""
        culprit: Any = error
        for value in (*args, *kwargs.values()):
            try:
                _serialization.dumps(value)
            except Exception as failure:
                culprit, error = value, failure
                break
        return TypeError(
            f"Could not serialize the argument {culprit!r} for a task or actor "
            f"{self._qualified}:\n{type(error).__name__}: {error}"
        )

    def _check_arguments(self, args: tuple, kwargs: dict) -> None:
        """Binds the call's arguments to the signature, raising TypeError as a direct call
        would, before anything is submitted."""
        if not kwargs and len(args) == self._param_count:
            return
        if self._signature is not None:
            self._signature.bind(*args, **kwargs)


def _call_shape(function: Callable) -> Tuple[Optional[int], Optional[inspect.Signature]]:
    """(parameter count when every parameter is a plain required positional one, so most
    calls are checked by counting; the signature, or None when it cannot be read)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None, None
    plain = inspect.Parameter.POSITIONAL_OR_KEYWORD
    if all(p.kind is plain and p.default is p.empty for p in signature.parameters.values()):
        return len(signature.parameters), signature
    return None, signature
