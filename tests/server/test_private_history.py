"""Private history over real sockets: a direct conversation belongs to its two accounts
(or, not signed in, to the two connections), and a channel's history to this life of it."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from server.accounts import AccountStore
from server.history import SCHEMA_VERSION, HistoryStore
from server.protocol.codec import format_time
from server.server import ChatServer
from tests.support.ircclient import IRCClient
from tests.support.services import server_options

FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")
EVER = "timestamp=2000-01-01T00:00:00.000Z"


@pytest.fixture
def hserver(store_place: str, make_server, tmp_path: Path) -> ChatServer:
    """A server keeping history and accounts in a temporary directory (or PostgreSQL); a
    stranger may take an account's nick here (no nick reservation), to show history
    stays private."""
    store = AccountStore(store_place)
    for name in ("carol", "dave"):
        store.create(name, "secret")
    store.close()
    return make_server(flood_rate=0, reserve_nicks=False, **server_options(store_place, tmp_path))


def _client(server: ChatServer, nick: str, caps=FULL, account: str | None = None) -> IRCClient:
    client = IRCClient(server.port)
    client.register(nick, caps)
    if account is not None:
        sign_in(server, client, account)
    return client


def sign_in(server: ChatServer, client: IRCClient, account: str) -> None:
    """Sign the connection in to ``account`` through the server's one sign-in function."""
    session = server.registry.find_nick(client.nick)
    server.sign_in(session, server.accounts.find(account))
    client.expect("900")
    client.sync()


def _batch(client: IRCClient, line: str) -> list:
    """The lines of the batch answering ``line`` (its BATCH + first)."""
    start, lines = client.batch(line)
    return [start, *lines]


def _texts(batch: list) -> list[str]:
    return [m.params[1] for m in batch[1:]]


def _targets(client: IRCClient) -> list[str]:
    later = format_time(int(time.time() * 1000) + 60_000)
    return [
        m.params[1] for m in _batch(client, f"CHATHISTORY TARGETS {EVER} timestamp={later} 10")[1:]
    ]


def _quit(client: IRCClient) -> None:
    client.send("QUIT")
    client.wait_closed()


# --- direct conversations -----------------------------------------------------------------
def test_a_dm_is_not_read_by_whoever_takes_the_nick(hserver) -> None:
    carol, dave = _client(hserver, "carol"), _client(hserver, "dave")
    carol.send("PRIVMSG dave :the launch code is 1234")
    dave.expect("PRIVMSG", "dave")
    dave.send("PRIVMSG carol :noted")
    carol.expect("PRIVMSG", "carol")
    # While both are connected, each reads their conversation.
    assert _texts(_batch(carol, "CHATHISTORY LATEST dave * 10")) == [
        "the launch code is 1234",
        "noted",
    ]
    _quit(carol)
    _quit(dave)
    for nick, other in (("carol", "dave"), ("dave", "carol")):
        taker = _client(hserver, nick)
        assert _texts(_batch(taker, f"CHATHISTORY LATEST {other} * 10")) == []
        assert other not in _targets(taker)
        taker.close()


def test_a_signed_in_dm_belongs_to_the_accounts_under_any_nick(hserver) -> None:
    carol = _client(hserver, "carol", account="carol")
    dave = _client(hserver, "dave", account="dave")
    carol.send("PRIVMSG dave :just between us")
    dave.expect("PRIVMSG", "dave")
    dave.send("NICK dave2")
    dave.expect("NICK")
    dave.send("PRIVMSG carol :agreed, from my new nick")
    carol.expect("PRIVMSG", "carol")
    # Under the other party's current nick, before and after it changed.
    both = ["just between us", "agreed, from my new nick"]
    assert _texts(_batch(carol, "CHATHISTORY LATEST dave2 * 10")) == both
    assert _texts(_batch(dave, "CHATHISTORY LATEST carol * 10")) == both
    assert "dave" in _targets(carol)
    _quit(carol)
    _quit(dave)
    # A stranger who takes the nick reads nothing; carol, signed in again, reads it all.
    stranger = _client(hserver, "carol")
    assert _texts(_batch(stranger, "CHATHISTORY LATEST dave * 10")) == []
    assert "dave" not in _targets(stranger)
    stranger.close()
    back = _client(hserver, "carol_", account="carol")
    assert _texts(_batch(back, "CHATHISTORY LATEST dave * 10")) == both
    assert "dave" in _targets(back)
    back.close()


def test_dm_history_after_a_restart_is_keyed_by_account(
    store_place: str, make_server, tmp_path: Path
) -> None:
    store = AccountStore(store_place)
    for name in ("carol", "dave"):
        store.create(name, "secret")
    store.close()
    stores = server_options(store_place, tmp_path)
    first = make_server(flood_rate=0, reserve_nicks=False, **stores)
    carol = _client(first, "carol", account="carol")
    dave = _client(first, "dave", account="dave")
    carol.send("PRIVMSG dave :before the restart")
    dave.expect("PRIVMSG", "dave")
    first.stop()
    carol.close()
    dave.close()
    second = make_server(flood_rate=0, reserve_nicks=False, **stores)
    stranger = _client(second, "dave")
    assert _texts(_batch(stranger, "CHATHISTORY LATEST carol * 10")) == []
    _quit(stranger)
    carol = _client(second, "cc", account="carol")
    assert _texts(_batch(carol, "CHATHISTORY LATEST dave * 10")) == ["before the restart"]
    carol.close()


# --- channels -----------------------------------------------------------------------------
def test_a_re_created_private_room_shows_nothing_of_its_past(hserver) -> None:
    caps = ("batch", "server-time", "message-tags")  # no chathistory: replayed on join
    alice, bob = _client(hserver, "alice"), _client(hserver, "bob")
    alice.send("JOIN #plans", "MODE #plans +iks hush")
    alice.expect("MODE", "#plans")
    alice.send("INVITE bob #plans")
    bob.expect("INVITE")
    bob.send("JOIN #plans hush")
    bob.expect("366", "bob", "#plans")
    alice.send("PRIVMSG #plans :the surprise party is on friday")
    bob.expect("PRIVMSG", "#plans")
    for client in (alice, bob):
        client.send("PART #plans")
        client.expect("PART")
    mallory = _client(hserver, "mallory", caps)
    mallory.send("JOIN #plans")
    mallory.expect("366", "mallory", "#plans")
    seen = mallory.sync()
    assert [m for m in seen if m.command == "PRIVMSG"] == []  # no join replay
    mallory.send("CAP REQ :draft/chathistory")
    mallory.expect("CAP")
    assert _texts(_batch(mallory, "CHATHISTORY LATEST #plans * 10")) == []
    assert _texts(_batch(mallory, f"CHATHISTORY AFTER #plans {EVER} 10")) == []
    assert "#plans" not in _targets(mallory)
    # What is said in this life is history for it as usual.
    mallory.send("PRIVMSG #plans :mine now")
    mallory.sync()
    assert _texts(_batch(mallory, "CHATHISTORY LATEST #plans * 10")) == ["mine now"]
    for client in (alice, bob, mallory):
        client.close()


# --- an old database ----------------------------------------------------------------------
_OLD_SCHEMA = """
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
"""


def test_an_old_database_keeps_its_channels_and_hides_nick_keyed_dms(
    make_server, tmp_path: Path
) -> None:
    db = sqlite3.connect(tmp_path / "history.sqlite3")
    db.executescript(_OLD_SCHEMA)
    now = int(time.time() * 1000)
    db.executemany(
        "INSERT INTO messages (msgid, target, time_ms, source, command, params, tags,"
        " party_a, party_b) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (
                "m1",
                "#general",
                now - 2000,
                "x!x@h",
                "PRIVMSG",
                '["#general", "old hello"]',
                "{}",
                None,
                None,
            ),
            (
                "m2",
                "dm:carol:dave",
                now - 1000,
                "carol!c@h",
                "PRIVMSG",
                '["dave", "old secret"]',
                "{}",
                "carol",
                "dave",
            ),
        ],
    )
    db.commit()
    db.close()
    AccountStore(tmp_path).create("carol", "secret")
    server = make_server(data_dir=str(tmp_path), flood_rate=0, reserve_nicks=False)
    carol = _client(server, "carol", account="carol")
    assert _texts(_batch(carol, "CHATHISTORY LATEST #general * 10")) == ["old hello"]
    assert _texts(_batch(carol, "CHATHISTORY LATEST dave * 10")) == []
    assert "dave" not in _targets(carol)
    carol.close()
    server.stop()
    reopened = HistoryStore(tmp_path / "history.sqlite3")  # migrated once, then as new
    reopened.close()
    check = sqlite3.connect(tmp_path / "history.sqlite3")
    version = check.execute("SELECT version FROM schema_version WHERE component='history'")
    assert version.fetchone()[0] == SCHEMA_VERSION
    assert check.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 2
    check.close()
