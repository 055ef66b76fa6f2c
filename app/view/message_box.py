"""The message box: a Text one line high that grows with Shift+Enter (up to
:data:`MAX_LINES` lines shown), speaking the Entry's API too.

Callers (the input row, the tests) use it as they used the Entry it replaces:
``get()``, ``insert(0, text)``, ``delete(0, "end")``, ``icursor(n)``, with offsets
counted as Tk counts characters, as the Entry's were.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from tkinter import font as tkfont
from typing import Any

import ttkbootstrap as ttk

#: Lines the box grows to as lines are added; past that it scrolls.
MAX_LINES = 5


def _index(index: Any) -> Any:
    """An Entry-style index (a character offset, ``end``) as a Text index."""
    if isinstance(index, int):
        return f"1.0 + {index} chars"
    if index == "end":
        return "end-1c"  # the Text's own final newline is not the user's
    return index


class MessageBox(ttk.Text):
    """What the user types: Enter is the input row's; Shift+Enter starts a new line."""

    def __init__(
        self, master: tkinter.Misc, font: tkfont.Font, changed: Callable[[], object]
    ) -> None:
        super().__init__(
            master,
            height=1,
            width=20,
            wrap="word",
            undo=True,
            font=font,
            padx=8,
            pady=5,
            relief="flat",
            borderwidth=0,
            highlightthickness=1,
        )
        self._changed = changed
        self.bind("<<Modified>>", self._on_modified, add="+")
        self.bind("<Shift-Return>", self.new_line)
        self.bind("<Shift-KP_Enter>", self.new_line)

    # --- the Entry's API ------------------------------------------------------------------
    def get(self, index1: Any = None, index2: Any = None) -> str:
        """The text typed (no argument), or the Text's ``get``."""
        if index1 is None:
            return str(super().get("1.0", "end-1c"))
        return str(super().get(_index(index1), None if index2 is None else _index(index2)))

    def insert(self, index: Any, chars: str, *args: Any) -> None:
        """Insert ``chars`` at ``index`` (an offset, ``end``, or a Text index)."""
        super().insert(_index(index), chars, *args)

    def delete(self, index1: Any, index2: Any = None) -> None:
        """Delete from ``index1`` to ``index2`` (offsets, ``end``, or Text indices)."""
        super().delete(_index(index1), None if index2 is None else _index(index2))

    def icursor(self, index: Any) -> None:
        """Put the cursor at ``index``."""
        self.mark_set("insert", _index(index))
        self.see("insert")

    def cursor(self) -> int:
        """The cursor's offset from the start."""
        counted = self.count("1.0", "insert", "chars")
        return int(counted[0]) if counted else 0

    # --- lines ------------------------------------------------------------------------------
    def new_line(self, _event: object = None) -> str:
        """Shift+Enter: a new line in the message, never a send."""
        self.insert("insert", "\n")
        self.see("insert")
        return "break"

    def on_first_line(self) -> bool:
        """Whether the cursor is on the first line shown (Up then recalls)."""
        return not self.count("1.0", "insert", "displaylines")

    def on_last_line(self) -> bool:
        """Whether the cursor is on the last line shown (Down then recalls)."""
        return not self.count("insert", "end-1c", "displaylines")

    def fit(self) -> None:
        """As high as its lines, up to :data:`MAX_LINES`."""
        counted = self.count("1.0", "end-1c", "displaylines")
        lines = min(MAX_LINES, 1 + (int(counted[0]) if counted else 0))
        if int(self.cget("height")) != lines:
            self.configure(height=lines)

    def _on_modified(self, _event: object) -> None:
        if not self.edit_modified():
            return  # the flag put back below
        self.edit_modified(False)
        self.fit()
        self._changed()
