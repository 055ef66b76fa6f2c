"""Users of other nodes as entries of the local registry.

A :class:`RemoteSession` is a :class:`~server.session.Session` with no socket: the
registry, WHOIS, WHO, NAMES, LIST, ISON, USERHOST and MONITOR see it as any user. What
the local relay would push to it is dropped (:class:`NoQueue`): its own node delivers
to it (channel messages come to that node through their Redis channel, state changes
through the events), and a direct message goes there explicitly (``fanout``).
"""

from __future__ import annotations

import threading
from typing import Any

from ..accounts import Account
from ..protocol.names import casefold
from ..sendq import ResponseBuffer
from ..session import Session


class NoQueue:
    """The send queue of a user of another node: nothing is sent from here."""

    tls = None
    closed = False

    def push(self, data: bytes, corked: object = None) -> None:
        """Drop: the user's own node sends it what it must see."""

    def write_out(self, wait: bool = False) -> None:
        """Nothing is queued."""

    def cut(self) -> None:
        """There is no socket."""

    def close(self) -> None:
        """There is no socket."""

    def pending(self) -> int:
        """Nothing is queued."""
        return 0


_NO_QUEUE = NoQueue()


def user_state(client: Session, node: str) -> dict[str, Any]:
    """What the other nodes need to know of a local registered user (JSON-ready)."""
    account = client.account
    return {
        "node": node,
        "server": client.server_name,
        "nick": client.nick,
        "user": client.user or "*",
        "host": client.host,
        "realname": client.realname,
        "modes": "".join(sorted(client.modes)),
        "away": client.away,
        "account": None if account is None else [account.name, account.display],
        "tags": client.tag_key,
        "caps": sorted(client.caps),
        "token": client.token,
        "signon": client.signon,
        "secure": client.secure,
    }


class RemoteSession(Session):
    """A registered user of another node: its state, kept current by that node's events."""

    __slots__ = ("node",)
    remote = True

    def __init__(self, state: dict[str, Any], now: float) -> None:
        # Not Session.__init__: there is no socket, no flood bucket, no timeouts.
        self.node: str = state["node"]
        self.queue = _NO_QUEUE  # type: ignore[assignment]
        #: The server (node) it is connected to, as WHOIS and WHO show it.
        self.server_name: str = state.get("server") or self.node
        self.ip = f"{self.node}.remote"
        self.key = casefold(state["nick"])
        self.registered = True
        self.password_ok = True
        self.cap_negotiating = False
        self.cap_version = 302
        self.multiline = None
        self.sasl = None
        self.read_markers = None
        self.sent = None
        self.connected_at = self.last_active = self.last_spoke = now
        self.ping_sent_at = None
        self.quit_reason = None
        self.closing = False
        self._wakeup: threading.Event | None = None
        self.flood = None
        self.early_lines = 0
        self.direct = ResponseBuffer(self, self.server_name)
        self.account: Account | None = account_of(state)
        self.modes = frozenset(state.get("modes", ""))
        self.update(state)
        self.signon = int(state.get("signon", 0))

    def __repr__(self) -> str:
        return f"<RemoteSession {self.nick}@{self.node}>"

    def update(self, state: dict[str, Any]) -> None:
        """Take the identity fields of ``state`` (nick, modes and account go through
        the registry: see ``events``)."""
        self.nick = state["nick"]
        self.user = state["user"]
        self.host = state["host"]
        self.realname = state["realname"]
        self.away = state.get("away")
        self.token = state["token"]
        self.secure = bool(state.get("secure"))
        self.caps = frozenset(state.get("caps", ()))
        self.tag_key = int(state.get("tags", 0))

    def send(self, data: bytes) -> None:
        """Drop: see :class:`NoQueue`."""


def account_of(state: dict[str, Any]) -> Account | None:
    """The account a user's state names, if any."""
    pair = state.get("account")
    return None if not pair else Account(pair[0], pair[1], 0)
