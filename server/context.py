"""What a command handler may use of the server: a narrow type below the core.

``ChatServer`` satisfies :class:`Context`; handlers and operator actions are typed with
it, so nothing below the core imports the core (no import cycle, type-only included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .accounts import Account, AccountStore
    from .clustering import ClusterHook
    from .config import Config
    from .history_api import History, Search
    from .penalty import LoginFailures
    from .readmarkers import ReadMarkerStore
    from .registry import Registry
    from .rehash import Report
    from .rooms import RoomStore
    from .sendq import ResponseBuffer
    from .session import Session


class Context(Protocol):
    """The server as its handlers see it."""

    config: Config
    registry: Registry
    #: The message store, or None when history is off.
    history: History | None
    #: The full-text index of the history (``soju.im/search``), or None without history.
    search: Search | None
    #: The accounts, or None when the server has no data directory.
    accounts: AccountStore | None
    #: The registered rooms (ChanServ), or None when the server has no data directory.
    rooms: RoomStore | None
    #: The accounts' read markers, or None when the server has no data directory.
    markers: ReadMarkerStore | None
    #: This server's place in a network of nodes, or None when it is alone.
    cluster: ClusterHook | None
    #: Monotonic seconds (injected in tests).
    clock: Callable[[], float]
    version: str
    #: When the server started (epoch seconds).
    started: float
    #: PRIVMSG/NOTICE/TAGMSG lines handled since start.
    messages: int
    login_failures: LoginFailures

    def login_failed(self, client: Session, what: str, account: str | None = None) -> int:
        """Count and log a failed PASS, OPER or sign-in (to ``account``), hold the
        client's reader for the penalty delay, and return the connection's failures."""
        ...

    def sign_in(
        self, client: Session, account: Account, reply: ResponseBuffer | None = None
    ) -> None:
        """Sign ``client`` in to ``account``: the only way a connection gets an account
        (RPL_LOGGEDIN, user mode +r, ACCOUNT to account-notify peers)."""
        ...

    def sign_out(self, client: Session, reply: ResponseBuffer | None = None) -> None:
        """Sign ``client`` out of its account, if any (RPL_LOGGEDOUT, -r, ACCOUNT *)."""
        ...

    def rehash(self, by: str = "SIGHUP") -> Report:
        """Read the configuration file again, apply what can change while running, and
        say what was done (``by`` names who asked, for the log)."""
        ...

    def end(self, client: Session, reason: str, error: str | None = None) -> None:
        """End a connection: off the network now, ERROR queued, the reader closes."""
        ...
