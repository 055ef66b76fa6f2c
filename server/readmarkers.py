"""Read markers of accounts (IRCv3 draft/read-marker): kept with the accounts, in
``accounts.sqlite3`` or the PostgreSQL database.

A marker is the time of the last message an account has read in one conversation (a
channel, or a nick), in milliseconds since the epoch. It only ever moves forward, and an
account keeps at most :data:`MAX_MARKERS` of them (the least recently read go first).
A connection that is not signed in keeps its markers in memory (:class:`Markers`).

Every call reads the database afresh, as the account store does. The SQL is the same
on both engines; the ``schema_version`` row ``read_markers`` records it. A marker goes
when its account does.
"""

from __future__ import annotations

from pathlib import Path

from . import accounts
from .accounts import FILENAME, AccountError, guarded
from .database import Component, Database, DatabaseError, open_store

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS read_markers (
    account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    target TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    PRIMARY KEY (account, target)
);
"""
COMPONENT = Component("read_markers", SCHEMA_VERSION, _SCHEMA)
#: Conversations whose marker an account (or a connection) keeps at most.
MAX_MARKERS = 500


class MarkerError(AccountError):
    """The read markers cannot be read or written (they live in the accounts database)."""


class ReadMarkerStore:
    """The read markers of the accounts of one data directory or PostgreSQL database
    (``where`` as for :class:`~server.accounts.AccountStore`); safe from every thread."""

    def __init__(self, where: str | Path | Database) -> None:
        try:
            # A marker refers to its account: the accounts' tables come first.
            self._pool, self._owned = open_store(where, FILENAME, [accounts.COMPONENT, COMPONENT])
        except DatabaseError as exc:
            raise MarkerError(f"cannot use the read markers: {exc}") from exc

    def close(self) -> None:
        """Close the store's connections (a shared database is closed by its owner)."""
        if self._owned:
            self._pool.close()

    def get(self, account: str, target: str) -> int | None:
        """The marker of ``account`` in ``target`` (both casefolded), or None."""
        try:
            with guarded(self._pool) as db:
                row = db.execute(
                    "SELECT time_ms FROM read_markers WHERE account = ? AND target = ?",
                    (account, target),
                ).fetchone()
        except self._pool.Error as exc:
            raise MarkerError(str(exc)) from exc
        return int(row[0]) if row else None

    def advance(self, account: str, target: str, time_ms: int) -> tuple[int, bool]:
        """Move the marker forward to ``time_ms`` (never back): the stored marker, and
        whether it moved."""
        try:
            with guarded(self._pool) as db:
                # One statement decides: two connections advancing at once (two servers
                # on one PostgreSQL database) can never move it back.
                moved = db.execute(
                    "INSERT INTO read_markers (account, target, time_ms) VALUES (?, ?, ?)"
                    " ON CONFLICT (account, target) DO UPDATE SET time_ms = excluded.time_ms"
                    " WHERE read_markers.time_ms < excluded.time_ms",
                    (account, target, time_ms),
                ).rowcount
                if not moved:
                    row = db.execute(
                        "SELECT time_ms FROM read_markers WHERE account = ? AND target = ?",
                        (account, target),
                    ).fetchone()
                    return int(row[0]), False
                db.execute(
                    "DELETE FROM read_markers WHERE account = ? AND target NOT IN"
                    " (SELECT target FROM read_markers WHERE account = ?"
                    " ORDER BY time_ms DESC LIMIT ?)",
                    (account, account, MAX_MARKERS),
                )
        except self._pool.Error as exc:
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
