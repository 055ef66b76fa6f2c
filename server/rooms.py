"""Registered rooms (ChanServ): kept beside the accounts, in ``accounts.sqlite3`` or the
PostgreSQL database.

A registered room keeps, across emptying and restarts, its founder (an account), its
access list (accounts that get ``op`` or ``voice`` when they join), its modes (flags,
key, limit), its +b/+e/+I lists, its topic, and where its history starts (the history
floor of the life in which it was registered: nothing older is ever served).

Every call reads the database afresh, as the account store does. The SQL is the same on
both engines; the ``schema_version`` row ``rooms`` records it.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from .accounts import FILENAME, AccountError, guarded
from .database import Component, Database, DatabaseError, Transaction, open_store
from .protocol.names import casefold

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    name TEXT PRIMARY KEY,
    display TEXT NOT NULL,
    founder TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    modes TEXT NOT NULL,
    chan_key TEXT,
    chan_limit BIGINT,
    topic TEXT NOT NULL,
    topic_by TEXT NOT NULL,
    topic_at BIGINT NOT NULL,
    history_from BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS room_lists (
    room TEXT NOT NULL REFERENCES rooms (name) ON DELETE CASCADE,
    letter TEXT NOT NULL,
    mask TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (room, letter, mask)
);
CREATE TABLE IF NOT EXISTS room_access (
    room TEXT NOT NULL REFERENCES rooms (name) ON DELETE CASCADE,
    account TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (room, account)
);
"""
#: What a client is told when a change to a registered room cannot be stored now.
UNSAVED = "The channel's settings cannot be saved now, try again in a moment"
#: Access levels, highest first, with the prefix mode each gives on join.
LEVELS = {"op": "o", "voice": "v"}
COMPONENT = Component("rooms", SCHEMA_VERSION, _SCHEMA)


@dataclass(frozen=True)
class RoomState:
    """What a registered room keeps of its channel: modes, lists and topic."""

    #: The flag modes (``imnst``), without ``r``.
    modes: str = "nt"
    key: str | None = None
    limit: int | None = None
    #: List mode letter -> (mask, set by, set at) entries.
    lists: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    topic: str = ""
    topic_by: str = ""
    topic_at: int = 0


@dataclass(frozen=True)
class Room:
    """One registered room as stored."""

    name: str  #: casefolded
    display: str
    founder: str  #: the founder's account (casefolded)
    registered_at: int
    state: RoomState
    #: Messages with an id above this are its history.
    history_from: int = 0
    #: Casefolded account -> ``op`` or ``voice``.
    access: dict[str, str] = field(default_factory=dict)

    def level_of(self, account: str | None) -> str | None:
        """The access level of an account (casefolded): the founder is ``op``."""
        if account is None:
            return None
        if account == self.founder:
            return "op"
        return self.access.get(account)


class RoomError(AccountError):
    """The rooms database cannot be used (it is the accounts database)."""


class RoomStore:
    """The registered rooms of one data directory or PostgreSQL database (``where`` as for
    :class:`~server.accounts.AccountStore`); safe to use from every thread."""

    def __init__(self, where: str | Path | Database) -> None:
        try:
            self._pool, self._owned = open_store(where, FILENAME, [COMPONENT])
        except DatabaseError as exc:
            raise RoomError(f"cannot use the rooms database: {exc}") from exc

    def _db(self) -> AbstractContextManager[Transaction]:
        """A pooled connection, in a transaction committed on success."""
        return guarded(self._pool)

    def close(self) -> None:
        """Close the store's connections (a shared database is closed by its owner)."""
        if self._owned:
            self._pool.close()

    def find(self, name: str) -> Room | None:
        """The registered room called ``name`` (any case), if there is one."""
        key = casefold(name)
        with self._db() as db:
            row = db.execute(
                "SELECT name, display, founder, registered_at, modes, chan_key, chan_limit,"
                " topic, topic_by, topic_at, history_from FROM rooms WHERE name = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            lists: dict[str, list[tuple[str, str, int]]] = {}
            for letter, mask, by, at in db.execute(
                "SELECT letter, mask, set_by, set_at FROM room_lists WHERE room = ?"
                " ORDER BY set_at, mask",
                (key,),
            ):
                lists.setdefault(letter, []).append((mask, by, at))
            access = dict(
                db.execute("SELECT account, level FROM room_access WHERE room = ?", (key,))
            )
        state = RoomState(row[4], row[5], row[6], lists, row[7], row[8], row[9])
        return Room(row[0], row[1], row[2], row[3], state, row[10], access)

    def register(self, name: str, founder: str, state: RoomState, history_from: int) -> bool:
        """Register a room for the ``founder`` account; False when it already is."""
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO rooms (name, display, founder, registered_at, modes, chan_key,"
                    " chan_limit, topic, topic_by, topic_at, history_from)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        casefold(name),
                        name,
                        founder,
                        int(time.time()),
                        "",
                        None,
                        None,
                        "",
                        "",
                        0,
                        history_from,
                    ),
                )
                _write_state(db, casefold(name), state)
        except self._pool.IntegrityError:
            return False
        return True

    def drop(self, name: str) -> bool:
        """Forget a registered room; whether it was one."""
        with self._db() as db:
            return db.execute("DELETE FROM rooms WHERE name = ?", (casefold(name),)).rowcount > 0

    def save(self, name: str, state: RoomState) -> None:
        """Record a registered room's modes, lists and topic as they are now."""
        with self._db() as db:
            _write_state(db, casefold(name), state)

    def set_access(self, name: str, account: str, level: str | None) -> bool:
        """Give an account (casefolded) a level (None: take it away); whether it changed."""
        key = casefold(name)
        with self._db() as db:
            old = db.execute(
                "SELECT level FROM room_access WHERE room = ? AND account = ?", (key, account)
            ).fetchone()
            if (old[0] if old else None) == level:
                return False
            if level is None:
                db.execute("DELETE FROM room_access WHERE room = ? AND account = ?", (key, account))
            else:
                db.execute(
                    "INSERT INTO room_access (room, account, level) VALUES (?,?,?)"
                    " ON CONFLICT (room, account) DO UPDATE SET level = excluded.level",
                    (key, account, level),
                )
            return True


def _write_state(db: Transaction, key: str, state: RoomState) -> None:
    exists = db.execute(
        "UPDATE rooms SET modes = ?, chan_key = ?, chan_limit = ?, topic = ?, topic_by = ?,"
        " topic_at = ? WHERE name = ?",
        (
            state.modes,
            state.key,
            state.limit,
            state.topic,
            state.topic_by,
            state.topic_at,
            key,
        ),
    ).rowcount
    if not exists:
        return  # dropped meanwhile: nothing to keep
    db.execute("DELETE FROM room_lists WHERE room = ?", (key,))
    db.executemany(
        "INSERT INTO room_lists (room, letter, mask, set_by, set_at) VALUES (?,?,?,?,?)"
        " ON CONFLICT (room, letter, mask) DO NOTHING",
        [
            (key, letter, mask, by, at)
            for letter, entries in state.lists.items()
            for mask, by, at in entries
        ],
    )
