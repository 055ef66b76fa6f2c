"""Read markers: ``MARKREAD`` (IRCv3 draft/read-marker).

A marker belongs to the account (every connection signed in to it shares it and hears
when it moves), or, not signed in, to the connection alone. Targets are casefolded; a
marker never moves backwards and never past the present.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from ..protocol.codec import format_time, parse_timestamp
from ..protocol.names import casefold, valid_channel, valid_nick
from ..readmarkers import MarkerError, Markers
from .table import command

if TYPE_CHECKING:
    from ..channel import Channel
    from ..config import Config
    from ..protocol.codec import Message
    from ..readmarkers import ReadMarkerStore
    from ..registry import Registry
    from ..sendq import ResponseBuffer
    from ..session import Session

CAP = "draft/read-marker"


class MarkerContext(Protocol):
    """What MARKREAD uses of the server."""

    config: Config
    registry: Registry
    #: The accounts' markers, or None when the server has no data directory.
    markers: ReadMarkerStore | None


def _value(time_ms: int | None) -> str:
    """The marker as MARKREAD carries it: ``timestamp=…``, or ``*`` when there is none."""
    return "*" if time_ms is None else "timestamp=" + format_time(time_ms)


def _lookup(server: MarkerContext, client: Session, target: str) -> int | None:
    account = client.account
    if account is not None and server.markers is not None:
        return server.markers.get(account.name, target)
    return client.read_markers.get(target) if client.read_markers is not None else None


def send_join_marker(
    server: MarkerContext, client: Session, reply: ResponseBuffer, channel: Channel
) -> None:
    """The MARKREAD a joiner with the capability gets after its JOIN (before 366)."""
    if CAP not in client.caps:
        return
    try:
        stored = _lookup(server, client, casefold(channel.name))
    except MarkerError:
        stored = None  # the join goes on; a MARKREAD asked for later tells the error
    reply.send_line("MARKREAD", channel.name, _value(stored), source=server.config.name)


def _fail(server: MarkerContext, reply: ResponseBuffer, code: str, *context: str) -> None:
    texts = {
        "NEED_MORE_PARAMS": "Missing parameters",
        "INVALID_PARAMS": "Invalid parameters",
        "INTERNAL_ERROR": "The read timestamp could not be set",
    }
    # Context echoes what the client sent: a parameter that cannot stand in the middle
    # of a line (empty, with a space, starting with ':') is shown as `*`.
    safe = [c if c and " " not in c and not c.startswith(":") else "*" for c in context]
    reply.send_line("FAIL", "MARKREAD", code, *safe, texts[code], source=server.config.name)


def _shown(server: MarkerContext, target: str) -> str:
    """The target as the server names it: the channel's or the nick's own case."""
    if target.startswith("#"):
        channel = server.registry.find_channel(target)
        return channel.name if channel is not None else target
    holder = server.registry.find_nick(target)
    return holder.nick if holder is not None else target


@command("MARKREAD")
def markread(server: MarkerContext, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """MARKREAD <target> [timestamp=YYYY-MM-DDThh:mm:ss.sssZ]"""
    if not msg.params or not msg.params[0]:
        _fail(server, reply, "NEED_MORE_PARAMS")
        return
    target = msg.params[0]
    config = server.config
    if not (valid_channel(target, config.channellen) or valid_nick(target, config.nicklen)):
        _fail(server, reply, "INVALID_PARAMS", target)
        return
    key = casefold(target)
    shown = _shown(server, target)
    if len(msg.params) == 1:
        try:
            stored = _lookup(server, client, key)
        except MarkerError:
            _fail(server, reply, "INTERNAL_ERROR", target)
            return
        reply.send_line("MARKREAD", shown, _value(stored), source=config.name)
        return
    param = msg.params[1]
    wanted = parse_timestamp(param[10:]) if param.startswith("timestamp=") else None
    if wanted is None:
        _fail(server, reply, "INVALID_PARAMS", param)
        return
    # A marker is a message already read: never later than now.
    wanted = min(wanted, int(time.time() * 1000))
    account = client.account
    try:
        if account is not None and server.markers is not None:
            stored, moved = server.markers.advance(account.name, key, wanted)
        else:
            if client.read_markers is None:
                client.read_markers = Markers()
            stored, moved = client.read_markers.advance(key, wanted)
    except MarkerError:
        _fail(server, reply, "INTERNAL_ERROR", target)
        return
    reply.send_line("MARKREAD", shown, _value(stored), source=config.name)
    if moved and account is not None:
        for other in server.registry.signed_in(account.name):
            if other is not client and CAP in other.caps:
                other.send_line("MARKREAD", shown, _value(stored), source=config.name)
