"""What the user said while not connected: shown muted as "(not sent yet)" until it is sent.

The lines themselves wait in the connection's paced outbox (:mod:`app.pacing`), which is
kept across connections; this only keeps their transcript lines. Once the server has us
again, each is sent and the message it became (the server's echo, or our own copy when
the server does not echo) takes the pending line's place, so it shows once. No Tk here.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from app.events import Message
from app.irc import strip_formatting
from app.text import Line

#: After the text of a pending line.
NOT_SENT = "(not sent yet)"


class LineView(Protocol):
    """The part of the window this needs."""

    def append(self, key: str, line: Line, count: bool = True) -> None:
        """Add a line to a conversation."""
        ...

    def replace_line(self, key: str, old: Line, new: Line) -> None:
        """Show ``new`` where ``old`` is."""
        ...


def pending_line(line: Line) -> Line:
    """``line`` (a message of ours) as it shows while it waits: muted, saying so."""
    text = f"* {line.nick} {line.text}" if line.kind == "action" else line.text
    return Line("event", line.time, line.nick, f"{text} {NOT_SENT}", own=True, day=line.day)


class PendingLines:
    """The pending lines on screen, oldest first, by conversation key."""

    def __init__(self, view: LineView) -> None:
        self.view = view
        self._lines: deque[tuple[str, Message, Line]] = deque()

    def __len__(self) -> int:
        return len(self._lines)

    def show(self, key: str, message: Message, line: Line) -> None:
        """Show ``line`` (the message as it will look) as pending in ``key``."""
        shown = pending_line(line)
        self._lines.append((key, message, shown))
        self.view.append(key, shown, count=False)

    def settle(self, key: str, message: Message, line: Line) -> bool:
        """An own message arrived: when it is the oldest pending one of ``key`` with that
        text, ``line`` replaces its pending line (True); else nothing changes."""
        for item in self._lines:
            waiting_key, waiting, shown = item
            if (
                waiting_key == key
                and strip_formatting(waiting.text) == message.text
                and (waiting.action, waiting.notice) == (message.action, message.notice)
            ):
                self._lines.remove(item)
                self.view.replace_line(key, shown, line)
                return True
        return False
