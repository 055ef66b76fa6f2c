"""One connection's session (who it is, what it negotiated, where it is) and the
channel record it belongs to.

``Session`` and ``Channel`` refer to each other, so they live in one module. Which of
their fields the registry lock guards is written in ``server/registry.py``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from .flood import TokenBucket
from .protocol.names import casefold, match_folded
from .protocol.numerics import Numeric
from .sendq import (
    TAG_CLIENT,
    TAG_TIME,
    Flusher,
    ResponseBuffer,
    SendQueue,
    current_cork,
    message_line,
    numeric_line,
)

if TYPE_CHECKING:
    import socket

    from .config import Config
    from .protocol.tls import TLSSession

#: Channel membership prefixes, highest first: mode letter -> symbol (ISUPPORT PREFIX).
PREFIXES = {"o": "@", "v": "+"}

_serials = itertools.count(1)


class ListEntry(NamedTuple):
    """One +b, +e or +I entry: a plain tuple of shared strings, nothing compiled."""

    mask: str
    #: Who set it (nick!user@host) and when (epoch seconds).
    set_by: str
    set_at: int
    #: The address of the connection that set it (the per-address budget).
    ip: str


@dataclass(eq=False)
class Channel:
    """One channel: members with their prefix modes, channel modes and topic."""

    name: str
    created: float = field(default_factory=time.time)
    #: This life of the channel: a channel of the same name made later has another.
    serial: int = field(default_factory=lambda: next(_serials))
    #: Set when the channel is removed from the registry (it is never added again).
    destroyed: bool = False
    #: member -> its prefix mode letters, highest first ("o", "v", "ov" or "").
    members: dict[Session, str] = field(default_factory=dict)
    modes: set[str] = field(default_factory=lambda: {"n", "t"})
    #: The +k key and the +l limit, when set.
    key: str | None = None
    limit: int | None = None
    #: The +b, +e and +I lists: mode letter -> {casefolded mask: entry}.
    lists: dict[str, dict[str, ListEntry]] = field(
        default_factory=lambda: {"b": {}, "e": {}, "I": {}}
    )
    topic: str = ""
    topic_by: str = ""
    topic_at: int = 0
    #: Whether the history was asked for this channel's last topic.
    topic_checked: bool = False
    send_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def in_list(self, letter: str, source: str) -> bool:
        """Whether ``source`` (nick!user@host) matches an entry of list mode ``letter``."""
        entries = self.lists[letter]
        if not entries:
            return False
        # The keys are the masks casefolded, with their runs of `*` collapsed.
        folded = casefold(source)
        return any(match_folded(key, folded) for key in entries)

    def is_banned(self, client: Session) -> bool:
        """Whether ``client`` matches a ban and no ban exception."""
        if not self.lists["b"]:
            return False
        source = client.source
        return self.in_list("b", source) and not self.in_list("e", source)

    def can_speak(self, client: Session) -> bool:
        """Whether ``client`` may send to the channel (+n, +m, bans)."""
        letters = self.members.get(client)
        if letters is None:
            return "n" not in self.modes and not self.is_banned(client)
        if letters:
            return True  # voice or op
        return "m" not in self.modes and not self.is_banned(client)

    def prefix_of(self, client: Session, multi: bool = False) -> str:
        """The member's prefix symbols: the highest one, or all with ``multi``."""
        letters = self.members.get(client, "")
        if not letters:
            return ""
        if multi:
            return "".join(PREFIXES[m] for m in letters)
        return PREFIXES[letters[0]]

    def is_op(self, client: Session) -> bool:
        """Whether ``client`` is a channel operator here."""
        return "o" in self.members.get(client, "")

    def set_prefix(self, client: Session, letter: str, on: bool) -> bool:
        """Give or take a prefix mode; return whether anything changed."""
        letters = self.members[client]
        if on == (letter in letters):
            return False
        wanted = set(letters) ^ {letter}
        self.members[client] = "".join(m for m in PREFIXES if m in wanted)
        return True


class Session:
    """One connection: who it is, what it negotiated, and its :class:`SendQueue`.

    Sending to a session (``send``, ``send_line``, ``numeric``) is for messages that are
    not replies to a command it is running: those go through the command's
    :class:`ResponseBuffer`.
    """

    def __init__(
        self,
        sock: socket.socket,
        address: tuple,
        config: Config,
        clock: Callable[[], float],
        flusher: Flusher,
        tls: TLSSession | None = None,
    ) -> None:
        self.queue = SendQueue(sock, flusher, config.sendq, tls, self._overflowed)
        self.server_name = config.name
        self.secure = tls is not None
        host = str(address[0]) if address else "unknown"
        self.ip = host
        # A host must not start with ':' or it would read as a trailing parameter.
        self.host = "0" + host if host.startswith(":") else host
        self.nick = "*"
        self.key: str | None = None
        self.user: str | None = None
        self.realname = ""
        self.registered = False
        self.password_ok = config.password is None
        self.caps: set[str] = set()
        self.cap_version = 0
        self.cap_negotiating = False
        self.tag_key = 0
        self.modes: set[str] = set()
        self.channels: dict[str, Channel] = {}
        #: The away message, or None when here.
        self.away: str | None = None
        #: Invitations: casefolded channel name -> the serial of the channel's life.
        self.invites: dict[str, int] = {}
        #: MONITOR list: casefolded nick -> nick as given.
        self.monitoring: dict[str, str] = {}
        self.signon = int(time.time())
        now = clock()
        self.connected_at = now
        self.last_active = now
        #: When this client last sent a message (WHOIS idle time).
        self.last_spoke = now
        self.ping_sent_at: float | None = None
        self.quit_reason: str | None = None
        #: Set when the connection is ending: the reader stops at its next line.
        self.closing = False
        #: Set when the connection is ending, so a reader waiting out fake lag wakes.
        self.wakeup = threading.Event()
        self.flood = (
            TokenBucket(config.flood_rate, config.flood_burst, config.flood_excess, clock)
            if config.flood_rate > 0
            else None
        )
        #: Lines received before registration completed.
        self.early_lines = 0
        #: The response buffer of an unlabeled command: it writes straight through.
        self.direct = ResponseBuffer(self, self.server_name)

    def __repr__(self) -> str:
        return f"<Session {self.nick} {self.ip}>"

    @property
    def source(self) -> str:
        """This client as a message source: ``nick!user@host``."""
        return f"{self.nick}!{self.user or '*'}@{self.host}"

    @property
    def tls(self) -> TLSSession | None:
        """The TLS session of a connection made to the TLS port."""
        return self.queue.tls

    def set_caps(self, caps: set[str]) -> None:
        """Replace the enabled capabilities (and the tags this client gets)."""
        self.caps = caps
        self.tag_key = (TAG_TIME if "server-time" in caps else 0) | (
            TAG_CLIENT if "message-tags" in caps else 0
        )

    def _overflowed(self) -> None:
        # The queue passed its SendQ (its lock held): the reader thread ends the rest.
        self.quit_reason = self.quit_reason or "SendQ exceeded"
        self.closing = True

    def send(self, data: bytes) -> None:
        """Queue encoded bytes for this client; never blocks, never raises."""
        self.queue.push(data, current_cork())

    def send_line(
        self, command: str, *params: str, source: str | None = None, tags: dict | None = None
    ) -> None:
        """Build and send one message, its longest parameter cut if it would not fit."""
        self.send(message_line(command, params, source, tags))

    def numeric(self, numeric: Numeric, *params: str) -> None:
        """Send a numeric from the server to this client (not as a command's reply)."""
        self.send(numeric_line(self.server_name, self.nick, numeric, params))
