"""Channel messages on their way to Redis, published in the order they were queued.

A sender queues its message under the channel's send lock (which fixes its msgid and
its place) and goes on: one publisher thread per node takes everything queued so far,
from every sender, and sends it as one pipeline in queue order over one connection.
No thread holds a send lock across a round trip to Redis (the subscriber thread, which
takes that lock to deliver, never waits on one), no reader waits on another's round
trip, and Redis gets this node's messages in the order their msgids were given: its own
order is the network's.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import redis

if TYPE_CHECKING:
    from .link import Link

log = logging.getLogger("server.cluster")

#: Seconds ``stop`` waits for what is queued to be published.
STOP_TIMEOUT = 5.0


class Waiter(Protocol):
    """A sender waiting for its message to come back (``fanout.Echo``)."""

    def failed(self) -> None:
        """The message could not be published: nobody gets it."""
        ...


class Outbox:
    """This node's channel messages not yet published, and the thread publishing them."""

    def __init__(self, link: Link, on_failure: Callable[[Waiter], None]) -> None:
        self.link = link
        #: Called with each failed waiter (it stops waiting for its echo).
        self._on_failure = on_failure
        self._ready = threading.Condition(threading.Lock())
        self._queue: list[tuple[str, dict[str, Any], Waiter | None]] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="kibitz-publish", daemon=True)

    def start(self) -> None:
        """Start the publisher thread."""
        self._thread.start()

    def put(self, channel: str, message: dict[str, Any], waiter: Waiter | None) -> None:
        """Queue ``message`` for Redis channel ``channel`` (no I/O: a send lock may be held)."""
        with self._ready:
            self._queue.append((channel, message, waiter))
            if len(self._queue) == 1:
                # It waits only on an empty queue; otherwise it takes this one next.
                self._ready.notify()

    def stop(self) -> None:
        """Publish what is queued, then stop the thread."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    return
                items, self._queue = self._queue, []
            self._publish(items)

    def _publish(self, items: list[tuple[str, dict[str, Any], Waiter | None]]) -> None:
        """One pipeline, in queue order; a failure fails every waiter it carried."""
        compact = (",", ":")
        try:
            self.link.publish_many(
                [(name, json.dumps(message, separators=compact)) for name, message, _ in items]
            )
        except redis.RedisError as exc:
            log.warning("cannot publish %d channel messages: %s", len(items), exc)
            for _, _, waiter in items:
                if waiter is not None:
                    self._on_failure(waiter)
            self.link.down()
        except Exception:
            log.exception("cannot publish %d channel messages", len(items))
            for _, _, waiter in items:
                if waiter is not None:
                    self._on_failure(waiter)
