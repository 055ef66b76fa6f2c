"""Channels across nodes: membership, topic and modes are shared, and every member on
every node sees a channel's messages in one order, with one msgid and one time."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from tests.support.waiting import wait_for


@pytest.fixture
def pair(make_node, client_of):
    """Two nodes; alice (op of #room) on a, bob on b, both in #room."""
    a, b = make_node("a"), make_node("b")
    caps = ("echo-message", "message-tags", "server-time", "labeled-response", "batch")
    alice = client_of(a, "alice", caps=caps)
    bob = client_of(b, "bob", caps=("message-tags", "server-time"))
    alice.send("JOIN #room")
    alice.expect("366")
    # Node b has heard of #room before bob joins it (else both nodes would make it).
    wait_for(lambda: b.registry.find_channel("#room") is not None, what="#room known on b")
    bob.send("JOIN #room")
    assert alice.expect("JOIN", "#room").source.startswith("bob!")
    bob.expect("366")
    return SimpleNamespace(a=a, b=b, alice=alice, bob=bob)


def test_join_names_list_and_who_see_members_of_both_nodes(pair) -> None:
    bob = pair.bob
    bob.send("NAMES #room")
    assert bob.expect("353").params[3] == "@alice bob"
    bob.send("LIST #room")
    assert bob.expect("322").params[1:3] == ["#room", "2"]
    bob.send("WHO #room")
    rows = [m for m in bob.until("315") if m.command == "352"]
    assert sorted((r.params[5], r.params[4], r.params[6]) for r in rows) == [
        ("alice", "a.test", "H@"),
        ("bob", "b.test", "H"),
    ]


def test_channel_messages_carry_one_msgid_and_time_everywhere(pair) -> None:
    alice, bob = pair.alice, pair.bob
    alice.send("@label=l1 PRIVMSG #room :hello")
    echo = alice.expect("PRIVMSG", "#room")
    assert echo.tags["label"] == "l1"  # the echo answers the labeled command
    got = bob.expect("PRIVMSG", "#room")
    assert got.params[1] == "hello" and got.source == "alice!~alice@127.0.0.1"
    assert (got.tags["msgid"], got.tags["time"]) == (echo.tags["msgid"], echo.tags["time"])
    bob.send("PRIVMSG #room :hi alice")
    assert alice.expect("PRIVMSG", "#room").params[1] == "hi alice"


def test_part_kick_and_topic_cross_nodes(pair, client_of) -> None:
    b, alice, bob = pair.b, pair.alice, pair.bob
    alice.send("TOPIC #room :plans")
    topic = bob.expect("TOPIC")
    assert (topic.source, topic.params) == ("alice!~alice@127.0.0.1", ["#room", "plans"])
    carol = client_of(b, "carol")
    carol.send("JOIN #room")
    carol.expect("332")
    assert carol.until("366")
    alice.send("KICK #room bob :enough")
    kick = bob.expect("KICK")
    assert kick.params == ["#room", "bob", "enough"] and kick.source.startswith("alice!")
    assert carol.expect("KICK").params[1] == "bob"
    bob.send("PRIVMSG #room :still here?")
    assert bob.expect("404").params[1] == "#room"
    carol.send("PART #room :bye")
    assert alice.expect("PART", "#room").source.startswith("carol!")
    alice.send("NAMES #room")
    assert alice.expect("353").params[3] == "@alice"


def test_modes_set_on_one_node_hold_on_the_other(pair, client_of) -> None:
    b, alice, bob = pair.b, pair.alice, pair.bob
    alice.send("MODE #room +m")
    assert bob.expect("MODE").params == ["#room", "+m"]
    bob.send("PRIVMSG #room :may I?")
    assert bob.expect("404").params[1] == "#room"
    alice.send("MODE #room +v bob")
    assert bob.expect("MODE").params == ["#room", "+v", "bob"]
    bob.send("PRIVMSG #room :thanks")
    assert alice.expect("PRIVMSG", "#room").params[1] == "thanks"
    alice.send("MODE #room -m+kl sesame 3", "MODE #room +b dave!*@*")
    bob.expect("MODE", "#room", "-m+kl")
    bob.expect("MODE", "#room", "+b")
    dave = client_of(b, "dave")
    dave.send("JOIN #room sesame")
    assert dave.expect("474").params[1] == "#room"  # banned, key or not
    erin = client_of(b, "erin")
    erin.send("JOIN #room")
    assert erin.expect("475").params[1] == "#room"
    erin.send("JOIN #room sesame")
    erin.expect("366")
    frank = client_of(b, "frank")
    frank.send("JOIN #room sesame")
    assert frank.expect("471").params[1] == "#room"  # +l 3: alice, bob, erin


def test_an_invitation_from_one_node_lets_a_user_of_the_other_in(pair, client_of) -> None:
    a, b, alice, bob = pair.a, pair.b, pair.alice, pair.bob
    alice.send("MODE #room +i")
    bob.expect("MODE", "#room", "+i")
    carol = client_of(b, "carol")
    carol.send("JOIN #room")
    assert carol.expect("473").params[1] == "#room"
    wait_for(lambda: a.registry.find_nick("carol") is not None, what="carol known on a")
    alice.send("INVITE carol #room")
    assert alice.expect("341").params[1:] == ["carol", "#room"]
    invite = carol.expect("INVITE")
    assert (invite.source, invite.params) == ("alice!~alice@127.0.0.1", ["carol", "#room"])
    carol.send("JOIN #room")
    carol.expect("366")
    assert alice.expect("JOIN", "#room").source.startswith("carol!")


def test_a_new_node_loads_the_channels_state(pair, make_node, client_of) -> None:
    alice, bob = pair.alice, pair.bob
    alice.send("MODE #room +k sesame", "TOPIC #room :loaded")
    bob.expect("TOPIC")
    c = make_node("c")
    carol = client_of(c, "carol")
    carol.send("JOIN #room")
    assert carol.expect("475").params[1] == "#room"
    carol.send("JOIN #room sesame")
    assert carol.expect("332").params[2] == "loaded"
    assert carol.expect("353").params[3] == "@alice bob carol"


def test_two_nodes_making_one_channel_at_once_give_op_to_one_member(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    alice, bob = client_of(a, "alice"), client_of(b, "bob")
    for n in range(5):
        name = f"#new{n}"
        start = threading.Barrier(2)

        def join(client, channel=name, barrier=start) -> None:
            barrier.wait()
            client.send(f"JOIN {channel}")

        threads = [threading.Thread(target=join, args=(c,)) for c in (alice, bob)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        for client in (alice, bob):
            client.expect("366", client.nick, name)  # the end of its own JOIN's names
        for node in (a, b):
            wait_for(lambda c=name, node=node: _members(node, c) == 2, what=f"both in {name}")
        shown = []
        for client in (alice, bob):
            client.send(f"NAMES {name}")
            shown.append(sorted(client.expect("353").params[3].split()))
        assert shown[0] == shown[1], shown
        assert sum(nick.startswith("@") for nick in shown[0]) == 1, shown


def _members(node, name: str) -> int:
    channel = node.registry.find_channel(name)
    return 0 if channel is None else len(node.registry.members(channel))


def test_a_channel_made_on_one_node_has_its_modes_on_the_other(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    alice, bob = client_of(a, "alice"), client_of(b, "bob")
    alice.send("MODE alice +i", "JOIN #fresh")
    alice.expect("366")
    wait_for(lambda: b.registry.find_channel("#fresh") is not None, what="#fresh known on b")
    bob.send("MODE #fresh", "TOPIC #fresh :outsider", "PRIVMSG #fresh :from outside")
    assert bob.expect("324").params[1:] == ["#fresh", "+nt"]
    assert bob.expect("442").params[1] == "#fresh"  # +t: not a member
    assert bob.expect("404").params[1] == "#fresh"  # +n: no messages from outside
