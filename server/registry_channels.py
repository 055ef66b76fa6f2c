"""The registry's channel tables: queries and one-step mutations of channels, their
members, topics, modes and registered rooms. Part of :class:`server.registry.Registry`
(its base class), under the same lock and the same rules (see that module).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from .channel import (
    PREFIX_RANK_OF,
    PREFIXES,
    Change,
    Channel,
    ChannelRow,
    ListBudget,
    ListEntry,
    ModeStep,
    Refused,
    Topic,
    apply_modes,
    check_join,
    sees_channel,
    sees_member,
)
from .protocol.names import casefold
from .protocol.numerics import (
    ERR_CHANOPRIVSNEEDED,
    ERR_NOSUCHNICK,
    ERR_NOTONCHANNEL,
    ERR_USERNOTINCHANNEL,
    ERR_USERONCHANNEL,
)
from .rooms import RoomState

if TYPE_CHECKING:
    from .rooms import Room
    from .session import Session

WHOWAS_SIZE = 200


class WhowasEntry(NamedTuple):
    """A nick that was in use: who held it and when they left it."""

    nick: str
    user: str
    host: str
    realname: str
    left_at: int


@dataclass(eq=False)
class Presence:
    """What the registry keeps for one connection besides the client itself."""

    #: Casefolded channel name -> the channel, for every channel the client is in.
    channels: dict[str, Channel] = field(default_factory=dict)
    #: Invitations: casefolded channel name -> the serial of the channel's life.
    invites: dict[str, int] = field(default_factory=dict)
    #: MONITOR list: casefolded nick -> nick as given.
    monitoring: dict[str, str] = field(default_factory=dict)


class ModeResult(NamedTuple):
    """What one MODE command on a channel did, copied under the lock."""

    applied: list[Change]
    #: Numerics (tuples) and list letters to show, in the order they arose.
    replies: list
    members: list[Session]
    #: A snapshot of each list shown: letter -> its entries.
    shown: dict[str, list[ListEntry]]


@dataclass(frozen=True, eq=False)
class RoomSnapshot:
    """A registered room's channel as it was before a change (copied under the lock):
    what it stores, and what undoes the change when that cannot be stored."""

    state: RoomState
    modes: frozenset[str]
    key: str | None
    limit: int | None
    lists: dict[str, dict[str, ListEntry]]
    #: Each member's prefix letters (a MODE may change them beside what is stored).
    prefixes: dict[Session, str]


class Handover(NamedTuple):
    """Op the server gave when the last operator left one of its own channels: the
    channel, its new operator, and who must hear of it (copied under the lock)."""

    channel: Channel
    member: Session
    members: list[Session]


#: Nobody's presence: a client that is gone (or never came) is in nothing.
_NOWHERE = Presence()


class ChannelTables:
    """The channel half of the registry; :class:`server.registry.Registry` adds the
    connections and nicks and owns the tables this reads."""

    lock: threading.Lock
    clients: dict[Session, Presence]
    nicks: dict[str, Session]
    channels: dict[str, Channel]
    entries: ListBudget
    #: Casefolded names of the server's own channels (``autojoin``), which are never
    #: left without an operator (see :meth:`_hand_over_locked`).
    server_owned: frozenset[str]

    def _presence(self, client: Session) -> Presence:
        return self.clients.get(client, _NOWHERE)

    # --- channels: queries -----------------------------------------------------
    def find_channel(self, name: str) -> Channel | None:
        """The channel called ``name``, if it exists."""
        with self.lock:
            return self.channels.get(casefold(name))

    def visible_channels(self, client: Session) -> Iterable[Channel]:
        """The channels ``client`` is in (snapshot)."""
        with self.lock:
            return list(self._presence(client).channels.values())

    def joined_keys(self, client: Session) -> set[str]:
        """The casefolded names of the channels ``client`` is in (snapshot)."""
        with self.lock:
            return set(self._presence(client).channels)

    def is_member(self, client: Session, channel: Channel) -> bool:
        """Whether ``client`` is in ``channel``."""
        with self.lock:
            return client in channel.members

    def members(self, channel: Channel) -> list[Session]:
        """The members of ``channel`` (snapshot)."""
        with self.lock:
            return list(channel.members)

    def is_op(self, client: Session, channel: Channel) -> bool:
        """Whether ``client`` is an operator in ``channel``."""
        with self.lock:
            return channel.is_op(client)

    def channels_seen_by(self, viewer: Session) -> list[Channel]:
        """Every channel ``viewer`` may see (NAMES with no channel)."""
        with self.lock:
            return [c for c in self.channels.values() if sees_channel(viewer, c)]

    def channel_rows(
        self, viewer: Session | None = None, keys: list[str] | None = None
    ) -> list[ChannelRow]:
        """Rows for LIST: the channels ``viewer`` may see (every one when None), only
        those with a casefolded name in ``keys`` when given; filter them after release."""
        with self.lock:
            if keys is not None:
                channels = [self.channels[k] for k in keys if k in self.channels]
            else:
                channels = list(self.channels.values())
            return [
                c.row()
                for c in channels
                if c.members and (viewer is None or sees_channel(viewer, c))
            ]

    def visible_members(
        self, viewer: Session, channel: Channel, multi: bool = False
    ) -> tuple[bool, list[tuple[Session, str]]] | None:
        """Whether ``channel`` is secret, and the members ``viewer`` may see with their
        prefix symbols (NAMES, WHO #channel); None when the channel is hidden from it."""
        with self.lock:
            if not sees_channel(viewer, channel):
                return None
            return "s" in channel.modes, [
                (m, channel.prefix_of(m, multi))
                for m in channel.members
                if sees_member(viewer, m, channel)
            ]

    def whois_channels(self, viewer: Session, target: Session, multi: bool) -> list[str]:
        """``target``'s channels that ``viewer`` may see, each with target's prefix."""
        with self.lock:
            return [
                channel.prefix_of(target, multi) + channel.name
                for channel in self._presence(target).channels.values()
                if sees_channel(viewer, channel)
            ]

    def topic_of(self, viewer: Session, channel: Channel) -> Topic | None:
        """The channel's topic, or None when the channel is hidden from ``viewer``."""
        with self.lock:
            if not sees_channel(viewer, channel):
                return None
            return Topic(channel.topic, channel.topic_by, channel.topic_at)

    def mode_of(self, viewer: Session, channel: Channel) -> tuple[str, list[str], int]:
        """RPL_CHANNELMODEIS's modestring and params (the key shown to members only),
        and the creation time."""
        with self.lock:
            letters = "".join(sorted(channel.modes))
            params: list[str] = []
            if channel.key is not None:
                letters += "k"
                params.append(channel.key if viewer in channel.members else "*")
            if channel.limit is not None:
                letters += "l"
                params.append(str(channel.limit))
            return "+" + letters, params, int(channel.created)

    def audience(
        self, client: Session, channel: Channel, lowest: int | None = None
    ) -> list[Session] | None:
        """The members a message from ``client`` goes to (only those ranked ``lowest``
        or higher, when given: ``@#chan``); None when ``client`` may not send there."""
        with self.lock:
            if not channel.can_speak(client):
                return None
            if lowest is None:
                return list(channel.members)
            return [
                m
                for m, letters in channel.members.items()
                if letters and PREFIX_RANK_OF[letters[0]] <= lowest
            ]

    def invitations(self, client: Session) -> list[str]:
        """The names of the live channels ``client`` is invited to, sorted."""
        with self.lock:
            names = [
                channel.name
                for key, serial in self._presence(client).invites.items()
                if (channel := self.channels.get(key)) is not None and channel.serial == serial
            ]
        return sorted(names, key=casefold)

    # --- channels: mutations ---------------------------------------------------
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
        key: str = "",
        status: str = "",
        first: bool | None = None,
    ) -> list[Session] | None:
        """Add ``client`` to ``channel`` (the first member is op); hold its send_lock.

        ``first`` says whether the client is the channel's first member in the whole
        network of nodes (its nodes' table decided it); None: alone, first here.

        A channel that has members checks its modes first (+i, +b, +k with ``key``,
        +l) and raises :class:`JoinRefused`. A registered (+r) one checks them even
        when empty, gives nobody op for being first, and gives ``client`` the prefix
        letters of ``status`` (its access); ``o`` passes the modes, as an invitation
        does. Returns the members after the join, ``None`` when the client already was
        one or has left the registry, or an empty list when the channel was destroyed
        or made by someone else meanwhile (look it up again).
        """
        folded = casefold(channel.name)
        with self.lock:
            presence = self.clients.get(client)
            if presence is None:
                return None  # killed or gone meanwhile: it creates and joins nothing
            current = self.channels.get(folded)
            if current is not channel:
                if current is not None or channel.destroyed:
                    return []
                self.channels[folded] = channel  # created by its first join, in one step
            if client in channel.members:
                return None
            registered = "r" in channel.modes
            if channel.members or registered:
                invited = presence.invites.get(folded) == channel.serial or "o" in status
                check_join(channel, client, key, invited)
            if registered:
                channel.members[client] = "".join(m for m in PREFIXES if m in status)
            else:
                founder = not channel.members if first is None else first
                channel.members[client] = "o" if founder else ""
            presence.channels[folded] = channel
            presence.invites.pop(folded, None)
            return list(channel.members)

    def part(
        self, client: Session, channel: Channel
    ) -> tuple[list[Session], Handover | None] | None:
        """Remove ``client`` from ``channel``; return who must hear of it (itself included)
        and the op the server gave in its place (:meth:`_hand_over_locked`), if any.

        Returns ``None`` when the client was not a member.
        """
        with self.lock:
            if client not in channel.members:
                return None
            recipients = list(channel.members)
            return recipients, self._part_locked(client, channel)

    def _part_locked(self, client: Session, channel: Channel) -> Handover | None:
        letters = channel.members.pop(client)
        self._presence(client).channels.pop(casefold(channel.name), None)
        if not channel.members:
            self._destroy_locked(channel)
            return None
        return self._hand_over_locked(channel) if "o" in letters else None

    def _hand_over_locked(self, channel: Channel) -> Handover | None:
        """An operator just left ``channel``: when it was the last one and the channel is
        one of the server's own (autojoin) that is not a registered room, give op to the
        member present longest, the way services do, so the channel is never left with
        nobody to set its topic. A registered room follows its access list instead, and
        other channels stay without an operator (as Modern IRC has it)."""
        if "r" in channel.modes or casefold(channel.name) not in self.server_owned:
            return None
        if any("o" in letters for letters in channel.members.values()):
            return None
        heir = next(iter(channel.members))  # members are kept in the order they joined
        channel.set_prefix(heir, "o", True)
        return Handover(channel, heir, list(channel.members))

    def kick(
        self, channel: Channel, target: Session | str, by: Session | None = None
    ) -> tuple[Session, list[Session], Handover | None]:
        """Take ``target`` (a client or a nick) out of ``channel``, checking that ``by``
        is an operator there (None: the server itself); hold the channel's send_lock.

        Returns the target, who must hear of it (the target included) and the op the
        server gave in its place (:meth:`_hand_over_locked`), if any; raises
        :class:`Refused` with ERR_NOTONCHANNEL, ERR_CHANOPRIVSNEEDED or
        ERR_USERNOTINCHANNEL.
        """
        with self.lock:
            member = self.nicks.get(casefold(target)) if isinstance(target, str) else target
            if by is not None and by not in channel.members:
                raise Refused(ERR_NOTONCHANNEL, channel.name)
            if by is not None and not channel.is_op(by):
                raise Refused(ERR_CHANOPRIVSNEEDED, channel.name)
            if member is None or member not in channel.members:
                nick = target if isinstance(target, str) else target.nick
                raise Refused(ERR_USERNOTINCHANNEL, nick, channel.name)
            recipients = list(channel.members)
            return member, recipients, self._part_locked(member, channel)

    def invite(
        self, inviter: Session, channel: Channel, nick: str
    ) -> tuple[Session, list[Session]]:
        """Invite the user ``nick`` to this life of ``channel`` on ``inviter``'s word.

        Returns the invited user and the other members to notify (invite-notify; only
        operators when the channel is +i); raises :class:`Refused` with the numeric.
        """
        with self.lock:
            target = self.nicks.get(casefold(nick))
            if inviter not in channel.members:
                raise Refused(ERR_NOTONCHANNEL, channel.name)
            if "i" in channel.modes and not channel.is_op(inviter):
                raise Refused(ERR_CHANOPRIVSNEEDED, channel.name)
            if target is None:
                raise Refused(ERR_NOSUCHNICK, nick)
            if target in channel.members:
                raise Refused(ERR_USERONCHANNEL, target.nick, channel.name)
            invites = self.clients[target].invites  # a user in nicks is connected
            for folded, serial in list(invites.items()):  # forget invitations to dead ones
                live = self.channels.get(folded)
                if live is None or live.serial != serial:
                    del invites[folded]
            invites[casefold(channel.name)] = channel.serial
            notify = [
                m
                for m in channel.members
                if m is not inviter
                and "invite-notify" in m.caps
                and ("i" not in channel.modes or channel.is_op(m))
            ]
            return target, notify

    def set_topic(self, client: Session, channel: Channel, text: str) -> list[Session]:
        """Set the topic as ``client`` (+t: operators only); hold the channel's send_lock.

        Returns the members to tell; raises :class:`Refused` with the numeric.
        """
        with self.lock:
            if client not in channel.members:
                raise Refused(ERR_NOTONCHANNEL, channel.name)
            if "t" in channel.modes and not channel.is_op(client):
                raise Refused(ERR_CHANOPRIVSNEEDED, channel.name)
            channel.topic = text
            channel.topic_by = client.nick
            channel.topic_at = int(time.time())
            return list(channel.members)

    def set_room_topic(self, channel: Channel, text: str, by: str) -> list[Session]:
        """Set the topic on the word of a service (ChanServ TOPIC: no +t check); hold
        the channel's send_lock. Returns the members to tell."""
        with self.lock:
            channel.topic, channel.topic_by, channel.topic_at = text, by, int(time.time())
            return list(channel.members)

    def needs_topic(self, channel: Channel) -> bool:
        """True once per channel: whether its last topic should be looked up."""
        with self.lock:
            if channel.topic_checked:
                return False
            channel.topic_checked = True
            return True

    def restore_topic(self, channel: Channel, topic: Topic) -> None:
        """Give a channel not joined yet a topic from before (unless it has one)."""
        with self.lock:
            if not channel.topic and not channel.members:
                channel.topic, channel.topic_by, channel.topic_at = topic

    def change_modes(
        self,
        client: Session,
        channel: Channel,
        steps: Iterable[ModeStep],
        max_params: int,
        list_limits: tuple[int, int],
    ) -> ModeResult:
        """Apply a MODE command's steps as ``client`` in one step; hold the send_lock.

        See :func:`server.channel.apply_modes`; ``list_limits`` are the most entries
        per list and per address (0: no limit).
        """
        with self.lock:
            applied, replies = apply_modes(
                channel,
                client,
                steps,
                max_params,
                lambda nick: self.nicks.get(casefold(nick)),
                self.entries,
                list_limits,
            )
            # A snapshot: other threads may change the lists once the lock is released.
            shown = {r: list(channel.lists[r].values()) for r in replies if isinstance(r, str)}
            return ModeResult(applied, replies, list(channel.members), shown)

    # --- registered rooms ------------------------------------------------------
    def room_state(self, channel: Channel) -> RoomState:
        """What a registered room keeps of ``channel`` now (a snapshot)."""
        with self.lock:
            return self._room_state_locked(channel)

    def room_snapshot(self, channel: Channel) -> RoomSnapshot | None:
        """A registered room's channel before a change (None when it is not registered),
        for :meth:`roll_back`; hold the send_lock from here until the change is stored."""
        with self.lock:
            if "r" not in channel.modes:
                return None
            return self._snapshot_locked(channel)

    def channel_snapshot(self, channel: Channel) -> RoomSnapshot:
        """Any channel before a change, for :meth:`roll_back` (a change the network
        refused); hold the send_lock from here until the change is committed."""
        with self.lock:
            return self._snapshot_locked(channel)

    def _snapshot_locked(self, channel: Channel) -> RoomSnapshot:
        return RoomSnapshot(
            self._room_state_locked(channel),
            frozenset(channel.modes),
            channel.key,
            channel.limit,
            {letter: dict(entries) for letter, entries in channel.lists.items()},
            dict(channel.members),
        )

    def roll_back(self, channel: Channel, before: RoomSnapshot) -> None:
        """Undo a change that could not be stored: modes, lists, topic and prefixes as in
        ``before`` (taken under the same send_lock, so nothing else changed them since)."""
        with self.lock:
            if channel.destroyed:
                return  # emptied meanwhile: its lists and their budget are gone already
            channel.modes = set(before.modes)
            channel.key, channel.limit = before.key, before.limit
            for letter, entries in channel.lists.items():
                old = before.lists.get(letter, {})
                self.entries.release(e for k, e in entries.items() if k not in old)
                self.entries.charge(e for k, e in old.items() if k not in entries)
                channel.lists[letter] = dict(old)
            state = before.state
            channel.topic, channel.topic_by, channel.topic_at = (
                state.topic,
                state.topic_by,
                state.topic_at,
            )
            for member, letters in before.prefixes.items():
                if member in channel.members:  # one who left meanwhile stays gone
                    channel.members[member] = letters

    def _room_state_locked(self, channel: Channel) -> RoomState:
        return RoomState(
            "".join(sorted(channel.modes - {"r"})),
            channel.key,
            channel.limit,
            {
                letter: [(e.mask, e.set_by, e.set_at) for e in entries.values()]
                for letter, entries in channel.lists.items()
            },
            channel.topic,
            channel.topic_by,
            channel.topic_at,
        )

    def restore_room(self, channel: Channel, room: Room) -> None:
        """Give a channel made anew, not joined yet, what its registration keeps."""
        state = room.state
        with self.lock:
            if channel.members or channel.destroyed:
                return
            channel.modes = set(state.modes) | {"r"}
            channel.key, channel.limit = state.key, state.limit
            for letter, entries in state.lists.items():
                if letter in channel.lists:
                    # Counted against nobody's per-address budget: no address set them now.
                    channel.lists[letter] = {
                        casefold(mask): ListEntry(mask, by, at, "") for mask, by, at in entries
                    }
            channel.topic, channel.topic_by, channel.topic_at = (
                state.topic,
                state.topic_by,
                state.topic_at,
            )
            channel.history_floor = room.history_from

    def set_registered(
        self, channel: Channel, on: bool, by: Session | None = None
    ) -> list[Session] | None:
        """Mark ``channel`` registered (+r) or not, on the word of ``by`` (None: the
        server), who must be an operator there; hold the channel's send_lock.

        Returns the members to tell, or None when nothing changed; raises
        :class:`Refused` with ERR_CHANOPRIVSNEEDED.
        """
        with self.lock:
            if by is not None and not channel.is_op(by):
                raise Refused(ERR_CHANOPRIVSNEEDED, channel.name)
            if ("r" in channel.modes) == on or channel.destroyed:
                return None
            channel.modes.symmetric_difference_update("r")
            return list(channel.members)

    def set_status(
        self, channel: Channel, nick: str, letter: str, on: bool
    ) -> tuple[Session, list[Session]] | None:
        """Give or take a member's prefix mode on the server's word (ChanServ); hold
        the channel's send_lock. Returns the member and who must hear of it, or None
        when nothing changed; raises :class:`Refused` when ``nick`` is not a member."""
        with self.lock:
            member = self.nicks.get(casefold(nick))
            if member is None:
                raise Refused(ERR_NOSUCHNICK, nick)
            if member not in channel.members:
                raise Refused(ERR_USERNOTINCHANNEL, member.nick, channel.name)
            if not channel.set_prefix(member, letter, on):
                return None
            return member, list(channel.members)

    def _destroy_locked(self, channel: Channel) -> None:
        """Take an empty channel out of the table; its lists and invitations end."""
        folded = casefold(channel.name)
        if self.channels.get(folded) is channel:
            del self.channels[folded]
        channel.destroyed = True
        for entries in channel.lists.values():
            self.entries.release(entries.values())
            entries.clear()
