"""The pure IRC session: lines fed in, events and lines to send out; no sockets, no threads."""

from __future__ import annotations

import pytest

from app import caps, identity, members
from app.events import Kind
from app.irc import next_nick, strip_formatting
from app.session import HANDLERS, Session
from app.text import nick_refused_text, password_text, reply_text
from server.protocol.names import casefold
from tests.app.helpers import Fed


@pytest.fixture
def fed() -> Fed:
    session = Session(nick="me")
    session.registered = True
    feed = Fed(session)
    feed(
        ":srv 005 me PREFIX=(qov)~@+ CHANTYPES=#& CASEMAPPING=rfc1459 :are supported",
        ":me!u@h JOIN #Chan",
        ":srv 353 me = #chan :me @+Zed +amy ~boss bob!b@h",
        ":srv 366 me #chan :End",
        ":srv 332 me #chan :the topic",
    )
    return feed


def test_names_with_multi_prefix_sorted_ops_first(fed):
    session = fed.session
    assert session.members("#CHAN") == [
        ("~", "boss"),
        ("@", "Zed"),
        ("+", "amy"),
        ("", "bob"),
        ("", "me"),
    ]
    assert session.topic("#chan") == "the topic"
    assert session.mask == "me!u@h"


def test_mode_nick_part_kick_quit_update_members(fed):
    session, log = fed.session, fed.log
    fed(":boss!b@h MODE #chan +o-v+l bob Zed 10")
    assert ("@", "bob") in session.members("#chan")
    assert ("@", "Zed") in session.members("#chan")
    fed(":srv MODE #chan -o Zed")
    assert ("", "Zed") in session.members("#chan")
    fed(":bob!b@h NICK :Robert")
    assert ("@", "Robert") in session.members("#chan")
    assert log.expect(Kind.NICK, conversation="#Chan").old == "bob"
    fed(":amy!a@h PART #chan :later")
    assert log.expect(Kind.PART, conversation="#Chan", nick="amy").reason == "later"
    fed(":boss!b@h KICK #chan Zed :behave")
    assert "behave" in log.expect(Kind.KICK, nick="Zed").reason
    fed(":Robert!b@h QUIT :gone")
    log.expect(Kind.QUIT, nick="Robert", conversation="#Chan")
    assert [n for _, n in session.members("#chan")] == ["boss", "me"]


def test_own_part_and_kick_leave_the_channel(fed):
    session = fed.session
    fed(":boss!b@h KICK #chan me :out")
    assert session.joined() == []
    assert "#chan" in [casefold(c) for c in session.wanted_channels()]  # a kick is rejoined later
    fed(":me!u@h JOIN #chan")
    fed(":me!u@h PART #chan")
    assert session.wanted_channels() == ["#general"]


def test_own_nick_change_updates_mask_and_emits(fed):
    session, log = fed.session, fed.log
    fed(":me!u@h NICK newme")
    assert session.nick == "newme"
    assert session.mask == "newme!u@h"
    log.expect(Kind.OWN_NICK, nick="newme")


def test_messages_routing_formatting_and_server_time(fed):
    log = fed.log
    fed("@time=2024-05-06T07:08:09.000Z :amy!a@h PRIVMSG #chan :\x02bold\x02 \x0304red\x03 text")
    event = log.expect(Kind.MESSAGE, nick="amy")
    assert event.conversation == "#Chan"
    assert event.text == "bold red text"
    assert (event.time.hour, event.time.minute) == (7, 8)
    fed(":srv NOTICE me :server notice")
    assert log.expect(Kind.MESSAGE, notice=True).conversation == ""
    fed(":amy!a@h NOTICE me :a notice")
    assert log.expect(Kind.MESSAGE, notice=True, nick="amy").conversation == ""
    fed(":amy!a@h PRIVMSG me :\x01ACTION dances\x01")
    event = log.expect(Kind.MESSAGE, nick="amy", action=True)
    assert (event.conversation, event.text) == ("amy", "dances")
    fed(":srv 401 me nobody :No such nick/channel")
    error = log.expect(Kind.REPLY, error=True)
    assert error.conversation is None and "nobody" in reply_text(error)


def test_garbage_lines_are_ignored(fed):
    session = fed.session
    for line in ("", ":", "@", ":x PRIVMSG", "JOIN", ":a!b@c MODE #chan +o", "353", ":s 366"):
        fed(line)
    fed(":srv 005 me PREFIX=(ov)@ :broken")  # mismatched: ignored
    assert session.prefixes == {"q": "~", "o": "@", "v": "+"}


def test_small_pure_helpers():
    assert strip_formatting("\x0312,04blue\x0f \x1ditalic\x1d") == "blue italic"
    assert casefold("Nick[]\\~", "rfc1459") == "nick{}|^"
    assert casefold("Nick[]", "ascii") == "nick[]"
    assert next_nick("alice") == "alice_"
    assert next_nick("a" * 9, nicklen=9) == "a" * 8 + "_"
    assert len(next_nick("a" * 8 + "_", nicklen=9)) == 9
    assert next_nick("a" * 8 + "_", nicklen=9) != "a" * 8 + "_"


def test_every_command_has_one_handler():
    tables = (HANDLERS, members.HANDLERS, identity.HANDLERS, caps.HANDLERS)
    commands = [command for table in tables for command in table]
    assert len(commands) == len(set(commands))
    assert {"CAP", "AUTHENTICATE", "ACCOUNT", "MODE", "PRIVMSG"} <= set(commands)


def test_a_handler_bug_does_not_end_the_connection(fed, monkeypatch, caplog):
    log = fed.log

    def broken(session: Session, msg: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setitem(HANDLERS, "PRIVMSG", broken)
    fed(":amy!a@h PRIVMSG #chan :hi")  # logged, not raised
    assert any("error handling" in r.getMessage() for r in caplog.records)
    fed(":amy!a@h PART #chan")
    log.expect(Kind.PART, nick="amy")


# --- registration and the lines the session wants sent ---------------------------------
def test_registration_caps_and_welcome():
    session = Session(nick="alice", channels=["#general", "#dev"], password="pw word")
    feed = Fed(session)
    session.connection_made()
    assert feed.take() == [
        "CAP LS 302",
        "PASS :pw word",
        "NICK alice",
        "USER alice 0 * :Kibitz user",
    ]
    feed(":srv CAP * LS * :echo-message server-time", ":srv CAP * LS :batch sasl")
    assert feed.take() == [] and feed.sent[-1] == "CAP REQ :echo-message server-time batch"
    feed(":srv CAP alice ACK :echo-message server-time batch")
    assert feed.sent[-1] == "CAP END"
    assert session.caps == {"echo-message", "server-time", "batch"}
    feed(":srv 001 alice :Welcome to the net alice!a@h")
    registered = feed.log.expect(Kind.REGISTERED, nick="alice")
    assert registered.text == "Welcome to the net alice!a@h"
    assert session.mask == "alice!a@h" and session.registered
    assert feed.sent[-1] == "JOIN #general,#dev"
    assert feed.log.expect(Kind.REPLY, code="001", conversation="").args == (registered.text,)


def test_nick_in_use_before_registration_tries_the_next():
    session = Session(nick="alice")
    feed = Fed(session)
    session.connection_made()
    feed(":srv 433 * alice :Nickname is already in use")
    refused = feed.log.expect(Kind.NICK_REFUSED, tried="alice", instead="alice_")
    assert nick_refused_text(refused) == (
        "The name alice is taken or invalid (Nickname is already in use); trying alice_"
    )
    feed.log.expect(Kind.OWN_NICK, nick="alice_")
    assert feed.sent[-1] == "NICK alice_" and session.nick == "alice_"


def test_ping_ctcp_and_a_refused_password():
    session = Session(nick="alice", password="wrong")
    feed = Fed(session)
    session.connection_made()
    feed.take()
    feed.sent.clear()
    feed("PING :token123", ":bob!b@h PRIVMSG alice :\x01VERSION\x01")
    assert feed.sent[0] == "PONG token123"
    assert feed.sent[1].startswith("NOTICE bob :\x01VERSION ")
    assert not feed.log.of(Kind.MESSAGE)  # a CTCP request is answered, not shown
    feed(":srv 464 * :Password incorrect", "ERROR :Closing Link: Bad password")
    [wanted] = feed.log.of(Kind.PASSWORD)  # asked once per connection
    assert password_text(wanted) == "The server refused the password"
    assert feed.log.expect(Kind.SERVER_ERROR).text == "Closing Link: Bad password"


def test_losing_the_connection_empties_the_channels():
    session = Session(nick="me")
    feed = Fed(session)
    feed(":me!u@h JOIN #chan", ":me!u@h JOIN #dev")
    lost = session.connection_lost()
    assert [(e.conversation, e.members) for e in lost] == [("#chan", ()), ("#dev", ())]
    assert session.joined() == [] and not session.registered
