"""Reading a target's messages: they are rows of ``messages`` and runs of ``batches``
(see :mod:`server.history`); a read asks both, in one snapshot so that nothing the
writer commits meanwhile shows in one and not the other, and merges them by id, each
bounded by an index."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import sqlite3
from collections.abc import Iterable, Iterator

from .history_records import Record
from .history_schema import BATCH_COLUMNS, BatchRow, batch_msgid

#: A ``messages`` row's columns, as :func:`row_records` reads them.
_ROW_COLUMNS = (
    "id, msgid, target, time_ms, source, command, params, tags, account, party_a, party_b"
)


@contextlib.contextmanager
def snapshot(db: sqlite3.Connection) -> Iterator[None]:
    """One read transaction around several queries: they all see the same commits."""
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.rollback()


def row_records(db: sqlite3.Connection, sql: str, args: tuple) -> list[tuple[int, Record]]:
    """The ``messages`` rows matching ``sql`` (what follows WHERE), with their ids."""
    return [
        (
            row[0],
            Record(
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                tuple(json.loads(row[6])),
                json.loads(row[7]),
                row[8],
                row[9],
                row[10],
            ),
        )
        for row in db.execute(f"SELECT {_ROW_COLUMNS} FROM messages WHERE {sql}", args)
    ]


def batch_record(batch: BatchRow, number: int, texts: list[str]) -> Record:
    """The message with id ``number`` of ``batch`` (whose texts are ``texts``)."""
    return Record(
        batch_msgid(batch, number),
        batch[3],
        batch[4],
        batch[5],
        batch[7],
        (batch[8], texts[number - batch[0]]),
        {},
        batch[6],
    )


def _batch_records(
    batches: Iterable[BatchRow], low: int, high: int, limit: int, descending: bool
) -> list[tuple[int, Record]]:
    """Up to ``limit`` messages with ``low < id < high`` of ``batches`` (in id order,
    descending or not), with their ids, in that order: it reads only as many batches
    as it needs."""
    out: list[tuple[int, Record]] = []
    for batch in batches:
        first, last = max(batch[0], low + 1), min(batch[1], high - 1)
        texts = json.loads(batch[9])
        numbers = range(last, first - 1, -1) if descending else range(first, last + 1)
        for number in numbers:
            out.append((number, batch_record(batch, number, texts)))
            if len(out) >= limit:
                return out
    return out


def window(
    db: sqlite3.Connection,
    target: str,
    low: int,
    high: int,
    limit: int,
    descending: bool,
    without: str = "TOPIC",
) -> list[Record]:
    """Up to ``limit`` messages of ``target`` with ``low < id < high``, never a topic
    change nor a row of ``without``: the ones nearest ``high`` when ``descending``,
    else nearest ``low``; oldest first."""
    order = "DESC" if descending else "ASC"
    with snapshot(db):
        rows = row_records(
            db,
            "target = ? AND id > ? AND id < ? AND command NOT IN ('TOPIC', ?)"
            f" ORDER BY id {order} LIMIT ?",
            (target, low, high, without, limit),
        )
        if descending:
            found = db.execute(
                f"SELECT {BATCH_COLUMNS} FROM batches WHERE target = ? AND id < ?"
                " AND last > ? AND command != ? ORDER BY id DESC",
                (target, high, low, without),
            )
        else:
            # From the run holding ``low + 1``, if one does (it starts at or below it).
            found = db.execute(
                f"SELECT {BATCH_COLUMNS} FROM batches WHERE target = ?1 AND id >= COALESCE("
                "(SELECT MAX(id) FROM batches WHERE target = ?1 AND id <= ?2), ?2)"
                " AND id < ?3 AND last > ?2 AND command != ?4 ORDER BY id",
                (target, low, high, without),
            )
        runs = _batch_records(found, low, high, limit, descending)
    merged = heapq.merge(rows, runs, key=lambda entry: entry[0], reverse=descending)
    records = [record for _, record in itertools.islice(merged, limit)]
    return records[::-1] if descending else records
