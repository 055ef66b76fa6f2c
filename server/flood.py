"""Flood control: a token bucket per client, with an injected clock.

A client may send ``burst`` lines at once and then ``rate`` lines a second. Lines
beyond that are not refused but delayed ("fake lag"): the client's reader waits
before handling them, so TCP pushes back on the sender and nobody else notices.
A client whose backlog passes ``excess`` lines is dropped with ``Excess Flood``.
"""

from __future__ import annotations

from collections.abc import Callable


class TokenBucket:
    """Lines allowed now, refilled at ``rate`` per second up to ``burst``."""

    __slots__ = ("_clock", "_stamp", "_tokens", "burst", "excess", "rate")

    def __init__(self, rate: float, burst: int, excess: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self.excess = excess
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def take(self) -> float | None:
        """Spend one line. Returns how long to wait before handling it (0.0 for
        at once), or ``None`` when the backlog has passed the excess limit."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1
        if self._tokens >= 0:
            return 0.0
        if -self._tokens > self.excess:
            return None
        return -self._tokens / self.rate
