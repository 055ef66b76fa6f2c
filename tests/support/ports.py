"""A free TCP port for a process that must be told its port before it listens.

A port the kernel hands out for ``bind(0)`` comes from the ephemeral range, the same
range every outgoing connection's local port comes from: between the probe and the
real ``bind``, one of the suite's thousands of client sockets can take it ("already in
use"). Ports below that range are handed out only when asked for by number, so a port
picked there and found free stays free unless another test picks the same number.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: The lowest port picked: above the well-known and most registered services' ports.
_LOWEST = 10000


def _ephemeral_start() -> int:
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def unused_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now at ``host``, outside the ephemeral range
    where the kernel can give it to a client socket meanwhile."""
    top = _ephemeral_start()
    if top - _LOWEST < 1000:  # a range that starts low: take the kernel's pick
        with socket.socket() as probe:
            probe.bind((host, 0))
            return int(probe.getsockname()[1])
    for _ in range(200):
        port = random.randrange(_LOWEST, top)
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port found between {_LOWEST} and {top}")
