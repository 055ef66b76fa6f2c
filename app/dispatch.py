"""How the session's parts take IRC lines: a handler table per part, and what a part may ask
of the session that owns it (:class:`Host`).

The session (:mod:`app.session`) and each state object it owns (:mod:`app.members`,
:mod:`app.identity`, :mod:`app.caps`) register their handlers by command in a table of
their own with the decorator :func:`registrar` makes; the session's dispatcher consults
the tables in turn, and every command has one owner. A part never imports the session: it
is given a :class:`Host`, the little it needs of it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from app import events as ev
from server.protocol.codec import Message

Owner = TypeVar("Owner")
Table = dict[str, Callable[[Owner, Message], None]]


def registrar(
    table: Table[Owner],
) -> Callable[..., Callable[[Callable[[Owner, Message], None]], Callable[[Owner, Message], None]]]:
    """A decorator that registers a method as the handler of the IRC commands it names."""

    def handles(
        *commands: str,
    ) -> Callable[[Callable[[Owner, Message], None]], Callable[[Owner, Message], None]]:
        def register(func: Callable[[Owner, Message], None]) -> Callable[[Owner, Message], None]:
            for name in commands:
                assert name not in table, f"{name} has two handlers"
                table[name] = func
            return func

        return register

    return handles


class Host(Protocol):
    """What a part of the session needs of it: its rules for names, its outbox and events."""

    registered: bool

    @property
    def caps(self) -> set[str]:
        """The capabilities the server granted on this connection."""

    def fold(self, name: str) -> str:
        """Casefold ``name`` with the server's CASEMAPPING."""

    def is_me(self, nick: str | None) -> bool:
        """True when ``nick`` is our own nick."""

    def is_channel(self, name: str) -> bool:
        """True when ``name`` names a channel on this server."""

    def send(self, line: str) -> None:
        """Queue ``line`` for the server."""

    def emit(self, event: ev.Event) -> None:
        """Add ``event`` to those the line being handled caused."""

    def time(self, msg: Message) -> datetime:
        """When ``msg`` happened (its server-time tag, else now)."""

    def reply(self, msg: Message) -> None:
        """Show the numeric ``msg`` as the answer it is."""
