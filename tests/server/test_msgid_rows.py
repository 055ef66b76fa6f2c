"""A msgid names its history row: the row's id is the number in it, a lookup by msgid
reads the primary key, a database of schema 3 keeps its msgids through a partial index,
and no number is handed out twice by one database, even after its newest rows are gone."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from server.history import HistoryStore
from server.history_records import Record
from server.msgids import row_id
from server.search import Query, SearchIndex
from tests.support.ircclient import IRCClient
from tests.support.search_v1 import index_version_1
from tests.support.sqltrace import SQLTrace

FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")
NOW = int(time.time() * 1000) - 60_000

#: The history schema as version 3 wrote it (server/history.py before version 4).
_SCHEMA_3 = """
CREATE TABLE messages (
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
CREATE INDEX messages_by_target ON messages (target, id);
CREATE INDEX messages_by_target_time ON messages (target, time_ms);
CREATE INDEX messages_by_party_a ON messages (party_a, time_ms) WHERE party_a IS NOT NULL;
CREATE INDEX messages_by_party_b ON messages (party_b, time_ms) WHERE party_b IS NOT NULL;
CREATE INDEX messages_topics ON messages (target, id) WHERE command = 'TOPIC';
CREATE TABLE schema_version (component TEXT PRIMARY KEY, version BIGINT NOT NULL);
INSERT INTO schema_version VALUES ('history', 3);
"""
#: Msgids as version 3's server made them: a run's prefix and its own counter, whose
#: numbers have nothing to do with the rows' ids (the first is row 2, the third row 1,
#: the last reads as 4095, past every old row).
_OLD_MSGIDS = ["a1b2c3d41", "a1b2c3d42", "a1b2c3d43", "9f9f9f9f1", "9f9f9f9fff"]


def _schema_3_database(path: Path, deleted_newest: int = 0) -> None:
    """A version 3 database: five messages in #general, ids 1 to 5 (their msgids do not
    hold them), then ``deleted_newest`` more whose rows are gone (the sequence remembers)."""
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA_3)
    order = [_OLD_MSGIDS[2], _OLD_MSGIDS[0], _OLD_MSGIDS[1], _OLD_MSGIDS[3], _OLD_MSGIDS[4]]
    extra = [f"0000000{i}" for i in range(deleted_newest)]
    db.executemany(
        "INSERT INTO messages (msgid, target, time_ms, source, command, params, tags)"
        " VALUES (?, '#general', ?, 'old!u@h', 'PRIVMSG', ?, '{}')",
        [
            (msgid, NOW + i, json.dumps(["#general", f"old {i}"]))
            for i, msgid in enumerate(order + extra)
        ],
    )
    db.execute("DELETE FROM messages WHERE id > 5")
    db.commit()
    db.close()


def _client(server, nick: str) -> IRCClient:
    client = IRCClient(server.port)
    client.register(nick, FULL)
    return client


def _batch(client: IRCClient, line: str) -> list[str]:
    """The texts of a CHATHISTORY batch."""
    return [message.params[1] for message in client.batch(line)[1]]


def _say(client: IRCClient, *texts: str) -> list[str]:
    """Send texts to #general, one read; the msgids of their echoes."""
    client.send(*(f"PRIVMSG #general :{text}" for text in texts))
    return [client.expect("PRIVMSG", "#general", text).tags["msgid"] for text in texts]


def _rows(path: Path) -> list[tuple[int, str]]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT id, msgid FROM messages ORDER BY id").fetchall()
    finally:
        db.close()


def test_old_and_new_msgids_are_found_across_a_restart(make_server, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    _schema_3_database(path)
    first = make_server(data_dir=str(tmp_path), flood_rate=0)
    alice = _client(first, "alice")
    new = _say(alice, "new 0", "new 1", "new 2")
    assert first.history.flush()
    stored = _rows(path)
    # The new rows' ids are the numbers in their msgids, above every old one.
    assert stored[5:] == [(row_id(msgid), msgid) for msgid in new]
    order = [_OLD_MSGIDS[2], _OLD_MSGIDS[0], _OLD_MSGIDS[1], _OLD_MSGIDS[3], _OLD_MSGIDS[4]]
    assert stored[:5] == list(enumerate(order, 1))  # the old rows kept their ids
    assert min(row_id(msgid) or 0 for msgid in new) > 5
    port = first.port
    first.stop()
    alice.close()
    second = make_server(data_dir=str(tmp_path), port=port, flood_rate=0)
    alice = _client(second, "alice")
    later = _say(alice, "new 3")
    assert row_id(later[0]) > row_id(new[-1])
    # A migrated row (its msgid's number names another row) and a new one, as references.
    assert _batch(alice, f"CHATHISTORY BEFORE #general msgid={_OLD_MSGIDS[1]} 10") == [
        "old 0",
        "old 1",
    ]
    assert _batch(alice, f"CHATHISTORY AFTER #general msgid={_OLD_MSGIDS[4]} 2") == [
        "new 0",
        "new 1",
    ]
    assert _batch(
        alice, f"CHATHISTORY BETWEEN #general msgid={_OLD_MSGIDS[3]} msgid={new[1]} 9"
    ) == [
        "old 4",
        "new 0",
    ]
    assert _batch(alice, f"CHATHISTORY AROUND #general msgid={new[2]} 3") == [
        "new 1",
        "new 2",
        "new 3",
    ]
    # A msgid with a stored row's number but another run's prefix, one with another
    # target's number, or with more digits than a row id holds, names nothing.
    forged = "00000000" + new[0][8:]
    too_long = new[0][:8] + "f" * 40
    for ref in (forged, too_long, new[0][:8] + "-1", new[0][:8] + "0x" + new[0][8:], new[0][:8]):
        assert _batch(alice, f"CHATHISTORY AFTER #general msgid={ref} 5") == [], ref
    alice.close()


def test_ids_are_never_handed_out_twice(make_server, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    _schema_3_database(path, deleted_newest=4)  # ids 6 to 9 were used, then deleted
    first = make_server(data_dir=str(tmp_path), flood_rate=0)
    alice = _client(first, "alice")
    said = _say(alice, "kept", "deleted")
    # A typing notification is relayed with a msgid but never stored.
    alice.send("@+typing=active TAGMSG #general")
    typing = alice.expect("TAGMSG").tags["msgid"]
    assert first.history.flush()
    assert min(row_id(m) or 0 for m in said) > 9
    port = first.port
    first.stop()
    alice.close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM messages WHERE msgid = ?", (said[1],))  # the newest row
    db.commit()
    db.close()
    second = make_server(data_dir=str(tmp_path), port=port, flood_rate=0)
    alice = _client(second, "alice")
    after = _say(alice, "after the restart")
    assert row_id(after[0]) > max(row_id(said[1]) or 0, row_id(typing) or 0)
    assert after[0] not in {*said, typing}
    assert _batch(alice, f"CHATHISTORY AFTER #general msgid={said[0]} 5") == ["after the restart"]
    alice.close()


def test_a_new_database_has_no_index_of_msgids(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    store.close()
    db = sqlite3.connect(tmp_path / "h.sqlite3")
    indexed = db.execute(
        "SELECT il.name FROM pragma_index_list('messages') AS il"
        " JOIN pragma_index_info(il.name) AS ii WHERE ii.name = 'msgid'"
    ).fetchall()
    db.close()
    assert indexed == []


def test_every_lookup_by_msgid_reads_the_primary_key_or_the_partial_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.sqlite3"
    _schema_3_database(path)
    trace = SQLTrace(monkeypatch)
    store = HistoryStore(path)
    msgid = "cafef00d" + format(1000, "x")
    store.add(Record(msgid, "#general", NOW, "n!u@h", "PRIVMSG", ("#general", "new"), {}))
    assert store.flush()
    assert store.locate("#general", "msgid=" + msgid) == (1000, 1000)
    assert store.locate("#general", "msgid=" + _OLD_MSGIDS[0]) == (2, 2)
    assert store.locate("#general", "msgid=" + _OLD_MSGIDS[4]) == (5, 5)
    assert store.locate("#general", "msgid=nothing-like-it") is None
    # REDACT's lookups: the message's record, and its deletion on the writer's thread.
    found = store.find("#general", msgid)
    assert found is not None and found.params == ("#general", "new")
    assert store.remove("#general", _OLD_MSGIDS[3]) == 1
    assert store.locate("#general", "msgid=" + _OLD_MSGIDS[3]) is None
    store.close()
    lookups = [s for s in trace.statements if s.startswith("SELECT id FROM messages WHERE")]
    lookups = [s for s in lookups if "msgid =" in s]
    assert len(lookups) == 8, lookups  # the last old msgid: its number, then the index
    plans = sqlite3.connect(path)
    try:
        for statement in lookups:
            plan = [row[3] for row in plans.execute("EXPLAIN QUERY PLAN " + statement)]
            assert plan in (
                ["SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)"],
                ["SEARCH messages USING INDEX messages_legacy_msgids (msgid=? AND rowid<?)"],
            ), (statement, plan)
    finally:
        plans.close()


def test_a_schema_3_database_with_a_search_index_keeps_it_through_the_rebuild(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    _schema_3_database(path)
    index_version_1(path)  # its view and triggers read ``messages``
    store = HistoryStore(path)
    index = SearchIndex(path, store.busy)
    try:
        found = index.search(Query({"#general": 0}, words=["old"], limit=10))
        assert [r.msgid for r in found] == [
            _OLD_MSGIDS[2],
            _OLD_MSGIDS[0],
            _OLD_MSGIDS[1],
            _OLD_MSGIDS[3],
            _OLD_MSGIDS[4],
        ]
        with sqlite3.connect(path) as db:
            # The search index's triggers still take a removed row out of it.
            db.execute("DELETE FROM messages WHERE msgid = ?", (_OLD_MSGIDS[0],))
            db.execute("INSERT INTO search_index (search_index) VALUES ('integrity-check')")
        found = index.search(Query({"#general": 0}, words=["old"], limit=10))
        assert _OLD_MSGIDS[0] not in [r.msgid for r in found] and len(found) == 4
        assert store.locate("#general", "msgid=" + _OLD_MSGIDS[1]) == (3, 3)
    finally:
        index.close()
        store.close()
