"""Full-text search over the history (``soju.im/search``): an SQLite FTS5 index kept
beside the messages, fed in the background and caught up before each query.

The relay never waits for the index: the history writer stores rows exactly as before,
and a thread of this module's own copies the text of new PRIVMSG and NOTICE messages
into the index while the writer is idle, a few hundred per transaction, in
``INSERT ... SELECT`` statements that SQLite runs without Python (a run of ``batches``
taken apart by ``json_each``, each of its messages indexed under its own id). A query
first indexes what is still missing, so a search sees every committed message.

The index is an external-content FTS5 table: it holds the words, not a copy of the
text (that stays in ``messages`` and ``batches``). ``search_progress`` holds the last
message id indexed, written in the same transaction as the rows it covers, so a restart
resumes where it stopped. Triggers on both tables take a deleted or changed message out
of the index in the statement that deletes or changes it (retention, and anything that
removes a message; a run stored again without a message is indexed again by trigger
too), so no later query can find it; a query joins its table as well, so only what is
stored now is ever returned.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .dbpool import Offload, SQLitePool
from .history import HistoryError
from .history_records import Record

log = logging.getLogger(__name__)

#: The capability, and the type of the batch results come in.
CAP = "soju.im/search"
BATCH_TYPE = "soju.im/search"

#: The ``schema_version`` row of the index (its own component: the history's row is not
#: this module's to change). A database with another version is indexed again.
COMPONENT = "search"
#: 1: rows of ``messages``; 2: the messages of ``batches`` too (an index of version 1
#: is kept: it is brought to 2 by its view and triggers alone).
SCHEMA_VERSION = 2
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
_WORDS = "replace(replace({text}, char(1) || 'ACTION ', ''), char(1), ' ')"
#: A row's searchable text (``{p}``: its table's name or ``old.``, ``new.``).
_TEXT = _WORDS.format(text="json_extract({p}params, '$[1]')")
#: The searchable text of a message of a batch, ``j`` the ``json_each`` of its texts.
_RUN_TEXT = _WORDS.format(text="j.value")
_KINDS = "('PRIVMSG', 'NOTICE')"
_INDEXED = "(SELECT indexed_through FROM search_progress)"
#: The messages of the batches with ids from ``?1`` (exclusive) to ``?2``: from the
#: batch holding ``?1 + 1``, if one does, through the primary key.
_RUNS_FROM = "b.id >= COALESCE((SELECT MAX(id) FROM batches WHERE id <= ?1), ?1)"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS search_progress (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    indexed_through INTEGER NOT NULL
);
INSERT OR IGNORE INTO search_progress (only, indexed_through) VALUES (1, 0);
-- What the index holds, as FTS5 reads it back (for 'rebuild' and 'integrity-check').
CREATE VIEW IF NOT EXISTS search_text AS
    SELECT id, {_TEXT.format(p="")} AS text FROM messages
    WHERE command IN {_KINDS} AND id <= {_INDEXED}
    UNION ALL
    SELECT b.id + j.key AS id, {_RUN_TEXT} AS text FROM batches b, json_each(b.texts) j
    WHERE b.command IN {_KINDS} AND b.id + j.key <= {_INDEXED};
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
-- A batch is deleted when a message of it or its older part goes, and what is kept of
-- it comes back as new batches: the words of those the index covered go with the
-- deleted one and come back with the new ones.
CREATE TRIGGER IF NOT EXISTS search_forget_run AFTER DELETE ON batches
WHEN old.command IN {_KINDS} AND old.id <= {_INDEXED}
BEGIN
    INSERT INTO search_index (search_index, rowid, text)
    SELECT 'delete', old.id + j.key, {_RUN_TEXT} FROM json_each(old.texts) j
    WHERE old.id + j.key <= {_INDEXED};
END;
CREATE TRIGGER IF NOT EXISTS search_keep_run AFTER INSERT ON batches
WHEN new.command IN {_KINDS} AND new.id <= {_INDEXED}
BEGIN
    INSERT INTO search_index (rowid, text)
    SELECT new.id + j.key, {_RUN_TEXT} FROM json_each(new.texts) j
    WHERE new.id + j.key <= {_INDEXED};
END;
"""
#: What version 1 had that version 2 makes again (the view of what is indexed).
_UPGRADE_1 = "DROP VIEW IF EXISTS search_text;"
_DROP = """
DROP TRIGGER IF EXISTS search_forget;
DROP TRIGGER IF EXISTS search_change;
DROP TRIGGER IF EXISTS search_forget_run;
DROP TRIGGER IF EXISTS search_keep_run;
DROP TABLE IF EXISTS search_index;
DROP VIEW IF EXISTS search_text;
DROP TABLE IF EXISTS search_progress;
"""
_INDEX_SQL = (
    f"INSERT INTO search_index (rowid, text) SELECT id, {_TEXT.format(p='')} FROM messages"
    f" WHERE id > ?1 AND id <= ?2 AND command IN {_KINDS}"
)
_INDEX_RUNS_SQL = (
    f"INSERT INTO search_index (rowid, text) SELECT b.id + j.key, {_RUN_TEXT}"
    f" FROM batches b, json_each(b.texts) j WHERE {_RUNS_FROM} AND b.id <= ?2"
    f" AND b.command IN {_KINDS} AND b.id + j.key > ?1 AND b.id + j.key <= ?2"
)
#: Batches a chunk of indexing reaches into at most (besides :data:`CHUNK` rows).
_CHUNK_RUNS = 8
#: Columns of a result row, its id first.
_COLUMNS = "m.id, m.msgid, m.target, m.time_ms, m.source, m.command, m.params, m.tags, m.account"


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
        if row is not None and row[0] == 1:
            db.executescript(_UPGRADE_1)
        elif row is not None and row[0] != SCHEMA_VERSION:
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
            end = _chunk_end(db, start, size)
            if end is None:
                return 0
            db.execute("BEGIN IMMEDIATE")
            # Read again under the write lock: the triggers and this must agree on it.
            start = self._progress()
            if end > start:
                db.execute(_INDEX_SQL, (start, end))
                db.execute(_INDEX_RUNS_SQL, (start, end))
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
            newest = self._db.execute(
                "SELECT MAX(COALESCE((SELECT MAX(id) FROM messages), 0),"
                " COALESCE((SELECT MAX(last) FROM batches), 0))"
            ).fetchone()[0]
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
        forwards = query.after_ms is not None
        deadline = time.monotonic() + self.timeout
        with self._pool.connection() as db:
            db.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
            try:
                # One snapshot for both tables (the writer may commit between them).
                db.execute("BEGIN")
                found = heapq.merge(
                    _rows(db, query, forwards),
                    _runs(db, query, forwards),
                    key=lambda hit: hit[0],
                    reverse=not forwards,
                )
                records = [record for _, record in itertools.islice(found, query.limit)]
            except sqlite3.OperationalError as exc:
                if "interrupted" in str(exc):
                    raise SearchTimeout from exc
                raise
            finally:
                db.rollback()
                db.set_progress_handler(None, 0)
        if not forwards:
            records.reverse()
        # Ids follow the order messages reached the writer, which across channels can be
        # a millisecond off the order they were relayed in: shown in time order.
        records.sort(key=lambda record: record.time_ms)
        return records


def _rows(db: sqlite3.Connection, query: Query, forwards: bool) -> list[tuple[int, Record]]:
    """The rows of ``messages`` matching ``query``, with their ids, in id order (from the
    oldest when ``forwards``, else the newest), at most ``query.limit`` of them."""
    where, args = conditions(query)
    if not where:
        return []  # nowhere this client may read
    sql = f"SELECT {_COLUMNS} FROM "
    if query.words:
        # CROSS JOIN keeps the index the outer loop: it yields matches in id order, so
        # the LIMIT stops the walk, instead of every message of a channel being looked
        # up in the index.
        sql += "search_index s CROSS JOIN messages m ON m.id = s.rowid WHERE search_index MATCH ?"
        args = [fts_query(query.words), *args]
        order = "s.rowid"
    else:
        sql += "messages m WHERE 1"
        order = "m.id"
    sql += " AND " + " AND ".join(where)
    sql += f" ORDER BY {order} {'ASC' if forwards else 'DESC'} LIMIT ?"
    args.append(query.limit)
    return [
        (
            r[0],
            Record(r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), json.loads(r[7]), r[8]),
        )
        for r in db.execute(sql, args).fetchall()
    ]


def _runs(db: sqlite3.Connection, query: Query, forwards: bool) -> list[tuple[int, Record]]:
    """What :func:`_rows` gives, from the messages of ``batches`` (channel messages
    only: a direct conversation's are rows)."""
    channels = replace(query, party=None, conversation=None)
    direction = "ASC" if forwards else "DESC"
    if query.words:
        # The batch holding each match, through the primary key; the floor of a channel
        # compares the match's own id.
        where, args = conditions(channels, ids="s.rowid")
        if not where:
            return []
        sql = (
            f"SELECT s.rowid, {_RUN_COLUMNS}, json_extract(m.texts, '$[' || (s.rowid - m.id)"
            " || ']') FROM search_index s CROSS JOIN batches m"
            " ON m.id = (SELECT MAX(id) FROM batches WHERE id <= s.rowid)"
            " WHERE search_index MATCH ? AND s.rowid <= m.last AND " + " AND ".join(where)
        )
        sql += f" ORDER BY s.rowid {direction} LIMIT ?"
        rows = db.execute(sql, [fts_query(query.words), *args, query.limit]).fetchall()
        return [(r[0], _run_record(r, r[0], r[-1])) for r in rows]
    # Every message of a batch that matches does (they share all that is matched) but
    # a floor, which each message's id is compared with.
    where, args = conditions(channels, ids="m.last")
    if not where:
        return []
    sql = (
        f"SELECT m.id, {_RUN_COLUMNS}, m.texts FROM batches m WHERE "
        + " AND ".join(where)
        + f" ORDER BY m.id {direction}"
    )
    out: list[tuple[int, Record]] = []
    for r in db.execute(sql, args):
        first, last, target = r[1], r[2], r[4]
        floor = channels.channels.get(target, 0)
        texts = json.loads(r[-1])
        numbers = range(first, last + 1) if forwards else range(last, first - 1, -1)
        for number in numbers:
            if number > floor:
                out.append((number, _run_record(r, number, texts[number - first])))
                if len(out) >= query.limit:
                    return out
    return out


#: A batch's columns a result is made of (after the id it is sorted by).
_RUN_COLUMNS = (
    "m.id, m.last, m.prefix, m.target, m.time_ms, m.source, m.command, m.channel, m.account"
)


def _run_record(r: Sequence, number: int, text: str) -> Record:
    """The message ``number`` (its text ``text``) of the batch in result row ``r``: the id
    it is sorted by, then :data:`_RUN_COLUMNS`."""
    return Record(f"{r[3]}{number:x}", r[4], r[5], r[6], r[7], (r[8], text), {}, r[9])


def _chunk_end(db: sqlite3.Connection, start: int, size: int) -> int | None:
    """The last id of the next chunk to index after ``start``: up to ``size`` rows and
    :data:`_CHUNK_RUNS` batches (None: nothing to index)."""
    rows = db.execute(
        "SELECT COUNT(*), MAX(id) FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)",
        (start, size),
    ).fetchone()
    runs = db.execute(
        f"SELECT COUNT(*), MAX(last) FROM (SELECT last FROM batches b WHERE {_RUNS_FROM}"
        " AND last > ?1 ORDER BY id LIMIT ?2)",
        (start, _CHUNK_RUNS),
    ).fetchone()
    full = [end for (count, end), most in ((rows, size), (runs, _CHUNK_RUNS)) if count >= most]
    ends = [end for count, end in (rows, runs) if count]
    if not ends:
        return None
    return min(full) if full else max(ends)


def conditions(query: Query, ids: str = "m.id") -> tuple[list[str], list[object]]:
    """The WHERE terms of ``query`` over ``messages m`` (empty when it may read nowhere)
    and their arguments, in the SQL both backends speak (``?`` placeholders); ``ids``:
    what is compared with a channel's floor (a batch's last id, or a match's)."""
    places: list[str] = []
    args: list[object] = []
    for key, floor in query.channels.items():
        places.append(f"(m.target = ? AND {ids} > ?)")
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
