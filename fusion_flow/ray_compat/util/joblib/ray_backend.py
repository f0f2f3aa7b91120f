"""The joblib backend: joblib's pool-based backend machinery over a fusion-flow Pool."""

from __future__ import annotations

from typing import Any, Dict, Optional

from joblib._parallel_backends import AutoBatchingMixin, ParallelBackendBase, PoolManagerMixin

from fusion_flow.ray_compat.util.multiprocessing import Pool


class RayBackend(PoolManagerMixin, AutoBatchingMixin, ParallelBackendBase):
    """Runs joblib's batches as calls on the actors of a ``Pool`` (one actor per job)."""

    supports_retrieve_callback = True
    supports_return_generator = False

    def __init__(
        self,
        nesting_level: Optional[int] = None,
        inner_max_num_threads: Optional[int] = None,
        ray_remote_args: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        self.ray_remote_args = ray_remote_args
        super().__init__(
            nesting_level=nesting_level, inner_max_num_threads=inner_max_num_threads, **kwargs
        )

    def effective_n_jobs(self, n_jobs: int) -> int:
        """``-1`` (or any negative count) counts back from the node's CPUs, as joblib does."""
        import fusion_flow.ray_compat as ray

        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        if n_jobs is None:
            return 1
        if n_jobs < 0:
            if not ray.is_initialized():
                ray.init()
            cpus = int(ray.cluster_resources().get("CPU", 1))
            return max(cpus + 1 + n_jobs, 1)
        return n_jobs

    def configure(
        self,
        n_jobs: int = 1,
        parallel: Any = None,
        prefer: Optional[str] = None,
        require: Optional[str] = None,
        ray_remote_args: Optional[Dict[str, Any]] = None,
        **pool_args: Any,
    ) -> int:
        n_jobs = self.effective_n_jobs(n_jobs)
        self.parallel = parallel
        self._pool = Pool(n_jobs, ray_remote_args=ray_remote_args or self.ray_remote_args)
        return n_jobs
