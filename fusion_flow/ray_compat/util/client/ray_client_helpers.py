"""``ray.util.client.ray_client_helpers``: a client server and a client connected to it in
one process, as Ray's tests and its microbenchmark's client section use them.

The server starts the driver it serves through ``ray_connect_handler`` (by default
``ray.init()``), the client attaches to that driver's node over the node's socket, and when
the client leaves (at the end of the block, or by ``ray.shutdown()`` in client mode), the
server shuts its driver down, as Ray's does once its last client is gone.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from fusion_flow import _runtime
from fusion_flow.ray_compat._unsupported import Unsupported
from fusion_flow.ray_compat.util.client import RayAPIStub, ray


class ClientServer:
    """The server side of the pair: the driver it started, which it shuts down on stop."""

    def __init__(self, connect_handler: Callable[..., Any]) -> None:
        self._connect_handler = connect_handler
        self.stopped = False

    def start_driver(self, ray_init_kwargs: Dict[str, Any]) -> None:
        with _runtime.client_hook_disabled():
            self._connect_handler(job_config=None, **ray_init_kwargs)

    def stop(self, grace: Optional[float] = None) -> None:
        """Ends the served driver (idempotent); ``grace`` is accepted as gRPC's is."""
        if self.stopped:
            return
        self.stopped = True
        with _runtime.client_hook_disabled():
            import fusion_flow.ray_compat as real_ray

            real_ray.shutdown()


def _default_connect_handler(job_config: Any = None, **ray_init_kwargs: Any) -> None:
    import fusion_flow.ray_compat as real_ray

    if not real_ray.is_initialized():
        real_ray.init(**ray_init_kwargs)


@contextlib.contextmanager
def ray_start_client_server_pair(
    metadata: Any = None,
    ray_connect_handler: Optional[Callable[..., Any]] = None,
    **kwargs: Any,
) -> Iterator[Tuple[RayAPIStub, ClientServer]]:
    """Starts a client server's driver and connects a client to it; yields (client API,
    server). On leaving, the client disconnects and the server's driver shuts down."""
    if metadata:
        raise Unsupported("Ray Client connection metadata (gRPC headers)")
    ray_init_kwargs = dict(kwargs.pop("ray_init_kwargs", None) or {})
    if "namespace" in kwargs:
        ray_init_kwargs["namespace"] = kwargs.pop("namespace")
    if kwargs:
        raise TypeError(
            f"ray_start_client_server() got unexpected keyword arguments: {sorted(kwargs)}"
        )
    with _runtime.client_hook_disabled():
        if _runtime.current() is not None:
            raise RuntimeError(
                "ray_start_client_server() starts its own driver: call ray.shutdown() first"
            )
    server = ClientServer(ray_connect_handler or _default_connect_handler)
    server.start_driver(ray_init_kwargs)
    try:
        _runtime.attach_driver(on_detach=server.stop)
    except BaseException:
        server.stop()
        raise
    try:
        yield ray, server
    finally:
        ray.disconnect()
        server.stop()


@contextlib.contextmanager
def ray_start_client_server(
    metadata: Any = None,
    ray_connect_handler: Optional[Callable[..., Any]] = None,
    **kwargs: Any,
) -> Iterator[RayAPIStub]:
    """Like ``ray_start_client_server_pair``, yielding only the client API."""
    with ray_start_client_server_pair(metadata, ray_connect_handler, **kwargs) as pair:
        yield pair[0]


__all__ = ["ClientServer", "ray_start_client_server", "ray_start_client_server_pair"]
