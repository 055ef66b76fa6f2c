"""History: the store alone, CHATHISTORY over real sockets, labeled-response, join
replay, restarts, kill -9 and concurrent readers and writers. The store and the
protocol run on both backends (``store_place``: SQLite in a data directory, PostgreSQL);
what is SQLite's own (a damaged file, kill -9 of a process) runs on SQLite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.history import dm_target
from server.history_api import History
from server.history_records import Record, params_json
from server.protocol.codec import format_time, parse_timestamp
from tests.support.histories import open_history
from tests.support.ircclient import IRCClient
from tests.support.processes import run_server, start_server
from tests.support.services import server_options

FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")


BASE = int(time.time() * 1000) - 3_600_000  # an hour ago, in milliseconds


def _msgid(i: int) -> str:
    """A msgid of the form the server makes (a prefix, then the row's id in hex)."""
    return f"feedc0de{i + 1:x}"


def _record(i: int, target: str = "#c", when: int | None = None) -> Record:
    return Record(
        _msgid(i),
        target,
        when if when is not None else BASE + i,
        "n!u@h",
        "PRIVMSG",
        (target, f"text {i}"),
        {},
    )


@pytest.fixture
def store(store_place: str):
    history = open_history(store_place)
    yield history
    history.close()


def _texts(records: list[Record]) -> list[str]:
    return [r.params[1] for r in records]


def test_store_pages_in_order(store: History) -> None:
    for i in range(50):
        store.add(_record(i))
    assert store.flush()
    assert _texts(store.latest("#c", 3)) == ["text 47", "text 48", "text 49"]
    position = store.locate("#c", "msgid=" + _msgid(20))
    assert _texts(store.before("#c", position[0], 3)) == ["text 17", "text 18", "text 19"]
    assert _texts(store.after("#c", position[1], 2)) == ["text 21", "text 22"]
    low, high = store.locate("#c", "msgid=" + _msgid(10)), store.locate("#c", "msgid=" + _msgid(15))
    assert _texts(store.between("#c", low[1], high[0], 10, from_high=False)) == [
        f"text {i}" for i in range(11, 15)
    ]
    assert _texts(store.between("#c", low[1], high[0], 2, from_high=True)) == ["text 13", "text 14"]
    by_time = store.locate("#c", "timestamp=" + format_time(BASE + 30))
    assert _texts(store.before("#c", by_time[0], 1)) == ["text 29"]
    assert _texts(store.after("#c", by_time[1], 1)) == ["text 31"]
    assert store.locate("#c", "msgid=nope") is None
    assert store.latest("#other", 10) == []


def test_store_retention(store_place: str) -> None:
    history = open_history(store_place)
    old = int((time.time() - 10 * 86400) * 1000)
    for i in range(30):
        history.add(_record(i, "#a"))
    history.add(_record(100, "#b", when=old))
    history.add(_record(101, "#b"))
    history.close()
    pruned = open_history(store_place, max_per_target=5, max_days=7)
    assert _texts(pruned.latest("#a", 100)) == [f"text {i}" for i in range(25, 30)]
    assert _texts(pruned.latest("#b", 100)) == ["text 101"]
    pruned.close()


def test_dm_keys_belong_to_the_two_parties_only() -> None:
    assert dm_target("alice", "bob")[0] == dm_target("bob", "alice")[0]
    assert dm_target("alice", "bob")[0] != dm_target("alice", "carol")[0]


def test_a_damaged_database_stops_the_server_from_starting(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    result = run_server("-p", "0", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "history database" in result.stderr and "Traceback" not in result.stderr


def test_an_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_server("-p", "0", "--data-dir", str(blocker / "sub"))
    assert result.returncode == 2 and "cannot use the history database" in result.stderr


# --- over the wire ---------------------------------------------------------------------
@pytest.fixture
def hserver(store_place: str, make_server, tmp_path: Path):
    return make_server(flood_rate=0, **server_options(store_place, tmp_path))


def _client(server, nick: str, caps=FULL) -> IRCClient:
    client = IRCClient(server.port)
    client.register(nick, caps)
    return client


def _batch(client: IRCClient, subcommand_line: str) -> list:
    start, lines = client.batch(subcommand_line)
    return [start, *lines]


def test_isupport_and_caps_advertise_history(hserver) -> None:
    client = IRCClient(hserver.port)
    client.send("CAP LS 302")
    offered = client.expect("CAP").params[-1].split()
    assert {"draft/chathistory", "batch", "labeled-response"} <= set(offered)
    client.send("NICK n", "USER n 0 * :N", "CAP END")
    tokens = " ".join(" ".join(m.params) for m in client.until("422") if m.command == "005")
    assert "CHATHISTORY=100" in tokens and "MSGREFTYPES=msgid,timestamp" in tokens
    client.close()


def test_chathistory_latest_before_after_around_between(hserver) -> None:
    alice = _client(hserver, "alice")
    sent = []
    for i in range(30):
        alice.send(f"PRIVMSG #general :m{i}")
        sent.append(alice.expect("PRIVMSG"))
    ids = [m.tags["msgid"] for m in sent]
    latest = _batch(alice, "CHATHISTORY LATEST #general * 5")
    assert latest[0].params[1:] == ["chathistory", "#general"]
    assert [m.params[1] for m in latest[1:]] == [f"m{i}" for i in range(25, 30)]
    assert [m.tags["msgid"] for m in latest[1:]] == ids[25:]
    assert all(
        m.tags["time"] == s.tags["time"] for m, s in zip(latest[1:], sent[25:], strict=False)
    )
    before = _batch(alice, f"CHATHISTORY BEFORE #general msgid={ids[10]} 3")
    assert [m.params[1] for m in before[1:]] == ["m7", "m8", "m9"]
    after = _batch(alice, f"CHATHISTORY AFTER #general msgid={ids[10]} 2")
    assert [m.params[1] for m in after[1:]] == ["m11", "m12"]
    around = _batch(alice, f"CHATHISTORY AROUND #general msgid={ids[15]} 4")
    assert [m.params[1] for m in around[1:]] == ["m13", "m14", "m15", "m16"]
    between = _batch(alice, f"CHATHISTORY BETWEEN #general msgid={ids[2]} msgid={ids[6]} 10")
    assert [m.params[1] for m in between[1:]] == ["m3", "m4", "m5"]
    backwards = _batch(alice, f"CHATHISTORY BETWEEN #general msgid={ids[6]} msgid={ids[2]} 2")
    assert [m.params[1] for m in backwards[1:]] == ["m4", "m5"]
    since = _batch(alice, f"CHATHISTORY LATEST #general msgid={ids[27]} 10")
    assert [m.params[1] for m in since[1:]] == ["m28", "m29"]
    # Several messages may share a millisecond: "after a timestamp" means strictly later.
    just_before = format_time(parse_timestamp(sent[0].tags["time"]) - 1)
    first = _batch(alice, f"CHATHISTORY AFTER #general timestamp={just_before} 1")
    assert [m.params[1] for m in first[1:]] == ["m0"]
    stamp = sent[20].tags["time"]
    by_time = _batch(alice, f"CHATHISTORY AFTER #general timestamp={stamp} 3")
    later = [m.params[1] for m in sent if m.tags["time"] > stamp][:3]
    assert [m.params[1] for m in by_time[1:]] == later
    alice.close()


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("CHATHISTORY FETCH #general * 5", "UNKNOWN_COMMAND"),
        ("CHATHISTORY LATEST #general *", "NEED_MORE_PARAMS"),
        ("CHATHISTORY LATEST #general * many", "INVALID_PARAMS"),
        ("CHATHISTORY LATEST #general * 0", "INVALID_PARAMS"),
        ("CHATHISTORY BEFORE #general when=yesterday 5", "INVALID_PARAMS"),
        ("CHATHISTORY BEFORE #general timestamp=notatime 5", "INVALID_PARAMS"),
        ("CHATHISTORY LATEST #secret * 5", "INVALID_TARGET"),
        ("CHATHISTORY LATEST * * 5", "INVALID_TARGET"),
        ("CHATHISTORY TARGETS timestamp=x timestamp=y 5", "INVALID_PARAMS"),
    ],
)
def test_chathistory_errors(hserver, line: str, code: str) -> None:
    owner = _client(hserver, "owner")
    owner.send("JOIN #secret")
    owner.expect("366", "owner", "#secret")
    alice = _client(hserver, "alice")
    alice.send(line)
    fail = alice.expect("FAIL")
    assert fail.params[:2] == ["CHATHISTORY", code]
    owner.close()
    alice.close()


def test_direct_messages_are_private_to_the_two_parties(hserver) -> None:
    alice, bob, carol = (_client(hserver, n) for n in ("alice", "bob", "carol"))
    alice.send("PRIVMSG bob :just between us")
    bob.expect("PRIVMSG", "bob")
    bob.send("PRIVMSG alice :agreed")
    alice.expect("PRIVMSG", "alice")
    for reader, other in ((alice, "bob"), (bob, "alice")):
        history = _batch(reader, f"CHATHISTORY LATEST {other} * 10")
        assert [m.params[1] for m in history[1:]] == ["just between us", "agreed"]
    snooped = _batch(carol, "CHATHISTORY LATEST alice * 10")
    assert snooped[1:] == []  # carol and alice never talked
    now = format_time(int(time.time() * 1000) + 60_000)
    targets = _batch(
        alice, f"CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp={now} 10"
    )
    assert targets[0].params[1] == "draft/chathistory-targets"
    assert {m.params[1] for m in targets[1:]} == {"bob"}
    for client in (alice, bob, carol):
        client.close()


def test_history_is_only_for_members(hserver) -> None:
    alice = _client(hserver, "alice")
    alice.send("JOIN #club", "PRIVMSG #club :members only")
    alice.expect("PRIVMSG", "#club")
    bob = _client(hserver, "bob")
    bob.send("CHATHISTORY LATEST #club * 10")
    assert bob.expect("FAIL").params[:2] == ["CHATHISTORY", "INVALID_TARGET"]
    bob.send("JOIN #club")
    bob.expect("366", "bob", "#club")
    history = _batch(bob, "CHATHISTORY LATEST #club * 10")
    assert [m.params[1] for m in history[1:]] == ["members only"]
    alice.close()
    bob.close()


def test_join_replay_for_clients_without_chathistory(hserver) -> None:
    alice = _client(hserver, "alice")
    for i in range(25):
        alice.send(f"PRIVMSG #general :before you came {i}")
    alice.sync()
    batched = IRCClient(hserver.port)
    batched.register("batched", ("batch", "server-time"))  # no draft/chathistory
    plain = IRCClient(hserver.port)
    plain.send("NICK plain", "USER p 0 * :P")
    replay = [m for m in plain.until("PRIVMSG", "#general") if m.command == "PRIVMSG"]
    replay += [plain.expect("PRIVMSG") for _ in range(19)]
    assert [m.params[1] for m in replay] == [f"before you came {i}" for i in range(5, 25)]
    replayed = [m for m in batched.consumed if m.command == "PRIVMSG"]
    assert len(replayed) == 20
    assert all("batch" in m.tags and "time" in m.tags for m in replayed)
    modern = _client(hserver, "modern")  # it fetches history itself: no replay
    assert [m for m in modern.consumed if m.command == "PRIVMSG"] == []
    for client in (alice, batched, plain, modern):
        client.close()


def test_labeled_response(hserver) -> None:
    caps = ("batch", "labeled-response", "echo-message", "message-tags")
    alice = _client(hserver, "alice", caps)
    alice.send("@label=one PING :x")
    pong = alice.expect("PONG")
    assert pong.tags["label"] == "one"
    alice.send("@label=two PONG :nothing")
    ack = alice.expect("ACK")
    assert ack.tags["label"] == "two"
    alice.send("@label=three WHOIS alice")
    start = alice.expect("BATCH")
    assert start.tags["label"] == "three" and start.params[1] == "labeled-response"
    ref = start.params[0][1:]
    replies = alice.until("BATCH", "-" + ref)
    assert all(m.tags.get("batch") == ref for m in replies[:-1])
    assert [m.command for m in replies[:-1]][-1] == "318"
    alice.send("@label=four PRIVMSG #general :labeled echo")
    echo = alice.expect("PRIVMSG")
    assert echo.tags["label"] == "four" and echo.params[1] == "labeled echo"
    # Refusals answer the labeled line too.
    alice.send("@label=five NOSUCHCOMMAND")
    unknown = alice.expect("421")
    assert unknown.tags["label"] == "five" and unknown.params[1] == "NOSUCHCOMMAND"
    alice.send_raw(b"@label=six PRIVMSG #general :\xff\xfe\r\n")
    refused = alice.expect("FAIL")
    assert refused.tags["label"] == "six"
    assert refused.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    alice.send("@label=seven PRIVMSG #general :a\0b")
    assert alice.expect("FAIL").tags["label"] == "seven"
    # To oneself: the message arrives, then its echo; only the echo carries the label.
    alice.send("@label=eight PRIVMSG alice :note to self")
    arrived = [m for m in alice.sync() if m.command == "PRIVMSG"]
    assert [m.params for m in arrived] == [["alice", "note to self"]] * 2
    assert [m.tags.get("label") for m in arrived] == [None, "eight"]
    assert arrived[0].tags["msgid"] == arrived[1].tags["msgid"]
    alice.close()


def test_a_labeled_join_answers_with_the_joiners_own_join_in_the_batch(hserver) -> None:
    caps = ("batch", "labeled-response", "message-tags")
    alice = _client(hserver, "alice", caps)
    bob = _client(hserver, "bob")
    alice.send("@label=j JOIN #den")
    start = alice.expect("BATCH")
    assert start.tags["label"] == "j" and start.params[1] == "labeled-response"
    ref = start.params[0][1:]
    inside = alice.until("BATCH", "-" + ref)[:-1]
    assert [m.command for m in inside] == ["JOIN", "353", "366"]
    assert all(m.tags.get("batch") == ref for m in inside)
    # Another member's copy of a labeled command is not part of anyone's response.
    bob.send("JOIN #den")
    bob.expect("366")
    alice.send("@label=n NICK alicia")
    # Alone with bob in #den and #general: her own NICK is the whole response.
    nick = alice.expect("NICK")
    assert nick.tags["label"] == "n" and nick.params == ["alicia"]
    seen = bob.expect("NICK")
    assert "label" not in seen.tags and seen.params == ["alicia"]
    for client in (alice, bob):
        client.close()


def test_a_labeled_quit_still_gets_its_error_before_the_close(hserver) -> None:
    caps = ("batch", "labeled-response", "message-tags")
    alice = _client(hserver, "alice", caps)
    bob = _client(hserver, "bob")
    alice.send("@label=q QUIT :bye")
    got = alice.wait_closed()
    errors = [m for m in got if m.command == "ERROR"]
    assert [m.params for m in errors] == [["Closing Link: 127.0.0.1 (Quit: bye)"]]
    assert bob.expect("QUIT").params == ["Quit: bye"]
    alice.close()
    bob.close()


def test_history_survives_a_restart(store_place: str, make_server, tmp_path: Path) -> None:
    first = make_server(**server_options(store_place, tmp_path))
    alice = _client(first, "alice")
    alice.send("TOPIC #general :kept", "PRIVMSG #general :remember me")
    original = alice.expect("PRIVMSG")
    port = first.port
    first.stop()
    alice.close()
    second = make_server(port=port, **server_options(store_place, tmp_path))
    alice = IRCClient(second.port)
    alice.send("NICK alice", "USER alice 0 * :Alice")
    assert alice.expect("332").params[1:] == ["#general", "kept"]  # the topic came back
    assert alice.expect("333").params[2] == "alice"
    alice.sync()
    alice.send("CAP REQ :" + " ".join(FULL))
    alice.expect("CAP")
    history = _batch(alice, "CHATHISTORY LATEST #general * 10")
    assert [m.params[1] for m in history[1:]] == ["remember me"]
    assert history[1].tags["msgid"] == original.tags["msgid"]
    assert history[1].tags["time"] == original.tags["time"]
    alice.send("PRIVMSG #general :after the restart")
    alice.expect("PRIVMSG")
    history = _batch(alice, "CHATHISTORY LATEST #general * 10")
    assert [m.params[1] for m in history[1:]] == ["remember me", "after the restart"]
    alice.close()


def test_kill_9_loses_at_most_the_last_second(tmp_path: Path) -> None:
    def start() -> tuple[subprocess.Popen, int]:
        return start_server("--flood-rate", "0", "--data-dir", str(tmp_path))

    proc, port = start()
    alice = IRCClient(port)
    alice.register("alice", ("echo-message", "message-tags"))
    for i in range(100):
        alice.send(f"PRIVMSG #general :old {i}")
    for _ in range(100):
        alice.expect("PRIVMSG")
    settled = time.monotonic()
    while time.monotonic() - settled < 1.2:  # these are now older than one second
        alice.sync()
    for i in range(100):
        alice.send(f"PRIVMSG #general :new {i}")
    for _ in range(100):
        alice.expect("PRIVMSG")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    alice.close()
    proc, port = start()
    try:
        reader = IRCClient(port)
        reader.register("reader", FULL)
        history = _batch(reader, "CHATHISTORY LATEST #general * 100")
        texts = [m.params[1] for m in history[1:]]
        history = _batch(reader, "CHATHISTORY LATEST #general * 100")
        older = _batch(reader, f"CHATHISTORY BEFORE #general msgid={history[1].tags['msgid']} 100")
        stored = [m.params[1] for m in older[1:]] + texts
        assert [t for t in stored if t.startswith("old")] == [f"old {i}" for i in range(100)]
        kept_new = [t for t in stored if t.startswith("new")]
        assert kept_new == [f"new {i}" for i in range(len(kept_new))]  # a prefix, in order
        reader.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_concurrent_writers_and_readers_see_order_and_everything(hserver) -> None:
    writers = [_client(hserver, f"writer{i}") for i in range(3)]
    reader = _client(hserver, "reader")
    listener = _client(hserver, "listener", caps=())
    errors: list[BaseException] = []

    def write(client: IRCClient) -> None:
        try:
            for n in range(200):
                client.send(f"PRIVMSG #general :{client.nick} {n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    pages = 0
    while any(t.is_alive() for t in threads) or pages < 5:
        _batch(reader, "CHATHISTORY LATEST #general * 50")
        pages += 1
    for thread in threads:
        thread.join()
    assert not errors
    relayed = [listener.expect("PRIVMSG").params[1] for _ in range(600)]
    # Page backwards through all of it: every message once, in the order relayed.
    stored: list[str] = []
    page = _batch(reader, "CHATHISTORY LATEST #general * 100")[1:]
    while page:
        stored = [m.params[1] for m in page] + stored
        page = _batch(reader, f"CHATHISTORY BEFORE #general msgid={page[0].tags['msgid']} 100")[1:]
    assert stored == relayed
    for client in (*writers, reader, listener):
        client.close()


def test_chathistory_with_history_off_fails_cleanly(make_server) -> None:
    server = make_server()  # no data directory: no history
    alice = IRCClient(server.port)
    try:
        alice.register("alice", caps=("batch",))
        alice.send("CHATHISTORY LATEST #general * 5")
        fail = alice.expect("FAIL")
        assert fail.params[:4] == ["CHATHISTORY", "MESSAGE_ERROR", "LATEST", "#general"]
        alice.send("CHATHISTORY BEFORE #general :timestamp=x y 5")  # a spaced parameter
        alice.expect("FAIL")
        alice.sync()
    finally:
        alice.close()


@given(st.lists(st.text(), max_size=4))
def test_stored_parameters_are_the_json_they_always_were(params: list[str]) -> None:
    assert params_json(tuple(params)) == json.dumps(params)
