"""Read markers of accounts (IRCv3 draft/read-marker): kept in ``accounts.sqlite3``.

A marker is the time of the last message an account has read in one conversation (a
channel, or a nick), in milliseconds since the epoch. It only ever moves forward, and an
account keeps at most :data:`MAX_MARKERS` of them (the least recently read go first).
A connection that is not signed in keeps its markers in memory (:class:`Markers`).

Every call reads the database afresh, as the account store does. The schema uses only
types PostgreSQL shares (TEXT, BIGINT); the ``schema_version`` row ``read_markers``
records it. A marker goes when its account does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .accounts import FILENAME, AccountError
from .dbpool import SQLitePool

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS read_markers (
    account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    target TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    PRIMARY KEY (account, target)
);
"""
POOL_SIZE = 2
#: Conversations whose marker an account (or a connection) keeps at most.
MAX_MARKERS = 500


class MarkerError(AccountError):
    """The read markers cannot be read or written (they live in the accounts database)."""


def _foreign_keys(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA foreign_keys=ON")


class ReadMarkerStore:
    """The read markers of the accounts of one data directory; safe from every thread."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / FILENAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._pool = SQLitePool(self.path, POOL_SIZE, setup=_foreign_keys, isolation_level=None)
            self._pool.create_schema(_SCHEMA, "read_markers", SCHEMA_VERSION)
        except (OSError, sqlite3.Error) as exc:
            raise MarkerError(f"cannot use the read markers in {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the store's connections."""
        self._pool.close()

    def get(self, account: str, target: str) -> int | None:
        """The marker of ``account`` in ``target`` (both casefolded), or None."""
        try:
            with self._pool.transaction() as db:
                row = db.execute(
                    "SELECT time_ms FROM read_markers WHERE account = ? AND target = ?",
                    (account, target),
                ).fetchone()
        except sqlite3.Error as exc:
            raise MarkerError(str(exc)) from exc
        return int(row[0]) if row else None

    def advance(self, account: str, target: str, time_ms: int) -> tuple[int, bool]:
        """Move the marker forward to ``time_ms`` (never back): the stored marker, and
        whether it moved."""
        try:
            with self._pool.transaction() as db:
                old = db.execute(
                    "SELECT time_ms FROM read_markers WHERE account = ? AND target = ?",
                    (account, target),
                ).fetchone()
                if old is not None and int(old[0]) >= time_ms:
                    return int(old[0]), False
                db.execute(
                    "INSERT INTO read_markers (account, target, time_ms) VALUES (?, ?, ?)"
                    " ON CONFLICT (account, target) DO UPDATE SET time_ms = excluded.time_ms",
                    (account, target, time_ms),
                )
                db.execute(
                    "DELETE FROM read_markers WHERE account = ? AND target NOT IN"
                    " (SELECT target FROM read_markers WHERE account = ?"
                    " ORDER BY time_ms DESC LIMIT ?)",
                    (account, account, MAX_MARKERS),
                )
        except sqlite3.Error as exc:
            raise MarkerError(str(exc)) from exc
        return time_ms, True


class Markers:
    """The read markers of one connection that is not signed in (its own thread only)."""

    def __init__(self) -> None:
        self._times: dict[str, int] = {}

    def get(self, target: str) -> int | None:
        """The marker in ``target`` (casefolded), or None."""
        return self._times.get(target)

    def advance(self, target: str, time_ms: int) -> tuple[int, bool]:
        """Move the marker forward to ``time_ms``: the stored marker, and whether it moved."""
        old = self._times.get(target)
        if old is not None and old >= time_ms:
            return old, False
        self._times.pop(target, None)
        self._times[target] = time_ms
        if len(self._times) > MAX_MARKERS:
            oldest = min(self._times, key=self._times.__getitem__)
            del self._times[oldest]
        return time_ms, True
