"""The members panel: who is in the open channel, ops first; a mark by those signed in."""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from typing import Any

import ttkbootstrap as ttk

from app.conversations import Conversation
from app.text import sanitize
from app.ui import PREFIX_COLOURS, SIGNED_IN_MARK, Fonts, heading_label, style_trees

Fire = Callable[..., None]


class MembersPanel(ttk.Frame):
    """MEMBERS · n: a double click (or Return) on a member fires ``member`` with the nick."""

    def __init__(self, master: tkinter.Misc, fonts: Fonts, fire: Fire) -> None:
        super().__init__(master, padding=(4, 8, 8, 8))
        self.fonts = fonts
        self.fire = fire
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

    def on_activate(self, _event: object) -> str:
        """Open a direct conversation with the chosen member."""
        selected = self.member_list.selection()
        if selected:
            self.fire("member", self.member_list.item(selected[0], "values")[0])
        return "break"

    def show(self, conversation: Conversation) -> None:
        """List the members of ``conversation``."""
        tree = self.member_list
        tree.delete(*tree.get_children())
        for prefix, nick in conversation.members:
            tags = (f"prefix{prefix}",) if prefix else ()
            label = f"{prefix or ' '} {sanitize(nick, 60)}"
            if nick in conversation.signed_in:
                label += f" {SIGNED_IN_MARK}"
            tree.insert("", "end", text=label, values=(nick,), tags=tags)
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
        for prefix, name in PREFIX_COLOURS.items():
            tree.tag_configure(f"prefix{prefix}", foreground=getattr(colors, name))
