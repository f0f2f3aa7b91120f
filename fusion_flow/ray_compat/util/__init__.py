"""``ray.util``: utilities around the core API."""

from fusion_flow.ray_compat.util import scheduling_strategies

__all__ = ["scheduling_strategies"]
