"""Channel messages on their way to Redis, published in the order they were queued.

A sender queues its message under the channel's send lock (which fixes its msgid and
its place) and goes on: one publisher thread per node takes everything queued so far,
from every sender, and sends it as one pipeline in queue order over one connection.
No thread holds a send lock across a round trip to Redis (the subscriber thread, which
takes that lock to deliver, never waits on one), no reader waits on another's round
trip, and Redis gets this node's messages in the order their msgids were given: its own
order is the network's.

When the nodes share one history, a channel message is queued with what to do once it
has its place in the network's order (``numbered``): the pipeline then carries one call
of the sequencing script for it instead of a PUBLISH, and, once the pipeline has been
answered, this thread hands each message its position (which stores its history row)
in the order Redis gave them, so the rows are added in the network's order. A message
the script refused is failed alone: nobody got it, and it is stored nowhere.
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

    def numbered(self) -> None:
        """The message has its position, and what was to be done with it is done."""
        ...


#: Given a sequenced message's position in the network's order (on this thread).
Numbered = Callable[[int], None]
#: One queued message: the Redis channel, the message, its sender's wait, for a message
#: the network numbers what to do with its (first) position (None: a plain PUBLISH),
#: and how many positions it takes (a batch takes one per line).
Item = tuple[str, dict[str, Any], Waiter | None, Numbered | None, int]


class Outbox:
    """This node's channel messages not yet published, and the thread publishing them."""

    def __init__(self, link: Link, counter: str, on_failure: Callable[[Waiter], None]) -> None:
        self.link = link
        #: The key of the network's position counter (the sequencing script's).
        self.counter = counter
        #: Called with each failed waiter (it stops waiting for its echo).
        self._on_failure = on_failure
        self._ready = threading.Condition(threading.Lock())
        self._queue: list[Item] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="kibitz-publish", daemon=True)

    def start(self) -> None:
        """Start the publisher thread."""
        self._thread.start()

    def put(
        self,
        channel: str,
        message: dict[str, Any],
        waiter: Waiter | None,
        numbered: Numbered | None = None,
        count: int = 1,
    ) -> None:
        """Queue ``message`` for Redis channel ``channel`` (no I/O: a send lock may be
        held); with ``numbered``, it is published by the sequencing script, taking
        ``count`` positions, and ``numbered`` is given the first (then
        ``waiter.numbered`` is called)."""
        with self._ready:
            self._queue.append((channel, message, waiter, numbered, count))
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

    def _publish(self, items: list[Item]) -> None:
        """One pipeline, in queue order; a failure fails every waiter it carried."""
        compact = (",", ":")
        try:
            answers = self.link.publish_many(
                [
                    (
                        name,
                        json.dumps(message, separators=compact),
                        0 if numbered is None else count,
                    )
                    for name, message, _, numbered, count in items
                ],
                self.counter,
            )
        except redis.RedisError as exc:
            log.warning("cannot publish %d channel messages: %s", len(items), exc)
            self._fail(items)
            self.link.down()
            return
        except Exception:
            log.exception("cannot publish %d channel messages", len(items))
            self._fail(items)
            return
        # In the order Redis answered: the network's order, so the history's too.
        for (name, _, waiter, numbered, _), answer in zip(items, answers, strict=True):
            if numbered is None:
                continue
            if isinstance(answer, Exception):
                log.warning("the network did not number a message to %s: %s", name, answer)
                if waiter is not None:
                    self._on_failure(waiter)
                continue
            try:
                numbered(int(answer))
            except Exception:
                log.exception("cannot keep a message to %s", name)
            if waiter is not None:
                waiter.numbered()

    def _fail(self, items: list[Item]) -> None:
        for _, _, waiter, _, _ in items:
            if waiter is not None:
                self._on_failure(waiter)
