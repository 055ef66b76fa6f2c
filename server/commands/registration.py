"""Connection registration and keep-alive: CAP, PASS, NICK, USER, PING, PONG, QUIT,
and the welcome burst (001-005, LUSERS, MOTD)."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

from ..accounts import StoreUnavailable
from ..clustering import SPLIT_TEXT, ClusterUnavailable
from ..multiline import CAP as MULTILINE_CAP
from ..multiline import CAP_VALUE as MULTILINE_CAP_VALUE
from ..presence import notify_offline, notify_online
from ..protocol.codec import MAX_LINE, Message
from ..protocol.names import USERLEN, casefold, valid_nick
from ..protocol.numerics import (
    ERR_ALREADYREGISTERED,
    ERR_ERRONEUSNICKNAME,
    ERR_INVALIDCAPCMD,
    ERR_NEEDMOREPARAMS,
    ERR_NICKNAMEINUSE,
    ERR_NICKRESERVED,
    ERR_NOMOTD,
    ERR_NONICKNAMEGIVEN,
    ERR_PASSWDMISMATCH,
    RPL_CREATED,
    RPL_ENDOFMOTD,
    RPL_GLOBALUSERS,
    RPL_ISUPPORT,
    RPL_LOCALUSERS,
    RPL_LUSERCHANNELS,
    RPL_LUSERCLIENT,
    RPL_LUSERME,
    RPL_LUSEROP,
    RPL_LUSERUNKNOWN,
    RPL_MOTD,
    RPL_MOTDSTART,
    RPL_MYINFO,
    RPL_WELCOME,
    RPL_YOURHOST,
)
from ..sasl import MECHANISMS
from ..search import CAP as SEARCH_CAP
from ..sendq import Outgoing, ResponseBuffer
from .burst import Reply, send_fixed
from .channels import join_channel
from .identity import REGISTRATION_CAP, nick_refusal, registration_cap_value, registration_open
from .modes import CHANMODES, CHANNEL_MODE_LETTERS, MAX_LIST, MODES_PER_COMMAND, USER_MODES
from .outage import unavailable
from .redact import CAP as REDACT_CAP
from .signin import abort_unfinished, sasl_offered
from .table import command
from .users import MONITOR_LIMIT

if TYPE_CHECKING:
    from ..context import Context
    from ..session import Session

#: Capabilities this server offers (name -> value shown in CAP LS 302).
CAPABILITIES: dict[str, str] = {
    "account-notify": "",
    "account-tag": "",
    "away-notify": "",
    "batch": "",
    "cap-notify": "",
    MULTILINE_CAP: MULTILINE_CAP_VALUE,
    "chghost": "",
    "echo-message": "",
    "extended-join": "",
    "extended-monitor": "",
    "draft/extended-monitor": "",  # the same, by its draft name
    "draft/read-marker": "",
    "invite-notify": "",
    "labeled-response": "",
    "message-tags": "",
    "multi-prefix": "",
    "server-time": "",
    "setname": "",
    "standard-replies": "",
    "userhost-in-names": "",
}


def capabilities(server: Context) -> dict[str, str]:
    """The capabilities offered: the fixed set, chathistory when history is on,
    sasl where accounts exist, and account registration when it is open."""
    offered = CAPABILITIES
    if server.history is not None:
        # Redaction needs the stored messages to know whose a message is.
        offered = {**offered, "draft/chathistory": "", REDACT_CAP: ""}
    if server.search is not None:
        offered = {**offered, SEARCH_CAP: ""}
    if sasl_offered(server):
        offered = {**offered, "sasl": ",".join(MECHANISMS)}
    if registration_open(server):
        offered = {**offered, REGISTRATION_CAP: registration_cap_value(server)}
    return offered


def isupport_tokens(server: Context) -> list[str]:
    """The RPL_ISUPPORT tokens: every limit named here is enforced, and the reverse."""
    config = server.config
    targets = config.max_targets
    tokens = [
        f"AWAYLEN={config.awaylen}",
        "BOT=B",
        "CASEMAPPING=ascii",
        f"CHANLIMIT=#:{config.max_channels or ''}",
        "CHANMODES=" + CHANMODES,
        f"CHANNELLEN={config.channellen}",
        "CHANTYPES=#",
        *([f"CHATHISTORY={config.chathistory_max}"] if server.history else []),
        "ELIST=CMNTU",
        "EXCEPTS=e",
        "INVEX=I",
        f"KICKLEN={config.kicklen}",
        f"MAXLIST=beI:{MAX_LIST}",
        f"MODES={MODES_PER_COMMAND}",
        f"MONITOR={MONITOR_LIMIT}",
        *(["MSGREFTYPES=msgid,timestamp"] if server.history else []),
        f"NAMELEN={config.namelen}",
        f"NETWORK={config.network}",
        f"NICKLEN={config.nicklen}",
        "PREFIX=(ov)@+",
        "STATUSMSG=@+",
        f"TARGMAX=NOTICE:{targets},PRIVMSG:{targets},TAGMSG:{targets},MONITOR:,KICK:,JOIN:,PART:,NAMES:",
        f"TOPICLEN={config.topiclen}",
        f"USERLEN={USERLEN}",
        "UTF8ONLY",
        "WHOX",
    ]
    return tokens


def isupport_replies(server: Context) -> tuple[Reply, ...]:
    """The RPL_ISUPPORT replies: the tokens, a dozen per line (the limit is 13)."""
    tokens = isupport_tokens(server)
    return tuple(
        (RPL_ISUPPORT, tuple(tokens[start : start + 12])) for start in range(0, len(tokens), 12)
    )


def send_isupport(server: Context, reply: ResponseBuffer) -> None:
    """Send the RPL_ISUPPORT tokens."""
    send_fixed(reply, server.config.nicklen, isupport_replies(server))


# --- capability negotiation ---------------------------------------------------------
def _cap_reply(reply: ResponseBuffer, subcommand: str, items: list[str], multiline: bool) -> None:
    """Send a CAP list, split over several lines when it would not fit in one."""
    source = reply.server_name
    nick = reply.client.nick
    budget = MAX_LINE - 2 - len(f":{source} CAP {nick} {subcommand} * :") - 1
    lines: list[list[str]] = [[]]
    size = 0
    for item in items:
        if lines[-1] and size + len(item) + 1 > budget:
            lines.append([])
            size = 0
        lines[-1].append(item)
        size += len(item) + 1
    if not multiline:
        lines = [[item for line in lines for item in line]]
    for index, line in enumerate(lines):
        more = ["*"] if index < len(lines) - 1 else []
        reply.send_line("CAP", nick, subcommand, *more, " ".join(line), source=source)


@command("CAP", min_params=1, pre_registration=True)
def cap(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """CAP LS / LIST / REQ / END (IRCv3 capability negotiation)."""
    sub = msg.params[0].upper()
    if sub == "LS":
        if not client.registered:
            client.cap_negotiating = True
        version = msg.param(1)
        if version.isdigit() and int(version) >= 302:
            client.cap_version = max(client.cap_version, int(version))
            client.set_caps(client.caps | {"cap-notify"})
        multiline = client.cap_version >= 302
        items = [
            f"{name}={value}" if value and multiline else name
            for name, value in capabilities(server).items()
        ]
        _cap_reply(reply, "LS", items, multiline)
    elif sub == "LIST":
        _cap_reply(reply, "LIST", sorted(client.caps), client.cap_version >= 302)
    elif sub == "REQ":
        if not client.registered:
            client.cap_negotiating = True
        requested = msg.param(1).split()
        offered = capabilities(server)
        enable = set(client.caps)
        ok = bool(requested)
        for item in requested:
            name = item[1:] if item.startswith("-") else item
            if name not in offered:
                ok = False
            elif item.startswith("-"):
                enable.discard(name)
            else:
                enable.add(name)
        if ok:
            client.set_caps(enable)
        reply.send_line(
            "CAP", client.nick, "ACK" if ok else "NAK", msg.param(1), source=server.config.name
        )
    elif sub == "END":
        if not client.registered and client.cap_negotiating:
            client.cap_negotiating = False
            try_register(server, client, reply)
    else:
        reply.numeric(ERR_INVALIDCAPCMD, msg.params[0])


# --- registration -------------------------------------------------------------------
@command("PASS", min_params=1, pre_registration=True)
def pass_(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """PASS: the connection password, checked when registration completes."""
    if client.registered:
        reply.numeric(ERR_ALREADYREGISTERED)
        return
    password = msg.params[0]
    expected = server.config.password
    import hmac  # OpenSSL's libcrypto: loaded only when used

    if expected is not None and hmac.compare_digest(password.encode(), expected.encode()):
        client.password_ok = True
        return
    name, sep, secret = password.partition(":")
    if sep and name and secret and server.accounts is not None and client.account is None:
        # PASS account:password, for clients without SASL (Ergo's login-via-pass-command):
        # as in Ergo, signing in stands in for the server password.
        account = server.accounts.authenticate(name, secret)
        if account is not None:
            client.password_ok = True
            server.sign_in(client, account, reply)
            return
        # Unlike Ergo, a wrong account password is not ignored: the user asked to sign
        # in and would otherwise be connected, unnoticed, as nobody.
        server.login_failed(client, f"PASS as account {name!r}", account=name)
        if not client.closing:
            reply.numeric(ERR_PASSWDMISMATCH)
            server.end(client, "Bad password", error="Closing Link: Password incorrect")
        return
    client.password_ok = expected is None


@command("NICK", pre_registration=True)
def nick(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """NICK: choose or change a nickname."""
    new = msg.param(0)
    if not new:
        reply.numeric(ERR_NONICKNAMEGIVEN)
        return
    if not valid_nick(new, server.config.nicklen):
        reply.numeric(ERR_ERRONEUSNICKNAME, new)
        return
    if new == client.nick:
        return
    # Before registration the client may still sign in (SASL): an account's name is
    # checked when registration completes (``try_register``), not asked here as well.
    refusal = nick_refusal(server, client, new, accounts=client.registered)
    if refusal == "service":
        reply.numeric(ERR_NICKNAMEINUSE, new)
        return
    if refusal == "account":
        reply.numeric(ERR_NICKRESERVED, new)
        return
    if not client.registered:
        # Kept on the connection only: the nick is claimed when registration completes.
        if not server.registry.hold_nick(client, new):
            reply.numeric(ERR_NICKNAMEINUSE, new)
            return
        try_register(server, client, reply)
        return
    old_source = client.source
    old_key = client.key
    try:
        claimed = server.registry.claim_nick(client, new)
    except ClusterUnavailable:
        reply.send_line(
            "FAIL", "NICK", "TEMPORARILY_UNAVAILABLE", SPLIT_TEXT, source=server.config.name
        )
        return
    if not claimed:
        reply.numeric(ERR_NICKNAMEINUSE, new)
        return
    if server.cluster is not None and old_key is not None and old_key != client.key:
        server.cluster.renamed(client, old_key)
    elif server.cluster is not None:
        server.cluster.changed(client)  # the same nick in another case
    recipients = server.registry.peers(client)
    recipients.add(client)
    Outgoing("NICK", new, source=old_source, account=client.account_name).deliver(recipients, reply)
    old_nick = old_source.partition("!")[0]
    if casefold(old_nick) != client.key:
        notify_offline(server.registry, old_nick)
        notify_online(server.registry, client)


@command("USER", min_params=4, pre_registration=True)
def user(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """USER <username> 0 * :<realname>."""
    if client.registered or client.user is not None:
        reply.numeric(ERR_ALREADYREGISTERED)
        return
    if not msg.params[0] or not msg.params[3]:
        reply.numeric(ERR_NEEDMOREPARAMS, "USER")
        return
    # A username with characters an ident cannot have is replaced, not refused: the
    # user can still chat, and the host part identifies the connection anyway.
    username = "".join(c for c in msg.params[0] if c.isascii() and (c.isalnum() or c in "-_.[]"))
    client.user = "~" + (username or "user")[: USERLEN - 1]
    client.realname = msg.params[3][: server.config.namelen]
    try_register(server, client, reply)


def try_register(server: Context, client: Session, reply: ResponseBuffer) -> None:
    """Finish registration once NICK, USER and any CAP negotiation are done."""
    if client.registered or client.cap_negotiating or client.nick == "*" or client.user is None:
        return
    abort_unfinished(client, reply)
    if not client.password_ok:
        # The answer waits out a delay that grows per address, so reconnecting to
        # guess again gains nothing (and enough failures get the address refused).
        server.login_failed(client, "PASS")
        if client.closing:
            return
        reply.numeric(ERR_PASSWDMISMATCH)
        server.end(client, "Bad password", error="Closing Link: Password incorrect")
        return
    if server.config.require_account and client.account is None:
        text = "You must log in with SASL to join this server"  # Ergo's words
        reply.send_line("FAIL", "*", "ACCOUNT_REQUIRED", text, source=server.config.name)
        server.end(client, text)
        return
    nick = client.nick
    try:
        refusal = nick_refusal(server, client, nick)
    except StoreUnavailable as exc:
        # The nick cannot be checked against the accounts: refused (and the connection
        # ended) as the NICK it is, never handed out.
        unavailable(server, client, "NICK", reply, exc.text)
        return
    if refusal is not None:
        # An account's name, and the client has not signed in to it: choose another.
        server.registry.drop_held_nick(client)
        reply.numeric(ERR_NICKRESERVED, nick)
        return
    cluster = server.cluster
    try:
        if cluster is not None and not cluster.up():
            raise ClusterUnavailable
        registered = server.registry.register(client)
    except ClusterUnavailable:
        # Split from the network: its nick table cannot say whether the nick is free.
        reply.send_line(
            "FAIL", "*", "TEMPORARILY_UNAVAILABLE", SPLIT_TEXT, source=server.config.name
        )
        server.end(client, "Network temporarily unavailable")
        return
    if not registered:
        # Someone registered this nick first: the client may choose another one.
        reply.numeric(ERR_NICKNAMEINUSE, nick)
        return
    if cluster is not None:
        cluster.introduced(client)  # before its autojoins: the others know who joins
    welcome(server, client, reply)
    notify_online(server.registry, client)
    for channel in server.config.autojoin:
        join_channel(server, client, reply, channel)


def welcome(server: Context, client: Session, reply: ResponseBuffer) -> None:
    """The burst a client gets when it registers: 001-005, LUSERS and MOTD."""
    config = server.config
    reply.numeric(RPL_WELCOME, f"Welcome to the {config.network} Network, {client.source}")
    # The rest but LUSERS reads the same for everyone: each line is built once.
    send_fixed(reply, config.nicklen, _about_server(config.name, server.version, config.created))
    send_isupport(server, reply)
    send_lusers(server, client, None, reply)
    send_motd(server, client, None, reply)


@functools.lru_cache(maxsize=8)
def _about_server(name: str, version: str, created: float) -> tuple[Reply, ...]:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(created))
    return (
        (RPL_YOURHOST, (f"Your host is {name}, running version {version}",)),
        (RPL_CREATED, (f"This server was created {when}",)),
        (RPL_MYINFO, (name, version, USER_MODES, CHANNEL_MODE_LETTERS, "beIklov")),
    )


@command("LUSERS")
def send_lusers(
    server: Context, client: Session, msg: Message | None, reply: ResponseBuffer
) -> None:
    """LUSERS: how many users, operators, unknown connections and channels there are."""
    n = server.registry.counts()
    servers = 1 if server.cluster is None else server.cluster.servers()
    reply.numeric(
        RPL_LUSERCLIENT,
        f"There are {n['users']} users and {n['invisible']} invisible on {servers} servers",
    )
    reply.numeric(RPL_LUSEROP, str(n["opers"]))
    reply.numeric(RPL_LUSERUNKNOWN, str(n["unknown"]))
    reply.numeric(RPL_LUSERCHANNELS, str(n["channels"]))
    reply.numeric(RPL_LUSERME, f"I have {n['clients']} clients and {servers - 1} servers")
    # 265 is this server's own count and peak; 266 the network's.
    current, most = str(n["clients"]), str(n["local_max"])
    reply.numeric(RPL_LOCALUSERS, current, most, f"Current local users {current}, max {most}")
    every, top = str(n["global"]), str(n["max"])
    reply.numeric(RPL_GLOBALUSERS, every, top, f"Current global users {every}, max {top}")


@command("MOTD")
def send_motd(server: Context, client: Session, msg: Message | None, reply: ResponseBuffer) -> None:
    """MOTD: the message of the day, or ERR_NOMOTD."""
    lines = server.config.motd
    if not lines:
        reply.numeric(ERR_NOMOTD)
        return
    send_fixed(reply, server.config.nicklen, _motd(server.config.name, tuple(lines)))


@functools.lru_cache(maxsize=8)
def _motd(name: str, lines: tuple[str, ...]) -> tuple[Reply, ...]:
    return (
        (RPL_MOTDSTART, (f"- {name} Message of the day - ",)),
        *((RPL_MOTD, (f"- {line}" if line else "-",)) for line in lines),
        (RPL_ENDOFMOTD, ()),
    )


# --- keep-alive and leaving ------------------------------------------------------------
@command("PING", min_params=1, pre_registration=True)
def ping(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """PING <token>: answered with PONG <server> <token>."""
    name = server.config.name
    reply.send_line("PONG", name, msg.params[0], source=name)


@command("PONG", pre_registration=True)
def pong(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """PONG: any line already counts as activity, so there is nothing else to do."""


@command("QUIT", pre_registration=True)
def quit_(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """QUIT [<reason>]: ERROR to the quitter, QUIT to everyone sharing a channel."""
    server.end(client, f"Quit: {msg.param(0)}")
