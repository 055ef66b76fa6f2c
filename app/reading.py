"""What the user has read: the controller's part that keeps read markers.

A conversation is read when the window has the focus and shows it at its end: its newest
message's time becomes its read marker here at once, and goes to the server (``MARKREAD``,
where it keeps markers) at most every :data:`SEND_INTERVAL` seconds, never backwards. A
marker the server says moved (another window of the account read further, or the marker
on JOIN) moves the unread counters and the "— new —" line; opening a conversation or
focusing the window puts that line at the marker as it is then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from app import events as ev
from app.conversations import last_said
from app.interface import ChatWindow

#: Seconds between two rounds of MARKREAD at most.
SEND_INTERVAL = 3.0


class MarkerModel(Protocol):
    """What reading needs of the model."""

    def fold(self, name: str) -> str:
        """Casefold ``name`` as the server does."""
        ...

    def mark_read(self, name: str, when: datetime) -> bool:
        """Tell the server ``name`` is read up to ``when``."""
        ...


class Reading:
    """Marks the open conversation read while the user reads it; follows the server's."""

    def __init__(
        self,
        model: MarkerModel,
        view: ChatWindow,
        handlers: dict[str, Callable[[Any], None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        looked: Callable[[str], None] | None = None,
        read: Callable[[str, datetime], None] | None = None,
    ) -> None:
        self.model = model
        self.view = view
        self.clock = clock
        # Told when a conversation is on screen, and when it was read up to a time (here or
        # in another window): the notifications about it go.
        self.looked = looked or (lambda _key: None)
        self.read = read or (lambda _key, _when: None)
        # What it answers: the server's markers, and the view saying the user may be reading.
        if handlers is not None:
            handlers[ev.Kind.READ_MARKER] = self.on_marker
        view.set_handlers(reading=self.seen)
        #: Markers not sent yet: conversation key -> (name, time).
        self._due: dict[str, tuple[str, datetime]] = {}
        self._next_send = -float("inf")
        self._job: Any = None

    def seen(self) -> None:
        """The user may be reading: mark the open conversation read up to its newest
        message, if it is on screen at its end in the focused window."""
        conversations = self.view.conversations
        key = conversations.current
        conversation = conversations.get(key)
        if key is not None and conversation is not None:
            self.looked(key)
        if not key or conversation is None or not self.view.is_reading():
            return
        when = last_said(conversation)
        if when is None or (conversation.read_at is not None and when <= conversation.read_at):
            return
        self.view.read_until(key, when)
        self._due[key] = (conversation.name, when)
        self._send()

    def _send(self) -> None:
        now = self.clock()
        if now < self._next_send:
            if self._job is None:  # one round later, with whatever is due by then
                delay = max(1, round((self._next_send - now) * 1000))
                self._job = self.view.schedule(delay, self._later)
            return
        due, self._due = self._due, {}
        for name, when in due.values():
            self.model.mark_read(name, when)
        self._next_send = now + SEND_INTERVAL

    def _later(self) -> None:
        self._job = None
        self._send()

    def focused(self) -> None:
        """Something in the window got the focus: its mentions are seen; when the window
        itself just came into focus, the "— new —" line goes to the marker; then what is
        shown is read."""
        self.view.clear_mentions()
        key = self.view.conversations.current
        if self.view.took_focus() and key is not None:
            self.view.place_new_line(key, renew=True)
        self.seen()

    def on_marker(self, event: ev.ReadMarker) -> None:
        """The server's marker moved: the counters and the line follow it."""
        key = self.model.fold(event.conversation)
        if key in self.view.conversations:
            self.view.read_until(key, event.time, here=False)
            self.read(key, event.time)

    def history_shown(self, key: str, place: str) -> None:
        """Chathistory came in: it counts as unread after the marker, and may hold the
        first new message (an older page never does)."""
        conversation = self.view.conversations.get(key)
        if conversation is None or place == "before":
            return
        if conversation.read_at is not None:
            self.view.read_until(key, conversation.read_at, here=False)
        self.seen()

    def close(self) -> None:
        """The window closes: nothing more is sent."""
        if self._job is not None:
            self.view.cancel(self._job)
            self._job = None
