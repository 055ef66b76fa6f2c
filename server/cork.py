"""A reader's cork: while a reader thread handles one read's worth of lines, what it
sends only queues its bytes (and channel messages wait in one batch), so a recipient of
many of them gets one write instead of one per line; the queues it holds are *claimed*
(see :func:`release`)."""

from __future__ import annotations

import threading
from typing import Protocol


class Queue(Protocol):
    """What a cork holds: a connection's send queue (``sendq.SendQueue``)."""

    def write_out(self, wait: bool = False) -> None:
        """Write what is queued, as far as the socket takes it."""
        ...


#: Each corked thread's cork, by thread id: a ``threading.local`` would keep a
#: dictionary for every reader thread that ever corked, idle ones included.
_corks: dict[int, Cork] = {}
_thread_id = threading.get_ident


class Batch(Protocol):
    """Messages a reader holds back to send as one (see ``Cork.batch``)."""

    def flush(self) -> None:
        """Send what is held, in order."""
        ...


class Cork(set[Queue]):
    """A reader's cork: the queues holding bytes until :func:`uncork`, and the batch of
    consecutive channel messages it is gathering (``batch``), if any."""

    __slots__ = ("batch",)

    def __init__(self) -> None:
        super().__init__()
        #: Channel messages not handed to anyone yet: they go out, all at once, before
        #: anything else this thread sends (see ``SendQueue.push``) and at uncork.
        self.batch: Batch | None = None

    def settle(self) -> None:
        """Send the held batch now (before anything that must come after it)."""
        batch = self.batch
        if batch is not None:
            self.batch = None
            batch.flush()


def cork() -> None:
    """Until :func:`uncork`, sends made by this thread only queue their bytes.

    A reader corks while it handles one read's worth of lines, so a recipient of many
    of them gets one write instead of one per line. Order is kept: the bytes wait in
    the recipient's own buffer, behind whatever other threads queued first.
    """
    _corks[_thread_id()] = Cork()


def current_cork() -> Cork | None:
    """This thread's cork (queues with bytes held until :func:`uncork`), or None."""
    return _corks.get(_thread_id())


def settle() -> None:
    """Send this thread's held batch of channel messages now, if it has one."""
    corked = _corks.get(_thread_id())
    if corked is not None and corked.batch is not None:
        corked.settle()


def release(own: Queue) -> None:
    """Write out now what this thread holds for every queue but ``own`` (its own
    connection's), and stay corked.

    A queue in a thread's cork is *claimed*: bytes other threads queue for it meanwhile
    wait for this thread's write rather than being written by them too (one write, and
    no contention, for two messages to the same member). A reader therefore releases
    before a command that may take time (anything but a message: a password to check,
    a history query), so no one else's bytes wait behind it.
    """
    corked = _corks.get(_thread_id())
    if corked is None:
        return
    corked.settle()
    if len(corked) > (own in corked):
        for queue in [queue for queue in corked if queue is not own]:
            corked.discard(queue)
            queue.write_out()


def uncork() -> None:
    """Write out everything this thread queued since :func:`cork`."""
    me = _thread_id()
    queues = _corks.get(me)
    if queues is not None:
        try:
            queues.settle()
        finally:
            del _corks[me]
    if queues:
        for queue in queues:
            queue.write_out()
