"""Input recall: Up and Down walk through the lines sent, past the newest is the draft."""

from __future__ import annotations

#: Sent lines remembered.
RECALL_LINES = 200


class Recall:
    """The lines the user sent, newest last, and where Up/Down has got to."""

    def __init__(self, size: int = RECALL_LINES) -> None:
        self.size = size
        self.lines: list[str] = []
        self._position: int | None = None  # None: not walking (the entry holds a draft)
        self._draft = ""

    def remember(self, text: str) -> None:
        """``text`` was sent (a repeat of the last one is kept once)."""
        if not self.lines or self.lines[-1] != text:
            self.lines.append(text)
            del self.lines[: -self.size]
        self._position = None
        self._draft = ""

    def step(self, step: int, typed: str) -> str | None:
        """Up (-1) / Down (+1) from the entry holding ``typed``: the text to show, or None
        to leave the entry alone."""
        if not self.lines:
            return None
        if self._position is None:
            if step > 0:
                return None
            self._draft = typed
            position = len(self.lines)
        else:
            position = self._position
        position = max(0, min(len(self.lines), position + step))
        self._position = position
        if position == len(self.lines):
            self._position = None
            return self._draft
        return self.lines[position]
