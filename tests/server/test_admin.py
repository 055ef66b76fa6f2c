"""The server window's operator actions, against a real server and raw clients."""

from __future__ import annotations

import pytest

from server import admin
from tests.support.ircclient import IRCClient
from tests.support.waiting import wait_for


def test_snapshots_list_users_and_channels(server, connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    alice.send("JOIN #dev", "TOPIC #dev :release work")
    alice.expect("TOPIC", "#dev")
    connect()  # connected, never registered
    wait_for(lambda: len(admin.users(server)) == 3, what="three connections")

    rows = admin.users(server)
    assert [u.nick for u in rows] == ["alice", "bob", "*"]
    first = rows[0]
    assert first.address == "127.0.0.1" and first.registered and not first.secure
    assert first.user == "~alice"  # no ident check: marked as unverified
    assert first.channels == ("#dev", "#general")
    assert rows[1].channels == ("#general",)
    assert not rows[2].registered and rows[2].channels == ()
    assert 0 <= first.idle < 60
    assert len({u.key for u in rows}) == 3

    assert [(c.name, c.members, c.topic) for c in admin.channels(server)] == [
        ("#dev", 1, "release work"),
        ("#general", 2, ""),
    ]
    stats = admin.stats(server)
    assert (stats.connections, stats.users, stats.channels) == (3, 2, 2)
    assert stats.uptime >= 0

    before = stats.messages
    bob.send("PRIVMSG #general :hello")
    alice.expect("PRIVMSG", "#general")
    assert admin.stats(server).messages == before + 1


def test_notice_reaches_the_user_only(server, connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    assert admin.notice(server, "alice", "maintenance at\nnoon")
    message = alice.expect("NOTICE", "alice")
    assert message.source == "kibitz.test"
    assert message.params[-1] == "maintenance at noon"
    assert not any(m.command == "NOTICE" for m in bob.sync())
    # By connection too, and a long text arrives whole, split over several notices.
    client = admin.users(server)[0].client
    long = " ".join(f"word{i}" for i in range(200))
    assert admin.notice(server, client, long)
    parts = [m.params[-1] for m in alice.sync() if m.command == "NOTICE"]
    assert len(parts) > 1 and "".join(parts) == long


def test_notice_to_nobody_or_empty(server, connect) -> None:
    connect("alice")
    assert not admin.notice(server, "nobody", "hi")
    with pytest.raises(ValueError):
        admin.notice(server, "alice", " \r\n ")


def test_kick_reaches_the_channel(server, connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    assert admin.kick(server, "bob", "#general", "off topic")
    for peer in (alice, bob):
        message = peer.expect("KICK", "#general", "bob")
        assert message.source == "kibitz.test" and message.params[-1] == "off topic"
    assert admin.users(server)[1].channels == ()
    assert [(c.name, c.members) for c in admin.channels(server)] == [("#general", 1)]
    # Not a member any more, no such channel, no such user: nothing happens.
    assert not admin.kick(server, "bob", "#general")
    assert not admin.kick(server, "bob", "#nowhere")
    assert not admin.kick(server, "nobody", "#general")
    assert not any(m.command == "KICK" for m in alice.sync())


def test_kick_without_reason_says_who(server, connect) -> None:
    alice = connect("alice")
    admin.kick(server, "alice", "#general")
    assert alice.expect("KICK", "#general", "alice").params[-1] == "Kicked by the server"
    assert admin.channels(server) == []  # the last member left: the channel is gone


def test_kill_disconnects_and_peers_see_quit(server, connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    assert admin.kill(server, "bob", "spamming")
    got = bob.wait_closed()
    assert ("KILL", ["bob", "spamming"]) in [(m.command, m.params) for m in got]
    error = [m for m in got if m.command == "ERROR"]
    assert error and error[-1].params[0] == (
        "Closing Link: kibitz.test (Killed (kibitz.test (spamming)))"
    )
    quit_ = alice.expect("QUIT", where=lambda m: m.nick == "bob")
    assert quit_.params[0] == "Killed (kibitz.test (spamming))"
    wait_for(lambda: [u.nick for u in admin.users(server)] == ["alice"], what="bob gone")
    assert not admin.kill(server, "bob")


def test_kill_an_unregistered_connection(server, connect) -> None:
    peer = connect()
    wait_for(lambda: admin.users(server), what="the connection")
    assert admin.kill(server, admin.users(server)[0].client)
    assert any(m.command == "ERROR" for m in peer.wait_closed())
    wait_for(lambda: not admin.users(server), what="the connection gone")


def test_broadcast_reaches_every_user(server, connect) -> None:
    peers = [connect(nick) for nick in ("alice", "bob", "carol")]
    peers[2].send("PART #general")
    peers[2].expect("PART", "#general")
    waiting = connect()  # not registered: not told
    assert admin.broadcast(server, "restart in 5 minutes") == 3
    for peer in peers:
        message = peer.expect("NOTICE", peer.nick)
        assert message.source == "kibitz.test"
        assert message.params[-1] == "restart in 5 minutes"
    assert waiting.next(timeout=0.2) is None


def test_idle_counts_from_the_last_message(make_server) -> None:
    now = [1000.0]
    server = make_server(clock=lambda: now[0], flood_rate=0)
    alice = IRCClient(server.port)
    try:
        alice.register("alice")
        now[0] += 42
        assert admin.users(server)[0].idle == pytest.approx(42)
        alice.send("PRIVMSG #general :hi")
        alice.sync()
        assert admin.users(server)[0].idle == pytest.approx(0)
    finally:
        alice.close()
