"""A stored message as the history hands it out (:class:`Record`), and as its writer
queues it: a row of ``messages`` (:data:`Row`) or a group of rows that share all but
their id, msgid and parameters (:data:`Group`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as quote_json

from . import msgids

__all__ = [
    "NO_END",
    "NO_TAGS",
    "Group",
    "Record",
    "Row",
    "Shared",
    "params_json",
    "quote_json",
    "record_row",
    "row",
    "row_group",
]


@dataclass(frozen=True, slots=True)
class Record:
    """One stored message, as it was relayed."""

    msgid: str
    target: str
    time_ms: int
    source: str
    command: str
    params: tuple[str, ...]
    tags: dict[str, str]
    #: The sender's account (as displayed), when it was signed in.
    account: str | None = None
    #: A direct message's parties: its sender's and its recipient's (see ``dm_target``).
    party_a: str | None = None
    party_b: str | None = None


#: One ``messages`` row as the writer inserts it (its columns, in order).
Row = tuple[int, str, str, int, str, "str | None", str, str, str, "str | None", "str | None"]
#: What the rows of a :data:`Group` share: target, time_ms, source, account, command,
#: tags, party_a, party_b.
Shared = tuple[str, int, str, "str | None", str, str, "str | None", "str | None"]
#: Rows that differ only in id, msgid and parameters (one read's messages to a channel):
#: the shared values, then each row's id, msgid and parameters' JSON, in turn, and None.
#: SQLite binds a value at a cost near a column's whole insert, so a group binds its
#: shared ones once. A group of messages whose parameters are one channel and a text
#: (``store_many``'s) names that channel last instead, and each row holds its text as a
#: JSON string (``quote_json``): with consecutive ids (and msgids that hold them) and no
#: tags, it is stored as one row of ``batches`` (see :data:`SCHEMA`).
Group = tuple[Shared, "list[int | str]", "str | None"]
#: An id above every message's.
NO_END = 1 << 62
#: The stored tags of most messages (nothing but their msgid, kept in its own column).
NO_TAGS = "{}"


def params_json(params: tuple[str, ...]) -> str:
    """``json.dumps(list(params))``, without the encoder's per-call setup."""
    return "[" + ", ".join([quote_json(p) for p in params]) + "]"


def row(
    msgid: str,
    target: str,
    time_ms: int,
    source: str,
    account: str | None,
    command: str,
    params: tuple[str, ...],
    tags: dict[str, str],
    party_a: str | None = None,
    party_b: str | None = None,
) -> Row:
    """A message as a table row: its parameters and tags as JSON, its id the number in
    its msgid (a msgid without one gets a new number, and is found by no lookup; an
    empty one is 0, for ``add_groups`` to number)."""
    encoded = json.dumps(tags) if tags else NO_TAGS
    number = msgids.row_id(msgid) if msgid else 0
    return (
        msgids.last_taken() if number is None else number,
        msgid,
        target,
        time_ms,
        source,
        account,
        command,
        params_json(params),
        encoded,
        party_a,
        party_b,
    )


def row_group(r: Row) -> Group:
    """One row as a group of its own."""
    return (r[2], r[3], r[4], r[5], r[6], r[8], r[9], r[10]), [r[0], r[1], r[7]], None


def record_row(r: Record) -> Row:
    """A :class:`Record` as a table row."""
    return row(
        r.msgid,
        r.target,
        r.time_ms,
        r.source,
        r.account,
        r.command,
        r.params,
        r.tags,
        r.party_a,
        r.party_b,
    )
