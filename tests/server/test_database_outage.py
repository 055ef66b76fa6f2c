"""The accounts database going away while the server runs: a PostgreSQL instance of the
test's own is stopped under a running server and started again. Connections that need
the accounts get a quick standard reply (never a hang, a drop without a word, or a
traceback), those already on keep chatting, and all works again once it is back. A
registered room's MODE and TOPIC changes that cannot be stored are refused, never
announced and then lost at a restart."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.accounts import UNAVAILABLE
from server.rooms import UNSAVED
from tests.conftest import ServerFactory
from tests.support.ircclient import IRCClient
from tests.support.services import PrivatePostgres, private_postgres


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this test's own: stopping it disturbs no other test."""
    with private_postgres() as instance:
        yield instance


def _sasl_plain(client: IRCClient, nick: str, password: str) -> None:
    client.send("CAP REQ :sasl", "AUTHENTICATE PLAIN")
    client.expect("AUTHENTICATE", "+")
    token = base64.b64encode(f"\0{nick}\0{password}".encode()).decode()
    client.send(f"AUTHENTICATE {token}")


def _outage_logs(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "server.postgres" and r.levelno == level
    ]


def test_an_outage_is_answered_and_survived(
    postgres: PrivatePostgres,
    make_server: ServerFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = make_server(database=postgres.url, data_dir=str(tmp_path))
    assert server.accounts is not None
    server.accounts.create("alice", "pencil")
    bob, carol, alice = IRCClient(server.port), IRCClient(server.port), IRCClient(server.port)
    bob.register("bob")
    carol.register("carol")
    clients = [bob, carol, alice]
    try:
        _sasl_plain(alice, "alice", "pencil")
        alice.expect("903")
        alice.send("CAP REQ draft/read-marker", "CAP END", "NICK alice", "USER a 0 * :a")
        alice.expect("001")
        alice.sync()
        postgres.stop()

        # Registering: a nick in use is refused as ever (433: that needs no database)...
        thief = IRCClient(server.port)
        clients.append(thief)
        thief.send("NICK alice", "USER x 0 * :x")
        assert thief.expect("433").params[1:] == ["alice", "Nickname is already in use"]
        # ...and a free one cannot be checked against the accounts, so it is refused with
        # a standard reply and ERROR (clients reconnect), never handed out.
        thief.send("NICK dora")
        fail = thief.expect("FAIL")
        assert fail.params == ["NICK", "TEMPORARILY_UNAVAILABLE", UNAVAILABLE]
        assert thief.wait_closed()[-1].command == "ERROR"
        # The same when USER is what completes the registration: it is the nick that
        # could not be checked.
        late = IRCClient(server.port)
        clients.append(late)
        late.send("NICK erin", "USER e 0 * :e")
        fail = late.expect("FAIL")
        assert fail.params == ["NICK", "TEMPORARILY_UNAVAILABLE", UNAVAILABLE]
        assert late.wait_closed()[-1].command == "ERROR"

        # SASL: 904, with the reason in a FAIL first; the connection stays.
        signer = IRCClient(server.port)
        clients.append(signer)
        _sasl_plain(signer, "alice", "pencil")
        fail = signer.expect("FAIL")
        assert fail.params == ["AUTHENTICATE", "TEMPORARILY_UNAVAILABLE", UNAVAILABLE]
        assert signer.expect("904").params[1] == "SASL authentication failed"
        signer.sync()

        # The services say why, as a NOTICE from the service.
        bob.send("PRIVMSG NickServ :INFO alice")
        notice = bob.expect("NOTICE")
        assert notice.nick == "NickServ" and notice.params == ["bob", UNAVAILABLE]
        bob.send("PRIVMSG NickServ :IDENTIFY alice pencil")
        assert bob.expect("NOTICE").params == ["bob", UNAVAILABLE]

        # The commands that need the accounts get a standard reply each.
        alice.send("MARKREAD #general timestamp=2026-01-01T00:00:00.000Z")
        assert alice.expect("FAIL").params == ["MARKREAD", "TEMPORARILY_UNAVAILABLE", UNAVAILABLE]
        bob.send("REGISTER bob * hunter22")
        assert bob.expect("FAIL").params[:3] == ["REGISTER", "TEMPORARILY_UNAVAILABLE", "bob"]
        bob.send("JOIN #new")  # it might be a registered room: not made without its rules
        assert bob.expect("FAIL").params == ["JOIN", "TEMPORARILY_UNAVAILABLE", UNAVAILABLE]

        # Those already on keep chatting, in channels and privately.
        bob.send("PRIVMSG #general :still here", "PRIVMSG carol :and you?")
        assert alice.expect("PRIVMSG", "#general").params[1] == "still here"
        assert carol.expect("PRIVMSG", "#general").params[1] == "still here"
        assert carol.expect("PRIVMSG", "carol").params[1] == "and you?"

        # One warning for the outage, however many calls met it.
        assert len(_outage_logs(caplog, logging.WARNING)) == 1
        assert not _outage_logs(caplog, logging.INFO)

        postgres.start()
        # The pool reconnects by itself: alice signs in again, no restart.
        again = IRCClient(server.port)
        clients.append(again)
        _sasl_plain(again, "alice", "pencil")
        again.expect("903")
        again.send("CAP END", "NICK alice_", "USER alice 0 * :alice")
        again.expect("001")
        assert len(_outage_logs(caplog, logging.INFO)) == 1
        bob.send("PRIVMSG NickServ :INFO alice")
        assert bob.expect("NOTICE").params[1] == "Account: alice"
    finally:
        for client in clients:
            client.close()
    assert not [r for r in caplog.records if r.exc_info]
    # psycopg's pool says nothing of each failed attempt: the one warning above is enough.
    assert not [r for r in caplog.records if r.name.startswith("psycopg")]


def _signed_in(port: int, nick: str, password: str) -> IRCClient:
    client = IRCClient(port)
    _sasl_plain(client, nick, password)
    client.expect("903")
    client.send("CAP END", f"NICK {nick}", f"USER {nick} 0 * :{nick}")
    client.expect("001")
    client.sync()
    return client


def _room(client: IRCClient, channel: str) -> tuple[list[str], str]:
    """The channel's modes (RPL_CHANNELMODEIS) and topic text (RPL_TOPIC) as ``client``
    is told them."""
    client.send(f"MODE {channel}")
    modes = client.expect("324").params[2:]
    client.send(f"TOPIC {channel}")
    topic = client.expect("332").params[2]
    client.sync()
    return modes, topic


def test_a_registered_rooms_changes_are_refused_while_they_cannot_be_stored(
    postgres: PrivatePostgres,
    make_server: ServerFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    options = {"database": postgres.url, "data_dir": str(tmp_path), "autojoin": []}
    first = make_server(**options)
    assert first.accounts is not None
    first.accounts.create("carol", "pencil")
    carol = _signed_in(first.port, "carol", "pencil")
    dave = IRCClient(first.port)
    clients = [carol, dave]
    try:
        dave.register("dave")
        carol.send("JOIN #team")
        carol.expect("366")
        dave.send("JOIN #team")
        dave.expect("366")
        carol.send("PRIVMSG ChanServ :REGISTER #team", "TOPIC #team :kept plans")
        assert carol.expect("NOTICE").params[1] == "Channel #team successfully registered"
        dave.expect("TOPIC", "#team", "kept plans")
        postgres.stop()

        # Each change the room would keep is refused, naming the room, and undone: the
        # other members hear of none of them, and the old state is what everyone sees.
        carol.send("MODE #team +mk-t hush")
        assert carol.expect("FAIL").params == ["MODE", "TEMPORARILY_UNAVAILABLE", "#team", UNSAVED]
        carol.send("MODE #team +b spam!*@*")
        assert carol.expect("FAIL").params == ["MODE", "TEMPORARILY_UNAVAILABLE", "#team", UNSAVED]
        carol.send("TOPIC #team :lost plans")
        assert carol.expect("FAIL").params == [
            "TOPIC",
            "TEMPORARILY_UNAVAILABLE",
            "#team",
            UNSAVED,
        ]
        assert _room(carol, "#team") == (["+nrt"], "kept plans")
        carol.send("MODE #team +b")
        assert [m.command for m in carol.until("368")] == ["368"]
        assert [m.format() for m in dave.sync()] == []
        dave.send("PRIVMSG #team :not moderated")  # what was refused is not enforced
        assert carol.expect("PRIVMSG", "#team").params[1] == "not moderated"
        # A change the room does not keep (a member's status) goes ahead as usual.
        carol.send("MODE #team +v dave")
        assert dave.expect("MODE", "#team").params[1:] == ["+v", "dave"]

        postgres.start()
        # Once the database is back, the same change is stored and announced.
        carol.send("MODE #team +m")
        assert dave.expect("MODE", "#team").params[1:] == ["+m"]
        carol.sync()
    finally:
        for client in clients:
            client.close()
    first.stop()

    # After a restart the room is what its members were last told: nothing refused
    # came back, nothing acknowledged was lost.
    second = make_server(**options)
    carol = _signed_in(second.port, "carol", "pencil")
    try:
        carol.send("JOIN #team")
        carol.expect("366")
        assert _room(carol, "#team") == (["+mnrt"], "kept plans")
    finally:
        carol.close()
    assert not [r for r in caplog.records if r.exc_info]
