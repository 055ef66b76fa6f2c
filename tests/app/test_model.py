"""ChatModel (connection + session) against a real Kibitz server on port 0, and against a
scripted fake server."""

from __future__ import annotations

import threading

from app.events import Kind
from app.model import ChatModel
from app.text import nick_refused_text, status_text
from server.config import Config
from server.protocol.codec import MAX_LINE
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
    log.expect(Kind.JOIN, conversation="#general", nick="alice", own=True)
    members = log.expect(Kind.MEMBERS, conversation="#general")
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
    own = log.expect(Kind.MESSAGE, conversation="#general", nick="alice", own=True)
    assert own.text == "hello bob"
    assert own.time is not None
    bob.send("PRIVMSG #general :hi alice")
    reply = log.expect(Kind.MESSAGE, conversation="#general", nick="bob")
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
    assert event.conversation == "bob"
    assert model.say("bob", "yes?")
    bob.expect("PRIVMSG", "bob", "yes?")
    echo = log.expect(Kind.MESSAGE, own=True)
    assert echo.conversation == "bob"
    assert "bob" in model.directs


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
    assert any("alice" in nick_refused_text(e) for e in log.of(Kind.NICK_REFUSED))
    assert log.of(Kind.OWN_NICK, nick="alice_")


def test_nick_change_in_use_after_registration_is_reported(server, make_model, connect):
    connect("bob")
    model, log = make_model(server.port, "alice")
    log.expect(Kind.JOIN, own=True)
    model.set_nick("bob")
    error = log.expect(Kind.NICK_REFUSED)
    assert "bob" in nick_refused_text(error)
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
    log.expect(Kind.JOIN, conversation="#general", own=True)
    model.join("#dev")
    log.expect(Kind.JOIN, conversation="#dev", own=True)
    first.stop()
    log.expect(Kind.STATUS, state="disconnected")
    event = log.expect(Kind.STATUS, state="reconnecting")
    assert event.delay == 1.0
    second = ChatServer(Config(host="127.0.0.1", port=port, name="kibitz.test"))
    second.start()
    try:
        release.set()
        log.expect(Kind.REGISTERED, nick="alice")
        log.expect(Kind.JOIN, conversation="#dev", own=True)
        wait_for(lambda: sorted(model.joined()) == ["#dev", "#general"], what="rejoin")
        assert delays == [1.0]
    finally:
        model.stop()
        second.stop()


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
    states = [status_text(e) for e in log.of(Kind.STATUS, state="reconnecting")]
    assert "refused" in states[0]


def test_local_echo_when_server_lacks_echo_message(make_model):
    fake = FakeServer(caps="server-time")
    try:
        model, log = make_model(fake.port, "alice")
        log.expect(Kind.JOIN, conversation="#general", own=True)
        assert "echo-message" not in model.caps
        assert model.caps == {"server-time"}
        model.say("#general", "hello\nworld")
        first = log.expect(Kind.MESSAGE, own=True, text="hello")
        log.expect(Kind.MESSAGE, own=True, text="world")
        assert first.nick == "alice" and first.conversation == "#general"
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
        log.expect(Kind.MEMBERS, conversation="#general")
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
        assert "Ping timeout" in status_text(event)
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


def test_not_connected_sends_nothing_but_keeps_what_is_said():
    model = ChatModel(nick="me")
    log = EventLog(model.events)
    assert not model.send_raw("PING x")
    # Said while not connected: kept in the outbox for the next connection, and pending.
    assert model.say("#general", "hello\nagain")
    assert model.connection.unsent == 2
    pending = log.of(Kind.PENDING)
    assert [(p.message.conversation, p.message.text, p.message.own) for p in pending] == [
        ("#general", "hello", True),
        ("#general", "again", True),
    ]
    assert not log.of(Kind.MESSAGE)
    assert model.set_nick("other") and model.nick == "other"


def test_said_while_offline_is_sent_on_connect_and_shown_by_us_without_echo():
    fake = FakeServer(caps="server-time")  # no echo-message
    try:
        model = ChatModel("127.0.0.1", fake.port, "alice")
        log = EventLog(model.events)
        assert model.say("#general", "early bird")
        log.expect(Kind.PENDING)
        model.start()
        log.expect(Kind.REGISTERED)
        said = log.expect(Kind.MESSAGE, own=True, text="early bird")
        assert said.conversation == "#general" and said.nick == "alice"
        wait_for(lambda: fake.received("PRIVMSG"), what="the PRIVMSG")
        assert [m.params for m in fake.received("PRIVMSG")] == [["#general", "early bird"]]
        log.expect(Kind.JOIN, conversation="#general", own=True)  # the fake is done answering
        assert len(log.of(Kind.MESSAGE, own=True)) == 1
    finally:
        fake.close()
        model.stop()
