"""The raw server line behind a sentence, shown in a tooltip while the pointer is on it.

Each transcript line that has a raw line gets the tag ``rawline`` and a tag of its own
(``raw1``, ``raw2``, ...) that names its raw text here: no Text index is ever computed
from a string offset, and the lines trimmed from the top take their tags with them.
"""

from __future__ import annotations

import tkinter
from tkinter import font as tkfont

import ttkbootstrap as ttk

from app.text import sanitize

#: The tag every line with a raw line has.
RAW_TAG = "rawline"
_PREFIX = "raw#"


class RawTip:
    """The raw lines of a Text's lines, and the tooltip that shows the one under the pointer."""

    def __init__(self, text: tkinter.Text, font: tkfont.Font) -> None:
        self.text = text
        self.font = font
        self._raws: dict[str, str] = {}
        self._count = 0
        self._tip: tkinter.Toplevel | None = None
        self._label: ttk.Label | None = None
        self._shown = ""
        text.tag_bind(RAW_TAG, "<Enter>", self.on_motion)
        text.tag_bind(RAW_TAG, "<Motion>", self.on_motion)
        text.tag_bind(RAW_TAG, "<Leave>", lambda _e: self.hide())

    def tags(self, raw: str) -> tuple[str, ...]:
        """The tags of a new line whose raw line is ``raw``."""
        self._count += 1
        tag = f"{_PREFIX}{self._count}"
        self._raws[tag] = raw
        if len(self._raws) > 2 * int(self.text.index("end").split(".")[0]) + 100:
            self._forget_trimmed()
        return (RAW_TAG, tag)

    def reset(self) -> None:
        """The Text was emptied: no line has a raw line now."""
        for tag in self._raws:
            self.text.tag_delete(tag)
        self._raws.clear()
        self.hide()

    def _forget_trimmed(self) -> None:
        for tag in [tag for tag in self._raws if not self.text.tag_ranges(tag)]:
            self.text.tag_delete(tag)
            del self._raws[tag]

    def raw_at(self, index: str) -> str:
        """The raw line of the transcript line at ``index`` ("" when it has none)."""
        for tag in self.text.tag_names(index):
            if tag.startswith(_PREFIX):
                return self._raws.get(tag, "")
        return ""

    def on_motion(self, event: tkinter.Event) -> None:
        """The pointer moved over a line: show its raw line beside the pointer."""
        raw = self.raw_at(f"@{event.x},{event.y}")
        if not raw:
            self.hide()
            return
        self.show(raw, event.x_root + 14, event.y_root + 18)

    def show(self, raw: str, x: int, y: int) -> None:
        """Show ``raw`` in the tooltip at screen position ``x``, ``y``."""
        if self._tip is None or self._label is None:
            self._tip = tkinter.Toplevel(self.text, borderwidth=1, relief="solid")
            self._tip.wm_overrideredirect(True)
            self._label = ttk.Label(self._tip, font=self.font, padding=(6, 3))
            self._label.pack()
        if raw != self._shown:
            self._label.configure(text="\n".join(sanitize(part, 600) for part in raw.split("\n")))
            self._shown = raw
        self._tip.wm_geometry(f"+{x}+{y}")
        self._tip.deiconify()
        self._tip.lift()

    @property
    def shown(self) -> str:
        """The raw line the tooltip shows now ("" when hidden)."""
        if self._tip is None or not self._tip.winfo_viewable():
            return ""
        return self._shown

    def hide(self) -> None:
        """Hide the tooltip."""
        if self._tip is not None:
            self._tip.withdraw()
