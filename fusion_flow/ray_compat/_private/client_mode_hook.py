"""``ray._private.client_mode_hook``: while a Ray Client connection is attached, the whole
``ray`` API goes through it; ``disable_client_hook()`` reaches the process's own session
instead (what a client server does to start the driver it serves)."""

from __future__ import annotations

from fusion_flow._runtime import client_hook_disabled as disable_client_hook

__all__ = ["disable_client_hook"]
