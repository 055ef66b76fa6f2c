"""Deleting messages: the controller's part (IRCv3 ``draft/message-redaction``).

Where the server deletes messages, the transcript's menu offers "Delete…" on the user's
own messages, and in a channel where the user is an operator on everyone's; a question
comes first, then ``REDACT`` goes. When the server says a message was deleted (by anyone,
ours echoed), its line shows "message deleted" with its time and nick (and who deleted
it, when that was not its sender, with the reason given); a refusal is a line saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from app import events as ev
from app.conversations import SAID, SERVER
from app.interface import ChatWindow
from app.text import Line, clock, day_of, delete_question, deleted_line, redact_refused_text


class DeletingModel(Protocol):
    """What deleting needs of the model."""

    @property
    def can_redact(self) -> bool:
        """True when the server deletes messages on request."""
        ...

    def fold(self, name: str) -> str:
        """Casefold ``name`` as the server does."""
        ...

    def is_channel(self, name: str) -> bool:
        """True when ``name`` names a channel."""
        ...

    def is_op(self, channel: str) -> bool:
        """Whether we are an operator of ``channel``."""
        ...

    def redact(self, target: str, msgid: str) -> bool:
        """Ask the server to delete ``msgid`` of ``target``."""
        ...


class Deleting:
    """Offers, asks, sends REDACT, and shows what the server says of deletions."""

    def __init__(
        self,
        model: DeletingModel,
        view: ChatWindow,
        handlers: dict[str, Callable[[Any], None]],
    ) -> None:
        self.model = model
        self.view = view
        handlers[ev.Kind.REDACTED] = self.on_redacted
        handlers[ev.Kind.REDACT_REFUSED] = self.on_refused
        view.set_handlers(deletable=self.deletable, delete=self.ask)

    def deletable(self, line: Line) -> bool:
        """Whether to offer "Delete…" on ``line`` of the open conversation: a message
        with an id, where the server deletes, ours or (as a channel operator) anyone's."""
        if line.kind not in SAID or not line.msgid or line.deleted or not self.model.can_redact:
            return False
        if line.own:
            return True
        name = self.view.conversations.current_name()
        return bool(name) and self.model.is_channel(name) and self.model.is_op(name)

    def ask(self, line: Line) -> None:
        """The user chose "Delete…" on ``line``: confirm, then delete it."""
        name = self.view.conversations.current_name()
        if not name:
            return

        def answered(yes: bool) -> None:
            if yes:
                self.model.redact(name, line.msgid)

        self.view.confirm(delete_question(line), answered, title="Delete message?", yes="Delete")

    def on_redacted(self, event: ev.Redacted) -> None:
        """A message was deleted: its line says so, wherever it is shown."""
        key = self.model.fold(event.conversation)
        found = self._find(key, event.msgid)
        if found is None:  # said by another of our connections' nicks: look everywhere
            for other in self.view.conversations.ordered_keys():
                found = self._find(other, event.msgid)
                if found is not None:
                    key = other
                    break
        if found is not None and not found.deleted:
            fold = self.model.fold
            by = "" if fold(event.nick) == fold(found.nick) else event.nick
            self.view.replace_line(key, found, deleted_line(found, by, event.reason))

    def _find(self, key: str, msgid: str) -> Line | None:
        conversation = self.view.conversations.get(key)
        if conversation is None or not msgid:
            return None
        for line in reversed(conversation.lines):
            if line.msgid == msgid and line.kind in SAID:
                return line
        return None

    def on_refused(self, event: ev.RedactRefused) -> None:
        """The server would not delete a message: say why where it was asked."""
        key = self.model.fold(event.conversation)
        if key not in self.view.conversations:
            key = self.view.conversations.current or SERVER
        line = Line("error", clock(None), "", redact_refused_text(event), day=day_of(None))
        self.view.append(key, line, count=False)
