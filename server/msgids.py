"""Message ids (IRCv3 ``msgid``): a per-process random prefix, then a number in hex.

The number is the message's row id in history: the history store starts the counter
above every id its database has used (``start_after``), a message that is kept takes
the next one as its row is queued for the writer (``HistoryStore.add_groups``), where
it is relayed (a channel's under its send lock, so its ids increase in relay order and
the queue is in id order), and the row is inserted with that id. A lookup by msgid then
reads the primary key (:func:`row_id`) instead of an index of msgids that every insert
would pay for. A message that is not kept takes a number too, which no row gets.

The prefix keeps msgids unique across runs even where a number comes round again: a
run without history starts at 1, and the numbers taken in the last fraction of a second
before a ``kill -9`` were not yet recorded as used (the writer records them with each
commit), so the next run may take them again.
"""

from __future__ import annotations

import itertools
import os
import threading

#: Hex digits of the random prefix (4 bytes).
PREFIX_LENGTH = 8
#: This process's prefix.
PREFIX = _PREFIX = os.urandom(PREFIX_LENGTH // 2).hex()

#: The numbering of servers sharing one database (see :mod:`server.history_pg`): 41 bits
#: of milliseconds since 2025-01-01 (69 years), 9 of sequence, 10 of node: 60 bits, 15
#: hex digits, the most :func:`row_id` reads.
EPOCH_MS = 1_735_689_600_000
SEQ_BITS = 9
NODE_BITS = 10
#: The node bits of the numbers a network of nodes gives its channel messages (its
#: sequencer, see :mod:`server.cluster.fanout`); no store takes this node number.
NETWORK_NODE = (1 << NODE_BITS) - 1
_lock = threading.Lock()  # only around moving the counter forward
_counter = itertools.count(1)


def new_msgid() -> str:
    """A unique, opaque message id, for a message history does not keep (a kept one
    gets its msgid from ``HistoryStore.add_groups``) or when there is no history."""
    # ``next`` on a count is atomic under the interpreter lock: no lock on the hot path.
    return f"{_PREFIX}{next(_counter):x}"


def new_numbered() -> tuple[int, str]:
    """A new msgid and its number (what :func:`row_id` would read from it)."""
    number = next(_counter)
    return number, f"{_PREFIX}{number:x}"


def numbered(number: int) -> str:
    """The msgid of this process holding ``number`` (a store that numbers its own rows,
    such as the PostgreSQL one, makes its msgids with this)."""
    return f"{_PREFIX}{number:x}"


def row_id(msgid: str) -> int | None:
    """The history row id a msgid names if it has the form :func:`new_msgid` makes (any
    prefix: an earlier run's msgid names its row too), else None. Every lookup by msgid
    starts here, and then compares the row's msgid too: the number alone may be that
    of another run's message, and ``int`` reads more than hex digits ("0x", "_")."""
    digits = msgid[PREFIX_LENGTH:]
    if not 0 < len(digits) <= 15:  # 15 hex digits: within SQLite's 64-bit integers
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def start_after(used: int) -> None:
    """Make every msgid taken from now on hold a number above ``used``; never moves the
    counter back (several stores in one process share it). Called as a history store
    opens, before anything is relayed: a thread taking a msgid at that very moment could
    still get a number from the counter this replaces."""
    global _counter
    with _lock:
        current = next(_counter)
        _counter = itertools.count(max(current, used + 1))


def last_taken() -> int:
    """A number above that of every msgid taken so far and below that of every msgid
    taken later (it is taken from the counter itself, so no message gets it)."""
    return next(_counter)


def network_number(position: int) -> int:
    """The msgid number of the channel message at ``position`` in the network's order
    (milliseconds and sequence, as a store's numbers have them, and :data:`NETWORK_NODE`)."""
    return position << NODE_BITS | NETWORK_NODE


def position_millis(position: int) -> int:
    """The time (ms since the Unix epoch) of the message at network ``position``."""
    return (position >> SEQ_BITS) + EPOCH_MS
