"""Message history in SQLite: one writer thread with batched commits, readers in WAL mode.

The message path never waits for the disk: ``HistoryStore.add`` only puts a record on
a queue. The writer thread commits what has piled up every few milliseconds, so after
``kill -9`` at most the last fraction of a second is missing, and after a clean
``close()`` nothing is. Reads (WAL mode) run on one thread of the store's, on a pooled
connection, so what reading costs does not grow with the number of handler threads:
not in connections, nor in the C stack and allocator cache SQLite would leave on each
thread that queried (see :class:`~server.dbpool.Offload`).

Order: every row has an ``id``, the number in its msgid (see :mod:`server.msgids`),
taken as the row is queued, where the message is relayed, so a target's ids increase
in its relay order and rows reach the table in id order; that, not the timestamp, is
the order of a target's history, so paging by msgid is exact even when two messages
share a time. A msgid is looked up through the primary key (:func:`find_message`);
there is no index of msgids for every insert to pay for, only a partial one over the
rows of databases written before msgids held their row's id.

Runs: the messages one read relays to a channel from one sender (``store_many``) share
all but their msgid and text, and at full rate a run holds a hundred messages or more;
with consecutive ids and no tags it is one row of ``batches`` (see :data:`Group`), its
shared values stored once and its texts together, instead of one row (and a B-tree step
in every index) a message. Every read asks both tables and merges them by id
(:mod:`server.history_reads`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar, cast

from . import msgids
from .dbpool import Offload, SQLitePool
from .history_prune import prune_by_age, prune_by_count, prune_to_budget
from .history_reads import batch_record, row_records, snapshot, window
from .history_records import (
    NO_END,
    NO_TAGS,
    Group,
    Record,
    Row,
    Shared,
    quote_json,
    record_row,
    row_group,
)
from .history_schema import (
    BATCH_COLUMNS,
    SCHEMA,
    batch_at,
    delete_message,
    find_message,
    keep_taken,
    legacy_bound,
    migrate,
    used_ids,
)
from .history_schema import LEGACY_DM_PREFIX as LEGACY_DM_PREFIX
from .history_schema import SCHEMA_VERSION as SCHEMA_VERSION
from .history_targets import Conversation as Conversation
from .history_targets import dm_target as dm_target
from .history_targets import newest_private
from .protocol.codec import parse_timestamp

log = logging.getLogger(__name__)

_COMMIT_EVERY = 0.05  # seconds: the most a kill -9 can lose
#: Seconds without a new message before the writer counts as idle (``busy``).
QUIET = 0.5
_PRUNE_EVERY = 60.0
#: Reader connections kept open at most. Each costs two or three descriptors and up to
#: 2 MB of page cache; the reading thread borrows one per query (so one is open while
#: it runs; handler threads borrow their own only once it has stopped).
READERS = 4


#: Rows inserted by one statement (11 values each: under SQLite's oldest limit of 999).
_ROWS_PER_INSERT = 90
#: A group of at least this many rows goes in a statement of its own, its shared values
#: bound once; smaller ones are inserted as whole rows, many groups per statement.
_GROUP_MIN = 4


@functools.lru_cache(maxsize=_ROWS_PER_INSERT)
def _insert_sql(rows: int) -> str:
    """The statement that inserts ``rows`` rows of :data:`Row` at once."""
    return (
        "INSERT OR IGNORE INTO messages (id, msgid, target, time_ms, source, account, command,"
        " params, tags, party_a, party_b) VALUES " + ",".join(["(?,?,?,?,?,?,?,?,?,?,?)"] * rows)
    )


@functools.lru_cache(maxsize=_ROWS_PER_INSERT)
def _group_sql(rows: int) -> str:
    """The statement that inserts a :data:`Group` of ``rows`` rows: the eight values
    they share are ``?1``..``?8``, then each row's id, msgid and parameters."""
    values = ",".join(
        f"(?{9 + 3 * i},?{10 + 3 * i},?1,?2,?3,?4,?5,?{11 + 3 * i},?6,?7,?8)" for i in range(rows)
    )
    return (
        "INSERT OR IGNORE INTO messages (id, msgid, target, time_ms, source, account, command,"
        " params, tags, party_a, party_b) VALUES " + values
    )


class HistoryError(Exception):
    """The history database cannot be used (corrupt, unwritable, wrong format)."""


P = ParamSpec("P")
T = TypeVar("T")


def _offloaded(
    read: Callable[Concatenate[HistoryStore, P], T],
) -> Callable[Concatenate[HistoryStore, P], T]:
    """A read that runs on the store's reading thread, whichever thread asks."""

    @functools.wraps(read)
    def run(self: HistoryStore, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._reads.run(functools.partial(read, self, *args, **kwargs))

    return run


class HistoryStore:
    """A SQLite file of messages; safe to use from every thread."""

    def __init__(
        self,
        path: str | Path,
        max_per_target: int = 0,
        max_days: float = 0,
        max_mb: float = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self.where = str(self.path)  #: for the log
        self.max_per_target = max_per_target
        self.max_days = max_days
        #: Size budget of the database in MiB (0: none): past it the oldest messages go.
        self.max_mb = max_mb
        # Reads run on a few threads of their own, one per pooled connection: every join
        # reads its replay, and every connection's thread would otherwise keep SQLite's
        # stack and allocator cache for good. More than one, so that a slow query (a wide
        # CHATHISTORY page, a search) does not hold up the join replays queued behind it.
        self._reads = Offload("kibitz-history-reads", threads=READERS)
        self._readers = SQLitePool(self.path, READERS, setup=_query_only)
        self._prune_asked = 0
        self._pruned = 0
        # Records wait in `_pending` (guarded by the condition's lock) until the writer
        # takes them all at once; it sleeps while there are none (`_wake`).
        self._written = threading.Condition()
        self._pending: list[Group] = []
        self._wake = threading.Event()
        self._closing = False
        # Redactions wait here for the writer, as messages do: (target, msgid, result).
        self._removals: list[tuple[str, str, list[int]]] = []
        self._added = 0
        self._committed = 0
        self._last_taken = float("-inf")  # when the writer last took messages (``busy``)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer_db = db = self._connect()
            db.executescript(SCHEMA)
            migrate(db)
            db.commit()
            db.executescript(SCHEMA)  # the indexes of a table the migration rebuilt
            #: Rows up to this id may have msgids that do not hold their ids (0: none).
            self._legacy = legacy_bound(db)
            msgids.start_after(used_ids(db))
            check = db.execute("PRAGMA quick_check").fetchone()[0]
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
        self.add_rows([record_row(record)])

    def add_rows(self, rows: list[Row]) -> None:
        """Queue messages as table rows (see :func:`~server.history_records.row`), in
        order, in one step."""
        self.add_groups([row_group(r) for r in rows])

    def add_groups(self, groups: list[Group], number: bool = False) -> None:
        """Queue messages as groups of rows (see :data:`Group`), in order, in one step;
        with ``number``, each row gets its id and msgid here (read them back from it)."""
        count = sum([len(rows) for _, rows, _ in groups]) // 3
        with self._written:
            if number:
                # Taken under the queue's lock, so the queue is in id order: rows reach
                # the table in the order of their ids (the search index relies on it).
                for _, rows, _ in groups:
                    for i in range(0, len(rows), 3):
                        rows[i], rows[i + 1] = msgids.new_numbered()
            self._added += count
            first = not self._pending
            self._pending.extend(groups)
            if first and groups:
                self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything added so far is committed."""
        with self._written:
            goal = self._added
            return self._written.wait_for(lambda: self._committed >= goal, timeout)

    def busy(self) -> bool:
        """Whether the writer has work: messages waiting to be committed, or taken in the
        last ``QUIET`` seconds (at full rate the queue is empty for a moment after every
        commit, and the search index indexing then took the write lock from the writer)."""
        return self._added != self._committed or self._clock() - self._last_taken < QUIET

    def remove(self, target: str, msgid: str, timeout: float = 5.0) -> int:
        """Delete a message of ``target`` (and the reactions to it) through the writer,
        after everything queued before it; the messages removed (0: it was not there,
        or the writer did not answer within ``timeout``)."""
        result: list[int] = []
        with self._written:
            self._added += 1
            goal = self._added
            first = not self._pending and not self._removals
            self._removals.append((target, msgid, result))
            if first:
                self._wake.set()
            self._written.wait_for(lambda: self._committed >= goal, timeout)
        return result[0] if result else 0

    def close(self) -> None:
        """Commit what is queued and stop the writer."""
        with self._written:
            self._closing = True
            self._wake.set()
        self._thread.join(timeout=10)
        self._writer_db.close()
        self._reads.close()
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
            with self._written:
                # A redaction waits for its answer: it goes at once, messages gather.
                urgent = self._closing or bool(self._removals)
            if not urgent:
                time.sleep(_COMMIT_EVERY)  # let a batch gather: one commit for all of it
            with self._written:
                batch, self._pending = self._pending, []
                if batch:
                    self._last_taken = self._clock()
                removals, self._removals = self._removals, []
                self._wake.clear()
                closing = self._closing
                asked = self._prune_asked
            if batch:
                self._insert(batch)
            if removals:
                self._remove(removals)
            if asked > self._pruned or time.monotonic() - last_prune > _PRUNE_EVERY:
                self._prune()
                last_prune = time.monotonic()
                with self._written:
                    self._pruned = asked
                    self._written.notify_all()
            if closing:
                self._keep_taken()
                return

    def _insert(self, batch: list[Group]) -> None:
        count = sum([len(rows) for _, rows, _ in batch]) // 3
        try:
            db = self._writer_db
            # Many rows per statement: SQLite gives the interpreter lock back and takes it
            # again around every statement it runs, and the relay threads want it too.
            loose: list[str | int | None] = []  # rows of small groups, value after value
            runs: list[tuple[str | int | None, ...]] = []  # rows of ``batches``
            for shared, rows, channel in batch:
                if channel is not None:
                    made = _runs(shared, rows, channel)
                    if made:
                        runs += made
                        continue
                    head = "[" + quote_json(channel) + ", "
                    rows = rows[:]
                    rows[2::3] = [head + str(text) + "]" for text in rows[2::3]]
                if len(rows) < 3 * _GROUP_MIN:
                    target, millis, source, account, verb, tags, party_a, party_b = shared
                    for i in range(0, len(rows), 3):
                        loose += (rows[i], rows[i + 1], target, millis, source, account, verb)
                        loose += (rows[i + 2], tags, party_a, party_b)
                    continue
                if loose:
                    _insert_values(db, loose)
                    loose = []
                step = 3 * _ROWS_PER_INSERT
                for start in range(0, len(rows), step):
                    part = rows[start : start + step]
                    db.execute(_group_sql(len(part) // 3), [*shared, *part])
            if loose:
                _insert_values(db, loose)
            if runs:
                db.executemany(_RUN_SQL, runs)
            keep_taken(db)
            db.commit()
        except sqlite3.Error:
            log.exception("could not store %d messages", count)
        with self._written:
            self._committed += count
            self._written.notify_all()

    def _remove(self, removals: list[tuple[str, str, list[int]]]) -> None:
        db = self._writer_db
        for target, msgid, result in removals:
            try:
                removed = delete_message(db, self._legacy, target, msgid)
                db.commit()
            except sqlite3.Error:
                log.exception("could not remove message %s", msgid)
                removed = 0
            result.append(removed)
        with self._written:
            self._committed += len(removals)
            self._written.notify_all()

    def _keep_taken(self) -> None:
        """Record the msgid numbers taken so far (see ``keep_taken``) as the writer stops."""
        try:
            keep_taken(self._writer_db)
            self._writer_db.commit()
        except sqlite3.Error:
            log.exception("could not record the last msgid number taken")

    def _prune(self) -> None:
        db = self._writer_db
        try:
            if self.max_days:
                cutoff = int((time.time() - self.max_days * 86400) * 1000)
                for table in ("messages", "batches"):
                    prune_by_age(db, table, cutoff)
            if self.max_per_target:
                prune_by_count(db, self.max_per_target)
            db.commit()
            removed = prune_to_budget(db, int(self.max_mb * 1024 * 1024)) if self.max_mb else 0
            if removed:
                log.warning(
                    "history passed its budget of %g MB: removed the %d oldest messages",
                    self.max_mb,
                    removed,
                )
        except sqlite3.Error:
            log.exception("could not prune the history")

    # --- reading --------------------------------------------------------------------
    # A target's messages are rows of ``messages`` and runs of ``batches``; a read asks
    # both (in one snapshot, so that nothing the writer commits meanwhile shows in one
    # and not the other) and merges them by id, each bounded by an index.
    def _rows(self, sql: str, args: tuple) -> list[Record]:
        with self._reading() as db:
            return [record for _, record in row_records(db, sql, args)]

    @_offloaded
    def find(self, target: str, msgid: str, floor: int = 0) -> Record | None:
        """The message ``msgid`` of ``target`` (after ``floor``), if it is stored."""
        with self._reading() as db:
            found = find_message(db, self._legacy, msgid, target)
        if found is None or found <= floor:
            return None
        rows = self._rows("id = ?", (found,))
        if rows:
            return rows[0]
        with self._reading() as db:
            batch = batch_at(db, found)
        return batch_record(batch, found, json.loads(batch[9])) if batch else None

    def last_id(self) -> int:
        """An id above that of every message relayed so far, stored yet or not, and below
        every later one: a channel created now reads only what comes after it (its
        history floor)."""
        return msgids.last_taken()

    @_offloaded
    def locate(self, target: str, ref: str, floor: int = 0) -> tuple[int, int] | None:
        """Where a reference (``msgid=...`` or ``timestamp=...``) falls in a target's
        history: ``(b, a)`` such that "before it" is ``id < b`` and "after it" is
        ``id > a``. None for an unknown msgid or a malformed reference.

        Only messages after ``floor`` (an id) count, here and in every query below: what
        came before belongs to an earlier life of the channel, and a msgid from it is as
        unknown as any other.

        A timestamp is found through the (target, time) indexes: the first message at or
        after it and the last at or before it, a row's or a run's. A target's messages
        are stamped as they are relayed, in order, so time order is id order.
        """
        kind, _, value = ref.partition("=")
        if kind == "msgid":
            with self._reading() as db:
                found = find_message(db, self._legacy, value, target)
            return (found, found) if found is not None and found > floor else None
        if kind != "timestamp":
            return None
        millis = parse_timestamp(value)
        if millis is None:
            return None
        with self._reading() as db, snapshot(db):
            firsts = db.execute(
                "SELECT * FROM (SELECT time_ms, id FROM messages WHERE target = ?1"
                " AND time_ms >= ?2 AND id > ?3 ORDER BY time_ms, id LIMIT 1) UNION ALL"
                " SELECT * FROM (SELECT time_ms, MAX(id, ?3 + 1) FROM batches WHERE target = ?1"
                " AND time_ms >= ?2 AND last > ?3 ORDER BY time_ms, id LIMIT 1)",
                (target, millis, floor),
            ).fetchall()
            lasts = db.execute(
                "SELECT * FROM (SELECT time_ms, id FROM messages WHERE target = ?1"
                " AND time_ms <= ?2 AND id > ?3 ORDER BY time_ms DESC, id DESC LIMIT 1)"
                " UNION ALL SELECT * FROM (SELECT time_ms, last FROM batches WHERE target = ?1"
                " AND time_ms <= ?2 AND last > ?3 ORDER BY time_ms DESC, id DESC LIMIT 1)",
                (target, millis, floor),
            ).fetchall()
        return (min(firsts)[1] if firsts else NO_END, max(lasts)[1] if lasts else floor)

    @_offloaded
    def before(self, target: str, position: int, limit: int, floor: int = 0) -> list[Record]:
        """Up to ``limit`` messages before ``position`` (after ``floor``), oldest first."""
        with self._reading() as db:
            return window(db, target, floor, position, limit, descending=True)

    @_offloaded
    def after(self, target: str, position: int, limit: int, floor: int = 0) -> list[Record]:
        """Up to ``limit`` messages after ``position`` (and ``floor``), oldest first."""
        with self._reading() as db:
            return window(db, target, max(position, floor), NO_END, limit, descending=False)

    @_offloaded
    def between(
        self, target: str, low: int, high: int, limit: int, from_high: bool, floor: int = 0
    ) -> list[Record]:
        """Up to ``limit`` messages with ``low < id < high`` (and after ``floor``), oldest
        first; taken from the ``high`` end when ``from_high`` (a query that runs
        backwards in time)."""
        with self._reading() as db:
            return window(db, target, max(low, floor), high, limit, descending=from_high)

    @_offloaded
    def latest(
        self,
        target: str,
        limit: int,
        after: int | None = None,
        floor: int = 0,
        without: str = "TOPIC",
    ) -> list[Record]:
        """The ``limit`` newest messages (newer than ``after`` and ``floor``), oldest first;
        never a topic change, nor (``without``) the rows of another command."""
        low = max(after or 0, floor)
        with self._reading() as db:
            return window(db, target, low, NO_END, limit, descending=True, without=without)

    @_offloaded
    def targets(
        self,
        channels: list[str],
        party: str,
        start_ms: int,
        end_ms: int,
        limit: int,
        floors: dict[str, int] | None = None,
    ) -> list[Conversation]:
        """Conversations with messages between two times, the least recently active
        first: the ``channels`` (each after its id in ``floors``), and ``party``'s
        direct ones."""
        low, high = min(start_ms, end_ms), max(start_ms, end_ms)
        found: dict[str, Conversation] = {}
        with self._reading() as db:
            # One indexed lookup per channel (a client is in at most CHANLIMIT of them)
            # and one range per side of its private conversations, instead of one query
            # whose OR makes SQLite read every message in the time range.
            for channel in dict.fromkeys(channels):
                floor = floors.get(channel, 0) if floors else 0
                newest = [
                    row[0]
                    for row in db.execute(
                        "SELECT time_ms FROM messages WHERE target = ?1 AND time_ms > ?2"
                        " AND time_ms < ?3 AND id > ?4 ORDER BY time_ms DESC LIMIT 1",
                        (channel, low, high, floor),
                    ).fetchall()
                    + db.execute(
                        "SELECT time_ms FROM batches WHERE target = ?1 AND time_ms > ?2"
                        " AND time_ms < ?3 AND last > ?4 ORDER BY time_ms DESC LIMIT 1",
                        (channel, low, high, floor),
                    ).fetchall()
                ]
                if newest:
                    found[channel] = Conversation(channel, max(newest), None, None, "", "")
            for column in ("party_a", "party_b"):
                # The bare columns come from the row holding MAX (SQLite's rule).
                newest_private(
                    found,
                    db.execute(
                        "SELECT target, MAX(time_ms), party_a, party_b, source, params FROM"
                        f" messages WHERE {column} = ? AND time_ms > ? AND time_ms < ?"
                        " AND target LIKE 'dm:%' GROUP BY target",
                        (party, low, high),
                    ),
                )
        return sorted(found.values(), key=lambda entry: entry.newest_ms)[:limit]

    @_offloaded
    def latest_topic(self, target: str, floor: int = 0) -> Record | None:
        """The last topic change stored for a channel (after ``floor``)."""
        rows = self._rows(
            "target = ? AND command = 'TOPIC' AND id > ? ORDER BY id DESC LIMIT 1",
            (target, floor),
        )
        return rows[0] if rows else None


#: Inserts a row of ``batches`` (see :func:`_runs`).
_RUN_SQL = f"INSERT OR IGNORE INTO batches ({BATCH_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"


#: The most messages one row of ``batches`` holds: reading one message of a run reads
#: all its texts, so a longer run (a paste of thousands of lines) is cut in pieces.
RUN_MOST = 256


def _runs(shared: Shared, rows: list[int | str], channel: str) -> list[tuple]:
    """The ``batches`` rows of a group of texts to ``channel`` (see :data:`Group`): one,
    or pieces of :data:`RUN_MOST` messages; none when it is not a run: fewer than
    :data:`_GROUP_MIN` messages, tags, or ids that are not consecutive (a msgid taken by
    a message history does not keep came between) or not held by the msgids. Its ids
    increase, so the ends tell whether they are consecutive."""
    count = len(rows) // 3
    if count < _GROUP_MIN or shared[5] != NO_TAGS:
        return []
    first, last = int(rows[0]), int(rows[-3])
    prefix = str(rows[1])[: msgids.PREFIX_LENGTH]
    if (
        last - first != count - 1
        or rows[1] != f"{prefix}{first:x}"
        or rows[-2] != f"{prefix}{last:x}"
    ):
        return []
    target, millis, source, account, verb = shared[:5]
    texts = cast("list[str]", rows[2::3])
    return [
        (
            start,
            min(start + RUN_MOST, last + 1) - 1,
            prefix,
            target,
            millis,
            source,
            account,
            verb,
            channel,
            "[" + ",".join(texts[start - first : start - first + RUN_MOST]) + "]",
        )
        for start in range(first, last + 1, RUN_MOST)
    ]


def _insert_values(db: sqlite3.Connection, values: list[str | int | None]) -> None:
    """Insert whole rows given value after value, :data:`_ROWS_PER_INSERT` a statement."""
    step = 11 * _ROWS_PER_INSERT
    for start in range(0, len(values), step):
        part = values[start : start + step]
        db.execute(_insert_sql(len(part) // 11), part)


def _query_only(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA query_only=1")
