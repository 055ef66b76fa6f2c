"""Signing in and out: the one place a connection's account changes.

Whatever proves who a client is (SASL, ``PASS account:password``, NickServ IDENTIFY,
REGISTER) ends in :func:`sign_in`; it sends RPL_LOGGEDIN, sets user mode ``+r`` and
tells everyone who shares a channel and has ``account-notify``. :func:`sign_out` undoes it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import TYPE_CHECKING

from ..protocol.codec import Message
from ..protocol.numerics import (
    ERR_SASLABORTED,
    ERR_SASLALREADY,
    ERR_SASLFAIL,
    ERR_SASLTOOLONG,
    RPL_LOGGEDIN,
    RPL_LOGGEDOUT,
    RPL_SASLMECHS,
    RPL_SASLSUCCESS,
)
from ..protocol.sasl import CHUNK, SASLError, authenticate_chunks
from ..sasl import MAX_RESPONSE, MECHANISMS, Challenge, Exchange, Failure, server_mechanism
from ..sendq import Outgoing
from .table import command

if TYPE_CHECKING:
    from ..accounts import Account
    from ..context import Context
    from ..sendq import ResponseBuffer
    from ..session import Session


log = logging.getLogger("server.signin")


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
    if server.cluster is not None:
        server.cluster.changed(client)


# --- AUTHENTICATE (IRCv3 sasl-3.1 and 3.2) ---------------------------------------------
def sasl_offered(server: Context) -> bool:
    """Whether the ``sasl`` capability is offered: only where accounts exist."""
    return server.accounts is not None


@command("AUTHENTICATE", min_params=1, pre_registration=True)
def authenticate(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """AUTHENTICATE <mechanism> | <base64 chunk> | + | *: a SASL exchange."""
    param = msg.params[0]
    if server.accounts is None or "sasl" not in client.caps:
        # sasl-3.1: the client MUST enable sasl first; Ergo answers 904 as for any failure.
        reply.numeric(ERR_SASLFAIL)
        return
    if param == "*":
        client.sasl = None
        reply.numeric(ERR_SASLABORTED)
        return
    exchange = client.sasl
    if exchange is None:
        _start(server, client, param, reply)
        return
    if len(param) > CHUNK:
        client.sasl = None
        reply.numeric(ERR_SASLTOOLONG)
        return
    if param != "+":
        exchange.chunks.append(param)
        exchange.size += len(param)
        if exchange.size > MAX_RESPONSE:
            client.sasl = None
            reply.numeric(ERR_SASLTOOLONG)
            return
        if len(param) == CHUNK:
            return  # a full chunk: more follows (or a lone "+")
    data = "".join(exchange.chunks)
    exchange.chunks.clear()
    exchange.size = 0
    try:
        response = base64.b64decode(data, validate=True)
        step = exchange.mechanism.step(response)
    except (binascii.Error, ValueError, SASLError) as exc:
        # Malformed, not a wrong password: 904 ("other errors" in sasl-3.1), uncounted.
        log.info("malformed SASL from %s: %s", client.ip, exc)
        client.sasl = None
        reply.numeric(ERR_SASLFAIL)
        return
    if isinstance(step, Challenge):
        for chunk in authenticate_chunks(step.data):
            reply.send_line("AUTHENTICATE", chunk, source=server.config.name)
        return
    client.sasl = None
    if isinstance(step, Failure):
        server.login_failed(client, f"SASL ({step.reason})", account=step.account)
        if not client.closing:
            reply.numeric(ERR_SASLFAIL)
        return
    server.sign_in(client, step.account, reply)
    reply.numeric(RPL_SASLSUCCESS)


def _start(server: Context, client: Session, name: str, reply: ResponseBuffer) -> None:
    """The initial AUTHENTICATE: choose a mechanism."""
    if client.account is not None:
        # sasl-3.2 allows re-authentication; this server does not (sasl-3.1: 907).
        reply.numeric(ERR_SASLALREADY)
        return
    assert server.accounts is not None
    certfp = client.tls.peer_fingerprint() if client.tls is not None else ""
    mechanism = server_mechanism(name, server.accounts, certfp or None)
    if mechanism is None:
        reply.numeric(RPL_SASLMECHS, ",".join(MECHANISMS))
        reply.numeric(ERR_SASLFAIL)
        return
    client.sasl = Exchange(mechanism, [])
    # Every mechanism here is client-first: an empty server response.
    reply.send_line("AUTHENTICATE", "+", source=server.config.name)


def abort_unfinished(client: Session, reply: ResponseBuffer) -> None:
    """Registration completes while an exchange is open: sasl-3.1 says abort it (906)."""
    if client.sasl is not None:
        client.sasl = None
        reply.numeric(ERR_SASLABORTED)
