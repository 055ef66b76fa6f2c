"""The input row: Name, the name entry, the message entry (a box that grows with
Shift+Enter, :mod:`app.view.message_box`) and Send."""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from tkinter import font as tkfont
from typing import Any

import ttkbootstrap as ttk

from app.text import sanitize
from app.ui import style_text
from app.view.message_box import MessageBox

Fire = Callable[..., None]


class InputRow(ttk.Frame):
    """Enter sends, Shift+Enter starts a new line, Up/Down recall sent lines (from the
    first / last line), Tab completes; the name entry changes nick."""

    def __init__(self, master: tkinter.Misc, fire: Fire) -> None:
        super().__init__(master, padding=(10, 8))
        self.fire = fire
        self.own_nick = ""
        self.astral = True  # whether Tk shows characters outside the BMP
        self._edit_job: str | None = None
        self.create_widgets()
        self.bind_keys()

    def create_widgets(self) -> None:
        """The widgets the product names: name_label, name_entry, message_entry, send_button."""
        self.name_label = ttk.Label(self, text="Name")
        self.name_label.pack(side=tkinter.LEFT)
        self.name_entry = ttk.Entry(self, width=14)
        self.name_entry.pack(side=tkinter.LEFT, padx=(6, 10))
        self.send_button = ttk.Button(
            self, text="Send", bootstyle="primary", command=lambda: self.fire("send")
        )
        self.send_button.pack(side=tkinter.RIGHT)
        font = tkfont.nametofont("TkDefaultFont", root=self)  # the entries' own font
        self.message_entry = MessageBox(self, font, self.on_edit)
        self.message_entry.pack(side=tkinter.LEFT, fill=tkinter.X, expand=True, padx=(0, 8))

    def bind_keys(self) -> None:
        """The keys of the two entries."""
        entry = self.message_entry
        entry.bind("<Return>", lambda e: self.fire("send") or "break")
        entry.bind("<KP_Enter>", lambda e: self.fire("send") or "break")
        entry.bind("<Up>", lambda e: self.on_recall(-1, entry.on_first_line()))
        entry.bind("<Down>", lambda e: self.on_recall(1, entry.on_last_line()))
        entry.bind("<Tab>", lambda e: self.fire("complete") or "break")
        name = self.name_entry
        name.bind("<Return>", lambda e: self.fire("nick") or "break")
        name.bind("<KP_Enter>", lambda e: self.fire("nick") or "break")
        name.bind("<Escape>", self.on_name_abandoned)
        name.bind("<FocusOut>", self.on_name_abandoned)

    def on_recall(self, step: int, at_edge: bool) -> str | None:
        """Up/Down: move between the message's lines; from its first (last) line, recall."""
        if not at_edge:
            return None  # the Text moves the cursor
        self.fire("recall", step)
        return "break"

    def restyle(self, style: Any) -> None:
        """The message box in the theme's input colours, outlined as the entries are."""
        colors = style.colors
        style_text(self.message_entry, colors)
        self.message_entry.configure(
            highlightbackground=colors.border, highlightcolor=colors.primary
        )

    def on_edit(self, *_args: object) -> None:
        """The message box changed: ``typed`` fires once the edit is over (a replaced
        text is a delete and an insert, one change to whoever listens)."""
        if self._edit_job is None:
            self._edit_job = self.after_idle(self._edited)

    def _edited(self) -> None:
        self._edit_job = None
        self.fire("typed", self.message_entry.get())

    def on_name_abandoned(self, _event: object) -> None:
        """Leaving the name entry unconfirmed puts our nick back."""
        self.set_nick(self.own_nick)

    def get_message(self) -> str:
        """What is typed in the message entry."""
        return self.message_entry.get()

    def set_message(self, text: str, cursor: int | None = None) -> None:
        """Replace the message entry's text and put the cursor at ``cursor`` (default: end)."""
        lines = [sanitize(line, astral=self.astral) for line in text.split("\n")]
        self.message_entry.delete(0, "end")
        self.message_entry.insert(0, "\n".join(lines))
        self.message_entry.icursor("end" if cursor is None else cursor)

    def type_char(self, char: str) -> None:
        """Add ``char`` at the end of the message entry and give it the focus."""
        self.message_entry.focus_set()
        self.message_entry.insert("end", char)

    def get_cursor(self) -> int:
        """The cursor position in the message entry."""
        return self.message_entry.cursor()

    def get_name(self) -> str:
        """What is typed in the name entry."""
        return self.name_entry.get().strip()

    def set_nick(self, nick: str) -> None:
        """Show our current nick in the name entry."""
        self.own_nick = nick
        self.name_entry.delete(0, "end")
        self.name_entry.insert(0, sanitize(nick))
