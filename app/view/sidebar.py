"""The sidebar: the list of conversations with their unread counts."""

from __future__ import annotations

import tkinter
import tkinter.font as tkfont
from collections.abc import Callable
from typing import Any

import ttkbootstrap as ttk

from app.conversations import CHANNEL_PREFIXES, Conversation, Conversations
from app.text import sanitize
from app.ui import Fonts, heading_label, style_trees

Fire = Callable[..., None]

#: The mark of a private conversation, best first (not ``@``: the member list marks
#: operators with it); the last is in every font.
PERSON_GLYPHS = ("\U0001f464", "\u263a", "~")
#: A character no font draws: what the font shows for a glyph it lacks is as wide.
_UNDRAWN = "\U0010fffd"


def person_glyph(font: tkfont.Font) -> str:
    """The first of :data:`PERSON_GLYPHS` that ``font`` (or a fallback font) can draw."""
    missing = font.measure(_UNDRAWN)
    for glyph in PERSON_GLYPHS[:-1]:
        try:
            if font.measure(glyph) != missing:
                return glyph
        except tkinter.TclError:
            continue  # a Tk that cannot take the character at all
    return PERSON_GLYPHS[-1]


def iid_of(key: str) -> str:
    """The Treeview item of the conversation ``key``."""
    return "conversation:" + key


def key_of(iid: str) -> str:
    """The conversation key of a Treeview item."""
    return iid.removeprefix("conversation:")


def sidebar_label(name: str, person: str = PERSON_GLYPHS[-1]) -> str:
    """How a conversation is listed: the server, a channel, or a person after ``person``."""
    if not name:
        return "  Server"
    if name[0] in CHANNEL_PREFIXES:
        return "  " + sanitize(name, 60)
    return f"  {person} " + sanitize(name, 60)


class Sidebar(ttk.Frame):
    """CONVERSATIONS: one row per conversation; choosing one fires ``select``."""

    def __init__(
        self, master: tkinter.Misc, fonts: Fonts, conversations: Conversations, fire: Fire
    ) -> None:
        super().__init__(master, padding=(8, 8, 4, 8))
        self.fonts = fonts
        self.conversations = conversations
        self.fire = fire
        self.person = person_glyph(fonts.normal)
        self.create_heading()
        self.create_list()

    def create_heading(self) -> None:
        """The panel's title."""
        heading_label(self, "CONVERSATIONS", self.fonts.small)

    def create_list(self) -> None:
        """The list: a name column and an unread count."""
        self.conversation_list = ttk.Treeview(
            self,
            show="tree",
            columns=("unread",),
            selectmode="browse",
            height=8,
            bootstyle="primary",
        )
        self.conversation_list.column("#0", width=150, stretch=True)
        self.conversation_list.column("unread", width=36, anchor="e", stretch=False)
        self.conversation_list.pack(fill=tkinter.BOTH, expand=True)
        self.conversation_list.bind("<<TreeviewSelect>>", self.on_select)

    def on_select(self, _event: object) -> None:
        """The user chose a row: open that conversation (unless it is open)."""
        selected = self.conversation_list.selection()
        if selected:
            key = key_of(selected[0])
            if key != self.conversations.current:
                self.fire("select", key)

    def add(self, conversation: Conversation) -> None:
        """List a new conversation at the end."""
        label = sidebar_label(conversation.name, self.person)
        self.conversation_list.insert(
            "", "end", iid=iid_of(conversation.key), text=label, values=("",)
        )

    def remove(self, key: str) -> None:
        """Unlist ``key``."""
        self.conversation_list.delete(iid_of(key))

    def rename(self, key: str, new_key: str) -> None:
        """Move the row of ``key`` to ``new_key`` in the same place."""
        tree = self.conversation_list
        index = tree.index(iid_of(key))
        tree.delete(iid_of(key))
        tree.insert("", index, iid=iid_of(new_key), text="", values=("",))
        if self.conversations.current == new_key:
            tree.selection_set(iid_of(new_key))

    def select(self, key: str) -> None:
        """Show ``key`` as the chosen row."""
        if self.conversation_list.selection() != (iid_of(key),):
            self.conversation_list.selection_set(iid_of(key))
        self.conversation_list.see(iid_of(key))

    def refresh(self, conversation: Conversation) -> None:
        """Show the name and the unread count (bold when unread, red on a mention or a
        private message)."""
        count = str(conversation.unread) if conversation.unread else ""
        if conversation.mentions:
            tags: tuple[str, ...] = ("mention",)
        else:
            tags = ("unread",) if conversation.unread else ("read",)
        self.conversation_list.item(
            iid_of(conversation.key),
            text=sidebar_label(conversation.name, self.person),
            values=(count,),
            tags=tags,
        )

    def restyle(self, style: Any) -> None:
        """Colours and fonts of the rows for the theme in use."""
        style_trees(style, [self.conversation_list])
        tree = self.conversation_list
        tree.tag_configure("mention", foreground=style.colors.danger)
        tree.tag_configure("unread", font=self.fonts.bold)
        tree.tag_configure("read", font=self.fonts.normal)
