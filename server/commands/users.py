"""Questions about users and presence: WHO, WHOIS, WHOWAS, USERHOST, ISON, AWAY,
SETNAME and MONITOR."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..channel import Channel
from ..protocol.codec import MAX_LINE, Message, truncate_utf8
from ..protocol.names import compile_mask
from ..protocol.numerics import (
    ERR_MONLISTFULL,
    ERR_NEEDMOREPARAMS,
    ERR_NONICKNAMEGIVEN,
    ERR_NOSUCHNICK,
    ERR_WASNOSUCHNICK,
    RPL_AWAY,
    RPL_ENDOFMONLIST,
    RPL_ENDOFWHO,
    RPL_ENDOFWHOIS,
    RPL_ENDOFWHOWAS,
    RPL_ISON,
    RPL_MONLIST,
    RPL_MONOFFLINE,
    RPL_MONONLINE,
    RPL_NOWAWAY,
    RPL_UNAWAY,
    RPL_USERHOST,
    RPL_WHOISACCOUNT,
    RPL_WHOISBOT,
    RPL_WHOISCERTFP,
    RPL_WHOISCHANNELS,
    RPL_WHOISIDLE,
    RPL_WHOISOPERATOR,
    RPL_WHOISSECURE,
    RPL_WHOISSERVER,
    RPL_WHOISSERVICE,
    RPL_WHOISUSER,
    RPL_WHOREPLY,
    RPL_WHOSPCRPL,
    RPL_WHOWASUSER,
)
from ..sendq import Outgoing, ResponseBuffer
from .services import find_service
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..session import Session

#: WHOX fields in the order their values are sent.
WHOX_FIELDS = "tcuihsnfdlaor"
MONITOR_LIMIT = 100


def _flags(member: Session, prefix: str) -> str:
    flags = "G" if member.away else "H"
    if "o" in member.modes:
        flags += "*"
    flags += prefix
    if "B" in member.modes:
        flags += "B"
    return flags


@command("WHO", min_params=1)
def who(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """WHO <mask> [<o>][%<fields>[,<token>]]: one reply per visible match."""
    mask = msg.params[0]
    options = msg.param(1)
    opers_only = "o" in options.partition("%")[0]
    whox = None
    if "%" in options:
        fields, _, token = options.partition("%")[2].partition(",")
        whox = (fields, token if token.isdigit() else "0")
    multi = "multi-prefix" in client.caps
    # Each match with its channel (or None) and its prefix there.
    rows: list[tuple[Session, Channel | None, str]] = []
    registry = server.registry
    if mask.startswith("#"):
        channel = registry.find_channel(mask)
        seen = None if channel is None else registry.visible_members(client, channel, multi)
        if seen is not None:
            rows = [(m, channel, prefix) for m, prefix in seen[1]]
    else:
        exact, candidates = registry.who_candidates(client, mask)
        if exact:
            rows = [(m, None, "") for m, _texts in candidates]
        else:
            # Matched on the registry's snapshot: nobody waits for the mask's cost.
            test = compile_mask(mask if mask not in ("0", "") else "*")
            rows = [(m, None, "") for m, texts in candidates if any(test(t) for t in texts)]
    if opers_only:
        rows = [row for row in rows if "o" in row[0].modes]
    replies = [(member, channel, _flags(member, prefix)) for member, channel, prefix in rows]
    now = server.clock()
    for member, channel, flags in replies:
        channel_name = channel.name if channel is not None else "*"
        if whox is None:
            reply.numeric(
                RPL_WHOREPLY,
                channel_name,
                member.user or "*",
                member.host,
                member.server_name,
                member.nick,
                flags,
                f"0 {member.realname}",
            )
            continue
        fields, token = whox
        values = {
            "t": token,
            "c": channel_name,
            "u": member.user or "*",
            "i": member.ip,
            "h": member.host,
            "s": member.server_name,
            "n": member.nick,
            "f": flags,
            "d": "0",
            "l": str(int(now - member.last_spoke)),
            "a": member.account_name or "0",
            "o": "n/a",
            "r": member.realname,
        }
        params = [values[f] for f in WHOX_FIELDS if f in fields]
        reply.numeric(RPL_WHOSPCRPL, *params)
    reply.numeric(RPL_ENDOFWHO, mask)


@command("WHOIS")
def whois(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """WHOIS [<server>] <nick>: who someone is, where they are, how long idle."""
    if not msg.params or not msg.params[-1]:
        reply.numeric(ERR_NONICKNAMEGIVEN)
        return
    nick = msg.params[-1].split(",")[0]
    target = server.registry.find_nick(nick)
    found = find_service(nick) if target is None else None
    if found is not None:
        name, config = found[0], server.config
        reply.numeric(RPL_WHOISUSER, name, name, config.name, "*", "Network Services")
        reply.numeric(RPL_WHOISSERVER, name, config.name, config.info())
        reply.numeric(RPL_WHOISSERVICE, name)
        reply.numeric(RPL_ENDOFWHOIS, name)
        return
    if target is None:
        reply.numeric(ERR_NOSUCHNICK, nick)
        reply.numeric(RPL_ENDOFWHOIS, nick)
        return
    multi = "multi-prefix" in client.caps
    channels = server.registry.whois_channels(client, target, multi)
    config = server.config
    reply.numeric(RPL_WHOISUSER, target.nick, target.user or "*", target.host, "*", target.realname)
    # A user of another node of the network is on that node's server.
    about = config.info() if not target.remote else f"A node of the {config.network} network"
    reply.numeric(RPL_WHOISSERVER, target.nick, target.server_name, about)
    if "o" in target.modes:
        reply.numeric(RPL_WHOISOPERATOR, target.nick)
    if "B" in target.modes:
        reply.numeric(RPL_WHOISBOT, target.nick, f"is a bot on {config.network}")
    idle = int(server.clock() - target.last_spoke)
    reply.numeric(RPL_WHOISIDLE, target.nick, str(idle), str(target.signon))
    head = f":{config.name} 319 {client.nick} {target.nick} :"
    for line in _pack(channels, MAX_LINE - 2 - len(head.encode())):
        reply.numeric(RPL_WHOISCHANNELS, target.nick, line)
    if getattr(target, "secure", False):
        reply.numeric(RPL_WHOISSECURE, target.nick)
    if target is client or "o" in client.modes:
        # A fingerprint identifies a person across networks: only they and operators see it.
        certfp = target.tls.peer_fingerprint() if target.tls is not None else ""
        if certfp:
            text = f"has client certificate fingerprint {certfp}"
            reply.numeric(RPL_WHOISCERTFP, target.nick, text)
    if target.away:
        reply.numeric(RPL_AWAY, target.nick, target.away)
    if target.account is not None:
        reply.numeric(RPL_WHOISACCOUNT, target.nick, target.account.display)
    reply.numeric(RPL_ENDOFWHOIS, target.nick)


def _pack(words: list[str], budget: int, sep: str = " ") -> list[str]:
    """Join words into lines of at most ``budget`` bytes."""
    lines: list[str] = []
    line = ""
    for word in words:
        candidate = f"{line}{sep}{word}" if line else word
        if line and len(candidate.encode()) > budget:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


@command("WHOWAS", min_params=1)
def whowas(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """WHOWAS <nick> [<count>]: who used a nick that is gone, newest first."""
    nick = msg.params[0].split(",")[0]
    count = msg.param(1)
    limit = int(count) if count.isdigit() and int(count) > 0 else None
    entries = server.registry.whowas_of(nick)
    if limit is not None:
        entries = entries[:limit]
    if not entries:
        reply.numeric(ERR_WASNOSUCHNICK, nick)
    for entry in entries:
        reply.numeric(RPL_WHOWASUSER, entry.nick, entry.user, entry.host, "*", entry.realname)
        reply.numeric(RPL_WHOISSERVER, entry.nick, server.config.name, server.config.info())
    reply.numeric(RPL_ENDOFWHOWAS, nick)


@command("USERHOST", min_params=1)
def userhost(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """USERHOST <nick>{ <nick>}: up to five nicks' user@host, operator and away state."""
    replies = []
    for nick in msg.params[:5]:
        target = server.registry.find_nick(nick)
        if target is not None:
            oper = "*" if "o" in target.modes else ""
            away = "-" if target.away else "+"
            replies.append(f"{target.nick}{oper}={away}{target.user}@{target.host}")
        elif (found := find_service(nick)) is not None:
            replies.append(f"{found[0]}=+{found[0]}@{server.config.name}")
    reply.numeric(RPL_USERHOST, " ".join(replies))


@command("ISON", min_params=1)
def ison(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """ISON <nick>{ <nick>}: which of these nicks are online."""
    online = []
    for param in msg.params:
        for nick in param.split():
            target = server.registry.find_nick(nick)
            if target is not None:
                online.append(target.nick)
            elif (found := find_service(nick)) is not None:
                online.append(found[0])  # services are always online
    reply.numeric(RPL_ISON, " ".join(online))


#: The cap, and its name from before it was ratified (which some clients still ask for).
EXTENDED_MONITOR = frozenset({"extended-monitor", "draft/extended-monitor"})


def tell_presence(server: Context, client: Session, out: Outgoing, cap: str) -> None:
    """Send a presence change to peers and extended-monitor watchers that asked for it."""
    recipients = {p for p in server.registry.peers(client) if cap in p.caps}
    if client.key is not None:
        recipients.update(
            w
            for w in server.registry.watching(client.key)
            if cap in w.caps and not EXTENDED_MONITOR.isdisjoint(w.caps)
        )
    recipients.discard(client)
    out.deliver(recipients)


@command("AWAY")
def away(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """AWAY [<text>]: mark oneself away, or back with no text."""
    text = truncate_utf8(msg.param(0), server.config.awaylen)
    client.away = text or None
    if text:
        reply.numeric(RPL_NOWAWAY)
        out = Outgoing("AWAY", text, source=client.source, account=client.account_name)
    else:
        reply.numeric(RPL_UNAWAY)
        out = Outgoing("AWAY", source=client.source, account=client.account_name)
    tell_presence(server, client, out, "away-notify")
    if server.cluster is not None:
        server.cluster.changed(client)


@command("SETNAME", min_params=1)
def setname(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """SETNAME <realname>: change one's realname (IRCv3 setname)."""
    realname = msg.params[0]
    if not realname or len(realname) > server.config.namelen:
        reply.send_line(
            "FAIL",
            "SETNAME",
            "INVALID_REALNAME",
            "Realname is not valid",
            source=server.config.name,
        )
        return
    client.realname = realname
    out = Outgoing("SETNAME", realname, source=client.source, account=client.account_name)
    if "setname" in client.caps:
        reply.send(out.for_client(client))
    tell_presence(server, client, out, "setname")
    if server.cluster is not None:
        server.cluster.changed(client)


# --- MONITOR -------------------------------------------------------------------------
def _send_status(server: Context, client: Session, reply: ResponseBuffer, nicks: list[str]) -> None:
    online, offline = [], []
    for nick in nicks:
        target = server.registry.find_nick(nick)
        if target is not None:
            online.append(target.source)
        else:
            offline.append(nick)
    head = len(f":{server.config.name} 730 {client.nick} :".encode())
    for numeric, names in ((RPL_MONONLINE, online), (RPL_MONOFFLINE, offline)):
        for line in _pack(names, MAX_LINE - 2 - head, sep=","):
            reply.numeric(numeric, line)


@command("MONITOR", min_params=1)
def monitor(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """MONITOR + / - <targets>, C (clear), L (list), S (status)."""
    sub = msg.params[0]
    registry = server.registry
    if sub in ("+", "-"):
        if len(msg.params) < 2:
            reply.numeric(ERR_NEEDMOREPARAMS, "MONITOR")
            return
        targets = [t for t in msg.params[1].split(",") if t]
        if sub == "-":
            registry.unmonitor(client, targets)
            return
        added, refused = registry.monitor(client, targets, MONITOR_LIMIT)
        if refused < len(targets):
            rest = ",".join(targets[refused:])
            reply.numeric(ERR_MONLISTFULL, str(MONITOR_LIMIT), rest)
        _send_status(server, client, reply, added)
    elif sub in ("C", "c"):
        registry.unmonitor(client)
    elif sub in ("L", "l"):
        head = len(f":{server.config.name} 732 {client.nick} :".encode())
        for line in _pack(registry.monitored(client), MAX_LINE - 2 - head, sep=","):
            reply.numeric(RPL_MONLIST, line)
        reply.numeric(RPL_ENDOFMONLIST)
    elif sub in ("S", "s"):
        _send_status(server, client, reply, registry.monitored(client))
