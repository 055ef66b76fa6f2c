"""SEARCH (the ``soju.im/search`` extension): stored messages matching attributes, in a
``soju.im/search`` batch.

What a client may search is what it may read with CHATHISTORY: the channels it is in
(this life of each), and its own direct conversations; ``in`` narrows that to one of
them and is refused for anything else. The attributes are one parameter in the
message-tags syntax (``in=#chan;text=fast;limit=2``, values escaped as tag values).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from ..history_api import SearchFailed
from ..protocol.codec import LineError, Message, parse_tags, parse_timestamp
from ..protocol.names import casefold
from ..protocol.numerics import ERR_NEEDMOREPARAMS, ERR_UNKNOWNCOMMAND
from ..search import BATCH_TYPE, CAP, Query, SearchTimeout
from .chathistory import party_of, send_batch, storage_key
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..sendq import ResponseBuffer
    from ..session import Session

log = logging.getLogger(__name__)

#: The most messages one SEARCH returns, and what it returns without ``limit``.
MAX_LIMIT = 100
#: Words of ``text`` used at most (each one must match, as a prefix of a word).
MAX_WORDS = 16
ATTRIBUTES = frozenset({"in", "from", "after", "before", "text", "limit"})


class _Invalid(Exception):
    """An attribute that cannot be searched by: its name is the FAIL's context."""


def _fail(server: Context, reply: ResponseBuffer, code: str, *context: str) -> None:
    texts = {
        "INVALID_PARAMS": "Invalid parameters",
        "INTERNAL_ERROR": "The search could not be run",
    }
    # Context echoes what the client sent: what cannot stand mid-line is shown as `*`.
    safe = [c if c and " " not in c and not c.startswith(":") else "*" for c in context]
    reply.send_line("FAIL", "SEARCH", code, *safe, texts[code], source=server.config.name)


def _query(server: Context, client: Session, attributes: dict[str, str]) -> Query:
    """The query the attributes ask for, within what ``client`` may read."""
    for name in attributes:
        if name not in ATTRIBUTES:
            raise _Invalid(name)
    limit = MAX_LIMIT
    if "limit" in attributes:
        text = attributes["limit"]
        if not text.isascii() or not text.isdigit() or int(text) <= 0:
            raise _Invalid("limit")
        limit = min(int(text), MAX_LIMIT)
    times: dict[str, int | None] = {}
    for name in ("after", "before"):
        value = attributes.get(name)
        times[name] = None if value is None else parse_timestamp(value)
        if value is not None and times[name] is None:
            raise _Invalid(name)
    nick = attributes.get("from")
    if nick is not None and not nick:
        raise _Invalid("from")
    words = attributes.get("text", "").split()[:MAX_WORDS]
    place = attributes.get("in")
    channels: dict[str, int] = {}
    party: str | None = None
    conversation: str | None = None
    if place is None:
        joined = server.registry.visible_channels(client)
        channels = {casefold(c.name): c.history_floor for c in joined}
        party = party_of(client)
    else:
        found = storage_key(server, client, place)
        if found is None:
            raise _Invalid("in")
        if place.startswith("#"):
            channels = {found[0]: found[1]}
        else:
            conversation = found[0]
    return Query(
        channels,
        party,
        conversation,
        casefold(nick) if nick else None,
        times["after"],
        times["before"],
        words,
        limit,
    )


@command("SEARCH")
def search(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """SEARCH <attributes> (soju.im/search): in, from, after, before, text, limit."""
    index, history = server.search, server.history
    if CAP not in client.caps or index is None or history is None:
        # The capability must be negotiated: until it is, there is no such command.
        reply.numeric(ERR_UNKNOWNCOMMAND, "SEARCH")
        return
    if not msg.params:
        reply.numeric(ERR_NEEDMOREPARAMS, "SEARCH")
        return
    try:
        query = _query(server, client, parse_tags(msg.params[0]))
    except LineError:
        _fail(server, reply, "INVALID_PARAMS", msg.params[0])
        return
    except _Invalid as bad:
        _fail(server, reply, "INVALID_PARAMS", str(bad))
        return
    history.flush()
    try:
        records = index.find(query)
    except SearchTimeout:
        _fail(server, reply, "INTERNAL_ERROR")
        return
    except (sqlite3.Error, SearchFailed):
        log.exception("search failed")
        _fail(server, reply, "INTERNAL_ERROR")
        return
    send_batch(server, client, reply, BATCH_TYPE, None, records)
