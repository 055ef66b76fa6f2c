"""Who is who on the wire: account-tag, extended-join, WHOIS 330, WHOX %a (real sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.accounts import AccountStore
from server.server import ChatServer


@pytest.fixture
def server(make_server, tmp_path: Path) -> ChatServer:
    """A server with its own data directory holding the account Ally (no nick here)."""
    AccountStore(tmp_path).create("Ally", "secret")
    return make_server(data_dir=str(tmp_path), flood_rate=0)


def signed_in(server: ChatServer, connect, nick: str = "alice", caps=()):
    """A client registered as ``nick`` and signed in to the account Ally."""
    client = connect(nick, caps=caps)
    server.sign_in(server.registry.find_nick(nick), server.accounts.find("ally"))
    client.expect("900")
    client.sync()
    return client


def test_messages_from_a_signed_in_user_carry_the_account_tag(server, connect):
    tagged = connect("tagged", caps=("account-tag",))
    plain = connect("plain")
    alice = signed_in(server, connect)
    stranger = connect("stranger")
    for client in (tagged, plain):
        client.sync()

    alice.send("PRIVMSG #general :hello", "PRIVMSG tagged :psst")
    assert tagged.expect("PRIVMSG", "#general").tags == {"account": "Ally"}
    assert tagged.expect("PRIVMSG", "tagged").tags == {"account": "Ally"}
    assert plain.expect("PRIVMSG", "#general").tags == {}
    stranger.send("PRIVMSG #general :hi")
    assert "account" not in tagged.expect("PRIVMSG", "#general").tags

    # Every message the user is the source of, not only PRIVMSG (irctest: INVITE too).
    alice.send("JOIN #room", "INVITE tagged #room", "NOTICE #general :n", "NICK alicia")
    assert tagged.expect("INVITE", "tagged", "#room").tags == {"account": "Ally"}
    assert tagged.expect("NOTICE", "#general").tags == {"account": "Ally"}
    assert tagged.expect("NICK", "alicia").tags == {"account": "Ally"}
    alice.send("QUIT :bye")
    assert tagged.expect("QUIT").tags == {"account": "Ally"}
    assert plain.expect("QUIT").tags == {}


def test_account_tag_beside_server_time_and_message_tags(server, connect):
    both = connect("both", caps=("account-tag", "server-time", "message-tags"))
    alice = signed_in(server, connect)
    both.sync()
    alice.send("@+draft/react=x PRIVMSG #general :hi")
    tags = both.expect("PRIVMSG", "#general").tags
    assert tags["account"] == "Ally" and "time" in tags and "msgid" in tags
    assert tags["+draft/react"] == "x"


def test_extended_join_names_the_account_or_a_star(server, connect):
    watcher = connect("watcher", caps=("extended-join",))
    alice = signed_in(server, connect)
    stranger = connect("stranger")
    watcher.send("JOIN #room")
    watcher.expect("366")
    alice.send("JOIN #room")
    assert watcher.expect("JOIN").params == ["#room", "Ally", "alice Tester"]
    stranger.send("JOIN #room")
    assert watcher.expect("JOIN").params == ["#room", "*", "stranger Tester"]


def test_whois_says_who_is_logged_in_as_what(server, connect):
    signed_in(server, connect)
    asker = connect("asker")
    connect("stranger")
    asker.send("WHOIS alice")
    replies = asker.until("318")
    assert [m.params for m in replies if m.command == "330"] == [
        ["asker", "alice", "Ally", "is logged in as"]
    ]
    asker.send("WHOIS stranger")
    assert not [m for m in asker.until("318") if m.command == "330"]


def test_whox_a_field_is_the_account_or_zero(server, connect):
    signed_in(server, connect)
    connect("stranger")
    asker = connect("asker")
    asker.send("WHO #general %na,7")
    rows = {m.params[1]: m.params[2] for m in asker.until("315") if m.command == "354"}
    assert rows == {"alice": "Ally", "stranger": "0", "asker": "0"}
