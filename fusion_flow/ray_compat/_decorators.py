"""``@remote``: makes a function remote, or a class an actor class."""

from __future__ import annotations

from typing import Any

from fusion_flow.ray_compat import _options
from fusion_flow.ray_compat.actor import ActorClass
from fusion_flow.ray_compat.remote_function import RemoteFunction


def _make_remote(target: Any, options: dict) -> Any:
    if _options.remote_target_kind(target, options) == "class":
        return ActorClass(target, options)
    return RemoteFunction(target, options)


def remote(*args: Any, **kwargs: Any) -> Any:
    """``@remote``, ``@remote(num_cpus=..., ...)``, or ``remote(function_or_class)``."""
    parsed = _options.parse_remote_decorator(args, kwargs)
    if parsed[0] == "apply":
        return _make_remote(parsed[1], parsed[2])
    options = parsed[1]
    return lambda target: _make_remote(target, options)
