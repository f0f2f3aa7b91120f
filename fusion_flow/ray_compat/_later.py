"""Ray calls that fusion-flow does not have yet: each fails with an error naming it."""

from __future__ import annotations

from typing import Any, NoReturn

from fusion_flow.ray_compat._unsupported import Unsupported


def cancel(*args: Any, **kwargs: Any) -> NoReturn:
    raise Unsupported("ray.cancel")


def kill(*args: Any, **kwargs: Any) -> NoReturn:
    raise Unsupported("ray.kill (actors)")


def get_actor(*args: Any, **kwargs: Any) -> NoReturn:
    raise Unsupported("ray.get_actor (actors)")


def method(*args: Any, **kwargs: Any) -> NoReturn:
    raise Unsupported("ray.method (actors)")
