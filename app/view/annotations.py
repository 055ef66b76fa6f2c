"""What the transcript draws around a message besides the message: the quoted line
above a reply and the reactions under a message, with the tags that find them again.

A reply's quote and a message's reactions carry the message's own line tag
(:mod:`app.view.line_tags`), so a click or the menu on them is on that message; the
reactions also carry ``chips@<line tag>`` (the row, replaced as a whole when they change)
and each reaction ``chip@<line tag>#<n>``, which names its msgid and emoji here.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from typing import Any

from app.conversations import Conversation
from app.reactions import Chip
from app.text import DELETED, Line, sanitize
from app.view.line_tags import LineTags

#: What a reply's quote says when the message it answers is not loaded.
UNLOADED_QUOTE = "an earlier message"
#: Characters of the answered message its quote shows.
QUOTE_CHARS = 80


class Annotations:
    """The lines of a Text by tag, and the quotes and reactions drawn with them."""

    def __init__(self, text: tkinter.Text, shown: Callable[[], Conversation | None]) -> None:
        self.text = text
        #: The conversation being drawn (its lines and reactions).
        self.shown = shown
        self.lines = LineTags(text)
        self._chips: dict[str, tuple[str, str]] = {}  # chip tag -> (msgid, emoji)

    def reset(self) -> None:
        """The Text was emptied."""
        self.lines.reset()
        self._chips.clear()

    def quote_parts(self, line: Line, base: tuple[str, ...], astral: bool) -> list[Any]:
        """The quoted line above a reply: who said what it answers, shortened."""
        original = None
        conversation = self.shown()
        if conversation is not None:
            lines = reversed(conversation.lines)
            original = next((x for x in lines if x.msgid == line.reply), None)
        if original is None:
            quoted = UNLOADED_QUOTE
        else:
            # A deleted message's quote says only that: who deleted it and why is its own
            # line's business, not repeated over every reply to it.
            said = DELETED if original.deleted else " ".join(original.text.split())
            if len(said) > QUOTE_CHARS:
                said = said[: QUOTE_CHARS - 1] + "…"
            quoted = f"{original.nick}: {said}"
        return ["\t\t↪ " + sanitize(quoted, astral=astral) + "\n", (*base, "quote")]

    def chip_parts(self, msgid: str, tag: str, astral: bool) -> list[Any]:
        """The reactions under the message ``msgid`` (drawn with tag ``tag``), if any."""
        conversation = self.shown()
        chips: tuple[Chip, ...] = ()
        if conversation is not None and msgid:
            chips = conversation.reactions.get(msgid, ())
        if not chips:
            return []
        row = ("line", tag, "chips", f"chips@{tag}")
        parts: list[Any] = ["\t\t", row]
        for number, chip in enumerate(chips):
            chip_tag = f"chip@{tag}#{number}"
            self._chips[chip_tag] = (msgid, chip.emoji)
            style = ("chip", "chip_own") if chip.own else ("chip",)
            label = f" {sanitize(chip.emoji, 40, astral)} {chip.people} "
            parts += [label, (*row, *style, chip_tag), " ", row]
        parts[-2] = "\n"  # the row ends after its last reaction
        return parts

    def forget_chips(self, tag: str) -> None:
        """The reactions of the line ``tag`` are being drawn again."""
        for chip_tag in [t for t in self._chips if t.startswith(f"chip@{tag}#")]:
            del self._chips[chip_tag]

    def chip_at(self, index: str) -> tuple[str, str] | None:
        """``(msgid, emoji)`` of the reaction at ``index``, if one is there."""
        for tag in self.text.tag_names(index):
            found = self._chips.get(tag)
            if found is not None:
                return found
        return None
