"""This machine's address as the cluster sees it."""

from __future__ import annotations

import functools
import socket


@functools.cache
def node_ip_address() -> str:
    """The address of the interface that routes outward, else loopback. Nothing is sent:
    connecting a UDP socket only asks the kernel which interface it would use."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("8.8.8.8", 80))
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
