"""Which transcript line is where: each line drawn gets a tag of its own (``line#1``,
``line#2``, ...) that names its :class:`~app.text.Line` here, so a click, a menu or a
reaction finds its line without computing a Text index from a string offset. The lines
trimmed from the top take their tags with them; a redraw starts afresh.
"""

from __future__ import annotations

import tkinter

from app.text import Line

_PREFIX = "line#"


class LineTags:
    """The lines drawn in a Text, by tag, and the tag of each message by msgid."""

    def __init__(self, text: tkinter.Text) -> None:
        self.text = text
        self._lines: dict[str, Line] = {}
        self._by_msgid: dict[str, str] = {}
        self._count = 0

    def tag(self, line: Line) -> str:
        """The tag of a line about to be drawn."""
        self._count += 1
        tag = f"{_PREFIX}{self._count}"
        self._lines[tag] = line
        if line.msgid:
            self._by_msgid[line.msgid] = tag
        if len(self._lines) > 2 * int(self.text.index("end").split(".")[0]) + 100:
            self._forget_trimmed()
        return tag

    def reset(self) -> None:
        """The Text was emptied: no line is drawn now."""
        for tag in self._lines:
            self.text.tag_delete(tag)
        self._lines.clear()
        self._by_msgid.clear()

    def _forget_trimmed(self) -> None:
        for tag in [tag for tag in self._lines if not self.text.tag_ranges(tag)]:
            self.text.tag_delete(tag)
            line = self._lines.pop(tag)
            if self._by_msgid.get(line.msgid) == tag:
                del self._by_msgid[line.msgid]

    def tag_at(self, index: str) -> str:
        """The tag of the line at ``index`` ("" when none is there)."""
        for tag in self.text.tag_names(index):
            if tag.startswith(_PREFIX):
                return tag
        return ""

    def line_at(self, index: str) -> Line | None:
        """The line drawn at ``index`` (its quote and reactions included), if any."""
        return self._lines.get(self.tag_at(index))

    def tag_of(self, msgid: str) -> str:
        """The tag of the message ``msgid`` when it is drawn ("" when not)."""
        tag = self._by_msgid.get(msgid, "")
        return tag if tag and self.text.tag_ranges(tag) else ""
