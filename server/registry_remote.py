"""The registry's network tables: users of other nodes and the state a node shares
with the others. Part of :class:`server.registry.Registry` (a base class), under the
same lock and the same rules (see that module): a user of another node is added,
renamed, moved and removed here only on its own node's word, its nick never claimed.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .channel import PREFIX_RANK_OF, PREFIXES, Channel, ListBudget, ListEntry
from .protocol.names import casefold

if TYPE_CHECKING:
    from .registry_channels import Handover, Presence
    from .session import Session


class RemoteTables:
    """Users of other nodes, channel state as JSON-ready dicts; see the module rules."""

    lock: threading.Lock
    clients: dict[Session, Presence]
    nicks: dict[str, Session]
    channels: dict[str, Channel]
    registered: int
    remotes: int
    max_users: int
    entries: ListBudget

    if TYPE_CHECKING:

        def _presence(self, client: Session) -> Presence: ...
        def _remember(self, client: Session) -> None: ...
        def _count_modes(self, client: Session, step: int) -> None: ...
        def _part_locked(self, client: Session, channel: Channel) -> Handover | None: ...

    # --- users of other nodes ----------------------------------------------------
    def add_remote(self, user: Session) -> bool:
        """Add a registered user of another node under its nick; False when the nick is
        held here already (its node will rename one of them)."""
        from .registry_channels import Presence

        with self.lock:
            if user.key is None or user.key in self.nicks:
                return False
            self.clients[user] = Presence()
            self.nicks[user.key] = user
            self.remotes += 1
            self.registered += 1
            self._count_modes(user, +1)
            self.max_users = max(self.max_users, self.registered)
            return True

    def rename_remote(self, user: Session, nick: str) -> bool:
        """A user of another node took ``nick`` there; False when it is held here."""
        key = casefold(nick)
        with self.lock:
            if user not in self.clients or user.key is None:
                return False
            holder = self.nicks.get(key)
            if holder is not None and holder is not user:
                return False
            if self.nicks.get(user.key) is user:
                del self.nicks[user.key]
            self._remember(user)
            self.nicks[key] = user
            user.key, user.nick = key, nick
            return True

    def set_remote_modes(self, user: Session, modes: frozenset[str]) -> None:
        """Give a user of another node the user modes it has there."""
        with self.lock:
            counted = user in self.clients
            if counted:
                self._count_modes(user, -1)
            user.modes = modes
            if counted:
                self._count_modes(user, +1)

    def remote_users(self) -> list[Session]:
        """Every user of another node known here."""
        with self.lock:
            return [c for c in self.nicks.values() if c.remote]

    def join_remote(
        self, user: Session, name: str, letters: str
    ) -> tuple[Channel, list[Session]] | None:
        """Put a user of another node into channel ``name`` (made when new here) with
        its prefix ``letters``, as its node let it in; the channel and its members
        after the join, or None when it already was a member (or is gone)."""
        folded = casefold(name)
        with self.lock:
            presence = self.clients.get(user)
            if presence is None:
                return None
            channel = self.channels.get(folded)
            if channel is None:
                channel = self.channels[folded] = Channel(name)
                channel.topic_checked = True
            if user in channel.members:
                channel.members[user] = letters
                return None
            channel.members[user] = letters
            presence.channels[folded] = channel
            return channel, list(channel.members)

    def part_remote(
        self, user: Session, channel: Channel
    ) -> tuple[list[Session], Handover | None] | None:
        """Take a user of another node out of ``channel``; who must hear of it."""
        with self.lock:
            if user not in channel.members:
                return None
            recipients = list(channel.members)
            return recipients, self._part_locked(user, channel)

    def has_local_members(self, channel: Channel) -> bool:
        """Whether a user of this node is in ``channel``."""
        with self.lock:
            return any(not m.remote for m in channel.members)

    def channels_of_this_node(self) -> list[Channel]:
        """Every channel a user of this node is in."""
        with self.lock:
            return [c for c in self.channels.values() if any(not m.remote for m in c.members)]

    def local_members(self, channel: Channel, lowest: int | None = None) -> list[Session]:
        """The members of ``channel`` on this node (ranked ``lowest`` or higher, when
        given: a message to ``@#chan``)."""
        with self.lock:
            return [
                m
                for m, letters in channel.members.items()
                if not m.remote
                and (lowest is None or (letters and PREFIX_RANK_OF[letters[0]] <= lowest))
            ]

    def invited(self, client: Session, channel: Channel) -> bool:
        """Record that an operator on another node invited local ``client`` to this
        life of ``channel``; False when it is gone or already a member."""
        with self.lock:
            presence = self.clients.get(client)
            if presence is None or client in channel.members:
                return False
            presence.invites[casefold(channel.name)] = channel.serial
            return True

    # --- what a node shares ------------------------------------------------------
    def memberships(self, client: Session) -> dict[str, list[str]]:
        """``client``'s channels: casefolded name -> [name, prefix letters]."""
        with self.lock:
            return {
                key: [channel.name, channel.members.get(client, "")]
                for key, channel in self._presence(client).channels.items()
            }

    def channel_state(self, channel: Channel) -> dict[str, Any]:
        """What every node must know of ``channel`` besides its members: modes, key,
        limit, lists, topic, the prefix letters of its members by nick, and the version
        of that state (``v``, see :meth:`adopt_channel_state`)."""
        with self.lock:
            return {
                "name": channel.name,
                "created": channel.created,
                "modes": "".join(sorted(channel.modes)),
                "key": channel.key,
                "limit": channel.limit,
                "lists": {
                    letter: [list(entry) for entry in entries.values()]
                    for letter, entries in channel.lists.items()
                },
                "topic": [channel.topic, channel.topic_by, channel.topic_at],
                "prefixes": {m.key: letters for m, letters in channel.members.items() if m.key},
                "v": channel.version,
            }

    def adopt_channel_state(
        self, channel: Channel, state: dict[str, Any], prefixes: bool = True, force: bool = False
    ) -> bool:
        """Make ``channel`` hold the network's state ``state`` (see :meth:`channel_state`)
        when its version is newer than the one held here (or ``force``: a change made
        here is undone); with ``prefixes``, its members' prefix letters too. Whether it
        was taken: every node takes the highest version it sees, so all hold the same."""
        with self.lock:
            version = int(state.get("v", 0))
            if version <= channel.version and not force:
                return False
            channel.version = max(version, channel.version)
            channel.modes = set(state["modes"])
            channel.key = state.get("key")
            channel.limit = state.get("limit")
            for letter, entries in state.get("lists", {}).items():
                held = channel.lists.get(letter)
                if held is None:
                    continue
                # An entry set here keeps counting against its address; one set
                # elsewhere counts against none, one gone gives its budget back.
                lists = {
                    casefold(e[0]): held.get(casefold(e[0])) or ListEntry(e[0], e[1], int(e[2]), "")
                    for e in entries
                }
                self.entries.release(e for k, e in held.items() if k not in lists)
                channel.lists[letter] = lists
            text, by, at = state.get("topic", ["", "", 0])
            channel.topic, channel.topic_by, channel.topic_at = text, by, int(at)
            channel.created = float(state.get("created", channel.created))
            if not prefixes:
                return True
            shown = state.get("prefixes", {})
            for member in channel.members:
                letters = shown.get(member.key)
                if letters is not None:
                    channel.members[member] = "".join(m for m in PREFIXES if m in letters)
            return True
