"""File descriptors: fit the client limit to what the process may open, and keep a spare.

Every client costs a socket; the process also needs descriptors of its own (listening
sockets, the flusher's selector and pipe, the history database, log files, the window's
display connection). When the process is out of descriptors, ``accept()`` fails with
EMFILE while the listening socket stays readable, so a select loop would spin; the spare
descriptor is closed to accept the newcomer, tell it why with ERROR and let it go.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

log = logging.getLogger("server")

#: Descriptors one client costs (its socket).
PER_CLIENT = 1
#: Descriptors kept for the server itself, beside its clients.
RESERVE = 64


def raise_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one; return the limit now in force (0: none)."""
    if resource is None:
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return 0 if soft == resource.RLIM_INFINITY else soft


def fit_clients(max_clients: int, limit: int) -> int:
    """``max_clients`` lowered (0 meaning no limit) so the clients fit in ``limit`` descriptors."""
    if limit <= 0:
        return max_clients
    room = max(1, (limit - RESERVE) // PER_CLIENT)
    if max_clients and max_clients <= room:
        return max_clients
    wanted = str(max_clients) if max_clients else "no limit"
    log.warning(
        "only %d file descriptors may be open: max-clients lowered from %s to %d "
        "(raise the limit with ulimit -n to serve more)",
        limit,
        wanted,
        room,
    )
    return room


class Spare:
    """One descriptor held back, given up for a moment when the process runs out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._closed = False
        self._open()

    def _open(self) -> None:
        try:
            self._fd = os.open(os.devnull, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            self._fd = None

    def lend(self, action: Callable[[], object]) -> bool:
        """Run ``action`` with the spare descriptor closed, then take it back.

        False when there was no spare to give (it could not be reopened last time).
        """
        with self._lock:
            if self._closed:
                return False
            if self._fd is None:
                self._open()  # perhaps descriptors were freed meanwhile
                return False
            os.close(self._fd)
            self._fd = None
            try:
                action()
            finally:
                self._open()
            return True

    def close(self) -> None:
        """Give the descriptor back for good."""
        with self._lock:
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
