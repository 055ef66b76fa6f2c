"""The history writer: rows queued in groups that share their values, the schema's
indexes (version 3: none of time alone) and pruning by age without one."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from server import history_records
from server.history import SCHEMA_VERSION, HistoryStore, dm_target
from server.history_records import NO_TAGS, Group, params_json, quote_json
from tests.support.ircclient import IRCClient
from tests.support.sqltrace import SQLTrace

NOW = int(time.time() * 1000)
OLD = NOW - 10 * 86_400_000  # ten days ago


def _indexes(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        db.close()


def _msgid(number: int) -> str:
    """A msgid of the form the server makes (a prefix, then the row's id in hex)."""
    return f"feedc0de{number:x}"


def _group(
    target: str, millis: int, verb: str, texts: list[str], first: int, as_texts: bool = False
) -> Group:
    """A group of rows with parameters as JSON, or (``as_texts``) of texts to ``target``
    (``store_many``'s, stored as one batch from four messages on)."""
    rows: list[int | str] = []
    for i, text in enumerate(texts, first):
        rows += (i, _msgid(i), quote_json(text) if as_texts else params_json((target, text)))
    shared = (target, millis, "n!u@h", "Acc", verb, NO_TAGS, None, None)
    return shared, rows, target if as_texts else None


def test_groups_of_every_size_are_stored_in_order_with_their_shared_values(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    sizes = [1, 3, 4, 250, 2, 99, 100]  # alone, among whole rows, one and several statements
    # Each size as rows with their parameters' JSON, then as texts (a batch from 4 on).
    groups = [
        _group(
            "#c",
            NOW + n,
            "NOTICE" if n % 2 else "PRIVMSG",
            [f"{n}.{kind}.{i}" for i in range(k)],
            1000 * (n + 1) + 500 * kind,
            as_texts=bool(kind),
        )
        for n, k in enumerate(sizes)
        for kind in (0, 1)
    ]
    store.add_groups(groups[:5])
    store.add_rows(
        [
            history_records.row(
                _msgid(3900), "#c", NOW + 50, "m!u@h", None, "PRIVMSG", ("#c", "row"), {"+x": "1"}
            )
        ]
    )
    store.add_groups(groups[5:])
    assert store.flush()
    got = store.latest("#c", 2000)
    want: list[tuple] = []
    for n, k in enumerate(sizes):
        verb = "NOTICE" if n % 2 else "PRIVMSG"
        for kind in (0, 1):
            first = 1000 * (n + 1) + 500 * kind
            want += [
                (_msgid(first + i), NOW + n, "n!u@h", verb, ("#c", f"{n}.{kind}.{i}"), {}, "Acc")
                for i in range(k)
            ]
        if n == 2:
            want.append(
                (_msgid(3900), NOW + 50, "m!u@h", "PRIVMSG", ("#c", "row"), {"+x": "1"}, None)
            )
    assert [
        (r.msgid, r.time_ms, r.source, r.command, r.params, r.tags, r.account) for r in got
    ] == want
    store.close()
    db = sqlite3.connect(tmp_path / "h.sqlite3")
    runs = db.execute("SELECT id, last FROM batches ORDER BY id").fetchall()
    db.close()
    # The groups of texts of four messages or more, one row each.
    assert runs == [
        (1000 * (n + 1) + 500, 1000 * (n + 1) + 500 + k - 1) for n, k in enumerate(sizes) if k >= 4
    ]


def _version_2_database(path: Path) -> None:
    """A database as version 2 left it: its schema, an index of time alone, and rows old
    and new in two channels and a private conversation."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT, msgid TEXT NOT NULL UNIQUE,
            target TEXT NOT NULL, time_ms INTEGER NOT NULL, source TEXT NOT NULL,
            account TEXT, command TEXT NOT NULL, params TEXT NOT NULL, tags TEXT NOT NULL,
            party_a TEXT, party_b TEXT
        );
        CREATE INDEX messages_by_target ON messages (target, id);
        CREATE INDEX messages_by_time ON messages (time_ms);
        CREATE INDEX messages_by_target_time ON messages (target, time_ms);
        CREATE TABLE schema_version (component TEXT PRIMARY KEY, version BIGINT NOT NULL);
        INSERT INTO schema_version VALUES ('history', 2);
        """
    )
    key, a, b = dm_target("me", "you")
    rows = [
        ("a-old", "#a", OLD, "PRIVMSG", None, None),
        ("a-new", "#a", NOW, "PRIVMSG", None, None),
        ("b-new", "#b", NOW, "PRIVMSG", None, None),
        ("b-old", "#b", OLD, "PRIVMSG", None, None),  # an old time after a newer one
        ("d-old", key, OLD, "PRIVMSG", a, b),
        ("d-new", key, NOW, "PRIVMSG", a, b),
    ]
    db.executemany(
        "INSERT INTO messages (msgid, target, time_ms, source, command, params, tags,"
        " party_a, party_b) VALUES (?, ?, ?, 'n!u@h', ?, ?, '{}', ?, ?)",
        [(m, t, when, verb, params_json((t, m)), pa, pb) for m, t, when, verb, pa, pb in rows],
    )
    db.commit()
    db.close()


def test_a_version_2_database_loses_its_index_of_time_and_keeps_its_messages(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    _version_2_database(path)
    assert "messages_by_time" in _indexes(path)
    store = HistoryStore(path)
    assert store.flush()
    assert "messages_by_time" not in _indexes(path)
    assert {"messages_by_target", "messages_by_target_time"} <= _indexes(path)
    db = sqlite3.connect(path)
    version = db.execute("SELECT version FROM schema_version WHERE component = 'history'")
    assert version.fetchone()[0] == SCHEMA_VERSION == 5
    db.close()
    assert [r.msgid for r in store.latest("#a", 10)] == ["a-old", "a-new"]
    assert [r.msgid for r in store.latest("#b", 10)] == ["b-new", "b-old"]
    store.close()


def test_pruning_by_age_reaches_every_target_through_an_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.sqlite3"
    _version_2_database(path)
    trace = SQLTrace(monkeypatch)
    # The first prune runs when the store opens, on the thread that opens it.
    store = HistoryStore(path, max_days=7)
    key = dm_target("me", "you")[0]
    assert [r.msgid for r in store.latest("#a", 10)] == ["a-new"]
    assert [r.msgid for r in store.latest("#b", 10)] == ["b-new"]
    assert [r.msgid for r in store.latest(key, 10)] == ["d-new"]
    store.close()
    plans = sqlite3.connect(path)
    pruning = [s for s in trace.statements if "DELETE" in s and "time_ms <" in s]
    assert len(pruning) == 2  # the rows, and the batches
    for statement, table, index in zip(
        pruning,
        ("messages", "batches"),
        ("messages_by_target_time", "batches_by_target_time"),
        strict=True,
    ):
        plan = [row[3] for row in plans.execute("EXPLAIN QUERY PLAN " + statement)]
        assert not [step for step in plan if step.startswith(f"SCAN {table}")], plan
        assert f"SEARCH {table} USING INDEX {index} (target=? AND time_ms<?)" in plan
    plans.close()


def test_one_read_of_mixed_messages_is_stored_as_it_was_echoed(make_server, tmp_path: Path) -> None:
    server = make_server(data_dir=str(tmp_path), flood_rate=0, autojoin=[])
    alice = IRCClient(server.port)
    alice.register("alice", ("echo-message", "message-tags"))
    alice.send("JOIN #mix")
    alice.expect("366")
    lines = [
        *(f"PRIVMSG #mix :p{i}" for i in range(5)),  # a group of its own
        *(f"NOTICE #mix :n{i}" for i in range(5)),  # another verb: another group
        "@+draft/reply=x PRIVMSG #mix :tagged",  # tags of its own: a row of its own
        *(f"PRIVMSG #mix :q{i}" for i in range(2)),  # too few for a statement of their own
        "NOTICE #mix :lone",
        *(f"PRIVMSG #mix :r{i}" for i in range(150)),  # more than one statement holds
    ]
    alice.send(*lines)
    echoed = [m for m in alice.sync() if m.command in ("PRIVMSG", "NOTICE")]
    assert server.history.flush()
    stored = server.history.latest("#mix", 1000)
    assert [(r.msgid, r.command, r.params, r.tags) for r in stored] == [
        (
            m.tags["msgid"],
            m.command,
            ("#mix", m.params[1]),
            {"+draft/reply": "x"} if "+draft/reply" in m.tags else {},
        )
        for m in echoed
    ]
    assert [r.params[1] for r in stored] == [line.rsplit(":", 1)[1] for line in lines]
    assert {r.source.split("!")[0] for r in stored} == {"alice"}
    alice.close()
