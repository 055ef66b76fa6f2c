"""ChatModel against a real Kibitz server on port 0, and against a scripted fake server."""

from __future__ import annotations

import threading

import pytest

from app.model import (
    BACKOFF_CAP,
    HANDLERS,
    ChatModel,
    Kind,
    backoff_delay,
    casefold,
    next_nick,
    strip_formatting,
)
from server.codec import MAX_LINE
from server.config import Config
from server.server import ChatServer
from tests.app.fakeserver import FakeServer
from tests.app.helpers import EventLog, wait_for


def _untagged_len(message) -> int:
    """Bytes of the line as relayed (tags excluded, CRLF included)."""
    line = message.format()
    if message.tags:
        line = line.split(" ", 1)[1]
    return len(line.encode()) + 2


def test_connects_registers_and_joins(server, make_model):
    model, log = make_model(server.port, "alice")
    log.expect(Kind.STATUS, state="connecting")
    log.expect(Kind.REGISTERED, nick="alice")
    log.expect(Kind.STATUS, state="connected")
    log.expect(Kind.JOIN, target="#general", nick="alice", own=True)
    members = log.expect(Kind.MEMBERS, target="#general")
    assert ("", "alice") in members.members or ("@", "alice") in members.members
    assert {"echo-message", "server-time", "message-tags"} <= model.caps
    assert model.joined() == ["#general"]


def test_message_echo_and_reply(server, make_model, connect):
    bob = connect("bob")
    model, log = make_model(server.port, "alice")
    log.expect(Kind.JOIN, nick="alice", own=True)
    bob.expect("JOIN", "#general", where=lambda m: m.nick == "alice")
    assert model.say("#general", "hello bob")
    got = bob.expect("PRIVMSG", "#general", "hello bob")
    assert got.nick == "alice"
    own = log.expect(Kind.MESSAGE, target="#general", nick="alice", own=True)
    assert own.text == "hello bob"
    assert own.time is not None
    bob.send("PRIVMSG #general :hi alice")
    reply = log.expect(Kind.MESSAGE, target="#general", nick="bob")
    assert reply.text == "hi alice"
    assert not reply.own
    # The echo is the only copy: no local echo on top of it.
    assert len(log.of(Kind.MESSAGE, own=True)) == 1


def test_direct_message_opens_a_conversation(server, make_model, connect):
    bob = connect("bob")
    model, log = make_model(server.port, "alice")
    log.expect(Kind.REGISTERED)
    bob.send("PRIVMSG alice :psst")
    event = log.expect(Kind.MESSAGE, nick="bob")
    assert event.target == "bob"
    assert model.say("bob", "yes?")
    bob.expect("PRIVMSG", "bob", "yes?")
    echo = log.expect(Kind.MESSAGE, own=True)
    assert echo.target == "bob"
    assert "bob" in model.queries


def test_action_is_sent_as_ctcp(server, make_model, connect):
    bob = connect("bob")
    model, log = make_model(server.port, "alice")
    log.expect(Kind.JOIN, own=True)
    model.say("#general", "waves", action=True)
    bob.expect("PRIVMSG", "#general", "\x01ACTION waves\x01")
    event = log.expect(Kind.MESSAGE, own=True)
    assert event.action and event.text == "waves"


def test_emoji_round_trip(server, make_model, connect):
    bob = connect("bob")
    model, log = make_model(server.port, "alice")
    log.expect(Kind.JOIN, own=True)
    text = "héllo 👋🏽 世界 🇫🇷 ok"
    model.say("#general", text)
    assert bob.expect("PRIVMSG", "#general").params[1] == text
    bob.send(f"PRIVMSG #general :{text[::-1]}")
    assert log.expect(Kind.MESSAGE, nick="bob").text == text[::-1]


def test_long_message_is_split_within_512_bytes(server, make_model, connect):
    bob = connect("bob")
    model, log = make_model(server.port, "alice")
    log.expect(Kind.JOIN, own=True)
    text = " ".join(f"wörd{i}-€" for i in range(300))  # ~3 KB of multi-byte text
    model.say("#general", text)
    pieces = []
    while "".join(pieces) != text:
        message = bob.expect("PRIVMSG", "#general")
        assert _untagged_len(message) <= MAX_LINE, message.format()
        pieces.append(message.params[1])
    assert len(pieces) >= 6
    # Every piece but the last fills the line closely: the budget is not wasted.
    first = bob.consumed[-len(pieces)]
    assert _untagged_len(first) > MAX_LINE - 20


def test_split_budget_counts_the_relayed_prefix(server, make_model, connect):
    bob = connect("bob")
    model, log = make_model(server.port, "a" * 25)
    log.expect(Kind.JOIN, own=True)
    assert model.mask is not None and model.mask.startswith("a" * 25 + "!")
    model.say("#general", "x" * 1000)
    total = 0
    while total < 1000:
        message = bob.expect("PRIVMSG", "#general")
        # Full lines (the ':' before the text is optional here, hence the 1 byte).
        size = _untagged_len(message)
        assert MAX_LINE - 1 <= size <= MAX_LINE or total + len(message.params[1]) == 1000
        total += len(message.params[1])


def test_multiline_paste_is_sent_as_separate_lines(server, make_model, connect):
    bob = connect("bob")
    model, log = make_model(server.port, "alice")
    log.expect(Kind.JOIN, own=True)
    model.say("#general", "one\ntwo\r\n\nthree\r")
    for text in ("one", "two", "three"):
        bob.expect("PRIVMSG", "#general", text)


def test_nick_collision_tries_underscore(server, make_model, connect):
    connect("alice")
    model, log = make_model(server.port, "alice")
    registered = log.expect(Kind.REGISTERED)
    assert registered.nick == "alice_"
    assert model.nick == "alice_"
    assert any("alice" in e.text for e in log.of(Kind.ERROR))
    assert log.of(Kind.OWN_NICK, nick="alice_")


def test_nick_change_in_use_after_registration_is_reported(server, make_model, connect):
    connect("bob")
    model, log = make_model(server.port, "alice")
    log.expect(Kind.JOIN, own=True)
    model.set_nick("bob")
    error = log.expect(Kind.ERROR)
    assert "bob" in error.text
    assert model.nick == "alice"
    model.set_nick("carol")
    log.expect(Kind.OWN_NICK, nick="carol")
    assert model.nick == "carol"
    assert [n for _, n in model.members("#general")] == ["bob", "carol"]


def test_reconnects_after_server_restart_and_rejoins(make_server, make_model):
    first = make_server()
    port = first.port
    release = threading.Event()
    delays: list[float] = []

    def sleep(delay: float) -> None:
        delays.append(delay)
        release.wait(10)

    model, log = make_model(port, "alice", sleep=sleep, rand=lambda: 1.0)
    log.expect(Kind.JOIN, target="#general", own=True)
    model.join("#dev")
    log.expect(Kind.JOIN, target="#dev", own=True)
    first.stop()
    log.expect(Kind.STATUS, state="disconnected")
    event = log.expect(Kind.STATUS, state="reconnecting")
    assert event.delay == 1.0
    second = ChatServer(Config(host="127.0.0.1", port=port, name="kibitz.test"))
    second.start()
    try:
        release.set()
        log.expect(Kind.REGISTERED, nick="alice")
        log.expect(Kind.JOIN, target="#dev", own=True)
        wait_for(lambda: sorted(model.joined()) == ["#dev", "#general"], what="rejoin")
        assert delays == [1.0]
    finally:
        model.stop()
        second.stop()


def test_backoff_grows_and_is_capped():
    assert backoff_delay(0, 1.0) == 1.0
    assert backoff_delay(3, 1.0) == 8.0
    assert backoff_delay(10, 1.0) == BACKOFF_CAP
    assert backoff_delay(100, 1.0) == BACKOFF_CAP
    assert backoff_delay(3, 0.0) == 4.0  # jitter keeps at least half
    for attempt in range(20):
        for rand in (0.0, 0.3, 0.99):
            assert 0.5 <= backoff_delay(attempt, rand) <= BACKOFF_CAP


def test_retries_with_backoff_when_no_server(make_model):
    # A port with nothing listening: take one, close it.
    import socket

    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    delays: list[float] = []
    holder: dict[str, ChatModel] = {}

    def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= 6:
            holder["model"].stop()

    model = ChatModel("127.0.0.1", port, "alice", sleep=sleep, rand=lambda: 1.0)
    holder["model"] = model
    log = EventLog(model.events)
    model.start()
    log.expect(Kind.STATUS, state="closed")
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    states = [e.text for e in log.of(Kind.STATUS, state="reconnecting")]
    assert "refused" in states[0]


def test_local_echo_when_server_lacks_echo_message(make_model):
    fake = FakeServer(caps="server-time")
    try:
        model, log = make_model(fake.port, "alice")
        log.expect(Kind.JOIN, target="#general", own=True)
        assert "echo-message" not in model.caps
        assert model.caps == {"server-time"}
        model.say("#general", "hello\nworld")
        first = log.expect(Kind.MESSAGE, own=True, text="hello")
        log.expect(Kind.MESSAGE, own=True, text="world")
        assert first.nick == "alice" and first.target == "#general"
        wait_for(lambda: len(fake.received("PRIVMSG")) == 2, what="two PRIVMSG")
        assert [m.params for m in fake.received("PRIVMSG")] == [
            ["#general", "hello"],
            ["#general", "world"],
        ]
    finally:
        fake.close()


def test_server_without_cap_support(make_model):
    fake = FakeServer(caps=None)
    try:
        model, log = make_model(fake.port, "alice")
        log.expect(Kind.REGISTERED)
        log.expect(Kind.MEMBERS, target="#general")
        assert model.members("#general") == [("@", "alice"), ("+", "carol"), ("", "dave")]
        assert not fake.received("CAP")[1:]  # only the LS probe
    finally:
        fake.close()


def test_answers_ping_and_ctcp_version(make_model):
    fake = FakeServer()
    try:
        _model, log = make_model(fake.port, "alice")
        log.expect(Kind.REGISTERED)
        fake.send("PING :token123", ":bob!b@h PRIVMSG alice :\x01VERSION\x01")
        wait_for(lambda: fake.received("PONG"), what="PONG")
        assert fake.received("PONG")[0].params == ["token123"]
        wait_for(lambda: fake.received("NOTICE"), what="CTCP reply")
        assert fake.received("NOTICE")[0].params[1].startswith("\x01VERSION ")
    finally:
        fake.close()


def test_keepalive_ping_timeout_reconnects(make_model):
    fake = FakeServer()
    fake.rules["PING"] = lambda server, msg: None  # a server that stopped answering
    release = threading.Event()
    try:
        _model, log = make_model(fake.port, "alice", keepalive=0.2, sleep=lambda d: release.wait(5))
        log.expect(Kind.REGISTERED)
        wait_for(lambda: fake.received("PING"), what="keep-alive PING")
        event = log.expect(Kind.STATUS, state="disconnected")
        assert "Ping timeout" in event.text
    finally:
        release.set()
        fake.close()


def test_quit_sends_quit(server, make_model, connect):
    bob = connect("bob")
    model, log = make_model(server.port, "alice")
    log.expect(Kind.JOIN, own=True)
    bob.expect("JOIN", "#general", where=lambda m: m.nick == "alice")
    model.quit("bye now")
    quit_msg = bob.expect("QUIT", where=lambda m: m.nick == "alice")
    assert "bye now" in quit_msg.params[0]
    log.expect(Kind.STATUS, state="closed")


# --- state fed line by line -------------------------------------------------------------
@pytest.fixture
def fed() -> tuple[ChatModel, EventLog]:
    model = ChatModel(nick="me")
    model.registered = True
    for line in (
        ":srv 005 me PREFIX=(qov)~@+ CHANTYPES=#& CASEMAPPING=rfc1459 :are supported",
        ":me!u@h JOIN #Chan",
        ":srv 353 me = #chan :me @+Zed +amy ~boss bob!b@h",
        ":srv 366 me #chan :End",
        ":srv 332 me #chan :the topic",
    ):
        model.handle_line(line)
    return model, EventLog(model.events)


def test_names_with_multi_prefix_sorted_ops_first(fed):
    model, _ = fed
    assert model.members("#CHAN") == [
        ("~", "boss"),
        ("@", "Zed"),
        ("+", "amy"),
        ("", "bob"),
        ("", "me"),
    ]
    assert model.topic("#chan") == "the topic"
    assert model.mask == "me!u@h"


def test_mode_nick_part_kick_quit_update_members(fed):
    model, log = fed
    model.handle_line(":boss!b@h MODE #chan +o-v+l bob Zed 10")
    assert ("@", "bob") in model.members("#chan")
    assert ("@", "Zed") in model.members("#chan")
    model.handle_line(":srv MODE #chan -o Zed")
    assert ("", "Zed") in model.members("#chan")
    model.handle_line(":bob!b@h NICK :Robert")
    assert ("@", "Robert") in model.members("#chan")
    assert log.expect(Kind.NICK, target="#Chan").old == "bob"
    model.handle_line(":amy!a@h PART #chan :later")
    assert log.expect(Kind.PART, target="#Chan", nick="amy").text == "later"
    model.handle_line(":boss!b@h KICK #chan Zed :behave")
    assert "behave" in log.expect(Kind.KICK, nick="Zed").text
    model.handle_line(":Robert!b@h QUIT :gone")
    log.expect(Kind.QUIT, nick="Robert", target="#Chan")
    assert [n for _, n in model.members("#chan")] == ["boss", "me"]


def test_own_part_and_kick_leave_the_channel(fed):
    model, _log = fed
    model.handle_line(":boss!b@h KICK #chan me :out")
    assert model.joined() == []
    assert "#chan" in [casefold(c) for c in model.wanted_channels()]  # a kick is rejoined later
    model.handle_line(":me!u@h JOIN #chan")
    model.handle_line(":me!u@h PART #chan")
    assert model.wanted_channels() == ["#general"]


def test_own_nick_change_updates_mask_and_emits(fed):
    model, log = fed
    model.handle_line(":me!u@h NICK newme")
    assert model.nick == "newme"
    assert model.mask == "newme!u@h"
    log.expect(Kind.OWN_NICK, nick="newme")


def test_messages_routing_formatting_and_server_time(fed):
    model, log = fed
    model.handle_line(
        "@time=2024-05-06T07:08:09.000Z :amy!a@h PRIVMSG #chan :\x02bold\x02 \x0304red\x03 text"
    )
    event = log.expect(Kind.MESSAGE, nick="amy")
    assert event.target == "#Chan"
    assert event.text == "bold red text"
    assert (event.time.hour, event.time.minute) == (7, 8)
    model.handle_line(":srv NOTICE me :server notice")
    assert log.expect(Kind.MESSAGE, notice=True).target == ""
    model.handle_line(":amy!a@h NOTICE me :a notice")
    assert log.expect(Kind.MESSAGE, notice=True, nick="amy").target == ""
    model.handle_line(":amy!a@h PRIVMSG me :\x01ACTION dances\x01")
    event = log.expect(Kind.MESSAGE, nick="amy", action=True)
    assert (event.target, event.text) == ("amy", "dances")
    model.handle_line(":srv 401 me nobody :No such nick/channel")
    error = log.expect(Kind.ERROR)
    assert error.target is None and "nobody" in error.text


def test_garbage_lines_are_ignored(fed):
    model, _ = fed
    for line in ("", ":", "@", ":x PRIVMSG", "JOIN", ":a!b@c MODE #chan +o", "353", ":s 366"):
        model.handle_line(line)
    model.handle_line(":srv 005 me PREFIX=(ov)@ :broken")  # mismatched: ignored
    assert model.prefixes == {"q": "~", "o": "@", "v": "+"}


def test_small_pure_helpers():
    assert strip_formatting("\x0312,04blue\x0f \x1ditalic\x1d") == "blue italic"
    assert casefold("Nick[]\\~") == "nick{}|^"
    assert casefold("Nick[]", "ascii") == "nick[]"
    assert next_nick("alice") == "alice_"
    assert next_nick("a" * 9, nicklen=9) == "a" * 8 + "_"
    assert len(next_nick("a" * 8 + "_", nicklen=9)) == 9
    assert next_nick("a" * 8 + "_", nicklen=9) != "a" * 8 + "_"


def test_not_connected_sends_nothing():
    model = ChatModel(nick="me")
    assert not model.send_raw("PING x")
    assert not model.say("#general", "hello")
    assert model.set_nick("other") and model.nick == "other"


def test_a_handler_bug_does_not_end_the_connection(fed, monkeypatch, caplog):
    model, log = fed

    def broken(model: ChatModel, msg: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setitem(HANDLERS, "PRIVMSG", broken)
    model.handle_line(":amy!a@h PRIVMSG #chan :hi")  # logged, not raised
    assert any("error handling" in r.getMessage() for r in caplog.records)
    model.handle_line(":amy!a@h PART #chan")
    log.expect(Kind.PART, nick="amy")
