"""Per-address bookkeeping for hostile clients: a connection throttle and failed logins.

Both keep state per IP address with an injected clock, so tests never wait. The state is
bounded: entries expire, and when more than ``max_addresses`` are tracked the oldest
entry is forgotten first (an attacker with many addresses can only push itself out).
"""

from __future__ import annotations

import functools
import ipaddress
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

#: Addresses tracked at most by one table.
MAX_ADDRESSES = 65536
#: Seconds without a failure after which an address's failed logins are forgotten.
FORGET_FAILURES = 600.0
#: The longest delay before a failed login is answered, in seconds.
MAX_LOGIN_DELAY = 30.0


def parse_networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """CIDR blocks (``127.0.0.1/8``, ``10.0.0.0/24``, ``::1``), comma lists allowed."""
    networks = []
    for entry in entries:
        for item in entry.split(","):
            item = item.strip()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR block: {item!r}") from None
    return networks


def in_networks(ip: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Whether ``ip`` lies in one of ``networks`` (an IPv4-mapped IPv6 address counts as IPv4)."""
    if not networks:
        return False
    address = _address(ip)
    return address is not None and any(address in network for network in networks)


@functools.lru_cache(maxsize=4096)
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``ip`` parsed (an IPv4-mapped IPv6 address as IPv4), None if it is no address;
    kept for the addresses seen last: every accepted connection asks, and parsing is
    most of the question."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class Throttle:
    """At most ``limit`` new connections per address in any ``window`` seconds."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float],
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max = max_addresses
        self._lock = threading.Lock()
        #: address -> the times of its recent connections, oldest first; the address
        #: whose newest connection is oldest comes first.
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def hit(self, ip: str) -> float:
        """Count a new connection from ``ip``: 0 when allowed, else seconds until it would be."""
        if self.limit <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            self._expire(now)
            times = self._seen.get(ip)
            if times is None:
                times = self._seen[ip] = deque(maxlen=self.limit)
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= self.limit:
                return max(0.001, self.window - (now - times[0]))
            times.append(now)
            self._seen.move_to_end(ip)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            return 0.0

    def _expire(self, now: float) -> None:
        # Oldest first: stop at the first address still inside the window.
        while self._seen:
            ip, times = next(iter(self._seen.items()))
            if times and now - times[-1] < self.window:
                return
            del self._seen[ip]


class LoginFailures:
    """Failed logins (PASS, OPER) per address and per connection, and their penalties.

    Each failure is answered after a delay that doubles with every failure of the
    address (or of the connection, whichever is more), from ``delay`` up to
    :data:`MAX_LOGIN_DELAY`. An address with ``ban_after`` failures is refused new
    connections until it has gone :data:`FORGET_FAILURES` seconds without one.
    """

    def __init__(
        self,
        delay: float,
        ban_after: int,
        clock: Callable[[], float],
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.delay = delay
        self.ban_after = ban_after
        self._clock = clock
        self._max = max_addresses
        self._lock = threading.Lock()
        #: address -> (failures, time of the last one); the stalest address first.
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._per_connection: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
        #: Failed logins since start (the server window shows it).
        self.total = 0

    def __len__(self) -> int:
        return len(self._failures)

    def fail(self, ip: str, connection: object) -> tuple[int, float]:
        """Record one failure; return the connection's failures and the delay to impose."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            count = self._failures.pop(ip, (0, now))[0] + 1
            self._failures[ip] = (count, now)
            while len(self._failures) > self._max:
                self._failures.popitem(last=False)
            mine = self._per_connection.get(connection, 0) + 1
            self._per_connection[connection] = mine
            self.total += 1
        if self.delay <= 0:
            return mine, 0.0
        steps = min(max(count, mine) - 1, 16)  # 2**16 s is far past the cap anyway
        return mine, min(MAX_LOGIN_DELAY, self.delay * 2**steps)

    def banned(self, ip: str) -> float:
        """Seconds until ``ip`` may connect again after too many failures (0: it may)."""
        if self.ban_after <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            self._expire(now)
            count, last = self._failures.get(ip, (0, now))
        if count < self.ban_after:
            return 0.0
        return max(0.001, FORGET_FAILURES - (now - last))

    def _expire(self, now: float) -> None:
        while self._failures:
            ip, (_count, last) = next(iter(self._failures.items()))
            if now - last < FORGET_FAILURES:
                return
            del self._failures[ip]
