"""Message history in SQLite: one writer thread with batched commits, readers in WAL mode.

The message path never waits for the disk: ``HistoryStore.add`` only puts a record on
a queue. The writer thread commits what has piled up every few milliseconds, so after
``kill -9`` at most the last fraction of a second is missing, and after a clean
``close()`` nothing is. Readers (WAL mode) borrow one of a few pooled connections per
query, so what reading costs does not grow with the number of handler threads.

Order: every row has an increasing ``id``; that, not the timestamp, is the order of a
target's history, so paging by msgid is exact even when two messages share a time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .dbpool import SQLitePool
from .protocol.codec import parse_timestamp

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    msgid TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    account TEXT,
    command TEXT NOT NULL,
    params TEXT NOT NULL,
    tags TEXT NOT NULL,
    party_a TEXT,
    party_b TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_target ON messages (target, id);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (time_ms);
-- Every query form has an index that bounds its work by what it returns, not by the
-- size of the table (EXPLAIN QUERY PLAN each one when adding a query):
-- timestamp references and TARGETS by (target, time); private conversations by each
-- party and time; a channel's last topic by a small index of topics only.
CREATE INDEX IF NOT EXISTS messages_by_target_time ON messages (target, time_ms);
CREATE INDEX IF NOT EXISTS messages_by_party_a ON messages (party_a, time_ms)
    WHERE party_a IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_by_party_b ON messages (party_b, time_ms)
    WHERE party_b IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_topics ON messages (target, id) WHERE command = 'TOPIC';
-- Replaced by the two party indexes above; no query used it.
DROP INDEX IF EXISTS messages_by_party;
"""
_COMMIT_EVERY = 0.05  # seconds: the most a kill -9 can lose
_PRUNE_EVERY = 60.0
#: Reader connections kept open at most. Each costs two or three descriptors and up to
#: 2 MB of page cache; handler threads borrow one per query and give it back, so the
#: cost does not grow with the number of threads that ever read history.
READERS = 4
#: A budget prune removes messages until the file is this far under its budget, so the
#: next prunes do not each remove a few rows.
_BUDGET_SLACK = 0.9


class HistoryError(Exception):
    """The history database cannot be used (corrupt, unwritable, wrong format)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One stored message, as it was relayed."""

    msgid: str
    target: str
    time_ms: int
    source: str
    command: str
    params: tuple[str, ...]
    tags: dict[str, str]
    account: str | None = None
    party_a: str | None = None
    party_b: str | None = None


def dm_target(a: str, b: str) -> tuple[str, str, str]:
    """The storage key of a conversation between two casefolded nicks, and its parties."""
    first, second = sorted((a, b))
    return f"dm:{first}:{second}", first, second


class HistoryStore:
    """A SQLite file of messages; safe to use from every thread."""

    def __init__(
        self,
        path: str | Path,
        max_per_target: int = 0,
        max_days: float = 0,
        max_mb: float = 0,
    ) -> None:
        self.path = Path(path)
        self.max_per_target = max_per_target
        self.max_days = max_days
        #: Size budget of the database in MiB (0: none): past it the oldest messages go.
        self.max_mb = max_mb
        # Readers borrow a connection for each query; at most READERS exist.
        self._readers = SQLitePool(self.path, READERS, setup=_query_only)
        self._prune_asked = 0
        self._pruned = 0
        # Records wait in `_pending` (guarded by the condition's lock) until the writer
        # takes them all at once; it sleeps while there are none (`_wake`).
        self._written = threading.Condition()
        self._pending: list[Record] = []
        self._wake = threading.Event()
        self._closing = False
        self._added = 0
        self._committed = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer_db = self._connect()
            self._writer_db.executescript(_SCHEMA)
            self._writer_db.commit()
            check = self._writer_db.execute("PRAGMA quick_check").fetchone()[0]
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot use the history database {self.path}: {exc}") from exc
        if check != "ok":
            raise HistoryError(f"the history database {self.path} is damaged: {check}")
        self._prune()
        self._thread = threading.Thread(target=self._write_loop, name="kibitz-history", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _reading(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """Borrow a reader connection from the pool (waiting while all are in use)."""
        return self._readers.connection()

    # --- writing ------------------------------------------------------------------
    def add(self, record: Record) -> None:
        """Queue a message for storage; returns at once (the writer takes it later, with
        everything else queued by then, so it is not woken once per message)."""
        with self._written:
            self._added += 1
            self._pending.append(record)
            if len(self._pending) == 1:
                self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything added so far is committed."""
        with self._written:
            goal = self._added
            return self._written.wait_for(lambda: self._committed >= goal, timeout)

    def close(self) -> None:
        """Commit what is queued and stop the writer."""
        with self._written:
            self._closing = True
            self._wake.set()
        self._thread.join(timeout=10)
        self._writer_db.close()
        self._readers.close()

    def prune(self, timeout: float = 5.0) -> bool:
        """Apply the retention rules now (the writer does it every minute anyway)."""
        with self._written:
            self._prune_asked += 1
            goal = self._prune_asked
            self._wake.set()
            return self._written.wait_for(lambda: self._pruned >= goal, timeout)

    def _write_loop(self) -> None:
        last_prune = time.monotonic()
        while True:
            self._wake.wait(_PRUNE_EVERY)
            if not self._closing:
                time.sleep(_COMMIT_EVERY)  # let a batch gather: one commit for all of it
            with self._written:
                batch, self._pending = self._pending, []
                self._wake.clear()
                closing = self._closing
                asked = self._prune_asked
            if batch:
                self._insert(batch)
            if asked > self._pruned or time.monotonic() - last_prune > _PRUNE_EVERY:
                self._prune()
                last_prune = time.monotonic()
                with self._written:
                    self._pruned = asked
                    self._written.notify_all()
            if closing:
                return

    def _insert(self, batch: list[Record]) -> None:
        rows = [
            (
                r.msgid,
                r.target,
                r.time_ms,
                r.source,
                r.account,
                r.command,
                json.dumps(r.params),
                json.dumps(r.tags),
                r.party_a,
                r.party_b,
            )
            for r in batch
        ]
        try:
            self._writer_db.executemany(
                "INSERT OR IGNORE INTO messages (msgid, target, time_ms, source, account,"
                " command, params, tags, party_a, party_b) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            self._writer_db.commit()
        except sqlite3.Error:
            log.exception("could not store %d messages", len(batch))
        with self._written:
            self._committed += len(batch)
            self._written.notify_all()

    def _prune(self) -> None:
        db = self._writer_db
        try:
            if self.max_days:
                cutoff = int((time.time() - self.max_days * 86400) * 1000)
                db.execute("DELETE FROM messages WHERE time_ms < ?", (cutoff,))
            if self.max_per_target:
                db.execute(
                    "DELETE FROM messages WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER()"
                    " OVER (PARTITION BY target ORDER BY id DESC) AS n FROM messages)"
                    " WHERE n > ?)",
                    (self.max_per_target,),
                )
            db.commit()
            if self.max_mb:
                self._prune_to_budget(db, int(self.max_mb * 1024 * 1024))
        except sqlite3.Error:
            log.exception("could not prune the history")

    def _prune_to_budget(self, db: sqlite3.Connection, budget: int) -> None:
        """Remove the oldest messages until the pages in use fit ``budget`` bytes.

        Freed pages stay in the file and are reused, so the file stops growing at about
        the budget instead of shrinking; the oldest go first, whatever their target.
        """
        page = db.execute("PRAGMA page_size").fetchone()[0]
        removed = 0
        for _ in range(16):  # each round removes a share; rows and pages are not exact
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
            used = (pages - free) * page
            if used <= budget:
                break
            low, high = db.execute(
                "SELECT (SELECT MIN(id) FROM messages), (SELECT MAX(id) FROM messages)"
            ).fetchone()
            if low is None:
                break
            share = min(1.0, (used - budget * _BUDGET_SLACK) / used)
            cut = low + max(1, int((high - low + 1) * share))
            removed += db.execute("DELETE FROM messages WHERE id < ?", (cut,)).rowcount
            db.commit()
        if removed:
            log.warning(
                "history passed its budget of %g MB: removed the %d oldest messages",
                self.max_mb,
                removed,
            )

    # --- reading --------------------------------------------------------------------
    def _rows(self, sql: str, args: tuple) -> list[Record]:
        with self._reading() as db:
            rows = db.execute(
                "SELECT msgid, target, time_ms, source, command, params, tags, account,"
                " party_a, party_b FROM messages WHERE " + sql,
                args,
            ).fetchall()
        return [
            Record(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                tuple(json.loads(row[5])),
                json.loads(row[6]),
                row[7],
                row[8],
                row[9],
            )
            for row in rows
        ]

    def locate(self, target: str, ref: str) -> tuple[int, int] | None:
        """Where a reference (``msgid=...`` or ``timestamp=...``) falls in a target's
        history: ``(b, a)`` such that "before it" is ``id < b`` and "after it" is
        ``id > a``. None for an unknown msgid or a malformed reference.

        A timestamp is found through the (target, time) index: the first message at or
        after it and the last at or before it. A target's messages are stamped as they
        are relayed, in order, so time order is id order.
        """
        kind, _, value = ref.partition("=")
        if kind == "msgid":
            with self._reading() as db:
                row = db.execute(
                    "SELECT id FROM messages WHERE msgid = ? AND target = ?", (value, target)
                ).fetchone()
            return (row[0], row[0]) if row else None
        if kind != "timestamp":
            return None
        millis = parse_timestamp(value)
        if millis is None:
            return None
        with self._reading() as db:
            first = db.execute(
                "SELECT id FROM messages WHERE target = ? AND time_ms >= ?"
                " ORDER BY time_ms, id LIMIT 1",
                (target, millis),
            ).fetchone()
            last = db.execute(
                "SELECT id FROM messages WHERE target = ? AND time_ms <= ?"
                " ORDER BY time_ms DESC, id DESC LIMIT 1",
                (target, millis),
            ).fetchone()
        return (first[0] if first else 1 << 62, last[0] if last else 0)

    def before(self, target: str, position: int, limit: int) -> list[Record]:
        """Up to ``limit`` messages before ``position``, oldest first."""
        rows = self._rows(
            "target = ? AND id < ? AND command != 'TOPIC' ORDER BY id DESC LIMIT ?",
            (target, position, limit),
        )
        return rows[::-1]

    def after(self, target: str, position: int, limit: int) -> list[Record]:
        """Up to ``limit`` messages after ``position``, oldest first."""
        return self._rows(
            "target = ? AND id > ? AND command != 'TOPIC' ORDER BY id LIMIT ?",
            (target, position, limit),
        )

    def between(
        self, target: str, low: int, high: int, limit: int, from_high: bool
    ) -> list[Record]:
        """Up to ``limit`` messages with ``low < id < high``, oldest first; taken from
        the ``high`` end when ``from_high`` (a query that runs backwards in time)."""
        rows = self._rows(
            "target = ? AND id > ? AND id < ? AND command != 'TOPIC' ORDER BY id "
            + ("DESC" if from_high else "ASC")
            + " LIMIT ?",
            (target, low, high, limit),
        )
        return rows[::-1] if from_high else rows

    def latest(self, target: str, limit: int, after: int | None = None) -> list[Record]:
        """The ``limit`` newest messages (newer than ``after`` if given), oldest first."""
        rows = self._rows(
            "target = ? AND id > ? AND command != 'TOPIC' ORDER BY id DESC LIMIT ?",
            (target, after if after is not None else 0, limit),
        )
        return rows[::-1]

    def targets(
        self, channels: list[str], party: str, start_ms: int, end_ms: int, limit: int
    ) -> list[tuple[str, int, str | None, str | None]]:
        """Conversations with messages between two times: (target, newest time, parties),
        the least recently active first."""
        low, high = min(start_ms, end_ms), max(start_ms, end_ms)
        found: dict[str, tuple[str, int, str | None, str | None]] = {}
        with self._reading() as db:
            # One indexed lookup per channel (a client is in at most CHANLIMIT of them)
            # and one range per side of its private conversations, instead of one query
            # whose OR makes SQLite read every message in the time range.
            for channel in dict.fromkeys(channels):
                row = db.execute(
                    "SELECT time_ms FROM messages WHERE target = ? AND time_ms > ?"
                    " AND time_ms < ? ORDER BY time_ms DESC LIMIT 1",
                    (channel, low, high),
                ).fetchone()
                if row:
                    found[channel] = (channel, row[0], None, None)
            for column in ("party_a", "party_b"):
                for row in db.execute(
                    "SELECT target, MAX(time_ms), party_a, party_b FROM messages"
                    f" WHERE {column} = ? AND time_ms > ? AND time_ms < ? GROUP BY target",
                    (party, low, high),
                ):
                    found[row[0]] = (row[0], row[1], row[2], row[3])
        return sorted(found.values(), key=lambda entry: entry[1])[:limit]

    def latest_topic(self, target: str) -> Record | None:
        """The last topic change stored for a channel."""
        rows = self._rows(
            "target = ? AND command = 'TOPIC' ORDER BY id DESC LIMIT 1",
            (target,),
        )
        return rows[0] if rows else None


def _query_only(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA query_only=1")
