"""The reaction picker: a small window of common emoji, and a box to type any other."""

from __future__ import annotations

import tkinter
from collections.abc import Callable

import ttkbootstrap as ttk

from app.reactions import COMMON, usable_reaction
from app.text import sanitize
from app.ui import then_break


class ReactPicker(ttk.Toplevel):
    """Pick one emoji (a button) or type one (Enter): ``on_pick`` gets it, then it closes."""

    def __init__(
        self,
        master: tkinter.Misc,
        on_pick: Callable[[str], object],
        astral: bool = True,
        at: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(title="React", master=master, transient=master, resizable=(False, False))
        self.on_pick = on_pick
        frame = ttk.Frame(self, padding=8)
        frame.pack(fill=tkinter.BOTH, expand=True)
        row = ttk.Frame(frame)
        row.pack(side=tkinter.TOP, fill=tkinter.X)
        self.buttons: dict[str, ttk.Button] = {}
        for emoji in COMMON:
            button = ttk.Button(
                row,
                text=sanitize(emoji, astral=astral),
                width=3,
                bootstyle="light",
                command=lambda e=emoji: self.pick(e),
            )
            button.pack(side=tkinter.LEFT, padx=1)
            self.buttons[emoji] = button
        typed = ttk.Frame(frame)
        typed.pack(side=tkinter.TOP, fill=tkinter.X, pady=(8, 0))
        self.entry = ttk.Entry(typed, width=12)
        self.entry.pack(side=tkinter.LEFT, fill=tkinter.X, expand=True)
        self.react_button = ttk.Button(
            typed, text="React", bootstyle="primary", command=self.pick_typed
        )
        self.react_button.pack(side=tkinter.LEFT, padx=(6, 0))
        self.entry.bind("<Return>", then_break(self.pick_typed))
        self.bind("<Escape>", lambda _e: self.destroy())
        if at is not None:
            self.geometry(f"+{at[0]}+{at[1]}")
        self.entry.focus_set()

    def pick_typed(self) -> None:
        """React with what is typed (nothing when it is empty or too long)."""
        emoji = usable_reaction(self.entry.get())
        if emoji:
            self.pick(emoji)
        else:
            self.bell()

    def pick(self, emoji: str) -> None:
        """React with ``emoji`` and close."""
        self.destroy()
        self.on_pick(emoji)
