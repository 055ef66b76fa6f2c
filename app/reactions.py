"""Reactions and replies (IRCv3 ``+draft/react``, the proposed ``+draft/unreact``, and
``+draft/reply``): reading them from a line's tags, and who reacted with what. Pure.

A reaction is a TAGMSG whose ``+draft/reply`` names the message it reacts to; as most
clients do, it belongs to the nick that sent it: a second one of the same emoji adds
nothing, and ``+draft/unreact`` takes exactly that one back. So does deleting the TAGMSG
that carried it (``REDACT`` of its msgid, as some clients take a reaction back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

REACT = "+draft/react"
UNREACT = "+draft/unreact"
REPLY = "+draft/reply"
#: A reaction longer than this (characters) is ignored rather than cut: cut, it would
#: count as another reaction than the one its sender meant.
MAX_REACTION = 32
#: What the picker offers before anything is typed.
COMMON = ("👍", "❤", "😂", "🎉", "😮", "😢", "👀", "✔")
#: Messages per conversation whose reactions are kept (the oldest are forgotten first).
KEPT = 5000


class Chip(NamedTuple):
    """One reaction under a message: the emoji, how many sent it, whether we did."""

    emoji: str
    people: int
    own: bool


def usable_reaction(text: str) -> str:
    """``text`` as a reaction: stripped; "" when empty, too long or holding a control."""
    text = text.strip()
    if not text or len(text) > MAX_REACTION:
        return ""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
        return ""
    return text


def reaction_of(tags: Mapping[str, str]) -> tuple[str, str, bool] | None:
    """``(msgid, emoji, removed)`` when ``tags`` hold a reaction to a message, else None
    (a reaction to nothing, both tags at once, or an unusable value)."""
    target = tags.get(REPLY, "")
    react, unreact = tags.get(REACT), tags.get(UNREACT)
    if not target or (react is None) == (unreact is None):
        return None
    emoji = usable_reaction(react if react is not None else unreact or "")
    if not emoji:
        return None
    return target, emoji, unreact is not None


def reaction_tags(msgid: str, emoji: str, remove: bool = False) -> dict[str, str]:
    """The tags of a TAGMSG reacting to ``msgid`` with ``emoji`` (or taking it back)."""
    return {REPLY: msgid, UNREACT if remove else REACT: emoji}


class ReactionBook:
    """Who reacted with what to each message of each conversation; ``fold`` casefolds
    nicks as the server does."""

    def __init__(self, fold: Callable[[str], str] = str.lower) -> None:
        self.fold = fold
        # conversation key -> msgid -> emoji -> folded nicks, each in the order they came.
        self._books: dict[str, dict[str, dict[str, dict[str, None]]]] = {}
        # conversation key -> msgid of a reaction's TAGMSG -> (msgid, nick, emoji) it made.
        self._tagmsgs: dict[str, dict[str, tuple[str, str, str]]] = {}

    def apply(
        self, key: str, msgid: str, nick: str, emoji: str, removed: bool, tagmsg: str = ""
    ) -> bool:
        """Record one reaction (or its removal), ``tagmsg`` the msgid of the TAGMSG that
        carried it; True when it changed anything."""
        if tagmsg and not removed:
            carried = self._tagmsgs.setdefault(key, {})
            carried[tagmsg] = (msgid, nick, emoji)
            if len(carried) > KEPT:
                del carried[next(iter(carried))]
        book = self._books.setdefault(key, {})
        emojis = book.get(msgid)
        who = self.fold(nick)
        if removed:
            if emojis is None or who not in emojis.get(emoji, {}):
                return False
            del emojis[emoji][who]
            if not emojis[emoji]:
                del emojis[emoji]
            return True
        if emojis is None:
            emojis = book[msgid] = {}
            if len(book) > KEPT:
                del book[next(iter(book))]
        nicks = emojis.setdefault(emoji, {})
        if who in nicks:
            return False
        nicks[who] = None
        return True

    def carried_by(self, key: str, tagmsg: str) -> tuple[str, str, str] | None:
        """``(msgid, nick, emoji)`` of the reaction the TAGMSG ``tagmsg`` of conversation
        ``key`` made (forgotten here: it was deleted), if it made one."""
        return self._tagmsgs.get(key, {}).pop(tagmsg, None)

    def chips(self, key: str, msgid: str, me: str) -> tuple[Chip, ...]:
        """The reactions to ``msgid``, in the order they were first made; ``me`` our nick."""
        emojis = self._books.get(key, {}).get(msgid, {})
        mine = self.fold(me)
        return tuple(Chip(emoji, len(nicks), mine in nicks) for emoji, nicks in emojis.items())

    def reacted(self, key: str, msgid: str, nick: str, emoji: str) -> bool:
        """Whether ``nick`` has reacted to ``msgid`` with ``emoji``."""
        emojis = self._books.get(key, {}).get(msgid, {})
        return self.fold(nick) in emojis.get(emoji, {})

    def renamed(self, old: str, new: str) -> None:
        """Someone's reactions follow them to a new nick."""
        was, now = self.fold(old), self.fold(new)
        for book in self._books.values():
            for emojis in book.values():
                for nicks in emojis.values():
                    if was in nicks:
                        del nicks[was]
                        nicks[now] = None

    def move(self, key: str, new_key: str) -> None:
        """A direct conversation follows its peer to a new nick."""
        if key in self._books:
            self._books[new_key] = self._books.pop(key)
        if key in self._tagmsgs:
            self._tagmsgs[new_key] = self._tagmsgs.pop(key)

    def forget(self, key: str) -> None:
        """A conversation was closed or cleared."""
        self._books.pop(key, None)
        self._tagmsgs.pop(key, None)
