"""Read markers (IRCv3 ``draft/read-marker``): where this account stopped reading.

:class:`ReadMarkers` is a part of the session (:mod:`app.dispatch`): it keeps the latest
marker it knows of each conversation, sends ``MARKREAD`` when the user has read further,
asks the marker of a direct conversation it opens (channels' come after JOIN), and turns
the server's ``MARKREAD`` into a :class:`app.events.ReadMarker` when a marker moved on by
someone else's doing (another window of the account, or the marker on JOIN). Without the
capability it sends nothing: the window keeps its markers to itself.
"""

from __future__ import annotations

from datetime import datetime

from app import events as ev
from app.dispatch import Host, Table, registrar
from server.protocol.codec import Message, build, format_time, parse_server_time

CAP = "draft/read-marker"

HANDLERS: Table[ReadMarkers] = {}
handles = registrar(HANDLERS)


def millis(when: datetime) -> int:
    """``when`` in milliseconds since the epoch (server-time's precision)."""
    return round(when.timestamp() * 1000)


class ReadMarkers:
    """The read markers of this connection's account, as far as it knows them."""

    def __init__(self, host: Host) -> None:
        self.host = host
        #: The latest marker known per conversation (casefolded), in milliseconds.
        self.known: dict[str, int] = {}

    @property
    def available(self) -> bool:
        """True when the server keeps markers for us (the capability was granted)."""
        return self.host.registered and CAP in self.host.caps

    def mark(self, target: str, when: datetime) -> bool:
        """The user read ``target`` up to ``when``: tell the server, unless it knows a
        later marker already. True when a MARKREAD was queued."""
        if not self.available:
            return False
        key, stamp = self.host.fold(target), millis(when)
        if self.known.get(key, -1) >= stamp:
            return False
        self.known[key] = stamp
        self.host.send(build("MARKREAD", target, "timestamp=" + format_time(stamp)))
        return True

    def ask(self, nick: str) -> None:
        """Ask the marker of the direct conversation with ``nick`` (the server sends a
        channel's after JOIN by itself)."""
        if self.available:
            self.host.send(build("MARKREAD", nick))

    @handles("MARKREAD")
    def _on_markread(self, msg: Message) -> None:
        target, value = msg.params[0], msg.param(1)
        when = parse_server_time(value.removeprefix("timestamp=")) if value != "*" else None
        if when is None:
            return  # no marker yet (or one we cannot read): nothing moves
        key, stamp = self.host.fold(target), millis(when)
        if self.known.get(key, -1) >= stamp:
            return  # the answer to our own MARKREAD, or older than what we know
        self.known[key] = stamp
        self.host.emit(ev.ReadMarker(target, when))
