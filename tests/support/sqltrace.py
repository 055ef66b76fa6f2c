"""Recording the SQL that the history store's connections run (to check query plans)."""

from __future__ import annotations

import sqlite3

import pytest

from server import history as history_module


class SQLTrace:
    """Records the statements the history store's connections run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements: list[str] = []
        real = sqlite3.connect

        def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
            db = real(*args, **kwargs)  # type: ignore[arg-type]
            db.set_trace_callback(self.statements.append)
            return db

        monkeypatch.setattr(history_module.sqlite3, "connect", connect)
