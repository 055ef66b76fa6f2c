"""Hostile costs: heavy commands pay for their replies, history reads hold a bounded
number of descriptors, every history query is indexed, and history cannot grow
without limit. Over real sockets, with the server's clock replaced where time matters."""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server import history as history_module
from server.__main__ import config_from_args, parse_args
from server.history import HistoryStore, dm_target
from server.history_records import Record
from server.protocol.codec import format_time
from server.redaction import REACTIONS_DELETE
from tests.support.fake_time import FakeTime
from tests.support.ircclient import IRCClient

FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")


def _client(server, nick: str, caps: tuple[str, ...] = ()) -> IRCClient:
    client = IRCClient(server.port)
    client.register(nick, caps)
    return client


def _drain_bucket(client: IRCClient) -> None:
    """Spend a client's whole burst: afterwards its bucket is at exactly zero tokens
    (the last line waited until the debt was paid), so what the next lines wait is
    exactly their cost divided by the rate."""
    for chunk in range(8):  # in small reads, so no read is past an excess limit
        client.send(*(f"PING drain{chunk}.{i}" for i in range(5)))
        client.expect("PONG", where=lambda m, last=f"drain{chunk}.4": m.params[-1] == last)


# --- item 11: heavy commands cost more than a chat line ---------------------------------
def test_a_heavy_command_costs_several_lines(make_server) -> None:
    fake = FakeTime()
    server = make_server(
        clock=fake.clock, sleep=fake.sleep, flood_burst=10, flood_rate=1.0, flood_excess=1000
    )
    asker = _client(server, "asker")
    _drain_bucket(asker)
    fake.slept.clear()
    asker.send("PRIVMSG #general :hello", "PING chat")
    asker.expect("PONG", where=lambda m: m.params[-1] == "chat")
    assert sum(fake.slept) == pytest.approx(2.0)  # a chat line and a PING: one each
    fake.slept.clear()
    asker.send("WHO nobody", "NAMES #general", "LIST", "PING heavy")
    asker.expect("PONG", where=lambda m: m.params[-1] == "heavy")
    assert sum(fake.slept) == pytest.approx(4 + 4 + 4 + 1)
    asker.close()


def test_a_labeled_heavy_command_is_labeled_and_costs_the_same(make_server) -> None:
    fake = FakeTime()
    server = make_server(
        clock=fake.clock, sleep=fake.sleep, flood_burst=10, flood_rate=1.0, flood_excess=1000
    )
    asker = _client(server, "asker", ("labeled-response", "batch"))
    _drain_bucket(asker)
    fake.slept.clear()
    asker.send("@label=w1 WHO nobody", "PING after")
    end = asker.expect("315")
    assert end.tags.get("label") == "w1"
    asker.expect("PONG", where=lambda m: m.params[-1] == "after")
    assert sum(fake.slept) == pytest.approx(4 + 1)
    asker.close()


def test_replies_cost_by_their_size(make_server) -> None:
    fake = FakeTime()
    server = make_server(clock=fake.clock, sleep=fake.sleep, flood_burst=20, flood_rate=1.0)
    asker = _client(server, "asker")
    # 50 users with long realnames: WHO #general answers some 10 KiB.
    users = []
    for i in range(50):
        user = IRCClient(server.port)
        user.send(f"NICK u{i}", f"USER u{i} 0 * :{'r' * 120}")
        user.expect("366")
        users.append(user)
    _drain_bucket(asker)
    fake.slept.clear()
    asker.send("WHO #general", "PING after")
    replies = asker.until("PONG", "kibitz.test")
    size = sum(len(m.format().encode()) + 2 for m in replies if m.command in ("352", "315"))
    assert size >= 2 * 4096
    # The WHO (4), the PING (1), and one token for each 4 KiB it answered.
    assert sum(fake.slept) == pytest.approx(4 + 1 + size // 4096)
    for client in (asker, *users):
        client.close()


def test_a_flood_of_heavy_commands_ends_in_excess_flood(make_server) -> None:
    fake = FakeTime()
    server = make_server(clock=fake.clock, sleep=fake.sleep)  # 20 at once, 5/s, 100 behind
    flooder = _client(server, "flooder")
    chatter = _client(server, "chatter")
    bystander = _client(server, "bystander")
    # 40 chat lines at once are only delayed, as before...
    chatter.send(*(f"PRIVMSG #general :line {i}" for i in range(40)))
    assert [bystander.expect("PRIVMSG").params[1] for _ in range(40)][-1] == "line 39"
    # ...but 40 WHO * at once are 160 tokens: past the backlog allowed.
    flooder.send(*(["WHO *"] * 40))
    closing = flooder.wait_closed()
    assert closing[-1].command == "ERROR" and "Excess Flood" in closing[-1].params[0]
    assert bystander.expect("QUIT").params == ["Excess Flood"]
    chatter.send("PRIVMSG #general :still chatting")
    assert bystander.expect("PRIVMSG").params[1] == "still chatting"
    bystander.send("PING :fine")
    assert bystander.expect("PONG").params[-1] == "fine"
    for client in (chatter, bystander):
        client.close()


def test_the_cost_of_replies_can_end_in_excess_flood(make_server, tmp_path: Path) -> None:
    fake = FakeTime()
    server = make_server(
        data_dir=str(tmp_path),
        clock=fake.clock,
        sleep=fake.sleep,
        flood_burst=20,
        flood_rate=1.0,
        flood_excess=10,
    )
    writer = _client(server, "writer")
    for start in range(0, 100, 5):
        writer.send(*(f"PRIVMSG #general :{i} {'x' * 400}" for i in range(start, start + 5)))
        writer.sync()
    reader = _client(server, "reader", FULL)
    _drain_bucket(reader)
    # Two requests are 6 tokens up front, within the 10 allowed behind; but the first
    # one answers some 50 KiB (12 tokens), and the debt passes the limit.
    reader.send(*(["CHATHISTORY LATEST #general * 100"] * 2))
    closing = reader.wait_closed()
    assert closing[-1].command == "ERROR" and "Excess Flood" in closing[-1].params[0]
    assert sum(1 for m in closing if m.command == "BATCH" and m.params[0][0] == "+") == 1
    writer.send("PING :alive")
    assert writer.expect("PONG").params[-1] == "alive"
    writer.close()


def test_operators_do_not_pay_for_heavy_commands(make_server) -> None:
    fake = FakeTime()
    server = make_server(clock=fake.clock, sleep=fake.sleep, opers={"root": "pw"})
    oper = _client(server, "oper")
    oper.send("OPER root pw")
    oper.expect("381")
    fake.slept.clear()
    oper.send(*(["WHO *"] * 40), "PING done")
    oper.expect("PONG", where=lambda m: m.params[-1] == "done")
    assert fake.slept == []
    oper.close()


# --- item 11: every history query form is indexed ---------------------------------------
_OLD_SCHEMA = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, msgid TEXT NOT NULL UNIQUE, target TEXT NOT NULL,
    time_ms INTEGER NOT NULL, source TEXT NOT NULL, account TEXT, command TEXT NOT NULL,
    params TEXT NOT NULL, tags TEXT NOT NULL, party_a TEXT, party_b TEXT
);
CREATE INDEX messages_by_target ON messages (target, id);
CREATE INDEX messages_by_time ON messages (time_ms);
CREATE INDEX messages_by_party ON messages (party_a, party_b, id);
"""
_ROWS = 20_000
_BASE = int(time.time() * 1000) - 86_400_000  # a day ago


class Meter:
    """Wraps ``sqlite3.connect`` for the store: records each statement a chosen thread
    runs and counts the virtual machine steps they take."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.on = False
        self.steps = 0
        self.statements: list[str] = []
        self._connect = sqlite3.connect

    def connect(self, *args: object, **kwargs: object) -> sqlite3.Connection:
        db = self._connect(*args, **kwargs)
        db.set_progress_handler(self._step, 10)
        db.set_trace_callback(self._trace)
        return db

    def _step(self) -> int:
        if self.on and threading.get_ident() == self.thread:
            self.steps += 10
        return 0

    def _trace(self, statement: str) -> None:
        if self.on and threading.get_ident() == self.thread:
            self.statements.append(statement)


def _fill_old_database(path: Path) -> None:
    """A database as earlier versions made it, with a long channel and a few DMs."""
    db = sqlite3.connect(path)
    db.executescript(_OLD_SCHEMA)
    rows = [("t0", "#big", _BASE, "op!u@h", "TOPIC", '["#big", "the topic"]', "{}", None, None)]
    for i in range(1, _ROWS):
        text = f'["#big", "text {i}"]'
        rows.append((f"m{i}", "#big", _BASE + i * 1000, "n!u@h", "PRIVMSG", text, "{}", None, None))
    key, a, b = dm_target("me", "you")
    rows += [
        (f"d{i}", key, _BASE + i * 7000, "me!u@h", "PRIVMSG", '["you", "hi"]', "{}", a, b)
        for i in range(3)
    ]
    db.executemany(
        "INSERT INTO messages (msgid, target, time_ms, source, command, params, tags,"
        " party_a, party_b) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.commit()
    db.close()


@pytest.fixture
def meter(monkeypatch: pytest.MonkeyPatch) -> Meter:
    meter = Meter()
    monkeypatch.setattr(history_module.sqlite3, "connect", meter.connect)
    return meter


def _new_msgid(i: int) -> str:
    """A msgid as the server makes them now: a prefix, then the row's id in hex."""
    return f"feedc0de{i + 1:x}"


def _query_forms(store: HistoryStore, msgid: str) -> Iterator[str]:
    """Run every kind of read the server makes; yield each one's name after it ran."""
    middle = format_time(_BASE + (_ROWS // 2) * 1000)
    where = store.locate("#big", "timestamp=" + middle)
    yield "locate by timestamp"
    assert store.locate("#big", "msgid=" + msgid) is not None
    yield "locate by msgid"
    store.before("#big", where[0], 50)
    yield "before"
    store.after("#big", where[1], 50)
    yield "after"
    store.between("#big", where[1] - 30, where[0] + 30, 50, from_high=False)
    yield "between"
    store.latest("#big", 50)
    yield "latest"
    store.latest_topic("#big")
    yield "latest_topic"
    store.targets(["#big"], "me", _BASE, _BASE + _ROWS * 1000, 50)
    yield "targets"
    store.find("#big", "m100")
    yield "find (REDACT)"


@pytest.mark.parametrize("origin", ["fresh", "old"])
def test_every_history_query_is_indexed(tmp_path: Path, meter: Meter, origin: str) -> None:
    path = tmp_path / "history.sqlite3"
    if origin == "old":
        _fill_old_database(path)  # the indexes must be added when it is opened
        store = HistoryStore(path)
    else:
        store = HistoryStore(path)
        for i in range(_ROWS):
            command, text = ("TOPIC", "the topic") if i == 0 else ("PRIVMSG", f"text {i}")
            store.add(
                Record(
                    _new_msgid(i), "#big", _BASE + i * 1000, "n!u@h", command, ("#big", text), {}
                )
            )
        key, a, b = dm_target("me", "you")
        for i in range(3):
            store.add(
                Record(
                    _new_msgid(_ROWS + i),
                    key,
                    _BASE + i * 7000,
                    "me!u@h",
                    "PRIVMSG",
                    ("you", "hi"),
                    {},
                    None,
                    a,
                    b,
                )
            )
        assert store.flush(30)
    plans = sqlite3.connect(path)
    try:
        work: dict[str, int] = {}
        meter.on = True
        for form in _query_forms(store, "m100" if origin == "old" else _new_msgid(100)):
            work[form] = meter.steps
            meter.steps = 0
        meter.on = False
        # No form reads the table or a whole index: each costs a few hundred steps
        # where a scan of 20,000 messages costs hundreds of thousands.
        assert max(work.values()) < 3000, work
        scans = []
        for statement in meter.statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            for row in plans.execute("EXPLAIN QUERY PLAN " + statement):
                if row[3].startswith("SCAN") and row[3] != "SCAN CONSTANT ROW":
                    scans.append((statement, row[3]))
        assert scans == []
        # Deleting an old message removes its reactions without reading what came after it.
        plan = [
            row[3]
            for row in plans.execute(
                "EXPLAIN QUERY PLAN " + REACTIONS_DELETE, ("#big", 100, "m100")
            )
        ]
        assert plan and all("USING INDEX messages_tagmsgs" in step for step in plan), plan
        assert store.latest_topic("#big").params[1] == "the topic"
        # An old database's direct conversations were keyed by nicks: nobody can prove
        # to be their party, so the migration puts them out of every query's reach.
        dms = [dm_target("me", "you")[0]] if origin == "fresh" else []
        assert [t[0] for t in store.targets(["#big"], "me", _BASE, _BASE + _ROWS * 1000, 5)] == [
            *dms,
            "#big",
        ]
    finally:
        plans.close()
        store.close()


# --- item 4: history reads hold a bounded number of descriptors -------------------------
def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_history_reads_do_not_hold_descriptors_per_thread(make_server, tmp_path: Path) -> None:
    server = make_server(data_dir=str(tmp_path))
    talker = _client(server, "talker")
    for i in range(5):
        talker.send(f"PRIVMSG #general :before you came {i}")
    talker.sync()
    # Descriptors must be freed when a reader is done, not when the cyclic garbage
    # collector happens to run: keep it from running while the clients churn.
    gc.collect()
    gc.disable()
    try:
        before = _open_descriptors()
        for i in range(60):
            guest = IRCClient(server.port)
            guest.send(f"NICK guest{i}", f"USER g 0 * :Guest {i}")
            replay = [m for m in guest.until("PRIVMSG", "#general") if m.command == "PRIVMSG"]
            assert replay[0].params[1].startswith("before you came")
            guest.send("QUIT :bye")
            guest.wait_closed()
            guest.close()
        deadline = time.monotonic() + 5
        while len(server.registry.snapshot()) > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server.registry.snapshot()) == 1
        grown = _open_descriptors() - before
    finally:
        gc.enable()
    # At most the pool's connections (server.history.READERS, 4: database, WAL and
    # shared memory each), never one set per handler thread that ever replayed history.
    assert grown <= 4 * 3, grown
    talker.close()


# --- item 12: history cannot grow without limit -----------------------------------------
def test_stored_client_tags_are_capped(make_server, tmp_path: Path) -> None:
    server = make_server(data_dir=str(tmp_path), flood_rate=0)
    sender = _client(server, "sender", FULL)
    live = _client(server, "live", ("message-tags",))
    sender.send("PRIVMSG #general :first")
    first = sender.expect("PRIVMSG").tags["msgid"]
    big = "x" * 3000
    sender.send(f"@+draft/reply={first};+big={big};+small=1 PRIVMSG #general :padded")
    sender.send("@+draft/react=hi;+small=1 PRIVMSG #general :modest")
    relayed = live.expect("PRIVMSG", where=lambda m: m.params[1] == "padded")
    assert relayed.tags["+big"] == big  # live recipients get every tag
    sender.sync()
    sender.send("CHATHISTORY LATEST #general * 2")
    padded = sender.expect("PRIVMSG", where=lambda m: "batch" in m.tags)
    modest = sender.expect("PRIVMSG", where=lambda m: "batch" in m.tags)
    assert padded.params[1] == "padded"
    assert padded.tags["+draft/reply"] == first  # what gives the line its meaning stays
    assert "+big" not in padded.tags and "+small" not in padded.tags
    assert modest.tags["+draft/react"] == "hi" and modest.tags["+small"] == "1"
    server.history.flush()
    db = sqlite3.connect(tmp_path / "history.sqlite3")
    longest = db.execute("SELECT MAX(LENGTH(tags)) FROM messages").fetchone()[0]
    db.close()
    assert longest <= 600
    for client in (sender, live):
        client.close()


def test_retention_defaults_to_90_days_and_a_size_budget() -> None:
    config = config_from_args(parse_args([]))
    assert config.history_days == 90
    assert config.history_max_mb == 1024
    chosen = config_from_args(parse_args(["--history-days", "7", "--history-max-mb", "50"]))
    assert (chosen.history_days, chosen.history_max_mb) == (7, 50)


def test_a_default_server_forgets_messages_older_than_90_days(make_server, tmp_path: Path) -> None:
    old = int((time.time() - 100 * 86400) * 1000)
    recent = int((time.time() - 80 * 86400) * 1000)
    store = HistoryStore(tmp_path / "history.sqlite3")
    for msgid, when, text in (("a", old, "long ago"), ("b", recent, "this season")):
        store.add(Record(msgid, "#general", when, "n!u@h", "PRIVMSG", ("#general", text), {}))
    store.close()
    server = make_server(data_dir=str(tmp_path), flood_rate=0)
    reader = _client(server, "reader", FULL)
    reader.send("CHATHISTORY LATEST #general * 10", "PING end")
    texts = [m.params[1] for m in reader.until("PONG", "kibitz.test") if m.command == "PRIVMSG"]
    assert texts == ["this season"]
    reader.close()


def test_the_size_budget_removes_the_oldest_messages(make_server, tmp_path: Path) -> None:
    server = make_server(data_dir=str(tmp_path), flood_rate=0, history_max_mb=0.25)
    sender = _client(server, "sender", FULL)
    for start in range(0, 1000, 100):
        sender.send(*(f"PRIVMSG #general :{i} {'y' * 400}" for i in range(start, start + 100)))
        sender.sync()
    assert server.history.flush()
    assert server.history.prune()
    db = sqlite3.connect(tmp_path / "history.sqlite3")
    pages, free, size = (
        db.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("page_count", "freelist_count", "page_size")
    )
    db.close()
    kept = [record.params[1] for record in server.history.latest("#general", 1000)]
    assert (pages - free) * size <= 0.25 * 1024 * 1024
    assert 100 < len(kept) < 1000
    assert [int(text.split()[0]) for text in kept] == list(range(1000 - len(kept), 1000))
    assert not kept[0].startswith("0 ")  # the oldest went first...
    sender.send("CHATHISTORY LATEST #general * 1")
    newest = sender.expect("PRIVMSG", where=lambda m: "batch" in m.tags)
    assert newest.params[1].startswith("999 ")  # ...and the newest stayed
    sender.close()
