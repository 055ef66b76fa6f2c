"""App test helpers: a model's events collected and waited for, a session fed lines."""

from __future__ import annotations

import queue
import time

from app.events import Event
from app.session import Session
from tests.support.waiting import DEADLINE, pump, wait_for

__all__ = ["DEADLINE", "EventLog", "Fed", "pump", "wait_for"]


def _renamed(fields: dict[str, object]) -> dict[str, object]:
    """Events name the conversation ``conversation``; tests outside tests/app still match
    on its old name, ``target``."""
    if "target" in fields:
        fields = dict(fields)
        fields["conversation"] = fields.pop("target")
    return fields


class EventLog:
    """Collects a model's events and waits for the ones a test expects."""

    def __init__(self, events: queue.Queue[Event]) -> None:
        self.queue = events
        self.seen: list[Event] = []
        self._mark = 0

    def pump(self) -> None:
        """Move everything queued into :attr:`seen`."""
        while True:
            try:
                self.seen.append(self.queue.get_nowait())
            except queue.Empty:
                return

    def expect(self, kind: str, timeout: float = DEADLINE, **fields: object) -> Event:
        """The next event (after the last one expected) of ``kind`` whose fields match."""
        fields = _renamed(fields)
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            for index in range(self._mark, len(self.seen)):
                event = self.seen[index]
                if event.kind == kind and all(getattr(event, k) == v for k, v in fields.items()):
                    self._mark = index + 1
                    return event
            if time.monotonic() > deadline:
                got = self.seen[self._mark :]
                raise AssertionError(f"no {kind} {fields}; got {got}")
            try:
                self.seen.append(self.queue.get(timeout=0.05))
            except queue.Empty:
                pass

    def of(self, kind: str, **fields: object) -> list[Event]:
        """Every event of ``kind`` seen so far whose fields match."""
        fields = _renamed(fields)
        self.pump()
        return [
            e
            for e in self.seen
            if e.kind == kind and all(getattr(e, k) == v for k, v in fields.items())
        ]


class Fed:
    """A :class:`Session` fed line by line: its events go to :attr:`log`, the lines it
    wants sent to :attr:`sent`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.log = EventLog(queue.Queue())
        self.sent: list[str] = []

    def __call__(self, *lines: str) -> None:
        """Feed ``lines`` to the session, one after another."""
        for line in lines:
            for event in self.session.feed(line):
                self.log.queue.put(event)
            self.take()

    def take(self) -> list[str]:
        """Move the lines the session queued into :attr:`sent`; return them."""
        lines = self.session.take_lines()
        self.sent += lines
        return lines


def press_return(view, text: str) -> None:
    """Type ``text`` into the window's message box and press Enter, as a user does."""
    entry = view.message_entry
    entry.delete(0, "end")
    entry.insert(0, text)
    view.root.focus_force()
    entry.focus_force()
    view.root.update()
    entry.event_generate("<Return>")
    view.root.update()
