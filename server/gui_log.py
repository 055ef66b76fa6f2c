"""The server window's LOG panel: the server's log records and the window's own notes,
one line each, newest last, the oldest trimmed away."""

from __future__ import annotations

import logging
import queue
import time
import tkinter
from typing import Any

import ttkbootstrap as ttk

from app.text import sanitize
from app.ui import Fonts, heading_label, style_text, trim_lines

#: Lines the log view keeps, and log records shown per timer tick.
LOG_LINES = 2000
LOG_BATCH = 500
_LEVEL_TAGS = {"WARNING": "warning", "ERROR": "error", "CRITICAL": "error"}


class LogPanel:
    """The LOG heading over a read-only, scrolled log view."""

    def __init__(self, parent: tkinter.Misc, fonts: Fonts) -> None:
        self.frame = ttk.Frame(parent, padding=(6, 6, 12, 8))
        heading_label(self.frame, "LOG", fonts.small)
        self.view = ttk.ScrolledText(
            self.frame, wrap="word", font=fonts.fixed, height=6, padx=8, pady=4, undo=False
        )
        self.view.pack(fill=tkinter.BOTH, expand=True)
        self.view.configure(state="disabled")

    def restyle(self, colors: Any, dark: bool) -> None:
        """The theme's input colours; time stamps, warnings, errors and notes tinted."""
        text = self.view.text
        style_text(text, colors)
        text.tag_configure("time", foreground=colors.secondary)
        text.tag_configure("warning", foreground=colors.warning)
        text.tag_configure("error", foreground=colors.danger)
        text.tag_configure("event", foreground=colors.info if dark else colors.primary)

    def drain(self, records: queue.Queue[logging.LogRecord], limit: int = LOG_BATCH) -> int:
        """Show up to ``limit`` queued log records; return how many were shown."""
        parts: list[str] = []
        count = 0
        while count < limit:
            try:
                record = records.get_nowait()
            except queue.Empty:
                break
            count += 1
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            level = _LEVEL_TAGS.get(record.levelname, "")
            message = "\n".join(sanitize(line) for line in record.getMessage().splitlines())
            parts += [stamp + " ", "time", message, level]
        if parts:
            self._append(parts)
        return count

    def note(self, text: str) -> None:
        """Add a line of the window's own (who came and went)."""
        stamp = time.strftime("%H:%M:%S")
        self._append([stamp + " ", "time", sanitize(text), "event"])

    def _append(self, parts: list[str]) -> None:
        # parts: text, tag, text, tag... with each line's first text its time stamp.
        text = self.view.text
        at_bottom = text.yview()[1] >= 0.999
        text.configure(state="normal")
        # Each line starts with a newline instead of ending with one: no empty last line.
        for index in range(0, len(parts), 4):
            if index or text.compare("end-1c", "!=", "1.0"):
                parts[index] = "\n" + str(parts[index])
        text.insert("end", *parts)
        trim_lines(text, LOG_LINES)
        text.configure(state="disabled")
        if at_bottom:
            text.see("end")

    def text(self) -> str:
        """Everything the log view shows now."""
        return self.view.text.get("1.0", "end-1c")
