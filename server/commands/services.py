"""Service users (ChanServ): nicks the server answers itself, over PRIVMSG.

A service is a function given the sender and the words of its message; it answers with
NOTICEs from the service (as Ergo's services do). The messaging commands hand a PRIVMSG
to a service before looking for a user of that nick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..accounts import UNAVAILABLE, StoreUnavailable
from ..protocol.names import casefold

if TYPE_CHECKING:
    from ..context import Context
    from ..sendq import ResponseBuffer
    from ..session import Session

#: A service's handler: the server, the sender, the message text, the sender's replies.
ServiceHandler = Callable[["Context", "Session", str, "ResponseBuffer"], None]

#: Casefolded service nick -> (nick as shown, handler).
SERVICES: dict[str, tuple[str, ServiceHandler]] = {}


def service(nick: str) -> Callable[[ServiceHandler], ServiceHandler]:
    """Register the decorated function as the service user ``nick``."""

    def register(handler: ServiceHandler) -> ServiceHandler:
        def answer(server: Context, client: Session, text: str, reply: ResponseBuffer) -> None:
            try:
                handler(server, client, text, reply)
            except StoreUnavailable:
                # The database is down: the service says so (never a silent drop).
                notice(server, client, reply, nick, UNAVAILABLE)

        SERVICES[casefold(nick)] = (nick, answer)
        return handler

    return register


def find_service(nick: str) -> tuple[str, ServiceHandler] | None:
    """The service called ``nick`` (any case), if there is one."""
    return SERVICES.get(casefold(nick))


def services_source(server: Context, nick: str = "ChanServ") -> str:
    """A service's message source: ``ChanServ!ChanServ@<server name>``."""
    return f"{nick}!{nick}@{server.config.name}"


def notice(server: Context, client: Session, reply: ResponseBuffer, nick: str, text: str) -> None:
    """A NOTICE from service ``nick`` to ``client``, as a reply to its command."""
    reply.send_line("NOTICE", client.nick, text, source=services_source(server, nick))
