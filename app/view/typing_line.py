"""The typing line: a small muted line under the transcript saying who is typing in the
conversation shown ("bob is typing…"), and the transcript menu's choice to tell others
when we type."""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from tkinter import font as tkfont

import ttkbootstrap as ttk


class TypingLine(ttk.Label):
    """Who is typing, per conversation; the one shown follows the open conversation."""

    def __init__(self, master: tkinter.Misc, font: tkfont.Font) -> None:
        super().__init__(master, text="", font=font, bootstyle="secondary", padding=(14, 0, 0, 2))
        self.texts: dict[str, str] = {}  # conversation key -> what to say
        self.key: str | None = None

    def set(self, key: str, text: str) -> None:
        """What to say about ``key`` ("" for nobody typing)."""
        if text:
            self.texts[key] = text
        else:
            self.texts.pop(key, None)
        if key == self.key:
            self.configure(text=text)

    def show(self, key: str) -> None:
        """``key`` is the conversation on screen now."""
        self.key = key
        self.configure(text=self.texts.get(key, ""))

    def add_choice(self, menu: tkinter.Menu, on: bool, fire: Callable[..., None]) -> None:
        """The menu item that turns our own typing notifications on or off."""
        self.sending = tkinter.BooleanVar(self, value=on)
        menu.add_checkbutton(
            label="Let others see when I am typing",
            variable=self.sending,
            command=lambda: fire("send_typing", self.sending.get()),
        )
