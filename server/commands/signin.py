"""Signing in and out: the one place a connection's account changes.

Whatever proves who a client is (SASL, ``PASS account:password``, NickServ IDENTIFY,
REGISTER) ends in :func:`sign_in`; it sends RPL_LOGGEDIN, sets user mode ``+r`` and
tells everyone who shares a channel and has ``account-notify``. :func:`sign_out` undoes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.numerics import RPL_LOGGEDIN, RPL_LOGGEDOUT
from ..sendq import Outgoing

if TYPE_CHECKING:
    from ..accounts import Account
    from ..context import Context
    from ..sendq import ResponseBuffer
    from ..session import Session


def sign_in(
    server: Context, client: Session, account: Account, reply: ResponseBuffer | None = None
) -> None:
    """Sign ``client`` in to ``account``: 900, ``+r`` and ACCOUNT to those who watch."""
    reply = reply or client.direct
    old = server.registry.set_account(client, account)
    if old is not None and old.name == account.name:
        return  # already signed in to it: nothing changed, nothing to tell
    reply.numeric(
        RPL_LOGGEDIN, client.source, account.display, f"You are now logged in as {account.display}"
    )
    if client.registered:
        if old is None:
            reply.send_line("MODE", client.nick, "+r", source=client.source)
        _notify(server, client, account.display, reply)


def sign_out(server: Context, client: Session, reply: ResponseBuffer | None = None) -> None:
    """Sign ``client`` out of its account (if any): 901, ``-r``, ACCOUNT ``*``."""
    reply = reply or client.direct
    if server.registry.set_account(client, None) is None:
        return
    reply.numeric(RPL_LOGGEDOUT, client.source)
    if client.registered:
        reply.send_line("MODE", client.nick, "-r", source=client.source)
        _notify(server, client, "*", reply)


def _notify(server: Context, client: Session, name: str, reply: ResponseBuffer) -> None:
    """ACCOUNT to everyone sharing a channel with ``client``, and to itself (account-notify)."""
    recipients = {peer for peer in server.registry.peers(client) if "account-notify" in peer.caps}
    if "account-notify" in client.caps:
        recipients.add(client)
    if recipients:
        Outgoing("ACCOUNT", name, source=client.source).deliver(recipients, reply)
