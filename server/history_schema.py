"""The history database's schema, how an older one is brought up to it, and the lookup
of a message by its msgid, which depends on the schema a row was written under."""

from __future__ import annotations

import json
import re
import sqlite3

from . import msgids

_COLUMNS = """
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    msgid TEXT NOT NULL,
    target TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    account TEXT,
    command TEXT NOT NULL,
    params TEXT NOT NULL,
    tags TEXT NOT NULL,
    party_a TEXT,
    party_b TEXT
"""
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS messages ({_COLUMNS});
CREATE INDEX IF NOT EXISTS messages_by_target ON messages (target, id);
-- Every query form has an index that bounds its work by what it returns, not by the
-- size of the table (EXPLAIN QUERY PLAN each one when adding a query):
-- timestamp references, TARGETS and pruning by age by (target, time); private
-- conversations by each party and time; a channel's last topic by a small index of
-- topics only. Each index costs every insert a B-tree step, so pruning (once a minute)
-- has none of its own.
CREATE INDEX IF NOT EXISTS messages_by_target_time ON messages (target, time_ms);
CREATE INDEX IF NOT EXISTS messages_by_party_a ON messages (party_a, time_ms)
    WHERE party_a IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_by_party_b ON messages (party_b, time_ms)
    WHERE party_b IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_topics ON messages (target, id) WHERE command = 'TOPIC';
-- The reactions to a message that is deleted are found among a target's TAGMSGs only.
CREATE INDEX IF NOT EXISTS messages_tagmsgs ON messages (target, id) WHERE command = 'TAGMSG';
-- A run of a read's messages to a channel (one sender, one command, one time, no tags
-- but their msgids, consecutive ids) is one row here instead of one row a message: at
-- full rate such a run holds a hundred messages or more, and every row costs a B-tree
-- step in the table and in each index. ``id`` is the first message's id, ``last`` the
-- last one's; every id between is one of its messages, whose msgid is ``prefix`` and
-- its id in hex, whose parameters are ``channel`` and its text (``texts``: a JSON array,
-- the first message's text first). Its ids are those no row of ``messages`` has.
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    last INTEGER NOT NULL,
    prefix TEXT NOT NULL,
    target TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    account TEXT,
    command TEXT NOT NULL,
    channel TEXT NOT NULL,
    texts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_target ON batches (target, id);
CREATE INDEX IF NOT EXISTS batches_by_target_time ON batches (target, time_ms);
-- Replaced by the two party indexes above; no query used it.
DROP INDEX IF EXISTS messages_by_party;
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
"""
#: The history schema's version (the ``schema_version`` row ``history``). 1: what
#: databases written before the table existed hold; 2: a direct conversation is keyed by
#: its parties' accounts (or their connections), its rows name sender and recipient;
#: 3: no index of time alone (pruning by age goes target by target); 4: a row's id is the
#: number in its msgid, and msgids are no longer unique by index (the rows written before
#: have a partial index of their msgids, :data:`LEGACY_MSGIDS`); 5: runs of a channel's
#: messages are rows of ``batches``.
SCHEMA_VERSION = 5
#: The index of the msgids of rows written before schema 4, whose msgids do not hold
#: their ids: ``WHERE id <= N``, N the largest id when the database was brought to 4.
LEGACY_MSGIDS = "messages_legacy_msgids"
#: Where version 1's direct conversations go: keyed by nicks, they belong to nobody
#: provable, so no query reaches them (whoever holds a nick now is not who held it then).
LEGACY_DM_PREFIX = "nick-dm:"


def keep_taken(db: sqlite3.Connection) -> None:
    """Record the msgid numbers taken so far as used (not committed), so that the next
    run starts above them even where their messages were never stored (a typing
    notification) or have been deleted since: a floor or a msgid a client holds then
    never names a later message."""
    db.execute(
        "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'messages' AND seq < ?1",
        (msgids.last_taken(),),
    )


#: A ``batches`` row's columns, in the order :func:`batch_at` and the readers take them.
BATCH_COLUMNS = "id, last, prefix, target, time_ms, source, account, command, channel, texts"
#: A ``batches`` row (:data:`BATCH_COLUMNS`).
BatchRow = tuple[int, int, str, str, int, str, "str | None", str, str, str]


def batch_at(db: sqlite3.Connection, number: int) -> BatchRow | None:
    """The batch holding the message with id ``number``, if one does (the primary key's
    last entry at or below it)."""
    row = db.execute(
        f"SELECT {BATCH_COLUMNS} FROM batches WHERE id <= ? ORDER BY id DESC LIMIT 1", (number,)
    ).fetchone()
    return row if row is not None and row[1] >= number else None


def batch_msgid(row: BatchRow, number: int) -> str:
    """The msgid of the message of batch ``row`` with id ``number``."""
    return f"{row[2]}{number:x}"


def find_message(db: sqlite3.Connection, legacy: int, msgid: str, target: str) -> int | None:
    """The id of ``target``'s message ``msgid``, or None: the row its number names
    (the primary key) or the batch holding it, else, for a database written before
    schema 4, a row up to ``legacy`` found by the partial index of their msgids. Every
    lookup by msgid."""
    number = msgids.row_id(msgid)
    if number is not None and number > legacy:
        row = db.execute(
            "SELECT id FROM messages WHERE id = ? AND msgid = ? AND target = ?",
            (number, msgid, target),
        ).fetchone()
        if row:
            return int(row[0])
        batch = batch_at(db, number)
        if batch is not None and batch[3] == target and batch_msgid(batch, number) == msgid:
            return number
    if not legacy:
        return None
    # An old msgid may read as any number, one above ``legacy`` included.
    # The bound is written into the statement: a bound parameter would not let SQLite
    # see that the query stays within the partial index.
    row = db.execute(
        f"SELECT id FROM messages WHERE msgid = ? AND id <= {int(legacy)} AND target = ?",
        (msgid, target),
    ).fetchone()
    return int(row[0]) if row else None


def legacy_bound(db: sqlite3.Connection) -> int:
    """The largest id of a row whose msgid may not hold it (read from the definition of
    :data:`LEGACY_MSGIDS`; 0 when there is no such index)."""
    row = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (LEGACY_MSGIDS,)
    ).fetchone()
    found = re.search(r"WHERE id <= (\d+)\s*$", row[0]) if row else None
    return int(found.group(1)) if found else 0


def used_ids(db: sqlite3.Connection) -> int:
    """The largest id the table has ever used or handed out (its newest rows may be
    gone), making sure the table has its ``sqlite_sequence`` row (see ``keep_taken``)."""
    newest = db.execute(
        "SELECT MAX(COALESCE((SELECT MAX(id) FROM messages), 0),"
        " COALESCE((SELECT MAX(last) FROM batches), 0))"
    ).fetchone()[0]
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
    if row is None:
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)", (newest,))
        db.commit()
        return newest
    return max(newest, row[0])


def _rebuild_without_unique_msgids(db: sqlite3.Connection) -> None:
    """Rebuild the table without its UNIQUE msgid constraint (whose index SQLite cannot
    drop), keeping every row, its id, the sequence and the triggers others put on it
    (the search index's), and index the msgids of the rows it holds (new rows hold their
    ids in their msgids and are not in that index)."""
    if db.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_autoindex_messages_1'"
    ).fetchone():
        triggers = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'"
        ).fetchall()
        db.execute(f"CREATE TABLE messages_v4 ({_COLUMNS})")
        db.execute(
            "INSERT INTO messages_v4 SELECT id, msgid, target, time_ms, source, account,"
            " command, params, tags, party_a, party_b FROM messages"
        )
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
        db.execute("DROP TABLE messages")  # its indexes too: the schema makes them again
        # SQLite's way to change a table (https://sqlite.org/lang_altertable.html): the
        # views that read ``messages`` (the search index's) would otherwise make the
        # rename fail while the name is missing.
        db.execute("PRAGMA legacy_alter_table = ON")
        try:
            db.execute("ALTER TABLE messages_v4 RENAME TO messages")
        finally:
            db.execute("PRAGMA legacy_alter_table = OFF")
        for (trigger,) in triggers:
            db.execute(trigger)
        if row is not None:
            db.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'messages'", row)
    newest = db.execute("SELECT MAX(id) FROM messages").fetchone()[0]
    if newest:
        db.execute(
            f"CREATE INDEX IF NOT EXISTS {LEGACY_MSGIDS} ON messages (msgid)"
            f" WHERE id <= {int(newest)}"
        )


def migrate(db: sqlite3.Connection) -> None:
    """Bring a database written by an earlier version up to ``SCHEMA_VERSION`` (not
    committed: all of it or nothing, a rebuilt table included)."""
    if not db.in_transaction:
        db.execute("BEGIN IMMEDIATE")  # DDL would otherwise commit step by step
    row = db.execute("SELECT version FROM schema_version WHERE component = 'history'").fetchone()
    version = row[0] if row else 1
    if version < 2:
        # Version 1 keyed a direct conversation by the two nicks: whoever took a nick
        # later read it. Nobody can prove to be one of those parties now.
        db.execute(
            "UPDATE messages SET target = ? || target, party_a = NULL, party_b = NULL"
            " WHERE target LIKE 'dm:%'",
            (LEGACY_DM_PREFIX,),
        )
    if version < 3:
        # Only pruning by age read it, and it cost every insert a B-tree step.
        db.execute("DROP INDEX IF EXISTS messages_by_time")
    if version < 4:
        # The UNIQUE index of msgids cost every insert a B-tree step; a msgid now names
        # its row's id, so only the rows written before need an index of msgids.
        _rebuild_without_unique_msgids(db)
    db.execute(
        "INSERT OR REPLACE INTO schema_version (component, version) VALUES ('history', ?)",
        (SCHEMA_VERSION,),
    )


#: Removes the reactions to a deleted message: the TAGMSGs after it in its target that
#: reply to it with ``+draft/react`` or ``+draft/unreact`` (through the index of TAGMSGs,
#: never the whole target).
REACTIONS_DELETE = (
    "DELETE FROM messages WHERE target = ? AND id > ? AND command = 'TAGMSG'"
    " AND json_extract(tags, '$.\"+draft/reply\"') = ?"
    " AND (json_extract(tags, '$.\"+draft/react\"') IS NOT NULL"
    " OR json_extract(tags, '$.\"+draft/unreact\"') IS NOT NULL)"
)


def delete_message(db: sqlite3.Connection, legacy: int, target: str, msgid: str) -> int:
    """Delete the message ``msgid`` of ``target`` and the reactions to it (not committed);
    the rows removed (0: it is not there). ``legacy``: see :func:`find_message`."""
    found = find_message(db, legacy, msgid, target)
    if found is None:
        return 0
    removed = db.execute("DELETE FROM messages WHERE id = ?", (found,)).rowcount
    if not removed:
        batch = batch_at(db, found)
        if batch is not None:
            keep_batch(db, batch, [(batch[0], found - 1), (found + 1, batch[1])])
            removed = 1
    # A reaction (a TAGMSG replying with +draft/react, or taking one back) means nothing
    # without its message; replies stay: they are someone else's words.
    return removed + db.execute(REACTIONS_DELETE, (target, found, msgid)).rowcount


def keep_batch(db: sqlite3.Connection, batch: BatchRow, parts: list[tuple[int, int]]) -> None:
    """Replace ``batch`` by the runs of its messages ``parts`` names (first and last id
    of each; an empty run is left out): what a deletion or pruning keeps of it. Its row
    is deleted and the runs inserted as rows of their own (the search index's triggers
    take the deleted row's words out and index the new rows it had indexed)."""
    first = batch[0]
    texts = json.loads(batch[9])
    db.execute("DELETE FROM batches WHERE id = ?", (first,))
    for low, high in parts:
        low, high = max(low, first), min(high, batch[1])
        if low > high:
            continue
        kept = json.dumps(texts[low - first : high - first + 1])
        db.execute(
            f"INSERT INTO batches ({BATCH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (low, high, *batch[2:9], kept),
        )
