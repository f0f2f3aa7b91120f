"""``ray.util.joblib``: a joblib backend on fusion-flow. ``register_ray()``, then
``with joblib.parallel_backend("ray"): ...`` runs joblib's Parallel calls on a
``ray.util.multiprocessing.Pool``."""


def register_ray() -> None:
    """Registers the backend as "ray" with joblib."""
    try:
        from joblib.parallel import register_parallel_backend
    except ImportError:
        raise ImportError(
            "To use the ray backend you must install joblib: pip install joblib"
        ) from None
    from fusion_flow.ray_compat.util.joblib.ray_backend import RayBackend

    register_parallel_backend("ray", RayBackend)


__all__ = ["register_ray"]
