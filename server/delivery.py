"""A channel's send lock, and the delivery of its messages that one thread runs for all.

Everything sent to a channel's members is sent under its :class:`SendLock`, so every
member gets the channel's events in one order: the relay order.

Handing a message to a thousand members takes a thousand writes. While one reader is
making them, another reader's message to the same channel does not make a thousand
writes of its own: it joins the :class:`Delivery` in progress, which gives each member
every message that joined it, in order, in one write when it can (the members it has
not reached yet get both messages at once; those already passed get the newcomer in
one more round). The reader whose message joined does nothing per member, and the
two are not contending for the members' queues and the interpreter lock. Messages
join only during the first round: a later one waits for the delivery to end and makes
the next, so the writing passes from reader to reader and no reader writes for the
others for ever while its own connection waits to be read.

Only plain channel messages to every member join (``ChannelBatch``); anything else sent
under the lock (a JOIN, a MODE, a message to ``@#channel``) waits for the delivery in
progress to end first, so it cannot overtake a message relayed before it. A delivery
never waits for anything but the interpreter lock and each queue's own short lock (a
write never blocks: see ``sendq``), so the wait is short and cannot deadlock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .sendq import Outgoing
    from .session import Session


class Part(NamedTuple):
    """Messages one sender relayed to the channel in one read (one ``ChannelBatch``)."""

    sender: Session
    #: Whether the sender gets them back (echo-message).
    echo: bool
    messages: list[Outgoing]


class SendLock:
    """A channel's send lock: ``with channel.send_lock:`` orders what goes to its members
    (after any delivery in progress has ended). ``raw`` is the plain lock, for the
    relay that may join a delivery instead of waiting for it."""

    __slots__ = ("delivery", "raw")

    def __init__(self) -> None:
        self.raw = threading.Lock()
        #: The delivery in progress, if any (set and read with ``raw`` held).
        self.delivery: Delivery | None = None

    def __enter__(self) -> SendLock:
        self.raw.acquire()
        delivery = self.delivery
        if delivery is not None:
            delivery.wait()  # what was relayed before goes out first
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.release()

    def settle(self) -> None:
        """With ``raw`` held: wait for the delivery in progress, if any, to end."""
        delivery = self.delivery
        if delivery is not None:
            delivery.wait()

    def deliver(self, recipients: list[Session], part: Part) -> Delivery | None:
        """With ``raw`` held: hand ``part`` to the delivery in progress when it goes to
        the same members (None: nothing more to do), or make the delivery that the
        caller must :meth:`Delivery.run` once it has released ``raw``."""
        running = self.delivery
        if running is not None:
            if running.join(recipients, part):
                return None
            running.wait()  # to other members: after it
        delivery = self.delivery = Delivery(self, recipients, part)
        return delivery


class Delivery:
    """Channel messages being written to a fixed list of members by one thread."""

    __slots__ = ("_done", "_lock", "_open", "_owner", "parts", "recipients")

    def __init__(self, owner: SendLock, recipients: list[Session], part: Part) -> None:
        self._owner = owner
        self.recipients = recipients
        #: In relay order; only appended to while the delivery is open.
        self.parts = [part]
        self._lock = threading.Lock()
        self._open = True
        self._done = threading.Event()

    def join(self, recipients: list[Session], part: Part) -> bool:
        """Add ``part`` if this delivery is still in its first round and goes to
        ``recipients``."""
        with self._lock:
            if not self._open or recipients != self.recipients:
                return False
            self.parts.append(part)
            return True

    def wait(self) -> None:
        """Return once every member has been handed every part."""
        self._done.wait()

    def run(self) -> None:
        """Hand every member every part, in order: one round over the members while
        others' messages may join, then one for the members a part joined behind."""
        try:
            given = [0] * len(self.recipients)  # how many parts each member has
            self._round(given)
            with self._lock:
                # Closed: a later message waits for the last round, then makes a
                # delivery of its own (a delivery never runs on for ever under load).
                self._open = False
            if min(given, default=0) < len(self.parts):
                self._round(given)
        finally:
            with self._lock:
                self._open = False
            if self._owner.delivery is self:
                self._owner.delivery = None
            self._done.set()

    def _round(self, given: list[int]) -> None:
        parts = self.parts
        senders: set[Session] = set()  # of the parts seen so far
        seen = 0
        # Bytes for parts [low, total) by tag set, shared by every member but senders.
        window_low = window_total = -1
        joined: dict[int, bytes] = {}
        for index, recipient in enumerate(self.recipients):
            low = given[index]
            total = len(parts)  # a part that joins now reaches the members ahead
            if low == total:
                continue
            if total != seen:
                senders.update(part.sender for part in parts[seen:total])
                seen = total
            if recipient in senders:
                data = _own(recipient, parts, low, total)
            else:
                if low != window_low or total != window_total:
                    window_low, window_total = low, total
                    joined = {}
                key = recipient.tag_key
                found = joined.get(key)
                if found is None:
                    found = joined[key] = b"".join(
                        [out.for_client(recipient) for p in parts[low:total] for out in p.messages]
                    )
                data = found
            if data:
                recipient.queue.push(data, None)
            given[index] = total


def _own(recipient: Session, parts: list[Part], low: int, total: int) -> bytes:
    """What a member who sent some of the parts gets: its own only when echoed."""
    return b"".join(
        [
            out.for_client(recipient)
            for part in parts[low:total]
            if part.sender is not recipient or part.echo
            for out in part.messages
        ]
    )
