"""The shared registry: every connection, the nick table and the channels, under one lock.

Rules (the whole server keeps them):

1. ``Registry.lock`` guards ``clients`` (with each connection's channels, invitations
   and MONITOR list), ``nicks``, ``channels``, every ``Channel``'s members, modes, lists
   and topic, and every ``Session``'s ``nick``, ``key`` and ``account``. Only this module
   and its channel half, ``server/registry_channels.py``, take the lock or touch those
   tables: everyone else calls its queries (each returns a
   snapshot) and its mutations (each one step under the lock).
2. Nothing is ever *sent* while the lock is held. Callers take a snapshot of the
   recipients from a query and send after it returns; sending never blocks anyway
   (see ``SendQueue.push``), but a slow path under the lock would stall every client.
   For the same reason masks are matched outside it (``who_candidates``, LIST rows).
3. Keys are casefolded (casemapping ``ascii``); the display name is kept beside them.
   A nick is checked and claimed in one step (``claim_nick``, ``register``), so two
   clients can never win the same nick. In a network of nodes that step also claims it
   in the network's nick table (``claims``, one Redis round trip, the only I/O ever
   made under the lock), so two nodes can never give out the same nick either; users
   of other nodes (``Session.remote``) are entries here too, added and removed only
   as their own node says (``add_remote``, ``remove``), never claimed here. Only
   registered clients are in ``nicks``: a connection that has not registered yet holds
   its nick on itself, so nobody can see it, message it or be refused its nick
   because of it.
4. A channel exists from its first join to its last part; the first member is op.
   Creating it and its first join are one step (``join``), and a client that has left
   the registry can join nothing, so no channel is ever left without members. The
   server's own channels (``autojoin``) are never left without an operator either: when
   the last one leaves, the member present longest is made op in the same step
   (``Handover``), announced once the step is done.
5. ``Channel.send_lock`` orders deliveries within one channel so every member sees its
   messages in the same order. It is taken *before* the registry lock, never inside it:
   callers hold it around a mutation and the sends that announce it. Taking it waits
   for the channel's delivery in progress, if any (``server/delivery.py``).
6. Who may see a channel or a user is written once, in ``server/channel.py``
   (``sees_channel``, ``sees_member``, ``sees_user``), and applied here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from .channel import (
    Channel,
    ListBudget,
    sees_user,
)
from .protocol.names import casefold
from .registry_channels import WHOWAS_SIZE, ChannelTables, Handover, Presence, WhowasEntry
from .registry_remote import RemoteTables

if TYPE_CHECKING:
    from .accounts import Account
    from .clustering import NickClaims
    from .session import Session


class Registry(ChannelTables, RemoteTables):
    """All connections, nicks and channels of one server; see the module rules."""

    def __init__(self, server_owned: Iterable[str] = ()) -> None:
        self.lock = threading.Lock()
        self.server_owned = frozenset(casefold(name) for name in server_owned)
        self.clients: dict[Session, Presence] = {}
        self.nicks: dict[str, Session] = {}
        self.channels: dict[str, Channel] = {}
        #: The most registered users seen at once: of the network, and of this server.
        self.max_users = 0
        self.max_local = 0
        #: Registered users, and how many of them are invisible (+i) or operators (+o).
        self.registered = 0
        self.invisible = 0
        self.opers = 0
        #: Open connections per IP address (reserved ones included).
        self.per_ip: dict[str, int] = {}
        #: Connections accepted but not yet added (a TLS handshake in progress).
        self.reserved = 0
        #: +b/+e/+I entries held in live channels, by the address that set them.
        self.entries = ListBudget()
        #: Who MONITORs each casefolded nick.
        self.watchers: dict[str, set[Session]] = {}
        #: Recently used nicks, newest last (WHOWAS).
        self.whowas: deque[WhowasEntry] = deque(maxlen=WHOWAS_SIZE)
        #: The connections signed in to each account, by its casefolded name.
        self.by_account: dict[str, set[Session]] = {}
        #: Registered users of other nodes (counted in ``registered`` too).
        self.remotes = 0
        #: The network's nick table when this server is a node of one (None: alone).
        self.claims: NickClaims | None = None

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
            self.clients[client] = Presence()
            self.reserved -= 1

    def connected(self, client: Session) -> bool:
        """Whether ``client`` is still in the registry (not gone, killed or dropped)."""
        with self.lock:
            return client in self.clients

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

    def drop_held_nick(self, client: Session) -> None:
        """Forget the nick an unregistered ``client`` holds (it was refused at
        registration); it may choose another."""
        with self.lock:
            if not client.registered:
                client.nick = "*"

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
            claims = self.claims
            if claims is not None and client.key != key and not claims.claim(key):
                return False
            if client.key is not None and client.key != key:
                del self.nicks[client.key]
                if claims is not None:
                    claims.release(client.key)
            self._remember(client)
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
            if key in self.nicks or (self.claims is not None and not self.claims.claim(key)):
                client.nick = "*"
                return False
            self.nicks[key] = client
            client.key = key
            client.registered = True
            self.registered += 1
            self._count_modes(client, +1)
            self.max_users = max(self.max_users, self.registered)
            self.max_local = max(self.max_local, self.registered - self.remotes)
            return True

    def set_user_mode(self, client: Session, letter: str, on: bool) -> bool:
        """Give or take a user mode; return whether anything changed."""
        with self.lock:
            if (letter in client.modes) == on:
                return False
            counted = client.registered and client in self.clients
            if counted:
                self._count_modes(client, -1)
            client.modes = client.modes ^ {letter}
            if counted:
                self._count_modes(client, +1)
            return True

    def set_account(self, client: Session, account: Account | None) -> Account | None:
        """Sign ``client`` in to ``account`` (None: out), with user mode +r while signed
        in; return the account it had before. Nothing changes for a client that is gone."""
        with self.lock:
            old = client.account
            if client not in self.clients:
                return old
            self._unindex_account_locked(client)
            client.account = account
            if account is None:
                client.modes = client.modes - {"r"}
            else:
                self.by_account.setdefault(account.name, set()).add(client)
                client.modes = client.modes | {"r"}
            return old

    def _unindex_account_locked(self, client: Session) -> None:
        if client.account is None:
            return
        holders = self.by_account.get(client.account.name, set())
        holders.discard(client)
        if not holders:
            self.by_account.pop(client.account.name, None)

    def signed_in(self, name: str) -> list[Session]:
        """The connections signed in to the account called ``name`` (any case)."""
        with self.lock:
            return list(self.by_account.get(casefold(name), ()))

    def _count_modes(self, client: Session, step: int) -> None:
        if "i" in client.modes:
            self.invisible += step
        if "o" in client.modes:
            self.opers += step

    def remove(self, client: Session) -> tuple[Collection[Session], list[Handover]] | None:
        """Forget a connection; return the clients that shared a channel with it (each
        once), and the ops the server gave in its place (see ``_hand_over_locked``).

        Returns ``None`` when the client was already removed.
        """
        peers: Collection[Session] = ()
        handovers: list[Handover] = []
        with self.lock:
            presence = self.clients.pop(client, None)
            if presence is None:
                return None
            if client.registered:
                self.registered -= 1
                self._count_modes(client, -1)
            if client.remote:
                self.remotes -= 1
            else:
                self._uncount_ip(client.ip)
            if client.key is not None and self.nicks.get(client.key) is client:
                del self.nicks[client.key]
                if client.registered:
                    self._remember(client)
                if self.claims is not None and not client.remote:
                    self.claims.release(client.key)
            self._unmonitor_locked(client, presence, list(presence.monitoring))
            self._unindex_account_locked(client)
            shared: set[Session] | None = None
            for channel in presence.channels.values():
                letters = channel.members.pop(client)
                if not peers:
                    # A list made from a dict is sized once; a set of a big channel's
                    # members is four times its size. When everyone leaves at once,
                    # each leaver holds its copy while it sends its QUIT.
                    peers = list(channel.members)
                elif channel.members:
                    if shared is None:
                        shared = set(peers)
                    shared.update(channel.members)
                if not channel.members:
                    self._destroy_locked(channel)
                elif "o" in letters and (handover := self._hand_over_locked(channel)):
                    handovers.append(handover)
            presence.channels.clear()
        return (peers if shared is None else shared), handovers

    # --- users -----------------------------------------------------------------
    def monitor(self, client: Session, nicks: list[str], limit: int) -> tuple[list[str], int]:
        """Add nicks to ``client``'s MONITOR list, up to ``limit`` entries.

        Returns the nicks added and the index of the first one refused (len if none).
        """
        added: list[str] = []
        with self.lock:
            presence = self.clients.get(client)
            if presence is None:
                return added, len(nicks)  # gone: watching would keep it forever
            monitoring = presence.monitoring
            for index, nick in enumerate(nicks):
                key = casefold(nick)
                if key in monitoring:
                    continue
                if len(monitoring) >= limit:
                    return added, index
                monitoring[key] = nick
                self.watchers.setdefault(key, set()).add(client)
                added.append(nick)
        return added, len(nicks)

    def unmonitor(self, client: Session, nicks: list[str] | None = None) -> None:
        """Remove nicks (all of them when None) from ``client``'s MONITOR list."""
        with self.lock:
            presence = self._presence(client)
            keys = list(presence.monitoring) if nicks is None else [casefold(n) for n in nicks]
            self._unmonitor_locked(client, presence, keys)

    def _unmonitor_locked(self, client: Session, presence: Presence, keys: list[str]) -> None:
        for key in keys:
            presence.monitoring.pop(key, None)
            watchers = self.watchers.get(key)
            if watchers is not None:
                watchers.discard(client)
                if not watchers:
                    del self.watchers[key]

    def monitored(self, client: Session) -> list[str]:
        """The nicks on ``client``'s MONITOR list, as given, oldest first."""
        with self.lock:
            return list(self._presence(client).monitoring.values())

    def _remember(self, client: Session) -> None:
        """Record the client's current nick for WHOWAS (lock held)."""
        self.whowas.append(
            WhowasEntry(
                client.nick, client.user or "*", client.host, client.realname, int(time.time())
            )
        )

    def whowas_of(self, nick: str) -> list[WhowasEntry]:
        """Who held ``nick`` before, newest first."""
        key = casefold(nick)
        with self.lock:
            return [e for e in reversed(self.whowas) if casefold(e.nick) == key]

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
            for channel in self._presence(client).channels.values():
                found.update(channel.members)
        found.discard(client)
        return found

    def snapshot(self) -> list[Session]:
        """A snapshot of every connection (to this node: not the users of others)."""
        with self.lock:
            return [c for c in self.clients if not c.remote]

    def connections(self) -> list[tuple[Session, tuple[str, ...]]]:
        """Every connection with the names of its channels, sorted (the server window)."""
        with self.lock:
            return [
                (client, tuple(sorted((c.name for c in p.channels.values()), key=casefold)))
                for client, p in self.clients.items()
                if not client.remote
            ]

    def registered_users(self, mode: str = "") -> list[Session]:
        """Every registered user, or only those with user mode ``mode``."""
        with self.lock:
            return [c for c in self.nicks.values() if not mode or mode in c.modes]

    def who_candidates(
        self, viewer: Session, mask: str
    ) -> tuple[bool, list[tuple[Session, tuple[str, ...]]]]:
        """WHO for a mask that is not a channel: ``(True, [(user, ())])`` when it is a
        nick in use, else ``(False, ...)`` each user ``viewer`` may find with the texts
        the mask is tried on (nick, source, host, realname) -- to match after release."""
        with self.lock:
            exact = self.nicks.get(casefold(mask))
            if exact is not None:
                return True, [(exact, ())]
            return False, [
                (user, (user.nick, user.source, user.host, user.realname))
                for user in self.nicks.values()
                if sees_user(viewer, user, self._presence(user).channels.values())
            ]

    def counts(self) -> dict[str, int]:
        """Figures for LUSERS."""
        with self.lock:
            return {
                "users": self.registered - self.invisible,
                "invisible": self.invisible,
                "opers": self.opers,
                "unknown": len(self.clients) + self.reserved - self.registered,
                "channels": len(self.channels),
                "clients": self.registered - self.remotes,
                "global": self.registered,
                "max": self.max_users,
                "local_max": self.max_local,
            }
