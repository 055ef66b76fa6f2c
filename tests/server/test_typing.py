"""Typing notifications (the IRCv3 ``+typing`` client tag on TAGMSG) over real sockets:
who gets them, that history never keeps them, and what they cost in flood tokens."""

from __future__ import annotations

from pathlib import Path

from tests.support.fake_time import FakeTime
from tests.support.ircclient import IRCClient

TAGS = ("message-tags",)
FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")


def _tagmsgs(client: IRCClient) -> list:
    return [m for m in client.sync() if m.command == "TAGMSG"]


def test_channel_typing_reaches_members_with_message_tags_only(server, connect) -> None:
    alice = connect("alice", caps=("message-tags", "echo-message"))
    bob = connect("bob", caps=TAGS)
    carol = connect("carol")  # no message-tags: never a TAGMSG, never an empty line
    dave = connect("dave", caps=("echo-message",))
    alice.send("@+typing=active TAGMSG #general")
    relayed = bob.expect("TAGMSG")
    assert relayed.source == "alice!~alice@127.0.0.1" and relayed.params == ["#general"]
    assert relayed.tags["+typing"] == "active" and set(relayed.tags) == {"msgid", "+typing"}
    # The sender's echo-message copy carries the tag and the same msgid.
    echo = alice.expect("TAGMSG")
    assert echo.params == ["#general"] and echo.tags["+typing"] == "active"
    assert echo.tags["msgid"] == relayed.tags["msgid"]
    # Nothing from alice reaches those without the cap: no TAGMSG, no empty PRIVMSG.
    for plain in (carol, dave):
        plain.sync()
        assert [m.format() for m in plain.seen if (m.source or "").startswith("alice!")] == []


def test_direct_typing_reaches_the_peer_only_with_message_tags(server, connect) -> None:
    alice = connect("alice", caps=TAGS)
    bob = connect("bob", caps=TAGS)
    carol = connect("carol")
    alice.sync()  # the others' JOINs
    alice.send("@+typing=paused TAGMSG bob", "@+typing=done TAGMSG carol")
    got = bob.expect("TAGMSG")
    assert got.params == ["bob"] and got.tags["+typing"] == "paused"
    assert _tagmsgs(carol) == []
    # Nobody else hears of a direct notification, and the sender gets no error for carol.
    assert [m.command for m in alice.sync()] == []
    assert _tagmsgs(bob) == []


def test_typing_is_never_stored_nor_replayed(make_server, tmp_path: Path) -> None:
    server = make_server(data_dir=str(tmp_path), flood_rate=0)
    alice, bob = IRCClient(server.port), IRCClient(server.port)
    alice.register("alice", FULL)
    bob.register("bob", FULL)
    alice.send("PRIVMSG #general :before", "PRIVMSG bob :private before")
    for state in ("active", "paused", "done"):
        alice.send(f"@+typing={state} TAGMSG #general", f"@+typing={state} TAGMSG bob")
    alice.send("PRIVMSG #general :after")
    bob.expect("PRIVMSG", "#general", "after")
    for target, texts in (("#general", ["before", "after"]), ("alice", ["private before"])):
        bob.send(f"CHATHISTORY LATEST {target} * 10")
        start = bob.expect("BATCH")
        lines = bob.until("BATCH", "-" + start.params[0][1:])[:-1]
        stored = [m for m in lines if m.tags.get("batch") == start.params[0][1:]]
        assert [m.command for m in stored] == ["PRIVMSG"] * len(texts)
        assert [m.params[1] for m in stored] == texts
    # A client without chathistory gets the join replay (as it registers, autojoined):
    # the messages, and no TAGMSG although it could take one.
    carol = IRCClient(server.port)
    carol.register("carol", ("server-time", "message-tags"))
    replay = carol.consumed
    assert [m.params[1] for m in replay if m.command == "PRIVMSG"] == ["before", "after"]
    assert not [m for m in replay if m.command == "TAGMSG"]
    for client in (alice, bob, carol):
        client.close()


def test_a_typist_is_never_held_back_nor_dropped_for_flooding(make_server) -> None:
    # The default flood limits (20 lines at once, then 5 a second), the server's clock
    # replaced: ten minutes of a paste draining at the app's pace (4 lines a second)
    # while its sender types in two conversations (a notification to each every 3 s, the
    # most the spec allows), plus the PING that syncs each round: exactly the rate.
    fake = FakeTime()
    server = make_server(
        clock=fake.clock, sleep=fake.sleep, ping_interval=100_000, ping_timeout=100_000
    )
    alice, bob = IRCClient(server.port), IRCClient(server.port)
    alice.register("alice", TAGS)
    bob.register("bob", TAGS)
    fake.now += 10.0  # the registration's tokens come back
    fake.slept.clear()
    for second in range(0, 600, 3):
        alice.send(
            *(f"PRIVMSG #general :line {n}" for n in range(second * 4, second * 4 + 12)),
            "@+typing=active TAGMSG #general",
            "@+typing=active TAGMSG bob",
        )
        alice.sync()  # handled before the clock moves on
        fake.now += 3.0
    assert bob.expect("PRIVMSG", "#general", "line 2399")
    bob.sync()
    assert len([m for m in bob.seen if m.command == "TAGMSG"]) == 400
    assert not alice.closed
    assert fake.slept == []  # no line was ever held back
    alice.close()
    bob.close()
