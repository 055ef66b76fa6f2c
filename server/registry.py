"""The shared registry: every connection, the nick table and the channels, under one lock.

Rules (the whole server keeps them):

1. ``Registry.lock`` guards ``clients``, ``nicks``, ``channels``, every ``Channel``'s
   members, modes and topic, and every ``Session``'s ``nick``, ``key`` and ``channels``.
   Read or change any of them only while holding it.
2. Nothing is ever *sent* while the lock is held. Handlers take a snapshot of the
   recipients under the lock and send after releasing it; sending never blocks anyway
   (see ``SendQueue.push``), but a slow path under the lock would stall every client.
3. Keys are casefolded (casemapping ``ascii``); the display name is kept beside them.
   A nick is checked and claimed in one step (``claim_nick``, ``register``), so two
   clients can never win the same nick. Only registered clients are in ``nicks``: a
   connection that has not registered yet holds its nick on itself, so nobody can see
   it, message it or be refused its nick because of it.
4. A channel exists from its first join to its last part; the first member is op.
   Creating it and its first join are one step (``join``), and a client that has left
   the registry can join nothing, so no channel is ever left without members.
5. ``Channel.send_lock`` orders deliveries within one channel so every member sees its
   messages in the same order. It is taken *before* the registry lock, never inside it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import NamedTuple

from .protocol.names import casefold
from .session import PREFIXES, Channel, ListEntry, Session

__all__ = ["PREFIXES", "Channel", "JoinRefused", "ListEntry", "Registry", "WhowasEntry"]

WHOWAS_SIZE = 200


class JoinRefused(Exception):
    """A JOIN that the channel's modes refuse; ``args`` are the numeric and its params."""


class WhowasEntry(NamedTuple):
    """A nick that was in use: who held it and when they left it."""

    nick: str
    user: str
    host: str
    realname: str
    left_at: int


class Registry:
    """All connections, nicks and channels of one server; see the module rules."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clients: set[Session] = set()
        self.nicks: dict[str, Session] = {}
        self.channels: dict[str, Channel] = {}
        self.max_users = 0
        #: Registered users, and how many of them are invisible (+i) or operators (+o).
        self.registered = 0
        self.invisible = 0
        self.opers = 0
        #: Open connections per IP address (reserved ones included).
        self.per_ip: dict[str, int] = {}
        #: Connections accepted but not yet added (a TLS handshake in progress).
        self.reserved = 0
        #: +b/+e/+I entries held in live channels, by the address that set them.
        self.entries_per_ip: dict[str, int] = {}
        #: Who MONITORs each casefolded nick.
        self.watchers: dict[str, set[Session]] = {}
        #: Recently used nicks, newest last (WHOWAS).
        self.whowas: deque[WhowasEntry] = deque(maxlen=WHOWAS_SIZE)

    # --- connections -----------------------------------------------------------
    def reserve(self, ip: str, max_clients: int, max_per_ip: int) -> str | None:
        """Count a connection from accept on, in one step with the limits (0: none).

        Returns None when admitted, else which limit refused it: ``"full"`` or ``"ip"``.
        The reservation becomes the client in :meth:`add`, or is given back by
        :meth:`release`.
        """
        with self.lock:
            if max_clients and len(self.clients) + self.reserved >= max_clients:
                return "full"
            if max_per_ip and self.per_ip.get(ip, 0) >= max_per_ip:
                return "ip"
            self.reserved += 1
            self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
            return None

    def release(self, ip: str) -> None:
        """Give back a reservation that never became a client."""
        with self.lock:
            self.reserved -= 1
            self._uncount_ip(ip)

    def _uncount_ip(self, ip: str) -> None:
        left = self.per_ip.get(ip, 1) - 1
        if left:
            self.per_ip[ip] = left
        else:
            self.per_ip.pop(ip, None)

    def add(self, client: Session) -> None:
        """Record a new connection (not yet registered) in place of its reservation."""
        with self.lock:
            self.clients.add(client)
            self.reserved -= 1

    def hold_nick(self, client: Session, nick: str) -> bool:
        """Record the nick an unregistered ``client`` asks for, unless a user has it.

        The nick is only kept on the connection: it is claimed in the nick table when
        the client registers (:meth:`register`), and until then nobody sees it.
        """
        with self.lock:
            if client not in self.clients or client.registered:
                return False
            if casefold(nick) in self.nicks:
                return False
            client.nick = nick
            return True

    def claim_nick(self, client: Session, nick: str) -> bool:
        """Give ``nick`` to a registered ``client`` unless someone else holds it; one
        atomic step."""
        key = casefold(nick)
        with self.lock:
            if client not in self.clients or not client.registered:
                return False  # already gone (killed, timed out) while this ran
            holder = self.nicks.get(key)
            if holder is not None and holder is not client:
                return False
            if client.key is not None and client.key != key:
                del self.nicks[client.key]
            self.remember(client)
            self.nicks[key] = client
            client.key = key
            client.nick = nick
            return True

    def register(self, client: Session) -> bool:
        """Claim the nick ``client`` holds and count it as registered, in one step.

        False when someone registered that nick first (or the client is gone): the
        client stays unregistered, holding no nick, and may choose another.
        """
        with self.lock:
            key = casefold(client.nick)
            if client not in self.clients or client.registered:
                return False
            if key in self.nicks:
                client.nick = "*"
                return False
            self.nicks[key] = client
            client.key = key
            client.registered = True
            self.registered += 1
            self._count_modes(client, +1)
            self.max_users = max(self.max_users, self.registered)
            return True

    def set_user_mode(self, client: Session, letter: str, on: bool) -> bool:
        """Give or take a user mode; return whether anything changed."""
        with self.lock:
            if (letter in client.modes) == on:
                return False
            counted = client.registered and client in self.clients
            if counted:
                self._count_modes(client, -1)
            client.modes.symmetric_difference_update(letter)
            if counted:
                self._count_modes(client, +1)
            return True

    def _count_modes(self, client: Session, step: int) -> None:
        if "i" in client.modes:
            self.invisible += step
        if "o" in client.modes:
            self.opers += step

    def remove(self, client: Session) -> set[Session] | None:
        """Forget a connection; return the clients that shared a channel with it.

        Returns ``None`` when the client was already removed.
        """
        peers: set[Session] = set()
        with self.lock:
            if client not in self.clients:
                return None
            self.clients.discard(client)
            if client.registered:
                self.registered -= 1
                self._count_modes(client, -1)
            self._uncount_ip(client.ip)
            if client.key is not None and self.nicks.get(client.key) is client:
                del self.nicks[client.key]
                if client.registered:
                    self.remember(client)
            self._unmonitor_locked(client, list(client.monitoring))
            for channel in client.channels.values():
                del channel.members[client]
                peers.update(channel.members)
                if not channel.members:
                    self._destroy_locked(channel)
            client.channels.clear()
        return peers

    def monitor(self, client: Session, nicks: list[str], limit: int) -> tuple[list[str], int]:
        """Add nicks to ``client``'s MONITOR list, up to ``limit`` entries.

        Returns the nicks added and the index of the first one refused (len if none).
        """
        added: list[str] = []
        with self.lock:
            if client not in self.clients:
                return added, len(nicks)  # gone: watching would keep it forever
            for index, nick in enumerate(nicks):
                key = casefold(nick)
                if key in client.monitoring:
                    continue
                if len(client.monitoring) >= limit:
                    return added, index
                client.monitoring[key] = nick
                self.watchers.setdefault(key, set()).add(client)
                added.append(nick)
        return added, len(nicks)

    def unmonitor(self, client: Session, nicks: list[str] | None = None) -> None:
        """Remove nicks (all of them when None) from ``client``'s MONITOR list."""
        with self.lock:
            keys = list(client.monitoring) if nicks is None else [casefold(n) for n in nicks]
            self._unmonitor_locked(client, keys)

    def _unmonitor_locked(self, client: Session, keys: list[str]) -> None:
        for key in keys:
            client.monitoring.pop(key, None)
            watchers = self.watchers.get(key)
            if watchers is not None:
                watchers.discard(client)
                if not watchers:
                    del self.watchers[key]

    def remember(self, client: Session) -> None:
        """Record the client's current nick for WHOWAS (call with the lock held)."""
        self.whowas.append(
            WhowasEntry(
                client.nick, client.user or "*", client.host, client.realname, int(time.time())
            )
        )

    def watching(self, key: str) -> list[Session]:
        """The clients that MONITOR the casefolded nick ``key``."""
        with self.lock:
            return list(self.watchers.get(key, ()))

    def find_nick(self, nick: str) -> Session | None:
        """The registered client holding ``nick``, if any (never an unregistered one)."""
        with self.lock:
            return self.nicks.get(casefold(nick))

    def peers(self, client: Session) -> set[Session]:
        """Everyone who shares at least one channel with ``client`` (not itself)."""
        with self.lock:
            found: set[Session] = set()
            for channel in client.channels.values():
                found.update(channel.members)
        found.discard(client)
        return found

    # --- channels --------------------------------------------------------------
    def find_channel(self, name: str) -> Channel | None:
        """The channel called ``name``, if it exists."""
        with self.lock:
            return self.channels.get(casefold(name))

    def channel_for_join(self, name: str) -> Channel:
        """The channel called ``name``, or a new one that :meth:`join` adds to the table
        with its first member (until then nobody else sees it)."""
        with self.lock:
            channel = self.channels.get(casefold(name))
        return Channel(name) if channel is None else channel

    def join(
        self,
        client: Session,
        channel: Channel,
        check: Callable[[Channel], None] | None = None,
    ) -> list[Session] | None:
        """Add ``client`` to ``channel`` (the first member is op); hold its send_lock.

        ``check`` runs under the lock before a join to a channel that has members and
        may raise :class:`JoinRefused`. Returns the members after the join, ``None``
        when the client already was one or has left the registry, or an empty list
        when the channel was destroyed or made by someone else meanwhile (look it up
        again).
        """
        key = casefold(channel.name)
        with self.lock:
            if client not in self.clients:
                return None  # killed or gone meanwhile: it creates and joins nothing
            current = self.channels.get(key)
            if current is not channel:
                if current is not None or channel.destroyed:
                    return []
                self.channels[key] = channel  # created by its first join, in one step
            if client in channel.members:
                return None
            if channel.members and check is not None:
                check(channel)
            channel.members[client] = "" if channel.members else "o"
            client.channels[key] = channel
            client.invites.pop(key, None)
            return list(channel.members)

    def invite(self, client: Session, channel: Channel) -> None:
        """Invite ``client`` to this life of ``channel`` (call with the lock held)."""
        invites = client.invites
        for key, serial in list(invites.items()):  # forget invitations to dead channels
            live = self.channels.get(key)
            if live is None or live.serial != serial:
                del invites[key]
        invites[casefold(channel.name)] = channel.serial

    def is_invited(self, client: Session, channel: Channel) -> bool:
        """Whether ``client`` holds an invitation to this life of ``channel`` (lock held)."""
        return client.invites.get(casefold(channel.name)) == channel.serial

    def invitations(self, client: Session) -> list[str]:
        """The names of the live channels ``client`` is invited to, sorted."""
        with self.lock:
            names = [
                channel.name
                for key, serial in client.invites.items()
                if (channel := self.channels.get(key)) is not None and channel.serial == serial
            ]
        return sorted(names, key=casefold)

    def add_list_entry(
        self, channel: Channel, letter: str, mask: str, client: Session, limits: tuple[int, int]
    ) -> bool | None:
        """Add ``mask`` to list mode ``letter`` (call with the lock held).

        ``limits`` are the most entries per list and per address (0: no limit).
        Returns True when added, None when it was there already, False when a limit
        refuses it.
        """
        entries = channel.lists[letter]
        key = casefold(mask)
        if key in entries:
            return None
        per_list, per_ip = limits
        held = self.entries_per_ip.get(client.ip, 0)
        if len(entries) >= per_list or (per_ip and held >= per_ip):
            return False
        # One string for mask and key when they are the same (most masks are lowercase).
        entries[mask if key == mask else key] = ListEntry(
            mask, client.source, int(time.time()), client.ip
        )
        self.entries_per_ip[client.ip] = held + 1
        return True

    def remove_list_entry(self, channel: Channel, letter: str, mask: str) -> bool:
        """Remove ``mask`` from list mode ``letter`` (lock held); whether it was there."""
        entry = channel.lists[letter].pop(casefold(mask), None)
        if entry is None:
            return False
        self._release_entries([entry])
        return True

    def _release_entries(self, entries: Iterable[ListEntry]) -> None:
        counts = self.entries_per_ip
        for entry in entries:
            left = counts.get(entry.ip, 1) - 1
            if left > 0:
                counts[entry.ip] = left
            else:
                counts.pop(entry.ip, None)

    def _destroy_locked(self, channel: Channel) -> None:
        """Take an empty channel out of the table; its lists and invitations end."""
        key = casefold(channel.name)
        if self.channels.get(key) is channel:
            del self.channels[key]
        channel.destroyed = True
        for entries in channel.lists.values():
            self._release_entries(entries.values())
            entries.clear()

    def part(self, client: Session, channel: Channel) -> list[Session] | None:
        """Remove ``client`` from ``channel``; return who must hear of it (itself included).

        Returns ``None`` when the client was not a member.
        """
        with self.lock:
            if client not in channel.members:
                return None
            recipients = list(channel.members)
            del channel.members[client]
            client.channels.pop(casefold(channel.name), None)
            if not channel.members:
                self._destroy_locked(channel)
            return recipients

    def snapshot(self) -> list[Session]:
        """A snapshot of every connection."""
        with self.lock:
            return list(self.clients)

    def counts(self) -> dict[str, int]:
        """Figures for LUSERS."""
        with self.lock:
            return {
                "users": self.registered - self.invisible,
                "invisible": self.invisible,
                "opers": self.opers,
                "unknown": len(self.clients) + self.reserved - self.registered,
                "channels": len(self.channels),
                "clients": self.registered,
                "max": self.max_users,
            }

    def visible_channels(self, client: Session) -> Iterable[Channel]:
        """The channels ``client`` is in (snapshot)."""
        with self.lock:
            return list(client.channels.values())
