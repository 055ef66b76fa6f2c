"""Retention: a history keeps messages for so many days, so many per target, or within
so many bytes; what falls outside goes, from both ``messages`` and the runs of
``batches`` (see :mod:`server.history`). The caller commits what the age and count
rules remove; the budget commits each of its rounds."""

from __future__ import annotations

import sqlite3

from .history_schema import batch_at, keep_batch

#: A budget prune removes messages until the file is this far under its budget, so the
#: next prunes do not each remove a few rows.
_BUDGET_SLACK = 0.9


def prune_by_age(db: sqlite3.Connection, table: str, cutoff: int) -> None:
    """Remove the messages older than ``cutoff`` (ms) from ``table`` (``messages`` or
    ``batches``, whose runs share one time), one target at a time.

    An index of time alone would cost every insert; this steps from target to target
    through the (target, time) index instead (each step a search for the next name), and
    removes each target's old messages by a search of the same index: two bounded
    searches per target plus what it removes, never a scan of the table.
    """
    db.execute(
        f"WITH RECURSIVE targets(name) AS (SELECT MIN(target) FROM {table} UNION ALL"
        f" SELECT (SELECT MIN(target) FROM {table} WHERE target > name) FROM targets"
        " WHERE name IS NOT NULL)"
        f" DELETE FROM {table} WHERE target IN (SELECT name FROM targets) AND time_ms < ?",
        (cutoff,),
    )


#: Every target's messages and runs, each with how many messages it and the newer ones
#: of its target hold (``upto``) and how many it holds itself (``n``).
_RANKED = (
    "WITH items(id, last, target) AS (SELECT id, id, target FROM messages"
    " UNION ALL SELECT id, last, target FROM batches),"
    " ranked AS (SELECT id, last, last - id + 1 AS n,"
    " SUM(last - id + 1) OVER (PARTITION BY target ORDER BY id DESC) AS upto FROM items) "
)


def prune_by_count(db: sqlite3.Connection, keep: int) -> None:
    """Keep only each target's ``keep`` newest messages (not committed): the rows and
    runs past them go, and a run holding the boundary keeps its newest messages."""
    # Read before anything is deleted: a deletion changes the ranks.
    runs = [
        row[0]
        for row in db.execute(
            _RANKED + "SELECT id FROM ranked WHERE n > 1 AND upto - n >= ?", (keep,)
        )
    ]
    straddling = db.execute(
        _RANKED + "SELECT id, upto - n FROM ranked WHERE upto > ?1 AND upto - n < ?1 AND n > 1",
        (keep,),
    ).fetchall()
    db.execute(
        _RANKED + "DELETE FROM messages WHERE id IN (SELECT id FROM ranked WHERE upto - n >= ?)",
        (keep,),
    )
    db.executemany("DELETE FROM batches WHERE id = ?", [(run,) for run in runs])
    for first, newer in straddling:
        batch = batch_at(db, first)
        if batch is not None:
            kept = keep - newer
            keep_batch(db, batch, [(batch[1] - kept + 1, batch[1])])


def _remove_runs_before(db: sqlite3.Connection, cut: int) -> int:
    """Remove the messages of runs with ids below ``cut`` (not committed): runs wholly
    below it, and the older part of the one holding it; how many messages went."""
    removed = 0
    batch = batch_at(db, cut)
    if batch is not None and batch[0] < cut:
        keep_batch(db, batch, [(cut, batch[1])])
        removed += cut - batch[0]
    gone = db.execute(
        "SELECT COALESCE(SUM(last - id + 1), 0) FROM batches WHERE id < ?", (cut,)
    ).fetchone()[0]
    db.execute("DELETE FROM batches WHERE id < ?", (cut,))
    return removed + gone


def prune_to_budget(db: sqlite3.Connection, budget: int) -> int:
    """Remove the oldest messages until the pages in use fit ``budget`` bytes.

    Freed pages stay in the file and are reused, so the file stops growing at about
    the budget instead of shrinking; the oldest go first, whatever their target. How
    many messages went.
    """
    page = db.execute("PRAGMA page_size").fetchone()[0]
    removed = 0
    for _ in range(16):  # each round removes a share; rows and pages are not exact
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        used = (pages - free) * page
        if used <= budget:
            break
        # (Each table may be empty, and MIN or MAX of a NULL is NULL.)
        low, high = db.execute(
            "SELECT MIN(COALESCE(a, b), COALESCE(b, a)), MAX(COALESCE(c, d), COALESCE(d, c))"
            " FROM (SELECT (SELECT MIN(id) FROM messages) AS a, (SELECT MIN(id) FROM batches)"
            " AS b, (SELECT MAX(id) FROM messages) AS c, (SELECT MAX(last) FROM batches) AS d)"
        ).fetchone()
        if low is None:
            break
        share = min(1.0, (used - budget * _BUDGET_SLACK) / used)
        cut = low + max(1, int((high - low + 1) * share))
        removed += db.execute("DELETE FROM messages WHERE id < ?", (cut,)).rowcount
        removed += _remove_runs_before(db, cut)
        db.commit()
    return removed
