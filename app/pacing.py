"""Client-side flood pacing: a token bucket that keeps the app under the server's limits.

Kibitz (like most servers) lets a client send a burst of lines and then a few a second;
a client that goes on faster is delayed and finally dropped with ``Excess Flood``. irssi
and HexChat pace what they send for that reason, and so does the app: every line costs a
token, a user's lines wait for one, and the server's own bucket never runs dry.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: The server's defaults are a burst of 20 and 5 lines a second (``server/flood.py``);
#: these keep a margin for the PONGs and JOINs the session sends beside a paste.
PACE_BURST = 10
PACE_RATE = 4.0


class Pacer:
    """Tokens available now, refilled at ``rate`` a second up to ``burst``."""

    def __init__(
        self,
        rate: float = PACE_RATE,
        burst: int = PACE_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("the pacing rate must be positive and the burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self, lines: int = 1) -> float:
        """Seconds until ``lines`` more may go (0.0: now). Lines sent as one unit (a
        multi-line message) wait for a full bucket at most: more than a burst goes
        into debt, which holds back whatever follows until it is paid."""
        self._refill()
        needed = float(min(lines, self.burst))
        return 0.0 if self._tokens >= needed else (needed - self._tokens) / self.rate

    def spend(self, lines: int = 1) -> None:
        """Count ``lines`` as sent (lines that could not wait, such as a PONG, go into debt)."""
        self._refill()
        self._tokens -= lines
