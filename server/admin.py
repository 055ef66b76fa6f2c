"""Operator actions on a running server, for the server window and tests.

Plain functions, no tkinter: the window (``server/gui.py``) calls them from its Tk
thread, tests call them directly, and the KICK and KILL commands share
:func:`kick_member` and :func:`kill_user` with them. They keep the registry's rules:
they read the registry through its snapshot queries and send after those return; a
kick holds the channel's ``send_lock`` (taken before the registry's own lock), so every
member sees it in the same order as the channel's messages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .channel import Refused
from .handover import announce_handover
from .protocol.codec import MAX_LINE, split_utf8, truncate_utf8
from .protocol.names import casefold
from .sendq import Outgoing

if TYPE_CHECKING:
    from .channel import Channel
    from .context import Context
    from .sendq import ResponseBuffer
    from .session import Session


@dataclass(frozen=True)
class UserInfo:
    """One connection as the server window lists it."""

    #: Stable while the connection lives (the window's row id).
    key: str
    nick: str
    user: str
    address: str
    secure: bool
    registered: bool
    #: Channel names, sorted.
    channels: tuple[str, ...]
    #: Seconds since the user last sent a message.
    idle: float
    #: When the connection was made (epoch seconds).
    signon: int
    client: Session = field(compare=False, repr=False)


@dataclass(frozen=True)
class ChannelInfo:
    """One channel as the server window lists it."""

    name: str
    members: int
    topic: str
    modes: str


@dataclass(frozen=True)
class Stats:
    """The server's counters at one moment."""

    connections: int
    users: int
    channels: int
    #: PRIVMSG/NOTICE/TAGMSG lines handled since start (``Context.messages``).
    messages: int
    uptime: float
    #: Failed PASS and OPER attempts since start.
    failed_logins: int = 0


def users(server: Context) -> list[UserInfo]:
    """Every connection, sorted by nick (unregistered ones last)."""
    now = server.clock()
    rows = [
        UserInfo(
            key=f"c{id(c):x}",
            nick=c.nick,
            user=c.user or "",
            address=c.ip,
            secure=c.secure,
            registered=c.registered,
            channels=names,
            idle=max(0.0, now - c.last_spoke),
            signon=c.signon,
            client=c,
        )
        for c, names in server.registry.connections()
    ]
    rows.sort(key=lambda u: (not u.registered, casefold(u.nick), u.key))
    return rows


def channels(server: Context) -> list[ChannelInfo]:
    """Every channel with its member count and topic, sorted by name."""
    rows = [
        ChannelInfo(row.name, row.members, row.topic, row.modes)
        for row in server.registry.channel_rows()
    ]
    rows.sort(key=lambda c: casefold(c.name))
    return rows


def stats(server: Context) -> Stats:
    """Connections, registered users, channels, messages handled, seconds up, failed logins."""
    counts = server.registry.counts()
    # A connection counts from accept on, a TLS handshake in progress included.
    connections = counts["unknown"] + counts["clients"]
    registered = counts["clients"]
    count = counts["channels"]
    uptime = max(0.0, time.time() - server.started)
    failed = server.login_failures.total
    return Stats(connections, registered, count, server.messages, uptime, failed)


def find(server: Context, target: Session | str) -> Session | None:
    """The live connection meant by ``target`` (a client, or a nick), or None if gone."""
    if isinstance(target, str):
        return server.registry.find_nick(target)
    return target if server.registry.connected(target) else None


def clean_text(text: str) -> str:
    """Text fit for one IRC parameter: no CR, LF or NUL, no lone surrogates, trimmed."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    for bad in ("\r\n", "\r", "\n", "\0"):
        text = text.replace(bad, " ")
    return text.strip()


def _notice_pieces(server: Context, text: str) -> list[str]:
    text = clean_text(text)
    if not text:
        raise ValueError("the notice is empty")
    # ":<server> NOTICE <nick> :" and CRLF around the text, the longest nick assumed.
    overhead = len(server.config.name.encode()) + server.config.nicklen + len(":  NOTICE  :\r\n")
    return split_utf8(text, max(64, MAX_LINE - overhead))


def _send_notice(server: Context, recipients: list[Session], pieces: list[str]) -> None:
    source = server.config.name
    for client in recipients:
        for piece in pieces:
            Outgoing("NOTICE", client.nick, piece, source=source).deliver([client])


def notice(server: Context, target: Session | str, text: str) -> bool:
    """Send a server NOTICE to one user; False when the user is gone.

    Long text is split over several notices; empty text raises ValueError.
    """
    pieces = _notice_pieces(server, text)
    client = find(server, target)
    if client is None:
        return False
    _send_notice(server, [client], pieces)
    return True


def broadcast(server: Context, text: str) -> int:
    """Send a server NOTICE to every registered user; return how many were sent one."""
    pieces = _notice_pieces(server, text)
    recipients = server.registry.registered_users()
    _send_notice(server, recipients, pieces)
    return len(recipients)


def kick_member(
    server: Context,
    channel: Channel,
    target: Session | str,
    reason: str,
    source: str,
    by: Session | None = None,
    reply: ResponseBuffer | None = None,
) -> Session:
    """Remove ``target`` from ``channel`` and send the KICK from ``source`` to every
    member (the target included); return the target.

    ``by`` is the member who asked (it must be a channel operator) and ``reply`` its
    command's response buffer; None for the server itself. Raises :class:`Refused`
    with the numeric when refused.
    """
    with channel.send_lock:
        member, recipients, handover = server.registry.kick(channel, target, by)
        account = by.account_name if by is not None else None
        out = Outgoing("KICK", channel.name, member.nick, reason, source=source, account=account)
        out.deliver(recipients, reply)
        if handover is not None:
            announce_handover(server.config.name, handover, reply)
    if server.cluster is not None:
        server.cluster.parted(member, channel, "KICK", reason, source)
    return member


def kick(server: Context, target: Session | str, channel_name: str, reason: str = "") -> bool:
    """Kick a user from a channel in the server's name; False when not a member (or gone)."""
    client = find(server, target)
    channel = server.registry.find_channel(channel_name)
    if client is None or channel is None:
        return False
    reason = truncate_utf8(clean_text(reason) or "Kicked by the server", server.config.kicklen)
    try:
        kick_member(server, channel, client, reason, server.config.name)
    except Refused:
        return False
    return True


def kill_user(server: Context, target: Session, reason: str, source: str, by: str) -> None:
    """Disconnect ``target`` as KILL does: it gets KILL (from ``source``) and ERROR, its
    channels see the QUIT; ``by`` names the killer in the reason."""
    if target.remote and server.cluster is not None:
        server.cluster.kill(target, reason, source, by)  # its own node ends it
        return
    if target.registered:
        target.send_line("KILL", target.nick, reason, source=source)
    why = f"Killed ({by} ({reason}))"
    server.end(target, why, error=f"Closing Link: {server.config.name} ({why})")


def kill(server: Context, target: Session | str, reason: str = "") -> bool:
    """Disconnect a user as KILL does: it gets KILL and ERROR, its channels see the QUIT."""
    client = find(server, target)
    if client is None:
        return False
    name = server.config.name
    reason = truncate_utf8(clean_text(reason) or "Disconnected by the server", 200)
    kill_user(server, client, reason, name, name)
    return True
