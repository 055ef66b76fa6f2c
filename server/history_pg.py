"""Message history in PostgreSQL (``--database``): the SQLite store's queries and
answers, shared by every server pointed at the database.

Writes leave the relay path as they do on SQLite: ``add_groups`` queues rows, and one
writer thread inserts what has piled up every few milliseconds with one ``COPY``, one
transaction per batch. ``close()`` inserts what is queued.
While the database cannot be reached the writer keeps its rows and tries again with a
growing pause; past :data:`MAX_BACKLOG` rows waiting the oldest are dropped (and counted
in the log), so an outage, or a database slower than the relay, costs bounded memory.
Reads meanwhile fail at once with :class:`~server.history_api.HistoryUnavailable`
(``FAIL … TEMPORARILY_UNAVAILABLE``).

msgids: a row's id is still the number in its msgid (a lookup by msgid reads the primary
key), but several servers now take numbers at once, so a number is built to be unique
and ordered without asking the database per message (a snowflake): milliseconds since
:data:`EPOCH_MS`, then a sequence within the millisecond (:data:`SEQ_BITS`), then the
server's node number (:data:`NODE_BITS`), which each store takes from the
``history_nodes`` sequence as it opens. Within one server the numbers only grow (taken
under the channel's send lock, as on SQLite: a target's ids are its relay order, and a
burst borrows from the next millisecond); across servers they are ordered by the time
the message was relayed, ties broken by node, so paging by msgid stays exact with any
number of writers: a position is one number, and every message has its own. Clocks of
the servers are assumed to agree to within the time between two messages of one target
sent on different servers. A store starts after the largest id in the table, so a clock
set back across a restart does not reuse numbers. Two servers running at once get the
same node number only after 1023 servers started in between (the sequence wraps round
1023: the last node number is kept for the nodes of a network, whose channel messages
take their numbers from the network's order, see :mod:`server.cluster.fanout`).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, TypeVar

from . import msgids
from .database import Component, DatabaseError, Unreachable, ensure_schema
from .dbpool import Offload
from .history import Conversation, HistoryError
from .history_api import HistoryUnavailable
from .history_records import NO_END, Group, Record, Row, quote_json, record_row, row_group
from .history_targets import newest_private
from .postgres import PostgresDatabase
from .protocol.codec import parse_timestamp
from .search_pg import tsvector

log = logging.getLogger(__name__)

#: The numbering of msgids (see the module's docstring and :mod:`server.msgids`).
EPOCH_MS = msgids.EPOCH_MS
SEQ_BITS = msgids.SEQ_BITS
NODE_BITS = msgids.NODE_BITS
_COMMIT_EVERY = 0.05  # seconds a batch gathers (the most a kill -9 can lose)
_PRUNE_EVERY = 60.0
#: Rows kept queued at most (some 500 bytes each): reached while the database cannot be
#: reached, or stays slower than the relay; the oldest go first.
MAX_BACKLOG = 100_000
#: Pauses between the writer's attempts during an outage: doubling up to the last.
_RETRY_FIRST = 0.25
_RETRY_MOST = 5.0
#: Threads (and pooled connections) reads run on; the pool has one more for the writer
#: and one for searches, so a busy moment waits in a queue, never for the pool (whose
#: timeout reads as an outage).
READERS = 3
#: Rows per INSERT statement (12 values each).
_ROWS_PER_INSERT = 400
#: A budget prune removes messages until they are this far under the budget.
_BUDGET_SLACK = 0.9
_COLUMNS = "id, msgid, target, time_ms, source, account, command, params, tags, party_a, party_b"
_TABLE = "history_messages"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {_TABLE} (
    id BIGINT PRIMARY KEY,
    msgid TEXT NOT NULL,
    target TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    source TEXT NOT NULL,
    account TEXT,
    command TEXT NOT NULL,
    params TEXT NOT NULL,
    tags TEXT NOT NULL,
    party_a TEXT,
    party_b TEXT,
    words TSVECTOR
);
CREATE INDEX IF NOT EXISTS history_by_target ON {_TABLE} (target, id);
CREATE INDEX IF NOT EXISTS history_by_target_time ON {_TABLE} (target, time_ms);
CREATE INDEX IF NOT EXISTS history_by_party_a ON {_TABLE} (party_a, time_ms)
    WHERE party_a IS NOT NULL;
CREATE INDEX IF NOT EXISTS history_by_party_b ON {_TABLE} (party_b, time_ms)
    WHERE party_b IS NOT NULL;
CREATE INDEX IF NOT EXISTS history_topics ON {_TABLE} (target, id) WHERE command = 'TOPIC';
CREATE INDEX IF NOT EXISTS history_tagmsgs ON {_TABLE} (target, id) WHERE command = 'TAGMSG';
CREATE INDEX IF NOT EXISTS history_words ON {_TABLE} USING GIN (words)
    WHERE words IS NOT NULL;
CREATE SEQUENCE IF NOT EXISTS history_nodes
"""
#: The history's tables, a component of the shared ``schema_version`` table (version 1:
#: the first; a later one adds its migration here).
COMPONENT = Component("history", 1, SCHEMA)

P = ParamSpec("P")
T = TypeVar("T")


def _offloaded(
    read: Callable[Concatenate[PostgresHistory, P], T],
) -> Callable[Concatenate[PostgresHistory, P], T]:
    """A read run on one of the store's reading threads; an outage raises
    :class:`HistoryUnavailable`."""

    @functools.wraps(read)
    def run(self: PostgresHistory, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return self._reads.run(functools.partial(read, self, *args, **kwargs))
        except Unreachable as exc:
            raise HistoryUnavailable(str(exc)) from None

    return run


class Numbers:
    """Msgid numbers for one server (see the module's docstring); not thread-safe: the
    store takes them under its queue's lock."""

    def __init__(self, node: int, after: int = 0) -> None:
        # The last node number is the network's (channel messages of a cluster).
        self.node = node % msgids.NETWORK_NODE
        self._last = after >> NODE_BITS

    def take(self, millis: int | None = None) -> int:
        """The next number: after every one taken before, here and in ``after``, and in
        the millisecond ``millis`` (the message's relay time; default: now) unless a
        number taken before is already past it."""
        if millis is None:
            millis = int(time.time() * 1000)
        self._last = last = max(self._last + 1, (millis - EPOCH_MS) << SEQ_BITS)
        return last << NODE_BITS | self.node


def _records(rows: Iterable[Any]) -> list[Record]:
    return [
        Record(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), json.loads(r[6]), *r[7:])
        for r in rows
    ]


_COPY_SQL = f"COPY {_TABLE} ({_COLUMNS}, words) FROM STDIN"


@functools.lru_cache(maxsize=8)
def _insert_sql(rows: int) -> str:
    values = ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?::tsvector)"] * rows)
    return f"INSERT INTO {_TABLE} ({_COLUMNS}, words) VALUES {values} ON CONFLICT (id) DO NOTHING"


class PostgresHistory:
    """The messages in a PostgreSQL database; safe to use from every thread."""

    def __init__(
        self, url: str, max_per_target: int = 0, max_days: float = 0, max_mb: float = 0
    ) -> None:
        self.max_per_target = max_per_target
        self.max_days = max_days
        self.max_mb = max_mb
        try:
            self.database = PostgresDatabase(url, READERS + 2, "the history is", log)
        except DatabaseError as exc:
            raise HistoryError(f"cannot use the history database: {exc}") from exc
        try:
            ensure_schema(self.database, COMPONENT)
            with self.database.transaction() as tx:
                node = int(tx.execute("SELECT nextval('history_nodes')").fetchone()[0])
                newest = tx.execute(f"SELECT MAX(id) FROM {_TABLE}").fetchone()[0] or 0
        except (DatabaseError, self.database.Error) as exc:
            self.database.close()
            raise HistoryError(f"cannot use the history database: {exc}") from exc
        self.where = self.database.where  #: the URL without its password
        self._numbers = Numbers(node, int(newest))
        self._reads = Offload("kibitz-history-reads", threads=READERS)
        # Rows wait in `_pending` (guarded by the condition's lock) until the writer takes
        # them all at once; it sleeps while there are none (`_wake`).
        self._written = threading.Condition()
        self._pending: list[Group] = []
        self._wake = threading.Event()
        self._closing = False
        self._stop = threading.Event()  # set by close(): ends an outage's pause
        self._added = 0
        self._committed = 0
        self._prune_asked = 0
        self._pruned = 0
        #: Whether the writer's last attempt found the database unreachable.
        self._down = False
        self._prune()
        self._thread = threading.Thread(target=self._write_loop, name="kibitz-history", daemon=True)
        self._thread.start()

    # --- writing ------------------------------------------------------------------
    def add(self, record: Record) -> None:
        """Queue a message for storage; returns at once."""
        self.add_rows([record_row(record)])

    def add_rows(self, rows: list[Row]) -> None:
        """Queue messages as table rows (see :func:`server.history_records.row`), in order."""
        self.add_groups([row_group(r) for r in rows])

    def add_groups(self, groups: list[Group], number: bool = False) -> None:
        """Queue groups of rows (see :data:`server.history_records.Group`), in order; with
        ``number``, each row gets its id and msgid here (read them back from it)."""
        count = sum([len(rows) for _, rows, _ in groups]) // 3
        with self._written:
            if number:
                take = self._numbers.take
                for shared, rows, _ in groups:
                    for i in range(0, len(rows), 3):
                        rows[i] = n = take(shared[1])
                        rows[i + 1] = msgids.numbered(n)
            self._added += count
            first = not self._pending
            self._pending.extend(groups)
            if first and groups:
                self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything added so far is committed; False at once while the
        database cannot be reached (a reader then fails fast instead of waiting)."""
        with self._written:
            goal = self._added
            return self._written.wait_for(
                lambda: self._committed >= goal or self._down, timeout
            ) and (self._committed >= goal)

    def busy(self) -> bool:
        """Whether messages are waiting to be committed."""
        return self._added != self._committed

    def last_id(self) -> int:
        """A number above every message's relayed so far here (and, clocks agreeing,
        on the other servers), and below every later one: a channel's history floor."""
        with self._written:
            return self._numbers.take()

    def remove(self, target: str, msgid: str, timeout: float = 5.0) -> int:
        """Delete a message of ``target`` and the reactions to it, after everything
        queued before it is stored; the rows removed (0: it is not there)."""
        self.flush(timeout)
        return self._remove(target, msgid)

    @_offloaded
    def _remove(self, target: str, msgid: str) -> int:
        with self.database.transaction() as tx:
            found = _find(tx, target, msgid)
            if found is None:
                return 0
            removed = tx.execute(f"DELETE FROM {_TABLE} WHERE id = ?", (found,)).rowcount
            # A reaction means nothing without its message; replies stay.
            return (
                removed
                + tx.execute(
                    f"DELETE FROM {_TABLE} WHERE target = ? AND id > ? AND command = 'TAGMSG'"
                    " AND (tags::jsonb ->> '+draft/reply') = ?"
                    " AND ((tags::jsonb ->> '+draft/react') IS NOT NULL"
                    " OR (tags::jsonb ->> '+draft/unreact') IS NOT NULL)",
                    (target, found, msgid),
                ).rowcount
            )

    def prune(self, timeout: float = 5.0) -> bool:
        """Apply the retention rules now (the writer does it every minute anyway)."""
        with self._written:
            self._prune_asked += 1
            goal = self._prune_asked
            self._wake.set()
            return self._written.wait_for(lambda: self._pruned >= goal, timeout)

    def close(self) -> None:
        """Store what is queued (one last attempt if the database is down), stop the
        writer, close the connections."""
        with self._written:
            self._closing = True
            self._wake.set()
            self._stop.set()
        self._thread.join(timeout=15)
        self._reads.close()
        self.database.close()

    def _write_loop(self) -> None:
        last_prune = time.monotonic()
        backlog: list[tuple[object, ...]] = []
        pause = _RETRY_FIRST
        while True:
            if backlog:  # the database is down: wait out the pause, new rows or not
                self._stop.wait(pause)
            else:
                self._wake.wait(_PRUNE_EVERY)
            if not self._closing and not backlog:
                time.sleep(_COMMIT_EVERY)  # let a batch gather: one commit for all of it
            with self._written:
                batch, self._pending = self._pending, []
                self._wake.clear()
                closing = self._closing
                asked = self._prune_asked
            backlog += _values(batch)
            dropped = len(backlog) - MAX_BACKLOG
            if dropped > 0:
                del backlog[:dropped]
                log.warning("history: dropped the %d oldest unstored messages", dropped)
                self._done(dropped)
            if backlog:
                stored = self._insert(backlog)
                if stored:
                    self._done(len(backlog))
                    backlog = []
                    pause = _RETRY_FIRST
                else:
                    pause = min(pause * 2, _RETRY_MOST)
            if not backlog and (
                asked > self._pruned or time.monotonic() - last_prune > _PRUNE_EVERY
            ):
                self._prune()
                last_prune = time.monotonic()
                with self._written:
                    self._pruned = asked
                    self._written.notify_all()
            if closing:
                if backlog:
                    log.error("history: %d messages could not be stored", len(backlog))
                return

    def _done(self, count: int) -> None:
        with self._written:
            self._committed += count
            self._written.notify_all()

    def _insert(self, rows: list[tuple[object, ...]]) -> bool:
        """Insert ``rows`` in one transaction: True when they are stored, or cannot ever
        be (logged); False while the database is unreachable (try again later).

        COPY first (several times faster than INSERT); a row whose id is stored already
        (a message given with its msgid twice) fails all of it, so the batch goes again
        as INSERTs that skip such rows, as SQLite's INSERT OR IGNORE does.
        """
        try:
            try:
                with self.database.transaction() as tx:
                    tx.copy(_COPY_SQL, rows)
            except self.database.IntegrityError:
                with self.database.transaction() as tx:
                    for start in range(0, len(rows), _ROWS_PER_INSERT):
                        part = rows[start : start + _ROWS_PER_INSERT]
                        tx.execute(_insert_sql(len(part)), [v for r in part for v in r])
        except Unreachable:
            with self._written:
                self._down = True
                self._written.notify_all()  # a flush waiting now returns
            return False
        except self.database.Error:
            log.exception("could not store %d messages", len(rows))
        with self._written:
            self._down = False
        return True

    def _prune(self) -> None:
        try:
            with self.database.transaction() as tx:
                if self.max_days:
                    cutoff = int((time.time() - self.max_days * 86400) * 1000)
                    _prune_by_age(tx, cutoff)
                if self.max_per_target:
                    tx.execute(
                        f"DELETE FROM {_TABLE} WHERE id IN (SELECT id FROM (SELECT id,"
                        " ROW_NUMBER() OVER (PARTITION BY target ORDER BY id DESC) AS n"
                        f" FROM {_TABLE}) ranked WHERE n > ?)",
                        (self.max_per_target,),
                    )
                if self.max_mb:
                    self._prune_to_budget(tx, int(self.max_mb * 1024 * 1024))
        except Unreachable:
            pass  # tried again at the next prune
        except self.database.Error:
            log.exception("could not prune the history")

    def _prune_to_budget(self, tx: Any, budget: int) -> None:
        """Remove the oldest messages until the bytes of the rows left fit ``budget``.

        The table's files are an upper bound, read from the catalogue at no cost; only
        past it are the rows measured (PostgreSQL keeps a deleted row's space for reuse,
        so the files do not shrink, and measuring the rows reads them all).
        """
        files = tx.execute("SELECT pg_total_relation_size(?::regclass)", (_TABLE,)).fetchone()[0]
        if files <= budget:
            return
        row = tx.execute(
            f"SELECT id FROM (SELECT id, SUM(pg_column_size(m.*)) OVER (ORDER BY id DESC)"
            f" AS total FROM {_TABLE} m) sized WHERE total > ? ORDER BY id DESC LIMIT 1",
            (int(budget * _BUDGET_SLACK),),
        ).fetchone()
        if row is None:
            return
        removed = tx.execute(f"DELETE FROM {_TABLE} WHERE id <= ?", (row[0],)).rowcount
        if removed:
            log.warning(
                "history passed its budget of %g MB: removed the %d oldest messages",
                self.max_mb,
                removed,
            )

    # --- reading --------------------------------------------------------------------
    def _rows(self, sql: str, args: tuple) -> list[Record]:
        with self.database.transaction() as tx:
            found = tx.execute(
                "SELECT msgid, target, time_ms, source, command, params, tags, account,"
                f" party_a, party_b FROM {_TABLE} WHERE " + sql,
                args,
            ).fetchall()
        return _records(found)

    @_offloaded
    def find(self, target: str, msgid: str, floor: int = 0) -> Record | None:
        """The message ``msgid`` of ``target`` (after ``floor``), if it is stored."""
        number = msgids.row_id(msgid)
        if number is None or number <= floor:
            return None
        rows = self._rows("id = ? AND msgid = ? AND target = ?", (number, msgid, target))
        return rows[0] if rows else None

    @_offloaded
    def locate(self, target: str, ref: str, floor: int = 0) -> tuple[int, int] | None:
        """Where a reference falls in a target's history: ``(b, a)``, "before it" being
        ``id < b`` and "after it" ``id > a`` (see :meth:`HistoryStore.locate`)."""
        kind, _, value = ref.partition("=")
        with self.database.transaction() as tx:
            if kind == "msgid":
                found = _find(tx, target, value)
                return (found, found) if found is not None and found > floor else None
            millis = parse_timestamp(value) if kind == "timestamp" else None
            if millis is None:
                return None
            first = tx.execute(
                f"SELECT id FROM {_TABLE} WHERE target = ? AND time_ms >= ? AND id > ?"
                " ORDER BY time_ms, id LIMIT 1",
                (target, millis, floor),
            ).fetchone()
            last = tx.execute(
                f"SELECT id FROM {_TABLE} WHERE target = ? AND time_ms <= ? AND id > ?"
                " ORDER BY time_ms DESC, id DESC LIMIT 1",
                (target, millis, floor),
            ).fetchone()
        return (first[0] if first else NO_END, last[0] if last else floor)

    @_offloaded
    def before(self, target: str, position: int, limit: int, floor: int = 0) -> list[Record]:
        """Up to ``limit`` messages before ``position`` (after ``floor``), oldest first."""
        rows = self._rows(
            "target = ? AND id < ? AND id > ? AND command != 'TOPIC' ORDER BY id DESC LIMIT ?",
            (target, position, floor, limit),
        )
        return rows[::-1]

    @_offloaded
    def after(self, target: str, position: int, limit: int, floor: int = 0) -> list[Record]:
        """Up to ``limit`` messages after ``position`` (and ``floor``), oldest first."""
        return self._rows(
            "target = ? AND id > ? AND command != 'TOPIC' ORDER BY id LIMIT ?",
            (target, max(position, floor), limit),
        )

    @_offloaded
    def between(
        self, target: str, low: int, high: int, limit: int, from_high: bool, floor: int = 0
    ) -> list[Record]:
        """Up to ``limit`` messages with ``low < id < high`` (and after ``floor``), oldest
        first; taken from the ``high`` end when ``from_high``."""
        rows = self._rows(
            "target = ? AND id > ? AND id < ? AND command != 'TOPIC' ORDER BY id "
            + ("DESC" if from_high else "ASC")
            + " LIMIT ?",
            (target, max(low, floor), high, limit),
        )
        return rows[::-1] if from_high else rows

    @_offloaded
    def latest(
        self,
        target: str,
        limit: int,
        after: int | None = None,
        floor: int = 0,
        without: str = "TOPIC",
    ) -> list[Record]:
        """The ``limit`` newest messages (newer than ``after`` and ``floor``), oldest
        first; never a topic change, nor (``without``) the rows of another command."""
        rows = self._rows(
            "target = ? AND id > ? AND command NOT IN ('TOPIC', ?) ORDER BY id DESC LIMIT ?",
            (target, max(after or 0, floor), without, limit),
        )
        return rows[::-1]

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
        first: the ``channels`` (each after its floor) and ``party``'s direct ones."""
        low, high = min(start_ms, end_ms), max(start_ms, end_ms)
        found: dict[str, Conversation] = {}
        with self.database.transaction() as tx:
            for channel in dict.fromkeys(channels):
                floor = floors.get(channel, 0) if floors else 0
                row = tx.execute(
                    f"SELECT time_ms FROM {_TABLE} WHERE target = ? AND time_ms > ?"
                    " AND time_ms < ? AND id > ? ORDER BY time_ms DESC LIMIT 1",
                    (channel, low, high, floor),
                ).fetchone()
                if row:
                    found[channel] = Conversation(channel, row[0], None, None, "", "")
            for column in ("party_a", "party_b"):
                newest_private(
                    found,
                    tx.execute(
                        "SELECT DISTINCT ON (target) target, time_ms, party_a, party_b, source,"
                        f" params FROM {_TABLE} WHERE {column} = ? AND time_ms > ? AND time_ms < ?"
                        " AND target LIKE 'dm:%' ORDER BY target, time_ms DESC, id DESC",
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


def _find(tx: Any, target: str, msgid: str) -> int | None:
    """The id of ``target``'s message ``msgid`` (through the primary key), or None."""
    number = msgids.row_id(msgid)
    if number is None:
        return None
    row = tx.execute(
        f"SELECT id FROM {_TABLE} WHERE id = ? AND msgid = ? AND target = ?",
        (number, msgid, target),
    ).fetchone()
    return int(row[0]) if row else None


def _values(groups: list[Group]) -> list[tuple[object, ...]]:
    """The queued groups as rows of the INSERT's values, the search words included."""
    rows: list[tuple[object, ...]] = []
    for shared, values, channel in groups:
        target, millis, source, account, verb, tags, party_a, party_b = shared
        # A group of texts to one channel holds each text as a JSON string.
        head = "" if channel is None else "[" + quote_json(channel) + ", "
        for i in range(0, len(values), 3):
            params = values[i + 2] if channel is None else f"{head}{values[i + 2]}]"
            rows.append(
                (
                    values[i],
                    values[i + 1],
                    target,
                    millis,
                    source,
                    account,
                    verb,
                    params,
                    tags,
                    party_a,
                    party_b,
                    tsvector(verb, str(params)),
                )
            )
    return rows


def _prune_by_age(tx: Any, cutoff: int) -> None:
    """Remove the messages older than ``cutoff`` (ms), target by target through the
    (target, time) index (a loose index scan: no index of time alone for every insert
    to pay for, and no scan of the table)."""
    tx.execute(
        f"WITH RECURSIVE targets(name) AS (SELECT MIN(target) FROM {_TABLE} UNION ALL"
        f" SELECT (SELECT MIN(target) FROM {_TABLE} WHERE target > name) FROM targets"
        " WHERE name IS NOT NULL)"
        f" DELETE FROM {_TABLE} WHERE target IN (SELECT name FROM targets"
        " WHERE name IS NOT NULL) AND time_ms < ?",
        (cutoff,),
    )
