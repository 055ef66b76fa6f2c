"""Reactions and replies (the IRCv3 ``+draft/react`` and ``+draft/reply`` client tags,
with the proposed ``+draft/unreact``) over real sockets: who gets them, that reactions
are kept in history and replayed by CHATHISTORY, the join replay and after a restart,
and what is relayed but never kept."""

from __future__ import annotations

from pathlib import Path

from tests.support.ircclient import IRCClient
from tests.support.services import server_options

FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")
#: A client that fetches history but takes no client tags.
UNTAGGED = ("batch", "server-time", "draft/chathistory", "echo-message")


def _client(server, nick: str, caps=FULL) -> IRCClient:
    client = IRCClient(server.port)
    client.register(nick, caps)
    return client


def _history(client: IRCClient, line: str) -> list:
    """The lines of the chathistory batch that answers ``line``."""
    return client.batch(line)[1]


def _said(client: IRCClient, text: str, target: str = "#general") -> str:
    """Say ``text`` and return its msgid (from the echo)."""
    client.send(f"PRIVMSG {target} :{text}")
    return client.expect("PRIVMSG", target, text).tags["msgid"]


def _shape(lines: list) -> list[tuple[str, str]]:
    """Each line as (command, text or reaction)."""
    return [
        (m.command, m.params[1] if m.command != "TAGMSG" else m.tags.get("+draft/react", "-"))
        for m in lines
    ]


def test_a_reaction_reaches_members_with_message_tags_only(
    store_place, make_server, tmp_path: Path
) -> None:
    server = make_server(**server_options(store_place, tmp_path), flood_rate=0)
    alice = _client(server, "alice", ("message-tags", "echo-message"))
    bob = _client(server, "bob", FULL)
    carol = _client(server, "carol", ())  # no message-tags: never a TAGMSG, nor an empty line
    dave = _client(server, "dave", ("echo-message",))
    alice.send("@+draft/reply=abc;+draft/react=👍 TAGMSG #general")
    got = bob.expect("TAGMSG")
    assert got.source.startswith("alice!") and got.params == ["#general"]
    assert got.tags["+draft/react"] == "👍" and got.tags["+draft/reply"] == "abc"
    assert set(got.tags) == {"msgid", "time", "+draft/react", "+draft/reply"}
    echo = alice.expect("TAGMSG")
    assert echo.tags["msgid"] == got.tags["msgid"] and echo.tags["+draft/react"] == "👍"
    for plain in (carol, dave):
        plain.sync()
        assert [m.format() for m in plain.seen if (m.source or "").startswith("alice!")] == []
    # Kept, as relayed: bob finds it in the channel's history.
    (stored,) = _history(bob, "CHATHISTORY LATEST #general * 10")
    assert stored.command == "TAGMSG" and stored.tags["msgid"] == got.tags["msgid"]
    for client in (alice, bob, carol, dave):
        client.close()


def test_a_reply_is_relayed_to_everyone_and_kept(store_place, make_server, tmp_path: Path) -> None:
    server = make_server(**server_options(store_place, tmp_path), flood_rate=0)
    alice, bob = _client(server, "alice"), _client(server, "bob")
    plain = IRCClient(server.port)
    plain.register("plain")
    first = _said(alice, "lunch?")
    bob.expect("PRIVMSG", "#general", "lunch?")
    bob.send(f"@+draft/reply={first} PRIVMSG #general :yes, at noon")
    got = alice.expect("PRIVMSG", "#general", "yes, at noon")
    assert got.tags["+draft/reply"] == first
    # Without message-tags the reply is an ordinary message.
    seen = plain.expect("PRIVMSG", "#general", "yes, at noon")
    assert "+draft/reply" not in seen.tags
    stored = _history(alice, "CHATHISTORY LATEST #general * 10")
    assert _shape(stored) == [("PRIVMSG", "lunch?"), ("PRIVMSG", "yes, at noon")]
    assert stored[1].tags["+draft/reply"] == first and stored[1].tags["msgid"] == got.tags["msgid"]
    # A reaction to the reply is kept after it.
    alice.send(f"@+draft/reply={got.tags['msgid']};+draft/react=👌 TAGMSG #general")
    alice.expect("TAGMSG")
    stored = _history(bob, f"CHATHISTORY AFTER #general msgid={first} 10")
    assert _shape(stored) == [("PRIVMSG", "yes, at noon"), ("TAGMSG", "👌")]
    for client in (alice, bob, plain):
        client.close()


def test_reactions_are_kept_and_replayed_by_chathistory(
    store_place, make_server, tmp_path: Path
) -> None:
    server = make_server(**server_options(store_place, tmp_path), flood_rate=0)
    alice, bob = _client(server, "alice"), _client(server, "bob")
    first = _said(alice, "one")
    bob.send(f"@+draft/reply={first};+draft/react=🎉 TAGMSG #general")
    reaction = alice.expect("TAGMSG").tags["msgid"]
    second = _said(alice, "two")
    bob.send(f"@+draft/reply={second};+draft/react=👍 TAGMSG #general")
    bob.send(f"@+draft/reply={second};+draft/unreact=👍 TAGMSG #general")
    alice.expect("TAGMSG")
    last = alice.expect("TAGMSG").tags["msgid"]
    _said(alice, "three")

    latest = _history(alice, "CHATHISTORY LATEST #general * 10")
    assert _shape(latest) == [
        ("PRIVMSG", "one"),
        ("TAGMSG", "🎉"),
        ("PRIVMSG", "two"),
        ("TAGMSG", "👍"),
        ("TAGMSG", "-"),
        ("PRIVMSG", "three"),
    ]
    tagged = latest[1]
    assert tagged.source.startswith("bob!") and tagged.params == ["#general"]
    assert tagged.tags["+draft/reply"] == first and tagged.tags["msgid"] == reaction
    assert "time" in tagged.tags
    assert latest[4].tags["+draft/unreact"] == "👍" and latest[4].tags["+draft/reply"] == second
    before = _history(alice, f"CHATHISTORY BEFORE #general msgid={second} 10")
    assert _shape(before) == [("PRIVMSG", "one"), ("TAGMSG", "🎉")]
    around = _history(alice, f"CHATHISTORY AROUND #general msgid={reaction} 3")
    assert _shape(around) == [("PRIVMSG", "one"), ("TAGMSG", "🎉"), ("PRIVMSG", "two")]
    # A reaction's msgid is a reference like any other.
    after = _history(alice, f"CHATHISTORY AFTER #general msgid={last} 10")
    assert _shape(after) == [("PRIVMSG", "three")]
    # A client without message-tags gets the messages of the same page, no TAGMSG.
    untagged = _client(server, "untagged", UNTAGGED)
    lines = _history(untagged, "CHATHISTORY LATEST #general * 10")
    assert _shape(lines) == [("PRIVMSG", "one"), ("PRIVMSG", "two"), ("PRIVMSG", "three")]
    for client in (alice, bob, untagged):
        client.close()


def test_the_join_replay_carries_reactions_to_those_who_take_them(
    store_place, make_server, tmp_path: Path
) -> None:
    server = make_server(**server_options(store_place, tmp_path), flood_rate=0, join_replay=3)
    alice = _client(server, "alice")
    msgids = [_said(alice, text) for text in ("a", "b", "c")]
    for msgid in msgids:
        alice.send(f"@+draft/reply={msgid};+draft/react=❤ TAGMSG #general")
    alice.sync()
    tagged = IRCClient(server.port)
    tagged.register("tagged", ("batch", "server-time", "message-tags"))  # no chathistory
    replay = [m for m in tagged.consumed if m.command in ("PRIVMSG", "TAGMSG")]
    assert [(m.command, m.tags.get("+draft/reply")) for m in replay] == [
        ("TAGMSG", msgids[0]),
        ("TAGMSG", msgids[1]),
        ("TAGMSG", msgids[2]),
    ]
    # Without message-tags the last three messages come, none crowded out by reactions.
    plain = IRCClient(server.port)
    plain.register("plain", ("batch", "server-time"))
    replay = [m for m in plain.consumed if m.command in ("PRIVMSG", "TAGMSG")]
    assert [(m.command, m.params[-1]) for m in replay] == [
        ("PRIVMSG", "a"),
        ("PRIVMSG", "b"),
        ("PRIVMSG", "c"),
    ]
    for client in (alice, tagged, plain):
        client.close()


def test_reactions_survive_a_restart(store_place, make_server, tmp_path: Path) -> None:
    first = make_server(**server_options(store_place, tmp_path))
    alice = _client(first, "alice")
    msgid = _said(alice, "remember me")
    alice.send(f"@+draft/reply={msgid};+draft/react=👀 TAGMSG #general")
    reaction = alice.expect("TAGMSG")
    port = first.port
    first.stop()
    alice.close()
    second = make_server(**server_options(store_place, tmp_path), port=port)
    alice = _client(second, "alice")
    lines = _history(alice, "CHATHISTORY LATEST #general * 10")
    assert _shape(lines) == [("PRIVMSG", "remember me"), ("TAGMSG", "👀")]
    assert lines[1].tags["msgid"] == reaction.tags["msgid"]
    assert lines[1].tags["time"] == reaction.tags["time"]
    assert lines[1].tags["+draft/reply"] == msgid
    alice.close()


def test_a_direct_reaction_is_kept_for_the_two_parties_only(
    store_place, make_server, tmp_path: Path
) -> None:
    server = make_server(**server_options(store_place, tmp_path), flood_rate=0)
    alice, bob, carol = (_client(server, nick) for nick in ("alice", "bob", "carol"))
    msgid = _said(alice, "just us", "bob")
    bob.expect("PRIVMSG", "bob", "just us")
    bob.send(f"@+draft/reply={msgid};+draft/react=🤫 TAGMSG alice")
    assert alice.expect("TAGMSG", "alice").tags["+draft/react"] == "🤫"
    for reader, other in ((alice, "bob"), (bob, "alice")):
        lines = _history(reader, f"CHATHISTORY LATEST {other} * 10")
        assert _shape(lines) == [("PRIVMSG", "just us"), ("TAGMSG", "🤫")]
    assert _history(carol, "CHATHISTORY LATEST alice * 10") == []
    assert _history(carol, "CHATHISTORY LATEST bob * 10") == []
    for client in (alice, bob, carol):
        client.close()


def test_what_is_relayed_but_never_kept(store_place, make_server, tmp_path: Path) -> None:
    server = make_server(**server_options(store_place, tmp_path), flood_rate=0)
    alice, bob = _client(server, "alice"), _client(server, "bob")
    msgid = _said(alice, "hello")
    bob.expect("PRIVMSG", "#general", "hello")
    big = "x" * 600  # more than history keeps of a message's client tags
    sent = [
        "@+draft/react=👍 TAGMSG #general",  # a reaction to no message
        f"@+draft/reply={msgid};+draft/react= TAGMSG #general",  # an empty reaction
        f"@+draft/reply={msgid};+draft/react={big} TAGMSG #general",  # oversized
        f"@+draft/reply={msgid};+typing=active TAGMSG #general",  # not a reaction
        f"@+draft/reply={msgid};+draft/react=🙈 TAGMSG @#general",  # to the operators only
    ]
    alice.send(*sent)
    # Each is relayed as sent (bob is no operator: the last one does not reach him).
    relayed = [bob.expect("TAGMSG") for _ in range(4)]
    assert relayed[0].tags.get("+draft/react") == "👍" and "+draft/reply" not in relayed[0].tags
    assert relayed[1].tags.get("+draft/react") == ""
    assert relayed[2].tags["+draft/react"] == big
    assert relayed[3].tags["+typing"] == "active"
    lines = _history(bob, "CHATHISTORY LATEST #general * 10")
    assert _shape(lines) == [("PRIVMSG", "hello")]
    # Tags past the 4096 bytes a client may send: the whole line is refused (417).
    alice.send(f"@+draft/reply={msgid};+draft/react={'y' * 4100} TAGMSG #general")
    assert alice.expect("417").params[-1] == "Input line was too long"
    bob.sync()
    assert [m for m in bob.seen if m.command == "TAGMSG" and "y" * 10 in m.format()] == []
    # What is kept next to them: a reaction with its message, within the limit.
    alice.send(f"@+draft/reply={msgid};+draft/react={'z' * 400} TAGMSG #general")
    alice.expect("TAGMSG")
    lines = _history(bob, "CHATHISTORY LATEST #general * 10")
    assert _shape(lines) == [("PRIVMSG", "hello"), ("TAGMSG", "z" * 400)]
    for client in (alice, bob):
        client.close()
