"""IRCv3 capability negotiation (``CAP LS 302``, REQ, ACK, NAK, NEW, DEL, END).

:class:`Capabilities` keeps what the server offers on this connection and what it granted,
asks for the wanted ones, and ends the negotiation once every answer is in. SASL is the
one capability it does not decide alone: it asks for ``sasl`` only when the session will
sign in, and leaves CAP END to the sign-in while one runs (:class:`CapsHost`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from app.dispatch import Table, registrar
from server.protocol.codec import Message, build

#: Capabilities the client asks for when the server offers them.
WANTED_CAPS = (
    "echo-message",
    "server-time",
    "message-tags",
    "multi-prefix",
    "away-notify",
    "batch",
    "draft/chathistory",
    "account-notify",
    "extended-join",
    "account-tag",
    "draft/read-marker",
    "draft/multiline",
    "soju.im/search",
    "draft/message-redaction",
)


class CapsHost(Protocol):
    """What negotiation needs of the session: its outbox, and the sign-in's say on SASL."""

    registered: bool

    def send(self, line: str) -> None:
        """Queue ``line`` for the server."""

    @property
    def signs_in(self) -> bool:
        """True when the session has credentials to sign in with (so it wants ``sasl``)."""

    def sasl_acked(self, granted: bool) -> bool:
        """A CAP ACK came (``granted``: it granted ``sasl``); True while a sign-in holds
        CAP END back."""


HANDLERS: Table[Capabilities] = {}
handles = registrar(HANDLERS)


class Capabilities:
    """The capabilities offered and granted on this connection."""

    def __init__(self, host: CapsHost, wanted: Iterable[str] = WANTED_CAPS) -> None:
        self.host = host
        self.wanted = tuple(wanted)
        self.offered: dict[str, str] = {}  # name -> value, as CAP LS listed them
        self.enabled: set[str] = set()
        self._ended = False

    def connection_made(self) -> None:
        """A new connection: nothing is offered or granted yet."""
        self.enabled = set()
        self.offered = {}
        self._ended = False

    def end(self) -> None:
        """Send CAP END, once, while registration waits for it."""
        if not self._ended and not self.host.registered:
            self._ended = True
            self.host.send("CAP END")

    @handles("CAP")
    def _on_cap(self, msg: Message) -> None:
        sub = msg.param(1).upper()
        if sub == "LS":
            more = len(msg.params) > 3 and msg.params[2] == "*"
            for item in msg.params[-1].split():
                name, _, value = item.partition("=")
                self.offered[name] = value
            if more:
                return
            wanted = [c for c in self.wanted if c in self.offered]
            if self.host.signs_in and "sasl" in self.offered:
                wanted.append("sasl")  # asked for only by a client that will sign in
            if wanted and not self.host.registered:
                self.host.send(build("CAP", "REQ", " ".join(wanted)))
            elif not self.host.registered:
                self.end()
        elif sub == "ACK":
            for name in msg.params[-1].split():
                if name.startswith("-"):
                    self.enabled.discard(name[1:])
                else:
                    self.enabled.add(name)
            if not self.host.sasl_acked("sasl" in msg.params[-1].split()):
                self.end()
        elif sub == "NAK":
            self.end()
        elif sub == "NEW":
            new = [c for c in msg.params[-1].split() if c.partition("=")[0] in self.wanted]
            if new:
                self.host.send(build("CAP", "REQ", " ".join(c.partition("=")[0] for c in new)))
        elif sub == "DEL":
            for name in msg.params[-1].split():
                self.enabled.discard(name)
