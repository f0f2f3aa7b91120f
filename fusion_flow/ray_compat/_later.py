"""Ray calls that fusion-flow does not have yet: each fails with an error naming it."""

from __future__ import annotations

from typing import Any, NoReturn

from fusion_flow.ray_compat._unsupported import Unsupported


def cancel(*args: Any, **kwargs: Any) -> NoReturn:
    raise Unsupported("ray.cancel")
