"""A clock for servers under test: it moves only when someone sleeps on it or the test
moves it, so timeouts, fake lag and penalties are tested without waiting."""

from __future__ import annotations

import threading


class FakeTime:
    """``clock`` and ``sleep`` for :class:`server.server.ChatServer`."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        """The current fake time."""
        return self.now

    def sleep(self, seconds: float, event: threading.Event) -> None:
        """Record the wait and move the clock past it at once."""
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds
