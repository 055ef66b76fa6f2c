"""Typing notifications, the controller's part: the message box's edits become
``+typing`` TAGMSGs to the open conversation, and the ones others send become the line
under the transcript ("bob is typing…").

The rules are :mod:`app.typing_state`'s; this part gives them the injected clock, sends
what they decide through the model, tells the view, and ticks (with the view's
``schedule``) while a notification may be due or someone is typing, so a line runs out
with no event to refresh it. The controller hands it every model event (:meth:`observe`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app import events as ev
from app.events import Kind
from app.interface import ChatWindow
from app.model import ChatModel
from app.settings import Settings
from app.text import typing_text
from app.typing_state import Typing, Typists

#: How often the clock is looked at while something may change (ms).
TICK_MS = 250


class TypingNotices:
    """Sends our typing notifications and shows others'."""

    def __init__(
        self,
        model: ChatModel,
        view: ChatWindow,
        settings: Settings | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.view = view
        self.settings = settings
        #: Seconds, monotonic; tests put a fake one here.
        self.clock = clock
        self.outgoing = Typing()
        self.outgoing.enabled = settings.send_typing if settings is not None else True
        self.typists = Typists()
        self._job: Any = None
        self.closed = False
        self._observers: dict[str, Callable[[Any], None]] = {
            Kind.TYPING: self._on_typing,
            Kind.MESSAGE: self._on_message,
            Kind.PART: self._on_left,
            Kind.KICK: self._on_left,
            Kind.QUIT: self._on_left,
            Kind.NICK: self._on_nick,
            Kind.REGISTERED: self._on_connection,
            Kind.STATUS: self._on_status,
        }
        view.set_handlers(typed=self.edited, send_typing=self.set_enabled)

    def observe(self, event: ev.Event) -> None:
        """A model event: someone's notification, or what ends one."""
        handler = self._observers.get(event.kind)
        if handler is not None:
            handler(event)

    def close(self) -> None:
        """The window closes: no more ticks."""
        self.closed = True
        if self._job is not None:
            self.view.cancel(self._job)
            self._job = None

    # --- ours ----------------------------------------------------------------------------
    def edited(self, text: str) -> None:
        """The message box now holds ``text``, typed to the open conversation."""
        target = self.view.conversations.current_name()  # "" in the Server tab: none
        self._send(self.outgoing.edited(target, text, self.clock()))

    def set_enabled(self, on: bool) -> None:
        """Tell others when we type, or stop (those told we type are told we are done)."""
        if on:
            self.outgoing.enabled = True
        else:
            self._send(self.outgoing.disable(self.clock()))
        if self.settings is not None:
            self.settings.send_typing = on
            self.settings.save()

    def _send(self, notifications: list[tuple[str, str]]) -> None:
        for target, state in notifications:
            self.model.notify_typing(target, state)
        self._schedule()

    # --- theirs --------------------------------------------------------------------------
    def _show(self, keys: set[str]) -> None:
        for key in keys:
            self.view.set_typing(key, typing_text(self.typists.names(key)))
        self._schedule()

    def _on_typing(self, event: ev.Typing) -> None:
        key, fold = self.model.fold(event.conversation), self.model.fold
        if self.typists.notified(key, fold(event.nick), event.nick, event.state, self.clock()):
            self._show({key})
        else:
            self._schedule()

    def _on_message(self, event: ev.Message) -> None:
        if event.own or event.server or not event.conversation:
            return
        key = self.model.fold(event.conversation)
        if self.typists.stopped(key, self.model.fold(event.nick)):
            self._show({key})

    def _on_left(self, event: ev.Part | ev.Kick | ev.Quit) -> None:
        key = self.model.fold(event.conversation)
        if not isinstance(event, ev.Quit) and event.own:  # we left: nobody types there
            self._show(self.typists.clear(key))
        elif self.typists.stopped(key, self.model.fold(event.nick)):
            self._show({key})

    def _on_nick(self, event: ev.Nick) -> None:
        if not event.own:
            fold = self.model.fold
            self._show(self.typists.renamed(fold(event.old), fold(event.nick), event.nick))

    def _on_connection(self, _event: ev.Registered) -> None:
        self._forget_all()

    def _on_status(self, event: ev.Status) -> None:
        if event.state == "disconnected":
            self._forget_all()

    def _forget_all(self) -> None:
        """A connection ended or began: nobody there was told anything, nor told us."""
        self.outgoing.forget()
        self._show(self.typists.clear())

    # --- the clock -----------------------------------------------------------------------
    def _schedule(self) -> None:
        if self._job is None and not self.closed and (self.outgoing.busy or self.typists):
            self._job = self.view.schedule(TICK_MS, self._tick)

    def _tick(self) -> None:
        self._job = None
        if self.closed:
            return
        now = self.clock()
        self._show(self.typists.expire(now))
        self._send(self.outgoing.due(now))
