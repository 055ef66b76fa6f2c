"""Operator actions on a running server, for the server window and tests.

Plain functions, no tkinter: the window (``server/gui.py``) calls them from its Tk
thread, tests call them directly. They keep the registry's rules: snapshots are taken
under ``registry.lock`` and every send happens after it is released; a kick holds the
channel's ``send_lock`` (taken before the registry lock) like the KICK command, so every
member sees it in the same order as the channel's messages.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .protocol.codec import MAX_LINE, split_utf8, truncate_utf8
from .protocol.names import casefold
from .sendq import Outgoing

if TYPE_CHECKING:
    from .context import Context
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
    with server.registry.lock:
        rows = [
            UserInfo(
                key=f"c{id(c):x}",
                nick=c.nick,
                user=c.user or "",
                address=c.ip,
                secure=c.secure,
                registered=c.registered,
                channels=tuple(sorted((ch.name for ch in c.channels.values()), key=casefold)),
                idle=max(0.0, now - c.last_spoke),
                signon=c.signon,
                client=c,
            )
            for c in server.registry.clients
        ]
    rows.sort(key=lambda u: (not u.registered, casefold(u.nick), u.key))
    return rows


def channels(server: Context) -> list[ChannelInfo]:
    """Every channel with its member count and topic, sorted by name."""
    with server.registry.lock:
        rows = [
            ChannelInfo(ch.name, len(ch.members), ch.topic, "+" + "".join(sorted(ch.modes)))
            for ch in server.registry.channels.values()
        ]
    rows.sort(key=lambda c: casefold(c.name))
    return rows


def stats(server: Context) -> Stats:
    """Connections, registered users, channels, messages handled, seconds up, failed logins."""
    with server.registry.lock:
        # A connection counts from accept on, a TLS handshake in progress included.
        connections = len(server.registry.clients) + server.registry.reserved
        registered = server.registry.registered
        count = len(server.registry.channels)
    uptime = max(0.0, time.time() - server.started)
    failed = server.login_failures.total
    return Stats(connections, registered, count, server.messages, uptime, failed)


def find(server: Context, target: Session | str) -> Session | None:
    """The live connection meant by ``target`` (a client, or a nick), or None if gone."""
    if isinstance(target, str):
        return server.registry.find_nick(target)
    with server.registry.lock:
        return target if target in server.registry.clients else None


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
    with server.registry.lock:
        recipients = [c for c in server.registry.clients if c.registered]
    _send_notice(server, recipients, pieces)
    return len(recipients)


def kick(server: Context, target: Session | str, channel_name: str, reason: str = "") -> bool:
    """Kick a user from a channel in the server's name; False when not a member (or gone)."""
    client = find(server, target)
    channel = server.registry.find_channel(channel_name)
    if client is None or channel is None:
        return False
    reason = truncate_utf8(clean_text(reason) or "Kicked by the server", server.config.kicklen)
    with channel.send_lock:
        with server.registry.lock:
            if client not in channel.members:
                return False
            recipients = list(channel.members)
        server.registry.part(client, channel)
        Outgoing("KICK", channel.name, client.nick, reason, source=server.config.name).deliver(
            recipients
        )
    return True


def kill(server: Context, target: Session | str, reason: str = "") -> bool:
    """Disconnect a user as KILL does: it gets KILL and ERROR, its channels see the QUIT."""
    client = find(server, target)
    if client is None:
        return False
    name = server.config.name
    reason = truncate_utf8(clean_text(reason) or "Disconnected by the server", 200)
    if client.registered:
        client.send_line("KILL", client.nick, reason, source=name)
    why = f"Killed ({name} ({reason}))"
    server.end(client, why, error=f"Closing Link: {name} ({why})")
    return True
