"""A small pool of SQLite connections shared by every thread.

A connection per handler thread would cost descriptors and page cache for as long as
the thread object lives; a bounded pool costs ``size`` of each, whatever the number of
threads, and closes them deterministically.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal


class SQLitePool:
    """At most ``size`` connections to one database file, lent one at a time."""

    def __init__(
        self,
        path: str | Path,
        size: int,
        setup: Callable[[sqlite3.Connection], None] | None = None,
        isolation_level: Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None = "DEFERRED",
    ) -> None:
        self.path = Path(path)
        self._setup = setup
        self._isolation_level = isolation_level
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    def connect(self) -> sqlite3.Connection:
        """A new connection with the pool's settings (not lent: the caller owns it)."""
        db = sqlite3.connect(
            self.path, timeout=30, check_same_thread=False, isolation_level=self._isolation_level
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if self._setup is not None:
            self._setup(db)
        return db

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection (waiting while all are lent); it goes back afterwards."""
        with self._slots:
            with self._lock:
                db = self._idle.pop() if self._idle else None
            if db is None:
                db = self.connect()
            try:
                yield db
            finally:
                with self._lock:
                    keep = not self._closed
                    if keep:
                        self._idle.append(db)
                if not keep:
                    db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection inside ``BEGIN IMMEDIATE``: committed when the block ends,
        rolled back when it raises (for pools made with ``isolation_level=None``)."""
        with self.connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def create_schema(self, schema: str, component: str, version: int) -> None:
        """Run ``schema`` (CREATE … IF NOT EXISTS) and record ``component``'s version."""
        with self.connection() as db:
            db.executescript(schema)
            db.execute(
                "INSERT OR IGNORE INTO schema_version (component, version) VALUES (?, ?)",
                (component, version),
            )

    def close(self) -> None:
        """Close the idle connections; those still lent close when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()
