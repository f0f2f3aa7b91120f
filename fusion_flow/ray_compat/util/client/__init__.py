"""``ray.util.client``: the Ray Client, a driver whose calls travel over a connection to a
node instead of running in the node's own process.

fusion-flow's client connection is a driver attached to a node over the node's socket, the
way workers reach it: objects it puts and tasks it submits are its own, and the node
releases them when it disconnects. It is made by ``ray_client_helpers`` for a node running
in this process; connecting to a client server at a network address (``ray://host:port``,
``ray.util.connect``) comes with the cluster transport.
"""

from __future__ import annotations

import importlib
from typing import Any

from fusion_flow import _runtime
from fusion_flow.ray_compat._unsupported import Unsupported

# What ``connect`` refuses with, until the cluster transport exists.
_NETWORK_CLIENT = "Ray Client connections to a server address (ray://host:port, ray.util.connect)"


class RayAPIStub:
    """``ray.util.client.ray``: the ``ray`` API as seen through the client connection. While
    connected, its attributes are the ``ray`` module's, whose calls then all go through the
    connection (as in Ray's client mode)."""

    def connect(self, conn_str: str, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported(
            _NETWORK_CLIENT,
            "ray.util.client.ray_client_helpers.ray_start_client_server() attaches a client "
            "to a node running in this process",
        )

    def disconnect(self) -> None:
        """Ends the connection; the node releases everything the client held."""
        _runtime.detach_driver()

    def is_connected(self) -> bool:
        return _runtime.is_attached()

    def __reduce__(self) -> Any:
        # Code shipped to workers runs there on the API itself, as in Ray, where the stub
        # unpickles as the ``ray`` module on the server side.
        return (importlib.import_module, ("fusion_flow.ray_compat",))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if not _runtime.is_attached():
            raise RuntimeError(f"ray.util.client.ray.{name}: the Ray Client is not connected")
        import fusion_flow.ray_compat as ray

        return getattr(ray, name)


ray = RayAPIStub()


def connect(conn_str: str, *args: Any, **kwargs: Any) -> Any:
    """``ray.util.connect``: a client connection to a server address (not yet)."""
    return ray.connect(conn_str, *args, **kwargs)


def disconnect() -> None:
    """``ray.util.disconnect``: ends the client connection, if any."""
    ray.disconnect()


__all__ = ["RayAPIStub", "connect", "disconnect", "ray"]
