"""The open conversations: their transcript lines, members, topic, unread counts, and which
one is current. One place for this state; the view renders it, the controller reads it.
No Tk here."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from app.reactions import Chip
from app.text import Line

#: Transcript lines kept per conversation.
SCROLLBACK = 5000
#: The key of the server conversation.
SERVER = ""
#: What a channel's name starts with (anything else but the server's is a person).
CHANNEL_PREFIXES = "#&"
#: The kinds of line someone says (the others are events and our own notes).
SAID = ("message", "action", "notice")


def is_direct(name: str) -> bool:
    """Whether ``name`` is a private conversation (a person), not a channel or the server."""
    return bool(name) and name[0] not in CHANNEL_PREFIXES


@dataclass
class Conversation:
    """A channel, a direct conversation or the server's: lines, members, topic, counters."""

    key: str
    name: str
    lines: deque[Line] = field(default_factory=lambda: deque(maxlen=SCROLLBACK))
    members: tuple[tuple[str, str], ...] = ()
    signed_in: frozenset[str] = frozenset()  # members the server says have an account
    #: Members the server says are away, with their away text ("" when not known).
    away: dict[str, str] = field(default_factory=dict)
    topic: str = ""
    #: Whether we may set the topic (an operator, or the channel is not +t).
    topic_settable: bool = False
    unread: int = 0
    mentions: int = 0
    #: The read marker: messages up to this time are read (here, or in another window).
    read_at: datetime | None = None
    #: Where the "— new —" line goes: after this time (the marker when last opened).
    new_after: datetime | None = None
    #: The reactions under its messages, by msgid.
    reactions: dict[str, tuple[Chip, ...]] = field(default_factory=dict)


class Conversations:
    """The conversations in sidebar order, keyed by casefolded name ("" for the server)."""

    def __init__(self, scrollback: int = SCROLLBACK) -> None:
        self.scrollback = scrollback
        self._items: dict[str, Conversation] = {}
        #: The key of the conversation on screen (None before the first one opens).
        self.current: str | None = None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getitem__(self, key: str) -> Conversation:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str | None) -> Conversation | None:
        """The conversation ``key``, if open."""
        return self._items.get(key) if key is not None else None

    def ordered_keys(self) -> list[str]:
        """Every key, in sidebar order."""
        return list(self._items)

    def names(self) -> list[str]:
        """Display names of every conversation but the server's."""
        return [c.name for c in self._items.values() if c.name]

    def current_name(self) -> str:
        """The open conversation's name ("" for the server's or none)."""
        conversation = self.get(self.current)
        return conversation.name if conversation is not None else ""

    def add(self, key: str, name: str) -> Conversation | None:
        """Open a conversation; the new one, or None when it was open already."""
        if key in self._items:
            return None
        conversation = Conversation(key, name, deque(maxlen=self.scrollback))
        self._items[key] = conversation
        return conversation

    def remove(self, key: str) -> str | None:
        """Close ``key``; the neighbour to show when it was the current one (else None)."""
        if key not in self._items:
            return None
        keys = list(self._items)
        index = keys.index(key)
        del self._items[key]
        if self.current != key:
            return None
        self.current = None
        rest = list(self._items)
        return rest[max(0, index - 1)] if rest else None

    def rename(self, key: str, new_key: str, name: str) -> Conversation | None:
        """A peer changed nick: its conversation keeps its lines under the new key."""
        conversation = self._items.get(key)
        if conversation is None or (new_key != key and new_key in self._items):
            return None
        conversation.name = name
        if new_key != key:
            self._items = {(new_key if k == key else k): v for k, v in self._items.items()}
            conversation.key = new_key
            if self.current == key:
                self.current = new_key
        return conversation

    def open(self, key: str) -> tuple[Conversation, bool] | None:
        """Make ``key`` current (its counters read); with True when it was not current."""
        conversation = self._items.get(key)
        if conversation is None:
            return None
        changed = self.current != key
        self.current = key
        conversation.unread = conversation.mentions = 0
        if changed:
            conversation.new_after = conversation.read_at
        return conversation, changed

    def add_line(self, key: str, line: Line, count: bool, focused: bool) -> bool:
        """Keep ``line`` in ``key``; True when the counters changed (a sidebar update is due).

        A line in the current conversation counts only as a mention the user has not seen
        (the window is not focused); elsewhere messages count as unread, if ``count``. A
        private message is meant for us as a mention is: it counts as one.
        """
        conversation = self._items[key]
        conversation.lines.append(line)
        said = count and line.kind in SAID
        notable = line.mention or (said and is_direct(conversation.name))
        if key == self.current:
            if notable and not focused:
                conversation.mentions += 1
                return True
            return False
        if said:
            conversation.unread += 1
            if notable:
                conversation.mentions += 1
            return True
        return False

    def replace_line(self, key: str, old: Line, new: Line) -> bool:
        """Put ``new`` where the line ``old`` (that very one) is in ``key``; False if gone."""
        conversation = self._items.get(key)
        if conversation is None:
            return False
        for index, line in enumerate(conversation.lines):
            if line is old:
                conversation.lines[index] = new
                return True
        return False

    def read_until(self, key: str, when: datetime, here: bool, focused: bool) -> bool:
        """Messages of ``key`` up to ``when`` are read: read ``here`` (the user looks at
        them), or in another window, whose reading the counters follow. True when the
        counters changed."""
        conversation = self._items.get(key)
        if conversation is None:
            return False
        if conversation.read_at is None or when > conversation.read_at:
            conversation.read_at = when
        if here:
            return False
        after = conversation.read_at
        unread = [
            line
            for line in conversation.lines
            if line.kind in SAID and not line.own and line.at is not None and line.at > after
        ]
        notable = len([line for line in unread if line.mention or is_direct(conversation.name)])
        old = (conversation.unread, conversation.mentions)
        if key != self.current:
            conversation.unread, conversation.mentions = len(unread), notable
        elif not focused:
            conversation.mentions = min(conversation.mentions, notable)
        return old != (conversation.unread, conversation.mentions)

    def read(self) -> bool:
        """The user looks at the current conversation: True when it had anything unread."""
        conversation = self.get(self.current)
        if conversation is None or not (conversation.mentions or conversation.unread):
            return False
        conversation.mentions = conversation.unread = 0
        return True

    def mentions(self) -> int:
        """Unread mentions and private messages in every conversation (the window title)."""
        return sum(c.mentions for c in self._items.values())


def first_new(conversation: Conversation) -> Line | None:
    """The first message after the conversation's "— new —" place, if one is there."""
    after = conversation.new_after
    if after is None:
        return None
    for line in conversation.lines:
        if line.kind in SAID and not line.own and line.at is not None and line.at > after:
            return line
    return None


def last_said(conversation: Conversation) -> datetime | None:
    """When the newest message of the conversation was said (what reading it marks)."""
    for line in reversed(conversation.lines):
        if line.kind in SAID and line.at is not None:
            return line.at
    return None
