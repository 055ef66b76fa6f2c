"""One channel's state, and the visibility rule: who may see a channel or a user.

Everything here is pure and takes no lock: the registry (``server/registry.py``) owns
every ``Channel`` and calls these while holding its lock (its rule 1). Nothing outside
the registry reads or changes a channel's members, modes, lists or topic.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from .delivery import SendLock
from .protocol.names import casefold, match_folded
from .protocol.numerics import (
    ERR_BADCHANNELKEY,
    ERR_BANLISTFULL,
    ERR_BANNEDFROMCHAN,
    ERR_CHANNELISFULL,
    ERR_CHANOPRIVSNEEDED,
    ERR_INVITEONLYCHAN,
    ERR_NOSUCHNICK,
    ERR_UNKNOWNMODE,
    ERR_USERNOTINCHANNEL,
)

if TYPE_CHECKING:
    from .session import Session

#: Channel membership prefixes, highest first: mode letter -> symbol (ISUPPORT PREFIX).
PREFIXES = {"o": "@", "v": "+"}
#: The rank of each prefix mode letter, 0 the highest (STATUSMSG targets such as ``@#c``).
PREFIX_RANK_OF = {letter: rank for rank, letter in enumerate(PREFIXES)}

_serials = itertools.count(1)


class ListEntry(NamedTuple):
    """One +b, +e or +I entry: a plain tuple of shared strings, nothing compiled."""

    mask: str
    #: Who set it (nick!user@host) and when (epoch seconds).
    set_by: str
    set_at: int
    #: The address of the connection that set it (the per-address budget).
    ip: str


class Refused(Exception):
    """A request the registry refuses; ``args`` are the numeric and its params."""


class JoinRefused(Refused):
    """A JOIN that the channel's modes refuse; ``args`` are the numeric and its params."""


class ChannelRow(NamedTuple):
    """What LIST and the server window show of one channel, copied under the lock."""

    name: str
    members: int
    topic: str
    created: float
    topic_at: int
    #: The flag modes, as ``+nt``.
    modes: str


class Topic(NamedTuple):
    """A channel's topic, who set it and when (epoch seconds); empty text: none."""

    text: str
    by: str
    at: int


@dataclass(eq=False)
class Channel:
    """One channel: members with their prefix modes, channel modes and topic."""

    name: str
    created: float = field(default_factory=time.time)
    #: This life of the channel: a channel of the same name made later has another.
    serial: int = field(default_factory=lambda: next(_serials))
    #: Set when the channel is removed from the registry (it is never added again).
    destroyed: bool = False
    #: member -> its prefix mode letters, highest first ("o", "v", "ov" or "").
    members: dict[Session, str] = field(default_factory=dict)
    modes: set[str] = field(default_factory=lambda: {"n", "t"})
    #: The +k key and the +l limit, when set.
    key: str | None = None
    limit: int | None = None
    #: The +b, +e and +I lists: mode letter -> {casefolded mask: entry}.
    lists: dict[str, dict[str, ListEntry]] = field(
        default_factory=lambda: {"b": {}, "e": {}, "I": {}}
    )
    topic: str = ""
    topic_by: str = ""
    topic_at: int = 0
    #: Whether this channel was set up (its floor, its registered state) before its
    #: first join.
    topic_checked: bool = False
    #: The history this life of the channel may read starts after this message id: an
    #: unregistered channel made anew inherits nothing of an earlier one of its name.
    history_floor: int = 0
    #: In a network of nodes: the version of the modes, lists and topic held here, as
    #: Redis numbered it (each change there makes the next one; the highest wins).
    version: int = 0
    send_lock: SendLock = field(default_factory=SendLock, repr=False)

    def in_list(self, letter: str, source: str) -> bool:
        """Whether ``source`` (nick!user@host) matches an entry of list mode ``letter``."""
        entries = self.lists[letter]
        if not entries:
            return False
        # The keys are the masks casefolded, with their runs of `*` collapsed.
        folded = casefold(source)
        return any(match_folded(key, folded) for key in entries)

    def is_banned(self, client: Session) -> bool:
        """Whether ``client`` matches a ban and no ban exception."""
        if not self.lists["b"]:
            return False
        source = client.source
        return self.in_list("b", source) and not self.in_list("e", source)

    def can_speak(self, client: Session) -> bool:
        """Whether ``client`` may send to the channel (+n, +m, bans)."""
        letters = self.members.get(client)
        if letters is None:
            return "n" not in self.modes and not self.is_banned(client)
        if letters:
            return True  # voice or op
        return "m" not in self.modes and not self.is_banned(client)

    def prefix_of(self, client: Session, multi: bool = False) -> str:
        """The member's prefix symbols: the highest one, or all with ``multi``."""
        letters = self.members.get(client, "")
        if not letters:
            return ""
        if multi:
            return "".join(PREFIXES[m] for m in letters)
        return PREFIXES[letters[0]]

    def is_op(self, client: Session) -> bool:
        """Whether ``client`` is a channel operator here."""
        return "o" in self.members.get(client, "")

    def set_prefix(self, client: Session, letter: str, on: bool) -> bool:
        """Give or take a prefix mode; return whether anything changed."""
        letters = self.members[client]
        if on == (letter in letters):
            return False
        wanted = set(letters) ^ {letter}
        self.members[client] = "".join(m for m in PREFIXES if m in wanted)
        return True

    def row(self) -> ChannelRow:
        """The channel as LIST and the server window show it."""
        modes = "+" + "".join(sorted(self.modes))
        return ChannelRow(
            self.name, len(self.members), self.topic, self.created, self.topic_at, modes
        )


def check_join(channel: Channel, client: Session, key: str, invited: bool) -> None:
    """Raise :class:`JoinRefused` when the channel's modes refuse ``client`` (+i, +b,
    +k with ``key``, +l); an invitation passes them all."""
    if invited:
        return
    if "i" in channel.modes and not channel.in_list("I", client.source):
        raise JoinRefused(ERR_INVITEONLYCHAN, channel.name)
    if channel.is_banned(client):
        raise JoinRefused(ERR_BANNEDFROMCHAN, channel.name)
    if channel.key is not None and key != channel.key:
        raise JoinRefused(ERR_BADCHANNELKEY, channel.name)
    if channel.limit is not None and len(channel.members) >= channel.limit:
        raise JoinRefused(ERR_CHANNELISFULL, channel.name)


# --- the visibility rule (written once; the registry applies it under its lock) -------
def sees_channel(viewer: Session, channel: Channel) -> bool:
    """Whether ``viewer`` may see ``channel``: a secret (+s) one only by its members."""
    return "s" not in channel.modes or viewer in channel.members


def sees_member(viewer: Session, member: Session, channel: Channel) -> bool:
    """Whether ``viewer`` is shown ``member`` of ``channel`` (NAMES, WHO #channel):
    a member sees everyone; anyone else sees the users who are not invisible (+i)."""
    return viewer in channel.members or "i" not in member.modes or member is viewer


def sees_user(viewer: Session, user: Session, user_channels: Iterable[Channel]) -> bool:
    """Whether a mask query (WHO) by ``viewer`` may find ``user``, who is in
    ``user_channels``: itself, a user who is not invisible (+i), or one it shares a
    channel with."""
    if user is viewer or "i" not in user.modes:
        return True
    return any(viewer in channel.members for channel in user_channels)


class ModeStep(NamedTuple):
    """One letter of a MODE command on a channel, read but not applied yet."""

    #: ``"unknown"`` (ERR_UNKNOWNMODE), ``"list"`` (show a list) or ``"change"``.
    kind: str
    sign: str
    letter: str
    param: str | None = None
    #: Whether the change takes a parameter (those are counted against ISUPPORT MODES).
    takes_param: bool = False
    #: Instead of applying it: a reply (an invalid parameter), or () to skip it silently.
    invalid: tuple | None = None


#: A mode change as applied: sign, letter, parameter.
Change = tuple[str, str, "str | None"]


class ListBudget:
    """How many +b/+e/+I entries each address holds in live channels (lock held)."""

    def __init__(self) -> None:
        self.per_ip: dict[str, int] = {}

    def add(
        self, channel: Channel, letter: str, mask: str, client: Session, limits: tuple[int, int]
    ) -> bool | None:
        """Add ``mask`` to list mode ``letter``: True when added, None when it was there
        already, False when a limit (per list, per address; 0: none) refuses it."""
        entries = channel.lists[letter]
        folded = casefold(mask)
        if folded in entries:
            return None
        per_list, per_ip = limits
        held = self.per_ip.get(client.ip, 0)
        if len(entries) >= per_list or (per_ip and held >= per_ip):
            return False
        # One string for mask and key when they are the same (most masks are lowercase).
        entries[mask if folded == mask else folded] = ListEntry(
            mask, client.source, int(time.time()), client.ip
        )
        self.per_ip[client.ip] = held + 1
        return True

    def remove(self, channel: Channel, letter: str, mask: str) -> bool:
        """Remove ``mask`` from list mode ``letter``; whether it was there."""
        entry = channel.lists[letter].pop(casefold(mask), None)
        if entry is None:
            return False
        self.release([entry])
        return True

    def charge(self, entries: Iterable[ListEntry]) -> None:
        """Count entries put back (a change undone) against the addresses that set them;
        an entry restored from a registered room (no address) counts for nobody."""
        counts = self.per_ip
        for entry in entries:
            if entry.ip:
                counts[entry.ip] = counts.get(entry.ip, 0) + 1

    def release(self, entries: Iterable[ListEntry]) -> None:
        """Give back the budget of entries that are gone (their channel ended)."""
        counts = self.per_ip
        for entry in entries:
            left = counts.get(entry.ip, 1) - 1
            if left > 0:
                counts[entry.ip] = left
            else:
                counts.pop(entry.ip, None)


def apply_modes(
    channel: Channel,
    client: Session,
    steps: Iterable[ModeStep],
    max_params: int,
    find_nick: Callable[[str], Session | None],
    budget: ListBudget,
    list_limits: tuple[int, int],
) -> tuple[list[Change], list]:
    """Apply a MODE command's steps to ``channel`` as ``client`` (with the registry's lock held).

    Only an operator changes anything (else ERR_CHANOPRIVSNEEDED, once, at the end);
    at most ``max_params`` changes with a parameter are applied. Returns the changes
    and the replies: numerics (tuples) and list letters to show, in order.
    """
    applied: list[Change] = []
    replies: list = []
    refused = False
    with_param = 0
    is_op = channel.is_op(client)
    for step in steps:
        if step.kind == "unknown":
            replies.append((ERR_UNKNOWNMODE, step.letter))
            continue
        if step.kind == "list":
            if step.letter not in replies:
                replies.append(step.letter)  # a list query: anyone may look
            continue
        if not is_op:
            refused = True
            continue
        if step.takes_param:
            with_param += 1
            if with_param > max_params:
                continue
        if step.invalid is not None:
            if step.invalid:
                replies.append(step.invalid)
            continue
        change = _apply_one(channel, client, step, find_nick, budget, list_limits, replies)
        if change is not None:
            applied.append(change)
    if refused:
        replies.append((ERR_CHANOPRIVSNEEDED, channel.name))
    return applied, replies


def _apply_one(
    channel: Channel,
    client: Session,
    step: ModeStep,
    find_nick: Callable[[str], Session | None],
    budget: ListBudget,
    list_limits: tuple[int, int],
    replies: list,
) -> Change | None:
    sign, letter, param = step.sign, step.letter, step.param or ""
    on = sign == "+"
    if letter in PREFIXES:
        member = find_nick(param)
        if member is None:
            replies.append((ERR_NOSUCHNICK, param))
        elif member not in channel.members:
            replies.append((ERR_USERNOTINCHANNEL, member.nick, channel.name))
        elif channel.set_prefix(member, letter, on):
            return (sign, letter, member.nick)
        return None
    if letter in channel.lists:
        if on:
            added = budget.add(channel, letter, param, client, list_limits)
            if added is False:
                replies.append((ERR_BANLISTFULL, channel.name, letter))
            if not added:
                return None
        elif not budget.remove(channel, letter, param):
            return None
        return (sign, letter, param)
    if letter == "k":
        if on:
            channel.key = param
            return (sign, letter, param)
        if channel.key is None:
            return None
        channel.key = None
        return (sign, letter, "*")
    if letter == "l":
        if on:
            channel.limit = int(param)
            return (sign, letter, param)
        if channel.limit is None:
            return None
        channel.limit = None
        return (sign, letter, None)
    if (letter in channel.modes) == on:
        return None
    channel.modes.symmetric_difference_update(letter)
    return (sign, letter, None)
