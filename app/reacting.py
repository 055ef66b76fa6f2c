"""Reactions and replies, the controller's part: the reactions the model reports (live or
in a chathistory page) become the chips under their messages; a click on a chip, or the
picker, sends ours or takes it back; "Reply" quotes a message above the message box and
the next message said there answers it; a click on a reply's quote goes to the message it
answers, asking the server for the messages around it (CHATHISTORY AROUND) when it is not
loaded. The controller hands it every model event (:meth:`observe`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app import events as ev
from app.commands import Command
from app.conversations import Conversations
from app.events import Kind
from app.interface import ChatWindow
from app.model import ChatModel
from app.reactions import ReactionBook
from app.text import Line

#: Characters of the message a reply bar quotes.
QUOTED = 80
#: The line under a page fetched around a message, when newer ones are not loaded.
GAP_LINE = "— later messages not loaded —"


class Reacting:
    """Keeps who reacted with what, sends our reactions and replies."""

    def __init__(self, model: ChatModel, view: ChatWindow) -> None:
        self.model = model
        self.view = view
        self.conversations: Conversations = view.conversations
        self.book = ReactionBook(model.fold)
        #: The message each conversation's reply answers, while one is under way.
        self.replying: dict[str, Line] = {}
        #: Conversations whose AROUND page is awaited, with the msgid to show then.
        self.wanted: dict[str, str] = {}
        self._observers: dict[str, Callable[[Any], None]] = {
            Kind.REACTION: self._on_reaction,
            Kind.CHATHISTORY: self._on_history,
            Kind.REGISTERED: self._on_registered,
            Kind.NICK: self._on_nick,
            Kind.REDACTED: self._on_redacted,
        }
        view.set_handlers(
            react=self.toggle,
            pick_reaction=self.pick,
            reply=self.start_reply,
            cancel_reply=self.cancel_reply,
            quote=self.jump,
        )

    def observe(self, event: ev.Event) -> None:
        """A model event: a reaction, a page holding some, or what changes who we are."""
        handler = self._observers.get(event.kind)
        if handler is not None:
            handler(event)

    def _key(self, name: str) -> str:
        return self.model.fold(name)

    # --- reactions ---------------------------------------------------------------------
    def _on_reaction(self, event: ev.Reaction) -> None:
        self._apply(self._key(event.conversation), event)

    def _apply(self, key: str, event: ev.Reaction) -> None:
        if self.book.apply(key, event.msgid, event.nick, event.emoji, event.removed, event.tagmsg):
            chips = self.book.chips(key, event.msgid, self.model.nick)
            self.view.set_reactions(key, event.msgid, chips)

    def _on_redacted(self, event: ev.Redacted) -> None:
        """A deleted TAGMSG that carried a reaction: the reaction goes with it."""
        key = self._key(event.conversation)
        carried = self.book.carried_by(key, event.msgid)
        if carried is None:  # as for messages: maybe said by another connection's nick
            for other in self.conversations.ordered_keys():
                carried = self.book.carried_by(other, event.msgid)
                if carried is not None:
                    key = other
                    break
        if carried is not None:
            msgid, nick, emoji = carried
            self._apply(key, ev.Reaction(event.conversation, nick, msgid, emoji, removed=True))

    def _on_history(self, event: ev.Chathistory) -> None:
        key = self._key(event.conversation)
        for reaction in event.reactions:
            self._apply(key, reaction)

    def _on_registered(self, _event: ev.Registered) -> None:
        self.view.set_tags_usable("message-tags" in self.model.caps)

    def _on_nick(self, event: ev.Nick) -> None:
        if self._key(event.conversation) == self._key(event.old):  # a direct peer's
            self.book.move(self._key(event.old), self._key(event.nick))
        self.book.renamed(event.old, event.nick)

    def toggle(self, key: str, msgid: str, emoji: str) -> None:
        """React to ``msgid`` with ``emoji``, or take our reaction back when we made it."""
        conversation = self.conversations.get(key)
        if conversation is None or not msgid:
            return
        mine = self.book.reacted(key, msgid, self.model.nick, emoji)
        self.model.react(conversation.name, msgid, emoji, remove=mine)

    def pick(self, key: str, line: Line) -> None:
        """ "React…" on ``line``: the picker, whose choice reacts to it."""
        self.view.open_picker(lambda emoji: self.toggle(key, line.msgid, emoji))

    # --- replies -----------------------------------------------------------------------
    def start_reply(self, key: str, line: Line) -> None:
        """ "Reply" on ``line``: quote it above the message box."""
        said = " ".join(line.text.split())
        if len(said) > QUOTED:
            said = said[: QUOTED - 1] + "…"
        self.replying[key] = line
        self.view.set_reply(key, f"{line.nick}: {said}")
        self.view.focus_message()

    def cancel_reply(self) -> None:
        """The reply bar's close button: the open conversation's next message answers nothing."""
        key = self.conversations.current
        if key is not None and self.replying.pop(key, None) is not None:
            self.view.set_reply(key, "")

    def say(self, command: Command) -> bool | None:
        """Say ``command`` as the reply under way in its conversation: True when sent,
        False when it could not be, None when no reply is under way (the caller says it)."""
        if command.name != "say":
            return None
        key = self._key(command.target)
        line = self.replying.pop(key, None)
        if line is None:
            return None
        self.view.set_reply(key, "")
        return self.model.say(command.target, command.text, reply=line.msgid)

    def jump(self, key: str, msgid: str) -> None:
        """A reply's quote was clicked: show what it answers, asking for it if not loaded."""
        if self.view.jump_to(key, msgid):
            return
        conversation = self.conversations.get(key)
        if conversation is not None and self.model.load_around(conversation.name, msgid):
            self.wanted[key] = msgid

    def history_shown(self, event: ev.Chathistory) -> None:
        """A page was drawn: when it is the one asked for around a message, show that."""
        key = self._key(event.conversation)
        if event.place == "around" and self.wanted.get(key) == event.around:
            del self.wanted[key]
            self.view.jump_to(key, event.around)
