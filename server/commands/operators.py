"""Server operators: OPER, KILL, WALLOPS, REHASH."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import admin
from ..protocol.codec import Message
from ..protocol.numerics import (
    ERR_NOOPERHOST,
    ERR_NOPRIVILEGES,
    ERR_NOSUCHNICK,
    ERR_PASSWDMISMATCH,
    RPL_REHASHING,
    RPL_YOUREOPER,
)
from ..sendq import Outgoing, ResponseBuffer
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..session import Session


@command("OPER", min_params=2)
def oper(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """OPER <name> <password>: become a server operator (``--oper NAME:PASSWORD``)."""
    name, password = msg.params[0], msg.params[1]
    expected = server.config.opers.get(name)
    import hmac  # OpenSSL's libcrypto: loaded only when used

    if expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
        # Every wrong guess costs time, growing per address, and a few cost the
        # connection: guessing must be slow, and visible in the log.
        failures = server.login_failed(client, f"OPER as {name!r}")
        if client.closing:
            return
        reply.numeric(ERR_NOOPERHOST if expected is None else ERR_PASSWDMISMATCH)
        if 0 < server.config.oper_attempts <= failures:
            server.end(client, "Too many failed OPER attempts")
        return
    if server.registry.set_user_mode(client, "o", True):
        reply.send_line("MODE", client.nick, "+o", source=client.source)
    reply.numeric(RPL_YOUREOPER)


def _require_oper(client: Session, reply: ResponseBuffer) -> bool:
    if "o" in client.modes:
        return True
    reply.numeric(ERR_NOPRIVILEGES)
    return False


@command("KILL", min_params=2)
def kill(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """KILL <nick> <reason>: an operator disconnects a user."""
    if not _require_oper(client, reply):
        return
    target = server.registry.find_nick(msg.params[0])
    if target is None:
        reply.numeric(ERR_NOSUCHNICK, msg.params[0])
        return
    admin.kill_user(server, target, msg.params[1], client.source, client.nick)


@command("WALLOPS", min_params=1)
def wallops(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """WALLOPS <text>: an operator's message to every user with mode +w."""
    if not _require_oper(client, reply):
        return
    recipients = server.registry.registered_users("w")
    out = Outgoing("WALLOPS", msg.params[0], source=client.source, account=client.account_name)
    out.deliver(recipients, reply)


@command("REHASH")
def rehash(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """REHASH: an operator has the configuration file read again; RPL_REHASHING, then a
    NOTICE for each thing done, refused or needing a restart."""
    if not _require_oper(client, reply):
        return
    report = server.rehash(f"{client.nick} ({client.ip})")
    reply.numeric(RPL_REHASHING, report.file)
    for line in report.lines():
        reply.send_line("NOTICE", client.nick, line, source=reply.server_name)
