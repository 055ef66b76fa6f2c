"""The server's own channels (autojoin) are never left without an operator, over real
sockets: when the last op leaves, the member present longest is made op by the server.
Other channels stay op-less, and registered rooms follow their access list."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import admin
from server.accounts import AccountStore
from server.server import ChatServer
from tests.support.ircclient import IRCClient


def _names(client: IRCClient, channel: str) -> list[str]:
    client.send(f"NAMES {channel}")
    return [
        name
        for m in client.until("366", client.nick, channel)
        if m.command == "353"
        for name in m.params[-1].split()
    ]


def _leave(server: ChatServer, op: IRCClient, how: str) -> None:
    """The op leaves #general: by QUIT, PART, a server KICK or a KILL."""
    if how == "quit":
        op.send("QUIT :bye")
    elif how == "part":
        op.send("PART #general")
    elif how == "kick":
        assert admin.kick(server, "alice", "#general", "out")
    else:
        assert admin.kill(server, "alice", "enough")


@pytest.mark.parametrize("how", ["quit", "part", "kick", "kill"])
def test_the_member_present_longest_gets_op_when_the_last_op_leaves_general(
    server, connect, how: str
) -> None:
    alice = connect("alice")  # first in #general: its op
    zoe, bob = connect("zoe"), connect("bob")  # zoe joined before bob
    assert "@alice" in _names(bob, "#general")
    _leave(server, alice, how)
    for member in (zoe, bob):
        seen = member.until("MODE", "#general")
        assert seen[-1].source == "kibitz.test"  # the server's name, as services do
        assert seen[-1].params == ["#general", "+o", "zoe"]
        assert [m.command for m in seen if m.command in ("QUIT", "PART", "KICK")]
    assert _names(bob, "#general") == ["@zoe", "bob"]
    zoe.send("TOPIC #general :we have an op again")
    for member in (zoe, bob):
        assert member.expect("TOPIC", "#general").params[1] == "we have an op again"
    # The old op comes back: one op is enough, nobody else is given it.
    if how in ("part", "kick"):
        again = alice
        alice.send("JOIN #general")
        alice.expect("366", "alice", "#general")
    else:
        again = connect("alice")
    assert _names(again, "#general") == ["@zoe", "bob", "alice"]
    bob.sync()
    assert not [m for m in bob.consumed if m.command == "MODE" and "alice" in m.params]


def test_an_op_who_stays_keeps_it_alone(server, connect) -> None:
    alice = connect("alice")
    connect("bob")
    carol = connect("carol")
    alice.send("MODE #general +o bob")
    carol.expect("MODE", "#general", "+o", "bob")
    alice.send("QUIT")
    carol.expect("QUIT")
    carol.sync()
    assert not [m for m in carol.consumed if m.command == "MODE" and "carol" in m.params]
    assert _names(carol, "#general") == ["@bob", "carol"]


def test_a_channel_that_is_not_the_servers_stays_without_an_op(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send("JOIN #side")
    alice.expect("366", "alice", "#side")
    bob.send("JOIN #side")
    bob.expect("366", "bob", "#side")
    alice.send("PART #side")
    bob.expect("PART", "#side")
    bob.send("TOPIC #side :mine now?")
    assert bob.expect("482").params[:2] == ["bob", "#side"]
    assert not [m for m in bob.consumed if m.command == "MODE"]
    assert _names(bob, "#side") == ["bob"]


def test_a_registered_room_follows_its_access_list(make_server, tmp_path: Path) -> None:
    store = AccountStore(tmp_path)
    store.create("carol", "secret")
    store.close()
    server = make_server(
        data_dir=str(tmp_path), autojoin=["#team"], flood_rate=0, reserve_nicks=False
    )
    carol = IRCClient(server.port)
    carol.register("carol")  # first in #team: its op
    server.sign_in(server.registry.find_nick("carol"), server.accounts.find("carol"))
    carol.expect("900")
    carol.send("PRIVMSG ChanServ :REGISTER #team")
    carol.expect("MODE", "#team", "+r")
    dave = IRCClient(server.port)
    dave.register("dave")  # no access: nothing on join
    carol.send("QUIT")
    dave.expect("QUIT")
    dave.sync()
    assert not [m for m in dave.consumed if m.command == "MODE"]
    assert _names(dave, "#team") == ["dave"]
    for client in (carol, dave):
        client.close()
