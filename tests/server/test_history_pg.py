"""The history in PostgreSQL (``--database``): two servers sharing one history, what
lasts across a restart with a fresh data directory, the privacy rules, msgids unique
and ordered with several writers, the schema's version, and a database outage (a
PostgreSQL of the test's own, stopped and started under a running server)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from server import history_pg
from server.accounts import AccountStore
from server.history import HistoryError
from server.history_api import HistoryUnavailable
from server.history_pg import NODE_BITS, Numbers, PostgresHistory
from server.history_records import Record, record_row
from server.msgids import NETWORK_NODE, row_id
from tests.conftest import ServerFactory
from tests.support.histories import open_history
from tests.support.ircclient import IRCClient
from tests.support.processes import start_server
from tests.support.services import PrivatePostgres, private_postgres
from tests.support.waiting import wait_for

FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")
SEARCH = (*FULL, "soju.im/search")
UNAVAILABLE = HistoryUnavailable.text


def _client(server, nick: str, caps=FULL) -> IRCClient:
    client = IRCClient(server.port)
    client.register(nick, caps)
    return client


def _batch(client: IRCClient, line: str) -> list:
    """The messages of the batch answering ``line`` (its BATCH lines left out)."""
    return client.batch(line)[1]


def _texts(client: IRCClient, line: str) -> list[str]:
    return [m.params[1] for m in _batch(client, line)]


def _server(make_server: ServerFactory, url: str, data_dir: Path, **options: object):
    return make_server(database=url, data_dir=str(data_dir), flood_rate=0, **options)


# --- two servers, one history ---------------------------------------------------------------
def test_two_servers_share_one_history(postgres_url: str, make_server, tmp_path: Path) -> None:
    one = _server(make_server, postgres_url, tmp_path / "one")
    two = _server(make_server, postgres_url, tmp_path / "two")
    alice, bob = _client(one, "alice", SEARCH), _client(two, "bob", SEARCH)
    alice.send("PRIVMSG #general :sent on one")
    sent = alice.expect("PRIVMSG")
    bob.send("PRIVMSG #general :sent on two")
    bob.expect("PRIVMSG")
    for server in (one, two):  # committed (within a few ms): the other server reads it
        assert server.history is not None and server.history.flush()
    # #general, the servers' own room, keeps its history across lives: each reads both.
    for reader in (alice, bob):
        found = _batch(reader, "CHATHISTORY LATEST #general * 10")
        assert [m.params[1] for m in found] == ["sent on one", "sent on two"]
        assert found[0].tags["msgid"] == sent.tags["msgid"]
        assert found[0].tags["time"] == sent.tags["time"]
    # A msgid of one server is a reference on the other, and search sees both.
    assert _texts(bob, f"CHATHISTORY AFTER #general msgid={sent.tags['msgid']} 10") == [
        "sent on two"
    ]
    bob.send("SEARCH text=one")
    assert bob.expect("BATCH").params[1] == "soju.im/search"
    assert bob.expect("PRIVMSG").params[1] == "sent on one"
    alice.close()
    bob.close()


def test_concurrent_writers_on_two_servers_get_unique_ordered_msgids(
    postgres_url: str, make_server, tmp_path: Path
) -> None:
    servers = [_server(make_server, postgres_url, tmp_path / name) for name in ("a", "b")]
    writers = [_client(servers[i % 2], f"writer{i}") for i in range(4)]
    reader = _client(servers[1], "reader")
    errors: list[BaseException] = []

    def write(client: IRCClient) -> None:
        try:
            for n in range(100):
                client.send(f"PRIVMSG #general :{client.nick} {n}")
            for _ in range(100):
                client.expect("PRIVMSG", "#general", where=lambda m: m.nick == client.nick)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for server in servers:
        assert server.history is not None and server.history.flush()
    # Page backwards through all of it: every message once, each sender's in its order.
    stored: list = []
    page = _batch(reader, "CHATHISTORY LATEST #general * 100")
    while page:
        stored = page + stored
        page = _batch(reader, f"CHATHISTORY BEFORE #general msgid={page[0].tags['msgid']} 100")
    msgids = [m.tags["msgid"] for m in stored]
    assert len(msgids) == len(set(msgids)) == 400
    for writer in writers:
        mine = [m.params[1] for m in stored if m.nick == writer.nick]
        assert mine == [f"{writer.nick} {n}" for n in range(100)]
    for client in (*writers, reader):
        client.close()


def test_history_lasts_in_the_database_not_the_data_directory(
    postgres_url: str, make_server, tmp_path: Path
) -> None:
    first = _server(make_server, postgres_url, tmp_path / "first")
    alice = _client(first, "alice")
    alice.send("TOPIC #general :kept in the database", "PRIVMSG #general :remember me")
    alice.expect("PRIVMSG")
    first.stop()
    alice.close()
    # Another data directory, nothing in it: what comes back came from PostgreSQL.
    second = _server(make_server, postgres_url, tmp_path / "second")
    assert second.history is not None and second.history.where.startswith("postgresql://")
    alice = IRCClient(second.port)
    alice.send("NICK alice", "USER alice 0 * :Alice")
    assert alice.expect("332").params[1:] == ["#general", "kept in the database"]
    alice.sync()
    alice.send("CAP REQ :" + " ".join(FULL))
    alice.expect("CAP")
    assert _texts(alice, "CHATHISTORY LATEST #general * 10") == ["remember me"]
    assert not (tmp_path / "second" / "history.sqlite3").exists()
    alice.close()


def test_a_stopped_server_stores_everything_it_echoed(postgres_url: str, tmp_path: Path) -> None:
    proc, port = start_server(
        "--flood-rate", "0", "--database", postgres_url, "--data-dir", str(tmp_path / "a")
    )
    try:
        alice = IRCClient(port)
        alice.register("alice", ("echo-message",))
        for i in range(300):
            alice.send(f"PRIVMSG #general :line {i}")
        for _ in range(300):
            alice.expect("PRIVMSG")
    finally:
        proc.terminate()  # SIGTERM: the writer stores what is queued before the exit
        assert proc.wait(timeout=30) == 0
    alice.close()
    proc, port = start_server("--database", postgres_url, "--data-dir", str(tmp_path / "b"))
    try:
        reader = IRCClient(port)
        reader.register("reader", FULL)
        stored: list[str] = []
        page = _batch(reader, "CHATHISTORY LATEST #general * 100")
        while page:
            stored = [m.params[1] for m in page] + stored
            page = _batch(reader, f"CHATHISTORY BEFORE #general msgid={page[0].tags['msgid']} 100")
        assert stored == [f"line {i}" for i in range(300)]
        reader.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_size_budget_removes_the_oldest_messages(
    postgres_url: str, make_server, tmp_path: Path
) -> None:
    server = _server(make_server, postgres_url, tmp_path, history_max_mb=0.25)
    sender = _client(server, "sender")
    for start in range(0, 1000, 100):
        sender.send(*(f"PRIVMSG #general :{i} {'y' * 400}" for i in range(start, start + 100)))
        sender.sync()
    assert server.history is not None and server.history.flush()
    assert server.history.prune()
    with psycopg.connect(postgres_url) as db:
        size = db.execute("SELECT SUM(pg_column_size(m.*)) FROM history_messages m").fetchone()
        kept = [r[0] for r in db.execute("SELECT params FROM history_messages ORDER BY id")]
    assert size[0] <= 0.25 * 1024 * 1024
    assert 100 < len(kept) < 1000
    assert '"0 ' not in kept[0]  # the oldest went first...
    newest = _batch(sender, "CHATHISTORY LATEST #general * 1")
    assert newest[0].params[1].startswith("999 ")  # ...and the newest stayed
    sender.close()


# --- privacy ----------------------------------------------------------------------------------
def test_a_dm_stays_with_its_accounts_across_servers(
    postgres_url: str, make_server, tmp_path: Path
) -> None:
    store = AccountStore(postgres_url)
    for name in ("carol", "dave"):
        store.create(name, "secret")
    one = _server(make_server, postgres_url, tmp_path / "one", reserve_nicks=False)
    two = _server(make_server, postgres_url, tmp_path / "two", reserve_nicks=False)

    def signed_in(server, nick: str, account: str) -> IRCClient:
        client = _client(server, nick)
        found = store.find(account)
        assert found is not None
        server.sign_in(server.registry.find_nick(nick), found)
        client.expect("900")
        client.sync()
        return client

    carol, dave = signed_in(one, "carol", "carol"), signed_in(one, "dave", "dave")
    carol.send("PRIVMSG dave :between our accounts")
    dave.expect("PRIVMSG", "dave")
    for client in (carol, dave):
        client.send("QUIT")
        client.wait_closed()
    assert one.history is not None and one.history.flush()  # committed: the others see it
    # On the other server, whoever takes the nick reads nothing; the account does.
    stranger = _client(two, "carol")
    assert _texts(stranger, "CHATHISTORY LATEST dave * 10") == []
    stranger.close()
    back = signed_in(two, "cc", "carol")
    assert _texts(back, "CHATHISTORY LATEST dave * 10") == ["between our accounts"]
    back.close()
    store.close()


def test_a_re_created_room_shows_nothing_of_its_past(postgres_url: str, make_server, tmp_path):
    one = _server(make_server, postgres_url, tmp_path / "one")
    alice = _client(one, "alice")
    alice.send("JOIN #secret")
    alice.expect("JOIN")
    alice.send("PRIVMSG #secret :before")
    alice.expect("PRIVMSG")
    assert one.history is not None and one.history.flush()
    alice.send("PART #secret")
    alice.expect("PART")
    # Made anew, here and on another server of the same database: its past is hidden,
    # though the other server's store holds it.
    two = _server(make_server, postgres_url, tmp_path / "two")
    assert two.history is not None
    assert [r.params[1] for r in two.history.latest("#secret", 10)] == ["before"]
    for server in (one, two):
        mallory = _client(server, "mallory", SEARCH)
        mallory.send("JOIN #secret")
        mallory.expect("JOIN")
        assert _texts(mallory, "CHATHISTORY LATEST #secret * 10") == []
        assert _batch(mallory, "SEARCH text=before") == []
        mallory.close()
    alice.close()


def test_a_search_out_of_time_fails(postgres_url: str, make_server, tmp_path: Path) -> None:
    server = _server(make_server, postgres_url, tmp_path, search_timeout=0.2)
    alice = _client(server, "alice", SEARCH)
    # Another session holds the table (as a long migration would): the search waits on
    # it until its statement timeout ends it.
    with psycopg.connect(postgres_url) as other:
        other.execute("LOCK TABLE history_messages IN ACCESS EXCLUSIVE MODE")
        alice.send("SEARCH text=anything")
        fail = alice.expect("FAIL")
    assert fail.params == ["SEARCH", "INTERNAL_ERROR", "The search could not be run"]
    alice.close()


# --- msgids -----------------------------------------------------------------------------------
def test_numbers_grow_and_carry_their_node() -> None:
    numbers = Numbers(node=3 + NETWORK_NODE)  # the sequence wraps below the network's
    taken = [numbers.take() for _ in range(5000)]  # more than one millisecond's sequence
    assert taken == sorted(set(taken))
    assert {n % (1 << NODE_BITS) for n in taken} == {3}
    assert all(n < 1 << 60 for n in taken)  # 15 hex digits: what a msgid's number holds
    # A store opened after a clock went back starts after what the table holds.
    later = Numbers(node=4, after=taken[-1] + (10**6 << NODE_BITS))
    assert later.take() > taken[-1] + (10**6 << NODE_BITS)


def test_two_stores_of_one_database_number_apart(postgres_url: str) -> None:
    stores = [PostgresHistory(postgres_url), PostgresHistory(postgres_url)]
    try:
        groups = []
        for i in range(20):
            store = stores[i % 2]
            row = (0, "", f'["#c", "m{i}"]')
            group = (
                ("#c", int(time.time() * 1000), "n!u@h", None, "PRIVMSG", "{}", None, None),
                list(row),
                None,
            )
            store.add_groups([group], number=True)
            groups.append(group)
        for store in stores:
            assert store.flush()
        msgids = [str(g[1][1]) for g in groups]
        assert len(set(msgids)) == 20
        assert all(row_id(m) == g[1][0] for m, g in zip(msgids, groups, strict=True))
        found = stores[0].latest("#c", 50)
        assert sorted(r.msgid for r in found) == sorted(msgids)
        assert stores[1].find("#c", msgids[0]) is not None
    finally:
        for store in stores:
            store.close()


def test_a_message_stored_twice_is_kept_once_and_its_batch_with_it(postgres_url: str) -> None:
    store = open_history(postgres_url)
    try:
        now = int(time.time() * 1000)
        first = Record("feedc0de1", "#c", now, "n!u@h", "PRIVMSG", ("#c", "once"), {})
        store.add(first)
        assert store.flush()
        store.add_rows(
            [
                record_row(first),
                record_row(Record("feedc0de2", "#c", now, "n!u@h", "PRIVMSG", ("#c", "new"), {})),
            ]
        )
        assert store.flush()
        assert [r.params[1] for r in store.latest("#c", 10)] == ["once", "new"]
    finally:
        store.close()


# --- the schema ---------------------------------------------------------------------------------
def test_the_schema_has_its_version_and_a_newer_one_is_refused(postgres_url: str) -> None:
    open_history(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as db:
        version = db.execute("SELECT version FROM schema_version WHERE component = 'history'")
        assert version.fetchone() == (1,)
        db.execute("UPDATE schema_version SET version = 99 WHERE component = 'history'")
    with pytest.raises(HistoryError, match="version 99"):
        open_history(postgres_url)


# --- an outage ----------------------------------------------------------------------------------
@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this test's own: stopping it disturbs no other test."""
    with private_postgres() as instance:
        yield instance


def _logged(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "server.history_pg" and r.levelno == level
    ]


def test_an_outage_fails_reads_at_once_and_keeps_the_writes(
    postgres: PrivatePostgres,
    make_server: ServerFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = _server(make_server, postgres.url, tmp_path)
    alice, bob = _client(server, "alice", SEARCH), _client(server, "bob", SEARCH)
    dave = _client(server, "dave", ())  # joins get a replay: it cannot ask for history
    alice.send("JOIN #room")
    alice.expect("JOIN")
    alice.send("PRIVMSG #general :before the outage")
    kept = alice.expect("PRIVMSG").tags["msgid"]
    bob.expect("PRIVMSG")
    assert server.history is not None and server.history.flush()
    postgres.stop()
    # Chatting goes on; the messages wait in the writer's queue.
    alice.send("PRIVMSG #general :during the outage")
    alice.expect("PRIVMSG")
    assert bob.expect("PRIVMSG").params[1] == "during the outage"
    # Reads get a standard reply at once, never a hang.
    # (The first read may wait for the pool's 2 s: the outage is not known before.)
    bob.send("CHATHISTORY LATEST #general * 10")
    fail = bob.expect("FAIL", timeout=15)
    assert fail.params == ["CHATHISTORY", "TEMPORARILY_UNAVAILABLE", UNAVAILABLE]
    bob.send("SEARCH text=outage")
    assert bob.expect("FAIL").params == ["SEARCH", "TEMPORARILY_UNAVAILABLE", UNAVAILABLE]
    alice.send(f"REDACT #general {kept}")  # its message cannot be looked up: not deleted
    assert alice.expect("FAIL").params == ["REDACT", "TEMPORARILY_UNAVAILABLE", UNAVAILABLE]
    # A join goes ahead, without the replay it cannot read: no FAIL, no waiting.
    dave.send("JOIN #room")
    assert [m.command for m in dave.sync() if m.command in ("JOIN", "FAIL", "BATCH")] == ["JOIN"]
    assert len(_logged(caplog, logging.WARNING)) == 1
    postgres.start()
    # Back: what was queued is stored, in order, without a restart.
    wait_for(server.history.flush, timeout=15, what="the queued messages to be stored")
    assert _texts(bob, "CHATHISTORY LATEST #general * 10") == [
        "before the outage",
        "during the outage",
    ]
    assert len(_logged(caplog, logging.WARNING)) == 1  # one outage, logged once each way
    assert len(_logged(caplog, logging.INFO)) == 1
    for client in (alice, bob, dave):
        client.close()


def test_the_queue_is_bounded_during_an_outage(
    postgres: PrivatePostgres, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    monkeypatch.setattr(history_pg, "MAX_BACKLOG", 5)
    store = PostgresHistory(postgres.url)
    try:
        postgres.stop()
        now = int(time.time() * 1000)
        store.add(Record("feedc0de1", "#c", now, "n!u@h", "PRIVMSG", ("#c", "first"), {}))
        for i in range(2, 10):
            store.add(Record(f"feedc0de{i:x}", "#c", now, "n!u@h", "PRIVMSG", ("#c", str(i)), {}))
        wait_for(
            lambda: any("dropped" in r.getMessage() for r in caplog.records),
            timeout=15,
            what="the oldest to be dropped",
        )
        with pytest.raises(HistoryUnavailable):
            store.latest("#c", 10)
        postgres.start()
        wait_for(store.flush, timeout=15, what="the queue to be stored")
        assert [r.params[1] for r in store.latest("#c", 10)] == ["5", "6", "7", "8", "9"]
        dropped = [r for r in caplog.records if "dropped" in r.getMessage()]
        assert all(r.levelno == logging.WARNING for r in dropped)
    finally:
        store.close()
