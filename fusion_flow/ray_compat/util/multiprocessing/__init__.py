"""``ray.util.multiprocessing``: the standard library's ``multiprocessing.Pool`` interface
with actors as the pool's processes."""

from multiprocessing import JoinableQueue, TimeoutError

from fusion_flow.ray_compat.util.multiprocessing.pool import Pool

__all__ = ["JoinableQueue", "Pool", "TimeoutError"]
