"""Channels over real sockets: JOIN, PART, TOPIC, NAMES, MODE, WHO."""

from __future__ import annotations


def names_of(client) -> set[str]:
    names: set[str] = set()
    for message in client.until("366"):
        if message.command == "353":
            names.update(message.params[-1].split())
    return names


def test_autojoin_puts_everyone_in_general_first_joiner_op(server, connect) -> None:
    alice = connect()
    alice.send("NICK alice", "USER alice 0 * :Alice")
    assert alice.expect("JOIN").params == ["#general"]
    assert names_of(alice) == {"@alice"}
    bob = connect()
    bob.send("NICK bob", "USER bob 0 * :Bob")
    bob.expect("JOIN", "#general")
    assert names_of(bob) == {"@alice", "bob"}
    assert alice.expect("JOIN", "#general").source == "bob!~bob@127.0.0.1"


def test_autojoin_can_be_disabled(make_server) -> None:
    from tests.support.ircclient import IRCClient

    server = make_server(autojoin=[])
    client = IRCClient(server.port)
    client.register("alice")
    client.send("NAMES #general")
    assert client.expect("366").params[1] == "#general"
    assert not [m for m in client.consumed if m.command == "JOIN"]
    client.close()


def test_join_several_channels_at_once_with_topic(server, connect) -> None:
    alice = connect("alice")
    alice.send("JOIN #a,#b", "TOPIC #b :Bee things")
    alice.expect("JOIN", "#a")
    alice.expect("JOIN", "#b")
    alice.expect("TOPIC", "#b", "Bee things")
    bob = connect("bob")
    bob.send("JOIN #a,#b")
    burst_a = bob.until("366", "bob", "#a")
    assert "331" not in [m.command for m in burst_a]  # no topic: nothing is said
    bob.expect("JOIN", "#b")
    assert bob.expect("332").params == ["bob", "#b", "Bee things"]
    whotime = bob.expect("333")
    assert whotime.params[:3] == ["bob", "#b", "alice"]
    assert whotime.params[3].isdigit()
    bob.expect("366", "bob", "#b")


def test_join_bad_channel_name_gets_403(server, connect) -> None:
    alice = connect("alice")
    alice.send("JOIN nochan", "JOIN #" + "x" * 64)
    assert alice.expect("403").params == ["alice", "nochan", "No such channel"]
    assert alice.expect("403").params[1] == "#" + "x" * 64


def test_join_zero_parts_every_channel(server, connect) -> None:
    alice = connect("alice")
    alice.send("JOIN #a", "JOIN 0")
    parted = {alice.expect("PART").params[0], alice.expect("PART").params[0]}
    assert parted == {"#general", "#a"}


def test_part_tells_the_channel_and_refuses_non_members(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    bob.send("PART #general :bye all")
    assert alice.expect("PART").params == ["#general", "bye all"]
    assert bob.expect("PART").source.startswith("bob!")
    bob.send("PART #general")
    assert bob.expect("442").params == ["bob", "#general", "You're not on that channel"]
    bob.send("PART #nowhere")
    assert bob.expect("403").params == ["bob", "#nowhere", "No such channel"]


def test_last_part_destroys_the_channel(server, connect) -> None:
    alice = connect("alice")
    alice.send("JOIN #tmp", "PART #tmp")
    alice.expect("PART", "#tmp")
    assert server.registry.find_channel("#tmp") is None


def test_topic_query_set_and_permissions(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send("TOPIC #general")
    assert alice.expect("331").params == ["alice", "#general", "No topic is set"]
    bob.send("TOPIC #general :bob was here")
    assert bob.expect("482").params == ["bob", "#general", "You're not channel operator"]
    alice.send("TOPIC #general :Welcome!")
    assert bob.expect("TOPIC").params == ["#general", "Welcome!"]
    assert alice.expect("TOPIC").source.startswith("alice!")
    bob.send("TOPIC #general")
    assert bob.expect("332").params == ["bob", "#general", "Welcome!"]
    alice.send("TOPIC #general :")
    assert bob.expect("TOPIC").params == ["#general", ""]


def test_topic_is_cut_to_topiclen(server, connect) -> None:
    alice = connect("alice")
    alice.send("TOPIC #general :" + "t" * 450)
    assert alice.expect("TOPIC").params[1] == "t" * 390


def test_topic_on_a_channel_not_joined(server, connect) -> None:
    alice = connect("alice")
    alice.send("JOIN #other")
    bob = connect("bob")
    bob.send("TOPIC #other :sneaky")
    assert bob.expect("442").params == ["bob", "#other", "You're not on that channel"]
    bob.send("TOPIC #missing")
    assert bob.expect("403").params[1] == "#missing"


def test_names_for_missing_channel_ends_at_once(server, connect) -> None:
    alice = connect("alice")
    alice.send("NAMES #nope")
    assert alice.expect("366").params == ["alice", "#nope", "End of /NAMES list"]


def test_names_for_several_channels_answers_each(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    bob.send("JOIN #side")
    bob.expect("366", "bob", "#side")
    alice.send("NAMES #general,#nope,#side")
    replies = [(m.command, m.params[1:]) for m in alice.sync() if m.command in ("353", "366")]
    assert replies == [
        ("353", ["=", "#general", "@alice bob"]),
        ("353", ["=", "#side", "@bob"]),
        ("366", ["#general,#nope,#side", "End of /NAMES list"]),
    ]


def test_names_splits_long_lists_under_512_bytes(server, connect) -> None:
    clients = [connect(f"user{i:02d}_{'x' * 20}") for i in range(40)]
    watcher = clients[0]
    watcher.send("NAMES #general")
    lines = watcher.until("366")
    replies = [m for m in lines if m.command == "353"]
    assert len(replies) > 1
    assert all(len(m.format().encode()) <= 510 for m in replies)
    names = {n.lstrip("@") for m in replies for n in m.params[-1].split()}
    assert names == {c.nick for c in clients}


def test_channel_mode_query_and_op_voice(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send("MODE #general")
    assert alice.expect("324").params == ["alice", "#general", "+nt"]
    assert alice.expect("329").params[2].isdigit()
    alice.send("MODE #general +v bob")
    change = bob.expect("MODE")
    assert change.params == ["#general", "+v", "bob"] and change.source.startswith("alice!")
    bob.send("MODE #general +o bob")
    assert bob.expect("482").params == ["bob", "#general", "You're not channel operator"]
    alice.send("MODE #general +o-v bob bob")
    assert bob.expect("MODE").params == ["#general", "+o-v", "bob", "bob"]
    bob.send("NAMES #general")
    assert names_of(bob) == {"@alice", "@bob"}
    alice.send("MODE #general +o ghost")
    assert alice.expect("401").params == ["alice", "ghost", "No such nick/channel"]
    alice.send("MODE #general +z")
    assert alice.expect("472").params == ["alice", "z", "is unknown mode char to me"]


def test_op_can_drop_topic_lock(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send("MODE #general -t")
    assert bob.expect("MODE").params == ["#general", "-t"]
    bob.send("TOPIC #general :open topic")
    assert alice.expect("TOPIC").params == ["#general", "open topic"]


def test_user_mode(server, connect) -> None:
    alice, _bob = connect("alice"), connect("bob")
    alice.send("MODE alice")
    assert alice.expect("221").params == ["alice", "+"]
    alice.send("MODE alice +i")
    assert alice.expect("MODE").params == ["alice", "+i"]
    alice.send("MODE bob +i")
    assert alice.expect("502").params == ["alice", "Cant change mode for other users"]
    alice.send("MODE nobody")
    assert alice.expect("401").params[1] == "nobody"
    alice.send("MODE alice +Z")
    assert alice.expect("501").params == ["alice", "Unknown MODE flag"]


def test_who_lists_channel_members(server, connect) -> None:
    alice, _bob = connect("alice"), connect("bob")
    alice.send("WHO #general")
    rows = [m for m in alice.until("315") if m.command == "352"]
    by_nick = {m.params[5]: m.params for m in rows}
    assert by_nick["alice"] == [
        "alice",
        "#general",
        "~alice",
        "127.0.0.1",
        "kibitz.test",
        "alice",
        "H@",
        "0 alice Tester",
    ]
    assert by_nick["bob"][6] == "H"
    assert alice.consumed[-1].params == ["alice", "#general", "End of WHO list"]


def test_names_without_arguments_lists_every_visible_channel(server, connect) -> None:
    alice = connect("alice")
    alice.send("JOIN #open,#hidden", "MODE #hidden +s")
    alice.expect("MODE", "#hidden")
    bob = connect("bob")
    bob.send("NAMES")
    replies = bob.until("366")
    listed = {m.params[2] for m in replies if m.command == "353"}
    assert listed == {"#general", "#open"}
    assert replies[-1].params == ["bob", "*", "End of /NAMES list"]
