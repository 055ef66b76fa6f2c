"""The members panel: who is in the open channel, ops first; a mark by those signed in,
those away greyed with their away text in a tooltip."""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from typing import Any

import ttkbootstrap as ttk

from app.conversations import Conversation
from app.text import sanitize
from app.ui import PREFIX_COLOURS, SIGNED_IN_MARK, Fonts, heading_label, style_trees

Fire = Callable[..., None]


class AwayTip(ttk.ToolTip):
    """A tooltip the member list shows over an away member only, never merely because
    the pointer entered the list."""

    def enter(self, event: tkinter.Event | None = None) -> None:
        """Entering the list shows nothing: :meth:`MembersPanel.on_hover` decides."""


def away_text(nick: str, text: str) -> str:
    """What the tooltip of an away member says (``text`` "" when the server did not say)."""
    nick = sanitize(nick, 60)
    return f"{nick} is away: {sanitize(text, 300)}" if text else f"{nick} is away"


class MembersPanel(ttk.Frame):
    """MEMBERS · n: a double click (or Return) on a member fires ``member`` with the nick."""

    def __init__(self, master: tkinter.Misc, fonts: Fonts, fire: Fire) -> None:
        super().__init__(master, padding=(4, 8, 8, 8))
        self.fonts = fonts
        self.fire = fire
        #: Row -> what its tooltip says, for the members who are away.
        self.away_texts: dict[str, str] = {}
        self._tip_row = ""  # the row under the pointer
        self.create_heading()
        self.create_list()

    def create_heading(self) -> None:
        """The panel's title, with the count."""
        self.members_label = heading_label(self, "MEMBERS", self.fonts.small)

    def create_list(self) -> None:
        """The member list."""
        self.member_list = ttk.Treeview(self, show="tree", selectmode="browse", height=8)
        self.member_list.column("#0", width=140, stretch=True)
        self.member_list.pack(fill=tkinter.BOTH, expand=True)
        self.member_list.bind("<Double-1>", self.on_activate)
        self.member_list.bind("<Return>", self.on_activate)
        #: The away text of the member under the pointer. One for the panel's life:
        #: a ToolTip unbinds its events when destroyed, and before Python 3.13 that
        #: takes every handler of those events off the list.
        self.away_tip = AwayTip(self.member_list, text="", delay=400)
        self.member_list.bind("<Motion>", self.on_hover, add="+")
        self.member_list.bind("<Leave>", lambda _e: self.hide_tip(), add="+")

    def on_activate(self, _event: object) -> str:
        """Open a direct conversation with the chosen member."""
        selected = self.member_list.selection()
        if selected:
            self.fire("member", self.member_list.item(selected[0], "values")[0])
        return "break"

    def on_hover(self, event: tkinter.Event) -> None:
        """The pointer moved over the list: over an away member, its away text shows."""
        row = self.member_list.identify_row(event.y)
        if row == self._tip_row:
            return
        self.hide_tip()
        self._tip_row = row
        text = self.away_texts.get(row)
        if text is not None:
            self.away_tip.configure(text=text)
            self.away_tip.schedule()

    def hide_tip(self) -> None:
        """Take the away tooltip down (the pointer left its row, or the list changed)."""
        self.away_tip.leave()
        self._tip_row = ""

    def show(self, conversation: Conversation) -> None:
        """List the members of ``conversation``."""
        tree = self.member_list
        self.hide_tip()
        tree.delete(*tree.get_children())
        self.away_texts = {}
        for prefix, nick in conversation.members:
            tags = (f"prefix{prefix}",) if prefix else ()
            label = f"{prefix or ' '} {sanitize(nick, 60)}"
            if nick in conversation.signed_in:
                label += f" {SIGNED_IN_MARK}"
            away = conversation.away.get(nick)
            if away is not None:
                tags = ("away",)  # greyed: its prefix still says its rank
            row = tree.insert("", "end", text=label, values=(nick,), tags=tags)
            if away is not None:
                self.away_texts[row] = away_text(nick, away)
        count = len(conversation.members)
        self.members_label.configure(text=f"MEMBERS · {count}" if count else "MEMBERS")

    def restyle(self, style: Any) -> None:
        """Colours of the rows for the theme in use."""
        colors = style.colors
        style_trees(style, [self.member_list])
        tree = self.member_list
        tree.tag_configure("mention", foreground=colors.danger)
        tree.tag_configure("unread", font=self.fonts.bold)
        tree.tag_configure("read", font=self.fonts.normal)
        tree.tag_configure("away", foreground=colors.secondary)
        for prefix, name in PREFIX_COLOURS.items():
            tree.tag_configure(f"prefix{prefix}", foreground=getattr(colors, name))
