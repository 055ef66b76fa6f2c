"""The reply bar above the message box: the message being answered, quoted, with a close
button to stop replying. One per window; what it quotes follows the conversation shown."""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from tkinter import font as tkfont

import ttkbootstrap as ttk

from app.text import sanitize


class ReplyBar(ttk.Frame):
    """Shown while the conversation on screen has a reply under way."""

    def __init__(
        self, master: tkinter.Misc, font: tkfont.Font, on_cancel: Callable[[], object]
    ) -> None:
        super().__init__(master, padding=(10, 4, 10, 0))
        self.quotes: dict[str, str] = {}  # conversation key -> what its bar quotes
        self.key: str | None = None
        self.label = ttk.Label(self, text="", font=font, bootstyle="secondary")
        self.label.pack(side=tkinter.LEFT, fill=tkinter.X, expand=True)
        self.cancel_button = ttk.Button(
            self,
            text="\N{MULTIPLICATION SIGN}",
            width=2,
            bootstyle="secondary-link",
            command=on_cancel,
        )
        self.cancel_button.pack(side=tkinter.RIGHT)
        self.below: tkinter.Misc | None = None  # the widget the bar sits on

    def set(self, key: str, quote: str) -> None:
        """What ``key``'s bar quotes ("" for no reply under way)."""
        if quote:
            self.quotes[key] = quote
        else:
            self.quotes.pop(key, None)
        if key == self.key:
            self.show(key)

    def show(self, key: str) -> None:
        """``key`` is the conversation on screen now."""
        self.key = key
        quote = self.quotes.get(key, "")
        if quote:
            self.label.configure(text="↪ Replying to " + sanitize(quote, 120))
            self.pack(side=tkinter.BOTTOM, fill=tkinter.X, after=self.below)
        else:
            self.pack_forget()

    @property
    def quote(self) -> str:
        """What the bar shows now ("" while hidden)."""
        return self.quotes.get(self.key or "", "") if self.winfo_ismapped() else ""
