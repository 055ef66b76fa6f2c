"""One connection's session: who it is and what it negotiated.

Which of its fields the registry lock guards is written in ``server/registry.py``;
where it is (its channels, invitations and MONITOR list) the registry keeps itself.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from .cork import current_cork
from .flood import TokenBucket
from .protocol.numerics import Numeric
from .sendq import (
    TAG_ACCOUNT,
    TAG_CLIENT,
    TAG_TIME,
    Flusher,
    ResponseBuffer,
    SendQueue,
    message_line,
    numeric_line,
)

if TYPE_CHECKING:
    import socket

    from .accounts import Account
    from .config import Config
    from .multiline import OpenBatch
    from .protocol.tls import TLSSession
    from .readmarkers import Markers
    from .sasl import Exchange

#: No capabilities, no modes: one object shared by every session that has none.
_NONE: frozenset[str] = frozenset()
#: Makes a session's ``wakeup`` once, whichever thread asks first.
_WAKEUP_LOCK = threading.Lock()


#: This process's part of every connection token: random, so that no token of an
#: earlier run (kept in the history as a party) is ever made again.
_TOKEN_PREFIX = os.urandom(8).hex()
_token_numbers = itertools.count(1)


def _new_token() -> str:
    """A name no other connection of this or any other run has: the process's random
    prefix and a count. Without a system call: each one on a new connection's thread
    gave the interpreter lock away, and a burst of registrations queued on it."""
    return f"{_TOKEN_PREFIX}{next(_token_numbers):x}"


class Session:
    """One connection: who it is, what it negotiated, and its :class:`SendQueue`.

    Sending to a session (``send``, ``send_line``, ``numeric``) is for messages that are
    not replies to a command it is running: those go through the command's
    :class:`ResponseBuffer`.
    """

    # Slots: thousands of idle connections each carry one of these. A weak reference
    # to one keys the failed-login counts of its connection (``server.penalty``).
    __slots__ = (
        "__weakref__",
        "_wakeup",
        "account",
        "away",
        "cap_negotiating",
        "cap_version",
        "caps",
        "closing",
        "connected_at",
        "direct",
        "early_lines",
        "flood",
        "host",
        "ip",
        "key",
        "last_active",
        "last_spoke",
        "modes",
        "multiline",
        "nick",
        "password_ok",
        "ping_sent_at",
        "queue",
        "quit_reason",
        "read_markers",
        "realname",
        "registered",
        "sasl",
        "secure",
        "sent",
        "server_name",
        "signon",
        "tag_key",
        "token",
        "user",
    )

    #: A user of another node of the network (``server.cluster.remote``), not a connection.
    remote: ClassVar[bool] = False

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
        self.caps: frozenset[str] | set[str] = _NONE
        self.cap_version = 0
        self.cap_negotiating = False
        self.tag_key = 0
        #: User modes, replaced (not changed in place) by the registry.
        self.modes: frozenset[str] = _NONE
        #: The draft/multiline batch this client is sending, if one is open.
        self.multiline: OpenBatch | None = None
        #: This connection's own name, never another's (see :func:`_new_token`): the
        #: party of its direct conversations while it is not signed in, so nobody who
        #: takes its nick later reads them.
        self.token = _new_token()
        #: The account this connection is signed in to; only ``Context.sign_in`` and
        #: ``sign_out`` change it (the registry lock guards it).
        self.account: Account | None = None
        #: The SASL exchange in progress (AUTHENTICATE), if any.
        self.sasl: Exchange | None = None
        #: Its read markers while it is not signed in (an account keeps its own); made
        #: at its first MARKREAD, so an idle connection costs nothing for them.
        self.read_markers: Markers | None = None
        #: The ids of the channel messages it sent while not signed in (the proof that
        #: they are its own, for REDACT); made at its first such message.
        self.sent: deque[str] | None = None
        #: The away message, or None when here.
        self.away: str | None = None
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
        self._wakeup: threading.Event | None = None
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
    def account_name(self) -> str | None:
        """The name of the account this client is signed in to (as registered), or None."""
        account = self.account
        return account.display if account is not None else None

    @property
    def wakeup(self) -> threading.Event:
        """Set when the connection is ending, so a reader waiting out fake lag wakes
        (made on first use: most connections never wait)."""
        event = self._wakeup
        if event is None:
            with _WAKEUP_LOCK:
                event = self._wakeup
                if event is None:
                    event = self._wakeup = threading.Event()
        return event

    @property
    def tls(self) -> TLSSession | None:
        """The TLS session of a connection made to the TLS port."""
        return self.queue.tls

    def set_caps(self, caps: frozenset[str] | set[str]) -> None:
        """Replace the enabled capabilities (and the tags this client gets)."""
        self.caps = caps
        self.tag_key = (
            (TAG_TIME if "server-time" in caps else 0)
            | (TAG_CLIENT if "message-tags" in caps else 0)
            | (TAG_ACCOUNT if "account-tag" in caps else 0)
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
