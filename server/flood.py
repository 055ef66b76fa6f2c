"""Flood control: a token bucket per client, with an injected clock.

A client may send ``burst`` tokens' worth of lines at once and then ``rate`` tokens a
second. A chat line costs one token; a command whose replies are lists costs more,
and its replies can cost more still once their size is known (see
``server.commands.table``). Lines beyond that are not refused but delayed ("fake
lag"): the client's reader waits before handling them, so TCP pushes back on the
sender and nobody else notices. A client whose debt passes ``excess`` tokens is
dropped with ``Excess Flood``.
"""

from __future__ import annotations

from collections.abc import Callable


class TokenBucket:
    """Tokens available now, refilled at ``rate`` per second up to ``burst``."""

    __slots__ = ("_clock", "_stamp", "_tokens", "burst", "excess", "rate")

    def __init__(self, rate: float, burst: int, excess: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self.excess = excess
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self, cost: float = 1.0) -> float | None:
        """Spend ``cost`` tokens on one line. Returns how long to wait before handling
        it (0.0 for at once), or ``None`` when the debt has passed the excess limit."""
        if not self.charge(cost):
            return None
        return self.wait()

    def charge(self, cost: float) -> bool:
        """Spend ``cost`` tokens now: lines just read, or what a command's replies cost
        once it has run. False when the debt has passed the excess limit."""
        self._refill()
        self._tokens -= cost
        return -self._tokens <= self.excess

    def wait(self, queued: float = 0.0) -> float:
        """How long until a line already charged may be handled, when lines worth
        ``queued`` tokens were charged after it (they are still waiting behind it)."""
        self._refill()
        debt = -(self._tokens + queued)
        return debt / self.rate if debt > 0 else 0.0
