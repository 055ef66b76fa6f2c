"""Full-text search over the history (``soju.im/search``): an SQLite FTS5 index kept
beside the messages, fed in the background and caught up before each query.

The relay never waits for the index: the history writer stores rows exactly as before,
and a thread of this module's own copies the text of new PRIVMSG and NOTICE rows into
the index while the writer is idle, a few hundred
rows per transaction, in one ``INSERT ... SELECT`` that SQLite runs without Python.
A query first indexes what is still missing, so a search sees every committed message.

The index is an external-content FTS5 table: it holds the words, not a copy of the
text (that stays in ``messages``). ``search_progress`` holds the last message id
indexed, written in the same transaction as the rows it covers, so a restart resumes
where it stopped. Triggers on ``messages`` take a deleted or changed row out of the
index in the statement that deletes or changes it (retention, and anything that
removes a message), so no later query can find it; a query joins ``messages`` as well,
so only what is stored now is ever returned.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .dbpool import Offload, SQLitePool
from .history import HistoryError, Record

log = logging.getLogger(__name__)

#: The capability, and the type of the batch results come in.
CAP = "soju.im/search"
BATCH_TYPE = "soju.im/search"

#: The ``schema_version`` row of the index (its own component: the history's row is not
#: this module's to change). A database with another version is indexed again.
COMPONENT = "search"
SCHEMA_VERSION = 1
#: Rows indexed per transaction: short, so the history writer never waits long for
#: the database's one write lock.
CHUNK = 500
#: Seconds between the background indexer's looks at the history.
POLL_SECONDS = 0.25
#: The most rows one query may index before it runs (the rest is left to the
#: background thread: a first search of a large old history must not take minutes).
QUERY_CATCH_UP = 50_000
#: SQLite virtual-machine steps between two looks at a query's deadline.
_PROGRESS_STEPS = 1_000
#: The searchable text of a row: its last parameter, a CTCP ACTION's marker taken out
#: (or every /me would match "action"). Deterministic: the triggers compute it again
#: for the row they take out, which must give the words it was indexed with.
_TEXT = "replace(replace(json_extract({p}params, '$[1]'), char(1) || 'ACTION ', ''), char(1), ' ')"
_KINDS = "('PRIVMSG', 'NOTICE')"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS search_progress (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    indexed_through INTEGER NOT NULL
);
INSERT OR IGNORE INTO search_progress (only, indexed_through) VALUES (1, 0);
-- What the index holds, as FTS5 reads it back (for 'rebuild' and 'integrity-check').
CREATE VIEW IF NOT EXISTS search_text AS
    SELECT id, {_TEXT.format(p="")} AS text FROM messages
    WHERE command IN {_KINDS}
    AND id <= (SELECT indexed_through FROM search_progress);
CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
    text, content='search_text', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
-- A row indexed and then removed or changed leaves the index with it: FTS5 needs the
-- words it was indexed with, which only the old row still has.
CREATE TRIGGER IF NOT EXISTS search_forget AFTER DELETE ON messages
WHEN old.command IN {_KINDS} AND old.id <= (SELECT indexed_through FROM search_progress)
BEGIN
    INSERT INTO search_index (search_index, rowid, text)
    VALUES ('delete', old.id, {_TEXT.format(p="old.")});
END;
CREATE TRIGGER IF NOT EXISTS search_change AFTER UPDATE OF command, params ON messages
WHEN old.id <= (SELECT indexed_through FROM search_progress)
BEGIN
    INSERT INTO search_index (search_index, rowid, text)
    SELECT 'delete', old.id, {_TEXT.format(p="old.")} WHERE old.command IN {_KINDS};
    INSERT INTO search_index (rowid, text)
    SELECT new.id, {_TEXT.format(p="new.")} WHERE new.command IN {_KINDS};
END;
"""
_DROP = """
DROP TRIGGER IF EXISTS search_forget;
DROP TRIGGER IF EXISTS search_change;
DROP TABLE IF EXISTS search_index;
DROP VIEW IF EXISTS search_text;
DROP TABLE IF EXISTS search_progress;
"""
_INDEX_SQL = (
    f"INSERT INTO search_index (rowid, text) SELECT id, {_TEXT.format(p='')} FROM messages"
    f" WHERE id > ? AND id <= ? AND command IN {_KINDS}"
)
#: Columns of a result, in the order ``Hit`` takes them.
_COLUMNS = "m.msgid, m.target, m.time_ms, m.source, m.command, m.params, m.tags, m.account"


class SearchTimeout(Exception):
    """A query ran out of its time."""


@dataclass(frozen=True)
class Query:
    """What to find: where (channels after their history floor, and one party's direct
    conversations, or one of them), by whom, when, which words, and how many."""

    #: Channel storage keys and the id each one's current life starts after.
    channels: dict[str, int]
    #: A party whose direct conversations count (None: none of them).
    party: str | None = None
    #: One direct conversation's storage key, instead of all of ``party``'s.
    conversation: str | None = None
    #: The sender's nick, casefolded (ascii): matched against the stored source.
    nick: str | None = None
    after_ms: int | None = None
    before_ms: int | None = None
    #: Words, each matched as a prefix of a word of the text (all of them must match).
    words: Sequence[str] = ()
    limit: int = 100


def fts_query(words: Sequence[str]) -> str:
    """The FTS5 MATCH expression for ``words``: each a quoted prefix, all required.

    Quoting makes every word a plain string to FTS5 (no operators, columns or syntax
    errors from what a user typed)."""
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SearchIndex:
    """The FTS5 index in the history database, and the searches run on it."""

    def __init__(
        self,
        path: str | Path,
        writer_busy: Callable[[], bool] = lambda: False,
        timeout: float = 2.0,
        readers: int = 2,
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._writer_busy = writer_busy
        self._lock = threading.Lock()  # one indexer at a time: this thread or a query's
        # Queries run on one thread of the index's: SQLite's deep C stack would otherwise
        # stay on every connection's thread that ever searched (as history reads do).
        self._queries = Offload("kibitz-search-queries")
        self._pool = SQLitePool(self.path, readers)
        try:
            self._db = self._pool.connect()
            self._prepare()
        except sqlite3.Error as exc:
            self._pool.close()
            raise HistoryError(f"cannot index the history database {self.path}: {exc}") from exc
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kibitz-search", daemon=True)
        self._thread.start()

    def _prepare(self) -> None:
        db = self._db
        row = db.execute(
            "SELECT version FROM schema_version WHERE component = ?", (COMPONENT,)
        ).fetchone()
        if row is not None and row[0] != SCHEMA_VERSION:
            db.executescript(_DROP)  # an index of another shape: build it again
        db.executescript(_SCHEMA)
        db.execute(
            "INSERT OR REPLACE INTO schema_version (component, version) VALUES (?, ?)",
            (COMPONENT, SCHEMA_VERSION),
        )
        db.commit()

    # --- indexing -------------------------------------------------------------------
    def indexed_through(self) -> int:
        """The id of the last message the index covers."""
        with self._lock:
            return self._progress()

    def _progress(self) -> int:
        return int(self._db.execute("SELECT indexed_through FROM search_progress").fetchone()[0])

    def catch_up(self, most: int = QUERY_CATCH_UP, idle_only: bool = False) -> int:
        """Index up to ``most`` committed rows not indexed yet, in short transactions
        (stopping early while the history writer has work, if ``idle_only``); returns
        how many rows' ids were covered."""
        covered = 0
        with self._lock:
            while covered < most:
                if idle_only and self._writer_busy():
                    break
                done = self._index_chunk(min(CHUNK, most - covered))
                if not done:
                    break
                covered += done
        return covered

    def _index_chunk(self, size: int) -> int:
        db = self._db
        try:
            start = self._progress()
            end = db.execute(
                "SELECT MAX(id) FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)",
                (start, size),
            ).fetchone()[0]
            if end is None:
                return 0
            db.execute("BEGIN IMMEDIATE")
            # Read again under the write lock: the triggers and this must agree on it.
            start = self._progress()
            if end > start:
                db.execute(_INDEX_SQL, (start, end))
                db.execute("UPDATE search_progress SET indexed_through = ?", (end,))
            db.commit()
            return end - start
        except sqlite3.Error:
            if db.in_transaction:
                db.rollback()
            log.exception("could not index messages for search")
            return 0

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                lag = self._lag()
            except sqlite3.Error:
                log.exception("could not read the search index's progress")
                continue
            if lag > 0:
                # Only while the writer is idle: under load the index waits (a query
                # catches it up), so indexing never competes with the relay.
                self.catch_up(QUERY_CATCH_UP, idle_only=True)

    def _lag(self) -> int:
        with self._lock:
            newest = self._db.execute("SELECT MAX(id) FROM messages").fetchone()[0] or 0
            return newest - self._progress()

    def close(self) -> None:
        """Stop the background indexer and close the connections."""
        self._stop.set()
        self._thread.join(timeout=10)
        self._queries.close()
        with self._lock:
            self._db.close()
        self._pool.close()

    # --- searching ------------------------------------------------------------------
    def find(self, query: Query) -> list[Record]:
        """What :meth:`search` finds once what is committed is indexed (at most
        ``QUERY_CATCH_UP`` rows first), run on the index's query thread."""

        def run() -> list[Record]:
            self.catch_up()
            return self.search(query)

        return self._queries.run(run)

    def search(self, query: Query) -> list[Record]:
        """The messages matching ``query``, oldest first: the oldest matches after
        ``after_ms`` when it is given, the newest ones otherwise. Raises
        :class:`SearchTimeout` when the query takes longer than ``timeout``."""
        where, args = conditions(query)
        if not where:
            return []  # nowhere this client may read
        sql = f"SELECT {_COLUMNS} FROM "
        if query.words:
            # CROSS JOIN keeps the index the outer loop: it yields matches in id order, so
            # the LIMIT stops the walk, instead of every message of a channel being
            # looked up in the index.
            sql += (
                "search_index s CROSS JOIN messages m ON m.id = s.rowid WHERE search_index MATCH ?"
            )
            args = [fts_query(query.words), *args]
            order = "s.rowid"
        else:
            sql += "messages m WHERE 1"
            order = "m.id"
        sql += " AND " + " AND ".join(where)
        forwards = query.after_ms is not None
        sql += f" ORDER BY {order} {'ASC' if forwards else 'DESC'} LIMIT ?"
        args.append(query.limit)
        deadline = time.monotonic() + self.timeout
        with self._pool.connection() as db:
            db.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
            try:
                rows = db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                if "interrupted" in str(exc):
                    raise SearchTimeout from exc
                raise
            finally:
                db.set_progress_handler(None, 0)
        records = [
            Record(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), json.loads(r[6]), r[7])
            for r in rows
        ]
        if not forwards:
            records.reverse()
        # Ids follow the order messages reached the writer, which across channels can be
        # a millisecond off the order they were relayed in: shown in time order.
        records.sort(key=lambda record: record.time_ms)
        return records


def conditions(query: Query) -> tuple[list[str], list[object]]:
    """The WHERE terms of ``query`` over ``messages m`` (empty when it may read nowhere)
    and their arguments, in the SQL both backends speak (``?`` placeholders)."""
    places: list[str] = []
    args: list[object] = []
    for key, floor in query.channels.items():
        places.append("(m.target = ? AND m.id > ?)")
        args += [key, floor]
    if query.conversation is not None:
        places.append("m.target = ?")
        args.append(query.conversation)
    elif query.party is not None:
        places.append("((m.party_a = ? OR m.party_b = ?) AND m.target LIKE 'dm:%')")
        args += [query.party, query.party]
    if not places:
        return [], []
    where = ["(" + " OR ".join(places) + ")", f"m.command IN {_KINDS}"]
    if query.nick is not None:
        where.append("m.source LIKE ? ESCAPE '\\'")
        args.append(_like_escape(query.nick) + "!%")
    if query.after_ms is not None:
        where.append("m.time_ms >= ?")
        args.append(query.after_ms)
    if query.before_ms is not None:
        where.append("m.time_ms <= ?")
        args.append(query.before_ms)
    return where, args
