"""Server operators: OPER, KILL, WALLOPS."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from ..client import Outgoing
from ..protocol.codec import Message
from ..protocol.numerics import (
    ERR_NOOPERHOST,
    ERR_NOPRIVILEGES,
    ERR_NOSUCHNICK,
    ERR_PASSWDMISMATCH,
    RPL_YOUREOPER,
)
from .table import command

if TYPE_CHECKING:
    from ..client import Client
    from ..server import ChatServer


@command("OPER", min_params=2)
def oper(server: ChatServer, client: Client, msg: Message) -> None:
    """OPER <name> <password>: become a server operator (``--oper NAME:PASSWORD``)."""
    name, password = msg.params[0], msg.params[1]
    expected = server.config.opers.get(name)
    if expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
        # Every wrong guess costs time, growing per address, and a few cost the
        # connection: guessing must be slow, and visible in the log.
        failures = server.login_failed(client, f"OPER as {name!r}")
        if client.closing:
            return
        client.numeric(ERR_NOOPERHOST if expected is None else ERR_PASSWDMISMATCH)
        if 0 < server.config.oper_attempts <= failures:
            server.drop(client, "Too many failed OPER attempts")
        return
    if server.registry.set_user_mode(client, "o", True):
        client.send_line("MODE", client.nick, "+o", source=client.source)
    client.numeric(RPL_YOUREOPER)


def _require_oper(client: Client) -> bool:
    if "o" in client.modes:
        return True
    client.numeric(ERR_NOPRIVILEGES)
    return False


@command("KILL", min_params=2)
def kill(server: ChatServer, client: Client, msg: Message) -> None:
    """KILL <nick> <reason>: an operator disconnects a user."""
    if not _require_oper(client):
        return
    target = server.registry.find_nick(msg.params[0])
    if target is None:
        client.numeric(ERR_NOSUCHNICK, msg.params[0])
        return
    reason = msg.params[1]
    target.send_line("KILL", target.nick, reason, source=client.source)
    why = f"Killed ({client.nick} ({reason}))"
    server.drop(target, why, error=f"Closing Link: {server.config.name} ({why})")


@command("WALLOPS", min_params=1)
def wallops(server: ChatServer, client: Client, msg: Message) -> None:
    """WALLOPS <text>: an operator's message to every user with mode +w."""
    if not _require_oper(client):
        return
    with server.registry.lock:
        recipients = [c for c in server.registry.nicks.values() if "w" in c.modes]
    Outgoing("WALLOPS", msg.params[0], source=client.source).deliver(recipients)
