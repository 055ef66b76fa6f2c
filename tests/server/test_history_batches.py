"""Runs of a channel's messages stored as one row of ``batches``: every read, lookup,
deletion, pruning rule and search sees them message by message, exactly as if each
were a row of its own (the same store filled with rows is the reference)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from server.history import RUN_MOST, HistoryStore
from server.history_records import NO_TAGS, Group, params_json, quote_json, row_group
from server.history_records import row as history_row
from server.protocol.codec import format_time
from server.search import Query, SearchIndex
from tests.support.ircclient import IRCClient
from tests.support.search_v1 import index_version_1

NOW = int(time.time() * 1000) - 3_600_000
FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")


def _msgid(number: int) -> str:
    return f"c0ffee00{number:x}"


def _texts(target: str, millis: int, verb: str, first: int, count: int, runs: bool) -> Group:
    """``count`` messages to ``target`` from id ``first``: a group of texts (a run), or
    (not ``runs``) the same messages as rows with their parameters' JSON."""
    rows: list[int | str] = []
    for number in range(first, first + count):
        text = f"{target} {verb.lower()} {number}"
        rows += (number, _msgid(number), quote_json(text) if runs else params_json((target, text)))
    shared = (target, millis, f"n{first}!u@h", "Acc", verb, NO_TAGS, None, None)
    return shared, rows, target if runs else None


def _one(target: str, millis: int, number: int, verb: str = "PRIVMSG") -> Group:
    params = (target, "the topic") if verb == "TOPIC" else (target, f"tagged {number}")
    tags = {} if verb == "TOPIC" else {"+draft/reply": "x"}
    return row_group(history_row(_msgid(number), target, millis, "m!u@h", None, verb, params, tags))


#: Ids 1..120 in two channels: rows, runs, a run that another channel's rows interrupt,
#: NOTICEs, a topic; each group a second after the one before.
def _groups(runs: bool) -> list[Group]:
    return [
        _one("#c", NOW, 1),
        _one("#c", NOW, 2),
        _texts("#c", NOW + 1000, "PRIVMSG", 3, 38, runs),  # 3..40
        _one("#d", NOW + 2000, 41),
        _texts("#d", NOW + 3000, "PRIVMSG", 42, 4, runs),  # 42..45
        _texts("#c", NOW + 4000, "PRIVMSG", 46, 3, runs),  # too few for a run: rows
        _texts("#c", NOW + 5000, "PRIVMSG", 49, 52, runs),  # 49..100
        _texts("#c", NOW + 6000, "NOTICE", 101, 5, runs),  # 101..105
        _one("#c", NOW + 7000, 106, "TOPIC"),
        _texts("#c", NOW + 8000, "PRIVMSG", 107, 14, runs),  # 107..120
    ]


def _store(path: Path, runs: bool, **retention: float) -> HistoryStore:
    store = HistoryStore(path, **retention)  # type: ignore[arg-type]
    store.add_groups(_groups(runs))
    assert store.flush()
    return store


def _count(path: Path, table: str) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        db.close()


@pytest.fixture
def pair(tmp_path: Path):
    """The same history twice: with runs, and all in rows (the reference)."""
    runs, rows = _store(tmp_path / "runs.sqlite3", True), _store(tmp_path / "rows.sqlite3", False)
    yield runs, rows
    runs.close()
    rows.close()


def test_a_run_is_one_row_and_reads_as_its_messages(pair, tmp_path: Path) -> None:
    runs, rows = pair
    assert _count(tmp_path / "runs.sqlite3", "batches") == 5
    assert _count(tmp_path / "runs.sqlite3", "messages") == 7
    assert _count(tmp_path / "rows.sqlite3", "batches") == 0
    everything = rows.latest("#c", 500)
    assert len(everything) == 114  # all of #c but its topic
    assert runs.latest("#c", 500) == everything


@pytest.mark.parametrize("floor", [0, 20, 47])
def test_every_page_of_every_query_form_is_the_same_as_with_rows(pair, floor: int) -> None:
    runs, rows = pair
    for target in ("#c", "#d"):
        for position in range(0, 125, 3):
            for limit in (1, 2, 7, 60):
                ask = {
                    "before": ("before", (target, position, limit, floor), {}),
                    "after": ("after", (target, position, limit, floor), {}),
                    "latest": ("latest", (target, limit, position, floor), {}),
                    "latest but notices": (
                        "latest",
                        (target, limit, position, floor),
                        {"without": "NOTICE"},
                    ),
                    "between, back": (
                        "between",
                        (target, position, position + 30, limit, True, floor),
                        {},
                    ),
                    "between": (
                        "between",
                        (target, position, position + 30, limit, False, floor),
                        {},
                    ),
                }
                for name, (method, args, options) in ask.items():
                    got = getattr(runs, method)(*args, **options)
                    assert got == getattr(rows, method)(*args, **options), (name, args)


def test_paging_through_a_run_misses_and_repeats_nothing(pair) -> None:
    runs, _ = pair
    seen: list[str] = []
    position = 0
    while page := runs.after("#c", position, 4):
        seen += [record.msgid for record in page]
        found = runs.locate("#c", "msgid=" + page[-1].msgid)
        assert found is not None
        position = found[1]
    assert seen == [record.msgid for record in runs.latest("#c", 500)]


def test_a_message_of_a_run_is_found_by_its_msgid_and_time(pair) -> None:
    runs, rows = pair
    for number in range(1, 122):
        for target in ("#c", "#d"):
            msgid = _msgid(number)
            assert runs.find(target, msgid) == rows.find(target, msgid)
            assert runs.find(target, msgid, floor=50) == rows.find(target, msgid, floor=50)
            ref = "msgid=" + msgid
            assert runs.locate(target, ref) == rows.locate(target, ref)
    assert runs.find("#c", _msgid(60)) is not None
    assert runs.find("#c", "deadbeef" + format(60, "x")) is None  # another prefix
    assert runs.find("#d", _msgid(60)) is None  # another channel's
    for step in range(-1, 10):
        for shift in (-1, 0, 1):
            ref = "timestamp=" + format_time(NOW + 1000 * step + shift)
            for floor in (0, 20):
                assert runs.locate("#c", ref, floor) == rows.locate("#c", ref, floor), ref


def test_conversations_with_only_runs_are_listed(pair) -> None:
    runs, rows = pair
    for start, end in ((NOW - 1, NOW + 9000), (NOW + 2500, NOW + 3500), (NOW + 9000, NOW)):
        for floors in (None, {"#d": 45}, {"#c": 200}):
            listed = runs.targets(["#c", "#d"], "nobody", start, end, 10, floors)
            assert listed == rows.targets(["#c", "#d"], "nobody", start, end, 10, floors)
    assert [c.target for c in runs.targets(["#d"], "nobody", NOW + 2500, NOW + 9000, 10)] == ["#d"]


@pytest.mark.parametrize("number", [3, 20, 40, 42, 45])
def test_deleting_a_message_of_a_run_keeps_the_rest(pair, number: int) -> None:
    runs, rows = pair
    target = "#d" if 41 <= number <= 45 else "#c"
    assert runs.remove(target, _msgid(number)) == rows.remove(target, _msgid(number)) == 1
    assert runs.find(target, _msgid(number)) is None
    assert runs.latest(target, 500) == rows.latest(target, 500)
    assert runs.remove(target, _msgid(number)) == 0  # gone already


@pytest.mark.parametrize("keep", [1, 10, 20, 60, 500])
def test_pruning_by_count_cuts_the_run_on_the_boundary(tmp_path: Path, keep: int) -> None:
    runs = _store(tmp_path / "runs.sqlite3", True, max_per_target=keep)
    rows = _store(tmp_path / "rows.sqlite3", False, max_per_target=keep)
    try:
        assert runs.prune() and rows.prune()
        for target in ("#c", "#d"):
            kept = runs.latest(target, 500, without="")
            assert kept == rows.latest(target, 500, without="")
            assert runs.latest_topic(target) == rows.latest_topic(target)
    finally:
        runs.close()
        rows.close()


def test_pruning_by_age_removes_runs_that_are_too_old(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = HistoryStore(path, max_days=1)
    old = NOW - 2 * 86_400_000
    store.add_groups(
        [_texts("#c", old, "PRIVMSG", 1, 10, True), _texts("#c", NOW, "PRIVMSG", 11, 10, True)]
    )
    assert store.flush() and store.prune()
    assert [r.msgid for r in store.latest("#c", 100)] == [_msgid(n) for n in range(11, 21)]
    assert _count(path, "batches") == 1
    store.close()


def test_pruning_to_a_budget_removes_the_oldest_messages_first(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = HistoryStore(path, max_mb=0.25)
    texts = "x" * 400
    groups: list[Group] = []
    for n in range(60):  # about 1.2 MB of texts, in runs of 50
        rows: list[int | str] = []
        for number in range(1 + 50 * n, 51 + 50 * n):
            rows += (number, _msgid(number), quote_json(f"{number} {texts}"))
        groups.append((("#c", NOW + n, "n!u@h", None, "PRIVMSG", NO_TAGS, None, None), rows, "#c"))
    store.add_groups(groups)
    assert store.flush() and store.prune()
    kept = [int(r.params[1].split()[0]) for r in store.latest("#c", 5000)]
    assert 0 < len(kept) < 3000
    assert kept == list(range(kept[0], 3001))  # the newest, every one of them
    store.close()


def test_ids_that_are_not_consecutive_are_stored_as_rows(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    shared, rows, channel = _texts("#c", NOW, "PRIVMSG", 1, 6, True)
    rows[9:] = [10, _msgid(10), quote_json("after a gap"), 11, _msgid(11), quote_json("x")]
    store.add_groups([(shared, rows, channel)])
    assert store.flush()
    assert [(r.msgid, r.params) for r in store.latest("#c", 10)] == [
        (_msgid(1), ("#c", "#c privmsg 1")),
        (_msgid(2), ("#c", "#c privmsg 2")),
        (_msgid(3), ("#c", "#c privmsg 3")),
        (_msgid(10), ("#c", "after a gap")),
        (_msgid(11), ("#c", "x")),
    ]
    assert _count(path, "batches") == 0
    store.close()


def test_a_new_run_numbers_its_messages_after_the_newest_run(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    store.add_groups([_texts("#c", NOW, "PRIVMSG", 500, 20, True)])
    store.close()
    again = HistoryStore(path)
    try:
        assert again.last_id() > 519
    finally:
        again.close()


def _words(index: SearchIndex, word: str, **query: object) -> list[str]:
    found = index.find(Query({"#c": 0, "#d": 0}, words=[word], **query))  # type: ignore[arg-type]
    return [record.msgid for record in found]


def test_search_finds_the_messages_of_runs_and_forgets_deleted_ones(pair) -> None:
    runs, rows = pair
    indexes = SearchIndex(runs.path, runs.busy), SearchIndex(rows.path, rows.busy)
    try:
        for word in ("privmsg", "notice", "tagged", "60", "43"):
            for query in ({}, {"limit": 5}, {"after_ms": NOW + 2500}, {"nick": "n49"}):
                assert _words(indexes[0], word, **query) == _words(indexes[1], word, **query)
        assert _words(indexes[0], "60") == [_msgid(60)]
        for store in (runs, rows):
            store.remove("#c", _msgid(60))
            store.remove("#c", _msgid(3))  # the first of its run
        assert _words(indexes[0], "60") == []
        assert _words(indexes[0], "privmsg") == _words(indexes[1], "privmsg")
        # Without words: by sender and time only.
        found = indexes[0].find(Query({"#c": 50}, nick="n49", limit=10))
        assert [r.msgid for r in found] == [_msgid(n) for n in range(91, 101)]
        found = indexes[0].find(Query({"#c": 50}, after_ms=NOW, limit=3))
        assert [r.msgid for r in found] == [_msgid(n) for n in (51, 52, 53)]
        db = sqlite3.connect(runs.path)
        db.execute("INSERT INTO search_index (search_index) VALUES ('integrity-check')")
        db.close()
    finally:
        for index in indexes:
            index.close()


def test_a_version_1_index_is_kept_and_then_covers_runs(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    store.add_groups([_one("#c", NOW, 1), _one("#c", NOW, 2)])
    store.close()
    db = sqlite3.connect(path)
    db.executescript(
        "DROP TABLE IF EXISTS search_progress; DELETE FROM schema_version"
        " WHERE component = 'search'"
    )
    db.close()
    index_version_1(path)
    store = HistoryStore(path)
    index = SearchIndex(path, store.busy)
    try:
        assert index.indexed_through() == 2  # not indexed again
        store.add_groups([_texts("#c", NOW + 1, "PRIVMSG", 3, 10, True)])
        assert store.flush()
        assert _words(index, "tagged") == [_msgid(1), _msgid(2)]
        assert _words(index, "privmsg") == [_msgid(n) for n in range(3, 13)]
    finally:
        index.close()
        store.close()


def test_a_burst_over_the_wire_is_one_run_and_reads_back_as_it_was_echoed(
    make_server, tmp_path: Path
) -> None:
    server = make_server(data_dir=str(tmp_path), flood_rate=0, autojoin=[])
    alice = IRCClient(server.port)
    alice.register("alice", (*FULL, "draft/message-redaction", "soju.im/search"))
    alice.send("JOIN #burst")
    alice.expect("366")
    alice.send(*(f"PRIVMSG #burst :line {i}" for i in range(40)))
    echoed = [m for m in alice.sync() if m.command == "PRIVMSG"]
    assert server.history.flush()
    assert _count(tmp_path / "history.sqlite3", "batches") >= 1
    msgids = [m.tags["msgid"] for m in echoed]

    def page(command: str) -> list[str]:
        _, lines = alice.batch(command)
        return [m.tags["msgid"] for m in lines if m.command == "PRIVMSG"]

    assert page("CHATHISTORY LATEST #burst * 100") == msgids
    assert page(f"CHATHISTORY BEFORE #burst msgid={msgids[20]} 5") == msgids[15:20]
    assert page(f"CHATHISTORY AFTER #burst msgid={msgids[20]} 5") == msgids[21:26]
    alice.send(f"REDACT #burst {msgids[10]}")
    alice.expect("REDACT")
    assert page("CHATHISTORY LATEST #burst * 100") == msgids[:10] + msgids[11:]
    assert page("SEARCH in=#burst;text=10") == []
    assert page("SEARCH in=#burst;text=11") == [msgids[11]]
    alice.close()


def test_a_long_run_is_stored_in_pieces_read_as_one(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    store.add_groups([_texts("#c", NOW, "PRIVMSG", 1, 2 * RUN_MOST + 10, True)])
    assert store.flush()
    db = sqlite3.connect(path)
    pieces = db.execute("SELECT id, last FROM batches ORDER BY id").fetchall()
    db.close()
    assert pieces == [
        (1, RUN_MOST),
        (RUN_MOST + 1, 2 * RUN_MOST),
        (2 * RUN_MOST + 1, 2 * RUN_MOST + 10),
    ]
    got = store.latest("#c", 1000)
    assert [r.msgid for r in got] == [_msgid(n) for n in range(1, 2 * RUN_MOST + 11)]
    assert [r.params[1] for r in store.between("#c", RUN_MOST - 2, RUN_MOST + 3, 10, False)] == [
        f"#c privmsg {n}" for n in range(RUN_MOST - 1, RUN_MOST + 3)
    ]
    store.close()
