"""SEARCH (soju.im/search) over real sockets: results and each attribute, what a client
may search (the channels it is in, its own conversations), limits, every refusal, a
restart, and the index alone (fed in the background, forgetting removed rows)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from server.accounts import AccountStore
from server.history import QUIET, HistoryStore
from server.history import SCHEMA_VERSION as HISTORY_VERSION
from server.history_records import Record, row
from server.protocol.codec import format_time
from server.search import SCHEMA_VERSION as SEARCH_VERSION
from server.search import Query, SearchIndex
from server.server import ChatServer
from tests.support.histories import open_history, open_search
from tests.support.ircclient import IRCClient
from tests.support.services import server_options
from tests.support.waiting import wait_for

CAP = "soju.im/search"
FULL = ("batch", "server-time", "message-tags", "echo-message", CAP)


@pytest.fixture
def sserver(store_place: str, make_server, tmp_path: Path) -> ChatServer:
    """A server keeping history in a temporary directory, or in PostgreSQL."""
    return make_server(flood_rate=0, **server_options(store_place, tmp_path))


def _client(server: ChatServer, nick: str, caps=FULL) -> IRCClient:
    client = IRCClient(server.port)
    client.register(nick, caps)
    return client


def _say(client: IRCClient, target: str, *texts: str) -> None:
    """Send messages and wait for their echoes (so they are relayed, and stored)."""
    for text in texts:
        client.send(f"PRIVMSG {target} :{text}")
        client.expect("PRIVMSG", target)


def _search(client: IRCClient, attributes: str) -> list:
    """The lines of the batch answering ``SEARCH attributes`` (its BATCH + first)."""
    client.send(f"SEARCH {attributes}")
    start = client.expect("BATCH")
    assert start.params[1:] == ["soju.im/search"]
    ref = start.params[0][1:]
    lines = []
    while True:
        message = client.next()
        assert message is not None
        if message.command == "BATCH" and message.params[0] == "-" + ref:
            return [start, *lines]
        lines.append(message)  # in the batch, or in one nested in it


def _texts(client: IRCClient, attributes: str) -> list[str]:
    return [m.params[1] for m in _search(client, attributes)[1:]]


def _fail(client: IRCClient, attributes: str) -> list[str]:
    client.send(f"SEARCH {attributes}")
    return client.expect("FAIL").params


# --- offering it ----------------------------------------------------------------------
def test_offered_with_history_only(sserver, make_server) -> None:
    client = IRCClient(sserver.port)
    client.send("CAP LS 302")
    assert CAP in client.expect("CAP").params[-1].split()
    client.close()
    bare = make_server()  # no data directory: no history to search
    client = IRCClient(bare.port)
    client.send("CAP LS 302")
    assert CAP not in client.expect("CAP").params[-1].split()
    client.close()


def test_without_the_capability_there_is_no_such_command(sserver) -> None:
    plain = _client(sserver, "plain", caps=("batch",))
    plain.send("SEARCH text=hello")
    assert plain.expect("421").params[1:] == ["SEARCH", "Unknown command"]
    plain.close()


def test_needs_registration_and_a_parameter(sserver) -> None:
    early = IRCClient(sserver.port)
    early.send("CAP REQ :" + CAP, "SEARCH text=hello")
    early.expect("CAP")
    assert early.expect("451").params[1:] == ["You have not registered"]
    early.close()
    alice = _client(sserver, "alice")
    alice.send("SEARCH")
    assert alice.expect("461").params[1:] == ["SEARCH", "Not enough parameters"]
    alice.close()


# --- results and attributes -------------------------------------------------------------
def test_text_finds_words_and_prefixes_with_msgid_and_time(sserver) -> None:
    alice = _client(sserver, "alice")
    alice.send("PRIVMSG #general :That was fast!")
    sent = alice.expect("PRIVMSG")
    _say(alice, "#general", "something else", "Fasting is hard.")
    batch = _search(alice, "text=fast;in=#general")
    assert [m.params for m in batch[1:]] == [
        ["#general", "That was fast!"],
        ["#general", "Fasting is hard."],
    ]
    assert batch[1].source.startswith("alice!")
    assert batch[1].tags["msgid"] == sent.tags["msgid"]
    assert batch[1].tags["time"] == sent.tags["time"]
    # Every word must match; case and accents do not matter.
    assert _texts(alice, "text=THAT\\sFAST") == ["That was fast!"]
    _say(alice, "#general", "un café noir")
    assert _texts(alice, "text=cafe") == ["un café noir"]
    alice.close()


def test_from_in_and_limit(sserver) -> None:
    alice, bob = _client(sserver, "alice"), _client(sserver, "bob")
    for client in (alice, bob):
        client.send("JOIN #dev")
        client.expect("JOIN")
    alice.expect("JOIN")  # bob's
    _say(alice, "#general", "alpha one")
    _say(bob, "#general", "alpha two")
    _say(alice, "#dev", "alpha three")
    assert _texts(bob, "from=ALICE") == ["alpha one", "alpha three"]
    assert _texts(bob, "from=alice;in=#general") == ["alpha one"]
    assert _texts(bob, "in=#DEV") == ["alpha three"]
    # The newest matches when only a limit is given, still oldest first.
    assert _texts(bob, "text=alpha;in=#general;limit=1") == ["alpha two"]
    assert len(_texts(bob, "text=alpha;limit=2")) == 2
    assert _texts(bob, "from=nobody") == []
    alice.close()
    bob.close()


def test_after_and_before(sserver) -> None:
    alice = _client(sserver, "alice")
    history = sserver.history
    assert history is not None
    base = int(time.time() * 1000) - 60_000
    texts = ("first", "second", "third")
    history.add_rows(
        [
            row(
                f"t{i}",
                "#general",
                base + i * 1000,
                "bob!b@h",
                None,
                "PRIVMSG",
                ("#general", t),
                {},
            )
            for i, t in enumerate(texts)
        ]
    )
    stamps = [format_time(base + i * 1000) for i in range(3)]
    assert _texts(alice, f"after={stamps[1]}") == ["second", "third"]
    assert _texts(alice, f"before={stamps[1]}") == ["first", "second"]
    assert _texts(alice, f"after={stamps[0]};before={stamps[1]}") == ["first", "second"]
    # From `after` forwards: the oldest matches after it; otherwise the newest.
    assert _texts(alice, f"after={stamps[0]};limit=1") == ["first"]
    assert _texts(alice, f"before={stamps[2]};limit=1") == ["third"]
    assert _texts(alice, "before=2010-01-01T00:00:00.000Z") == []
    alice.close()


def test_limit_is_at_most_100(sserver) -> None:
    alice = _client(sserver, "alice")
    history = sserver.history
    assert history is not None
    now = int(time.time() * 1000)
    history.add_rows(
        [
            row(
                f"x{i}",
                "#general",
                now + i,
                "alice!a@h",
                None,
                "PRIVMSG",
                ("#general", f"n{i}"),
                {},
            )
            for i in range(130)
        ]
    )
    texts = _texts(alice, "limit=1000")
    assert len(texts) == 100 and texts[-1] == "n129"
    assert len(_texts(alice, "text=n1")) == 41  # n1, n10-n19, n100-n129: the default is 100
    alice.close()


def test_only_messages_and_notices_are_found(sserver) -> None:
    alice = _client(sserver, "alice")
    alice.send("NOTICE #general :notice about lunch", "TOPIC #general :lunch topic")
    notice = alice.expect("NOTICE")
    alice.expect("TOPIC")
    # A reaction, which history keeps (and CHATHISTORY replays): a TAGMSG has no text.
    msgid = notice.tags["msgid"]
    alice.send(f"@+draft/react=lunch;+draft/reply={msgid} TAGMSG #general")
    alice.expect("TAGMSG")
    assert sserver.history is not None and sserver.history.flush()
    stored = sserver.history.latest("#general", 10)
    assert [r.command for r in stored].count("TAGMSG") == 1
    batch = _search(alice, "in=#general")
    assert [(m.command, m.params[1]) for m in batch[1:]] == [("NOTICE", "notice about lunch")]
    assert _texts(alice, "text=lunch") == ["notice about lunch"]
    alice.close()


# --- members only, accounts only --------------------------------------------------------
def test_only_channels_you_are_in(sserver) -> None:
    alice, bob = _client(sserver, "alice"), _client(sserver, "bob")
    alice.send("JOIN #secret")
    alice.expect("JOIN")
    _say(alice, "#secret", "the plan is ready")
    _say(alice, "#general", "the plan is public")
    assert _texts(bob, "text=plan") == ["the plan is public"]
    assert _fail(bob, "in=#secret;text=plan") == [
        "SEARCH",
        "INVALID_PARAMS",
        "in",
        "Invalid parameters",
    ]
    assert _fail(bob, "in=#nowhere") == ["SEARCH", "INVALID_PARAMS", "in", "Invalid parameters"]
    # A channel left is no longer searchable, with or without `in`.
    assert _texts(alice, "text=plan") == ["the plan is ready", "the plan is public"]
    alice.send("PART #secret")
    alice.expect("PART")
    assert _texts(alice, "text=plan") == ["the plan is public"]
    assert _fail(alice, "in=#secret")[2:3] == ["in"]
    alice.close()
    bob.close()


def test_a_new_life_of_a_channel_does_not_find_the_old_one(sserver) -> None:
    alice, bob = _client(sserver, "alice"), _client(sserver, "bob")
    alice.send("JOIN #temp")
    alice.expect("JOIN")
    _say(alice, "#temp", "old life secret")
    alice.send("PART #temp")
    alice.expect("PART")
    bob.send("JOIN #temp")  # the channel is made again: its earlier life is not bob's
    bob.expect("JOIN")
    assert _texts(bob, "in=#temp") == []
    assert _texts(bob, "text=secret") == []
    alice.close()
    bob.close()


def test_direct_messages_only_your_own(sserver) -> None:
    carol, dave, erin = (_client(sserver, n) for n in ("carol", "dave", "erin"))
    _say(carol, "dave", "the launch code is 1234")
    dave.expect("PRIVMSG", "dave")
    assert _texts(carol, "text=launch") == ["the launch code is 1234"]
    assert _texts(dave, "in=carol") == ["the launch code is 1234"]
    assert _texts(erin, "text=launch") == []
    assert _texts(erin, "in=carol") == []  # erin's own conversation with carol: empty
    assert _texts(erin, "in=dave;text=launch") == []
    # Whoever takes the nick later reads nothing of it.
    for client in (carol, dave):
        client.send("QUIT")
        client.wait_closed()
    taker = _client(sserver, "dave")
    assert _texts(taker, "text=launch") == []
    assert _texts(taker, "in=carol") == []
    taker.close()
    erin.close()


# --- refusals -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attributes", "context"),
    [
        ("limit=0", "limit"),
        ("limit=-3", "limit"),
        ("limit=ten", "limit"),
        ("limit=", "limit"),
        ("after=yesterday", "after"),
        ("before=2026-13-45T99:00:00.000Z", "before"),
        ("from=", "from"),
        ("in=", "in"),
        ("in=*", "in"),
        ("colour=red", "colour"),
        ("text=a;=b", "text=a;=b"),
    ],
)
def test_bad_attributes_fail(sserver, attributes: str, context: str) -> None:
    alice = _client(sserver, "alice")
    assert _fail(alice, attributes) == ["SEARCH", "INVALID_PARAMS", context, "Invalid parameters"]
    alice.send("PING :still-here")
    assert alice.expect("PONG").params[-1] == "still-here"
    alice.close()


def test_hostile_text_is_only_words(sserver) -> None:
    alice = _client(sserver, "alice")
    _say(alice, "#general", "plain words here")
    for text in ('"', "NEAR(a\\sb)", "*", "text:plain", "a\\sOR\\sb", "!!!"):
        assert _texts(alice, f"text={text}") == [], text
    # Punctuation is not part of a word, so it changes nothing.
    assert _texts(alice, "text=^plain,") == ["plain words here"]
    assert _texts(alice, "text=plain\\s-here") == ["plain words here"]  # not NOT
    assert _texts(alice, "text=plain\\s\\s\\swords") == ["plain words here"]
    alice.close()


def test_a_search_out_of_time_fails(make_server, tmp_path: Path) -> None:
    server = make_server(data_dir=str(tmp_path), flood_rate=0, search_timeout=0)
    assert server.history is not None
    now = int(time.time() * 1000)
    server.history.add_rows(
        [
            row(f"x{i}", "#general", now, "bob!b@h", None, "PRIVMSG", ("#general", f"word {i}"), {})
            for i in range(3000)
        ]
    )
    alice = _client(server, "alice")
    assert _fail(alice, "from=nobody") == [
        "SEARCH",
        "INTERNAL_ERROR",
        "The search could not be run",
    ]
    alice.close()


# --- lasting ------------------------------------------------------------------------------
def test_found_after_a_restart(store_place: str, make_server, tmp_path: Path) -> None:
    first = make_server(flood_rate=0, **server_options(store_place, tmp_path))
    alice = _client(first, "alice")
    _say(alice, "#general", "remember the milk")
    port = first.port
    alice.close()
    first.stop()
    second = make_server(flood_rate=0, port=port, **server_options(store_place, tmp_path))
    alice = _client(second, "alice")
    _say(alice, "#general", "and the bread")
    assert _texts(alice, "text=the") == ["remember the milk", "and the bread"]
    alice.close()


def test_a_multiline_message_is_found_and_sent_as_one(sserver) -> None:
    caps = (*FULL, "draft/multiline")
    alice = _client(sserver, "alice", caps=caps)
    alice.send(
        "BATCH +m draft/multiline #general",
        "@batch=m PRIVMSG #general :first line",
        "@batch=m PRIVMSG #general :second needle",
        "BATCH -m",
    )
    alice.expect("BATCH")
    alice.sync()
    batch = _search(alice, "text=needle")
    inner = [m for m in batch[1:] if m.command == "BATCH"]
    assert inner[0].params[1:] == ["draft/multiline", "#general"]
    assert [m.params[1] for m in batch[1:] if m.command == "PRIVMSG"] == [
        "first line",
        "second needle",
    ]
    alice.close()


# --- the index alone ------------------------------------------------------------------------
def _msgid(i: int) -> str:
    """A msgid as the server makes them: a prefix, then the row's id (``i``) in hex."""
    return f"feedc0de{i:x}"


def _rec(i: int, text: str) -> Record:
    return Record(_msgid(i), "#c", 1000 + i, "n!u@h", "PRIVMSG", ("#c", text), {})


def test_the_index_is_fed_in_the_background_and_forgets_removed_rows(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    history = HistoryStore(path)
    index = SearchIndex(path, history.busy)
    try:
        for i in range(1, 1201):  # more than one transaction's worth
            history.add(_rec(i, f"word{i % 3} shared"))
        assert history.flush()
        wait_for(lambda: index.indexed_through() >= 1200, what="the background indexer")
        assert len(index.search(Query({"#c": 0}, words=["shared"], limit=100))) == 100
        # Removed (retention, or any DELETE) and changed rows leave the index with them.
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM messages WHERE msgid IN (?, ?)", (_msgid(3), _msgid(6)))
            db.execute(
                """UPDATE messages SET params = '["#c", "gone"]' WHERE msgid = ?""", (_msgid(9),)
            )
            db.execute("INSERT INTO search_index (search_index) VALUES ('integrity-check')")
        found = index.search(Query({"#c": 0}, words=["word0"], limit=5, after_ms=0))
        assert [r.msgid for r in found] == [_msgid(i) for i in (12, 15, 18, 21, 24)]
        assert [r.msgid for r in index.search(Query({"#c": 0}, words=["gone"]))] == [_msgid(9)]
    finally:
        index.close()
        history.close()


def test_an_index_of_another_version_is_built_again(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    history = HistoryStore(path)
    history.add(_rec(1, "kept text"))
    assert history.flush()
    SearchIndex(path, history.busy).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = 99 WHERE component = 'search'")
        db.execute("UPDATE search_progress SET indexed_through = 0")
        db.execute("INSERT INTO search_index (search_index) VALUES ('delete-all')")
    index = SearchIndex(path, history.busy)
    try:
        index.catch_up()
        assert [r.msgid for r in index.search(Query({"#c": 0}, words=["kept"]))] == [_msgid(1)]
        with sqlite3.connect(path) as db:
            versions = dict(db.execute("SELECT component, version FROM schema_version"))
        assert versions["search"] == SEARCH_VERSION and versions["history"] == HISTORY_VERSION
    finally:
        index.close()
        history.close()


def test_a_time_stamp_in_the_future_finds_everything(sserver) -> None:
    alice = _client(sserver, "alice")
    _say(alice, "#general", "now")
    later = format_time(int(time.time() * 1000) + 60_000)
    assert _texts(alice, f"before={later}") == ["now"]
    alice.close()


def test_the_indexer_waits_while_the_writer_has_work(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    history = HistoryStore(path)
    busy = [True]
    index = SearchIndex(path, lambda: busy[0])
    try:
        history.add(_rec(1, "queued while busy"))
        assert history.flush()
        assert index.catch_up(idle_only=True) == 0  # the background's way: it waits
        assert index.indexed_through() == 0
        # A query does not wait: it indexes what is missing first.
        assert index.catch_up() == 1
        assert [r.msgid for r in index.search(Query({"#c": 0}, words=["busy"]))] == [_msgid(1)]
        busy[0] = False
        history.add(_rec(2, "written when idle"))
        assert history.flush()
        wait_for(lambda: index.indexed_through() >= 2, what="the background indexer")
    finally:
        index.close()
        history.close()


def test_the_writer_counts_as_busy_until_messages_stop_arriving(tmp_path: Path) -> None:
    """At full rate the writer's queue is empty for a moment after every commit; the
    background indexer waits until no message has come for ``QUIET`` seconds."""
    now = [100.0]
    history = HistoryStore(tmp_path / "h.sqlite3", clock=lambda: now[0])
    try:
        assert not history.busy()  # nothing has come yet
        history.add(_rec(1, "one"))
        assert history.flush()
        assert history.busy()  # committed, but taken just now: more may follow
        now[0] += QUIET / 2
        assert history.busy()
        now[0] += QUIET / 2
        assert not history.busy()
    finally:
        history.close()


def test_a_signed_in_conversation_is_found_by_account_under_any_nick(
    store_place, make_server, tmp_path
):
    store = AccountStore(store_place)
    for name in ("carol", "dave"):
        store.create(name, "secret")
    store.close()
    stores = server_options(store_place, tmp_path)
    server = make_server(flood_rate=0, reserve_nicks=False, **stores)
    assert server.accounts is not None

    def signed_in(nick: str, account: str) -> IRCClient:
        client = _client(server, nick)
        server.sign_in(server.registry.find_nick(nick), server.accounts.find(account))
        client.expect("900")
        client.sync()
        return client

    carol, dave = signed_in("carol", "carol"), signed_in("dave", "dave")
    _say(carol, "dave", "between our accounts")
    dave.expect("PRIVMSG", "dave")
    for client in (carol, dave):
        client.send("QUIT")
        client.wait_closed()
    # carol, signed in again under another nick, finds it; whoever takes her nick does not.
    back = signed_in("carol2", "carol")
    assert _texts(back, "text=accounts") == ["between our accounts"]
    assert _texts(back, "in=dave") == ["between our accounts"]
    stranger = _client(server, "carol")
    assert _texts(stranger, "text=accounts") == []
    assert _texts(stranger, "in=dave") == []
    back.close()
    stranger.close()


def test_a_search_runs_on_the_index_s_own_thread(sserver, monkeypatch) -> None:
    index = sserver.search
    assert index is not None
    threads: list[str] = []
    search = index.search

    def recorded(query: Query) -> list[Record]:
        threads.append(threading.current_thread().name)
        return search(query)

    monkeypatch.setattr(index, "search", recorded)
    alice = _client(sserver, "alice")
    _say(alice, "#general", "on which thread")
    assert _texts(alice, "text=thread") == ["on which thread"]
    assert threads == ["kibitz-search-queries"]  # not the connection's reader thread
    alice.close()


def test_the_search_alone_on_either_backend(store_place: str) -> None:
    history = open_history(store_place)
    search = open_search(history)

    def found(channels: dict[str, int] | None = None, **query) -> list[str]:
        where = {"#c": 0} if channels is None else channels
        return [r.params[1] for r in search.find(Query(where, **query))]

    try:
        texts = ["Café au lait", "the LAUNCH code", "\x01ACTION waves\x01", "e-mail me@x.org"]
        for i, text in enumerate(texts, 1):
            history.add(Record(_msgid(i), "#c", 1000 + i, f"n{i}!u@h", "PRIVMSG", ("#c", text), {}))
        history.add(Record(_msgid(5), "#c", 1005, "n!u@h", "TOPIC", ("#c", "topic words"), {}))
        history.add(Record(_msgid(6), "#c", 1006, "bob!u@h", "NOTICE", ("#c", "bob's note"), {}))
        dm = Record(
            _msgid(7),
            "dm:carol:dave",
            1007,
            "carol!u@h",
            "PRIVMSG",
            ("dave", "a secret"),
            {},
            "carol",
            "carol",
            "dave",
        )
        history.add(dm)
        assert history.flush()
        assert found(words=["cafe"]) == ["Café au lait"]  # case and accents do not count
        assert found(words=["LAUN", "code"]) == ["the LAUNCH code"]  # each word a prefix
        assert found(words=["action"]) == [] and found(words=["waves"]) == ["\x01ACTION waves\x01"]
        assert found(words=["mail", "org"]) == ["e-mail me@x.org"]  # punctuation splits
        assert found(words=["topic"]) == []  # only messages and notices
        assert found(nick="bob") == ["bob's note"]
        assert found(after_ms=1002, before_ms=1003) == ["the LAUNCH code", "\x01ACTION waves\x01"]
        assert found(limit=1) == ["bob's note"]  # the newest, without after_ms
        assert found(after_ms=0, limit=1) == ["Café au lait"]  # the oldest, with it
        assert found(channels={"#c": 2}) == [
            "\x01ACTION waves\x01",
            "e-mail me@x.org",
            "bob's note",
        ]
        assert found(channels={}, party="dave", words=["secret"]) == ["a secret"]
        assert found(channels={}, party="mallory", words=["secret"]) == []
        assert found(channels={}, conversation="dm:carol:dave") == ["a secret"]
        assert history.remove("#c", _msgid(1)) == 1
        assert found(words=["cafe"]) == []  # a deleted message is found no more
    finally:
        search.close()
        history.close()
