"""``@remote``: turns a function into a remote function (classes become actors later)."""

from __future__ import annotations

from typing import Any

from fusion_flow.ray_compat import _options
from fusion_flow.ray_compat._unsupported import Unsupported
from fusion_flow.ray_compat.remote_function import RemoteFunction


def _make_remote(target: Any, options: dict) -> Any:
    kind = _options.remote_target_kind(target, options)
    if kind == "class":
        raise Unsupported("actors (@remote on a class)", "actors arrive in a later release")
    return RemoteFunction(target, options)


def remote(*args: Any, **kwargs: Any) -> Any:
    """``@remote``, ``@remote(num_cpus=..., ...)``, or ``remote(function)``."""
    parsed = _options.parse_remote_decorator(args, kwargs)
    if parsed[0] == "apply":
        return _make_remote(parsed[1], parsed[2])
    options = parsed[1]
    return lambda target: _make_remote(target, options)
