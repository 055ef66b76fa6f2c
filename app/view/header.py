"""The header: the open conversation's name and topic."""

from __future__ import annotations

import tkinter

import ttkbootstrap as ttk

from app.conversations import Conversation
from app.text import sanitize
from app.ui import Fonts


class Header(ttk.Frame):
    """The title (the conversation's name) and the topic beside it."""

    def __init__(self, master: tkinter.Misc, fonts: Fonts) -> None:
        super().__init__(master, padding=(12, 8, 12, 6))
        self.fonts = fonts
        self.create_labels()

    def create_labels(self) -> None:
        """Title and topic."""
        self.title_label = ttk.Label(self, text="", font=self.fonts.title)
        self.title_label.pack(side=tkinter.LEFT)
        self.topic_label = ttk.Label(self, text="", bootstyle="secondary", anchor="w")
        self.topic_label.pack(side=tkinter.LEFT, fill=tkinter.X, expand=True, padx=(12, 0))

    def show(self, conversation: Conversation) -> None:
        """Show the name and topic of ``conversation`` (a channel without one says so, and
        how to set one to whoever may)."""
        name = conversation.name or "Server"
        self.title_label.configure(text=sanitize(name, 80))
        topic = conversation.topic
        if not topic and name[:1] in "#&":
            # Only someone who may set it is invited to (an operator, or the channel is -t).
            topic = "No topic — set one with /topic" if conversation.topic_settable else "No topic"
        self.topic_label.configure(text=sanitize(topic, 300))
