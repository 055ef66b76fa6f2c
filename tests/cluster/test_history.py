"""History in a network of nodes. Nodes that share a PostgreSQL history (``--database``)
have one history: each channel message is stored once, by its sender's node, with the
msgid and time every node showed, in the order every member saw (the network's order,
which gives those msgids); CHATHISTORY, REDACT and the join replay on every node read
the same rows."""

from __future__ import annotations

import redis

from server import msgids
from tests.support.ircclient import IRCClient, send_together
from tests.support.waiting import wait_for

FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")


def _batch(client: IRCClient, line: str) -> list:
    return client.batch(line)[1]


def _shown(messages: list) -> list[tuple[str, str, str, str]]:
    """What a member was shown of each message: verb, text, msgid, time."""
    return [
        (m.command, m.params[-1], m.tags.get("msgid", ""), m.tags.get("time", "")) for m in messages
    ]


def _flush(*nodes) -> None:
    for node in nodes:
        assert node.history is not None and node.history.flush()


def _shared(make_node, postgres_url, tmp_path, **options):
    """Two nodes sharing the test's PostgreSQL history."""
    settings = {"database": postgres_url, "flood_rate": 0, **options}
    return (
        make_node("a", data_dir=str(tmp_path / "a"), **settings),
        make_node("b", data_dir=str(tmp_path / "b"), **settings),
    )


def test_nodes_sharing_a_history_store_each_message_once(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice, bob = client_of(a, "alice", FULL), client_of(b, "bob", FULL)
    alice.send("PRIVMSG #general :from a")
    live = bob.expect("PRIVMSG", "#general")
    bob.send("PRIVMSG #general :from b")
    alice.expect("PRIVMSG", "#general", where=lambda m: m.params[1] == "from b")
    _flush(a, b)
    for reader in (alice, bob):
        found = _batch(reader, "CHATHISTORY LATEST #general * 10")
        assert [m.params[1] for m in found] == ["from a", "from b"]
        assert found[0].tags["msgid"] == live.tags["msgid"]
        assert found[0].tags["time"] == live.tags["time"]


def test_concurrent_senders_on_two_nodes_are_stored_once_in_the_order_members_saw(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    count = 60  # each; the nodes' msgids come from one order, whoever sends when
    a, b = _shared(make_node, postgres_url, tmp_path, chathistory_max=4 * count)
    senders = [client_of(node, f"s{i}", ("echo-message",)) for i, node in enumerate((a, b))]
    readers = [client_of(a, "ra", FULL), client_of(b, "rb", FULL)]
    for client in senders + readers:
        client.sync()  # everyone is in #general, and has seen everyone's JOIN
    send_together(senders, lambda c: ([f"PRIVMSG #general :{c.nick} {n}"] for n in range(count)))
    received = []
    for reader in readers:
        seen = [reader.expect("PRIVMSG", "#general", timeout=10) for _ in range(2 * count)]
        received.append(_shown(seen))
    assert received[0] == received[1]  # one order, msgids and times for every member
    times = [shown[3] for shown in received[0]]
    assert times == sorted(times)  # the time, too, follows the network's order
    _flush(a, b)
    for reader in readers:
        stored = _shown(_batch(reader, f"CHATHISTORY LATEST #general * {4 * count}"))
        assert stored == received[0]  # each once, in that order, as shown live


def test_a_redact_reaches_the_members_of_other_nodes(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    caps = (*FULL, "draft/message-redaction")
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice, bob = client_of(a, "alice", caps), client_of(b, "bob", caps)
    wait_for(lambda: a.registry.find_nick("bob") is not None, what="bob known on a")
    alice.send("PRIVMSG #general :oops")
    msgid = alice.expect("PRIVMSG", "#general").tags["msgid"]
    assert bob.expect("PRIVMSG", "#general").tags["msgid"] == msgid
    alice.send(f"REDACT #general {msgid} :typo")
    gone = bob.expect("REDACT")
    assert (gone.source, gone.params) == ("alice!~alice@127.0.0.1", ["#general", msgid, "typo"])


def test_a_redact_on_one_node_removes_the_row_for_every_node(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    caps = (*FULL, "draft/message-redaction")
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice, bob = client_of(a, "alice", caps), client_of(b, "bob", caps)
    alice.send("PRIVMSG #general :oops", "PRIVMSG #general :kept")
    first = bob.expect("PRIVMSG", "#general")
    bob.expect("PRIVMSG", "#general")
    alice.expect("PRIVMSG", "#general", where=lambda m: m.params[1] == "kept")
    alice.send(f"REDACT #general {first.tags['msgid']}")
    bob.expect("REDACT", "#general", first.tags["msgid"])
    _flush(a, b)
    for reader in (bob, alice):
        found = _batch(reader, "CHATHISTORY LATEST #general * 10")
        assert [m.params[1] for m in found] == ["kept"]


def test_reactions_and_multiline_messages_are_stored_once_as_shown(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    caps = (*FULL, "draft/multiline")
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice, bob = client_of(a, "alice", caps), client_of(b, "bob", caps)
    alice.send(
        "BATCH +m draft/multiline #general",
        "@batch=m PRIVMSG #general :one",
        "@batch=m PRIVMSG #general :two",
        "BATCH -m",
    )
    shown_live = []
    for member in (bob, alice):  # alice's is her echo
        opening = member.expect("BATCH", where=lambda m: m.params[0].startswith("+"))
        member.expect("BATCH", "-" + opening.params[0][1:])
        shown_live.append((opening.tags["msgid"], opening.tags["time"]))
    assert shown_live[0] == shown_live[1]
    msgid = opening.tags["msgid"]
    bob.send(f"@+draft/reply={msgid};+draft/react=👍 TAGMSG #general")
    reaction = alice.expect("TAGMSG", "#general")
    bob.expect("TAGMSG", "#general")  # its echo: stored by b before b shows it
    _flush(a, b)
    for reader in (alice, bob):
        reader.send("CHATHISTORY LATEST #general * 10")
        shown = reader.expect("BATCH", where=lambda m: m.params[0].startswith("+"))
        inner = reader.expect("BATCH", where=lambda m: m.params[1:2] == ["draft/multiline"])
        assert inner.tags["msgid"] == msgid and inner.tags["time"] == opening.tags["time"]
        texts = reader.until("BATCH", "-" + inner.params[0][1:])
        assert [m.params[1] for m in texts if m.command == "PRIVMSG"] == ["one", "two"]
        stored = reader.expect("TAGMSG", "#general")
        assert stored.tags["msgid"] == reaction.tags["msgid"]
        assert stored.tags["+draft/react"] == "👍"
        reader.expect("BATCH", "-" + shown.params[0][1:])


def test_the_join_replay_on_one_node_shows_what_was_sent_on_the_other(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice = client_of(a, "alice", ("echo-message",))
    alice.send("JOIN #room", "PRIVMSG #room :said on a")
    alice.expect("PRIVMSG", "#room")
    _flush(a)
    bob = client_of(b, "bob")  # no chathistory: replayed as it joins
    bob.send("JOIN #room")
    replayed = bob.expect("PRIVMSG", "#room")
    assert replayed.params[1] == "said on a" and replayed.source.startswith("alice!")


def test_the_shared_history_survives_restarting_both_nodes(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice, bob = client_of(a, "alice", FULL), client_of(b, "bob", FULL)
    alice.send("PRIVMSG #general :before")
    live = bob.expect("PRIVMSG", "#general")
    bob.send("PRIVMSG #general :restart")
    seen = [live, alice.expect("PRIVMSG", "#general", where=lambda m: m.params[1] == "restart")]
    assert all(msgids.row_id(m.tags["msgid"]) for m in seen)
    alice.close()
    bob.close()
    for node in (a, b):
        node.stop()  # stores what is queued
    a2, b2 = _shared(make_node, postgres_url, tmp_path)
    for node in (a2, b2):
        reader = client_of(node, "r" + node.config.name[0], FULL)
        found = _batch(reader, "CHATHISTORY LATEST #general * 10")
        assert _shown(found) == _shown(seen)


def test_the_network_order_starts_after_the_stored_history(
    make_node, client_of, postgres_url, tmp_path, cluster_url, redis_prefix
) -> None:
    a, _ = _shared(make_node, postgres_url, tmp_path)
    alice = client_of(a, "alice", FULL)
    alice.send("PRIVMSG #general :stored")
    stored = alice.expect("PRIVMSG", "#general").tags["msgid"]
    alice.close()
    a.stop()
    counter = redis.Redis.from_url(cluster_url)
    counter.delete(redis_prefix + "sequence")  # as a Redis restarted empty has it
    make_node("a", database=postgres_url, data_dir=str(tmp_path / "a"))
    number = msgids.row_id(stored)
    assert number is not None
    assert int(counter.get(redis_prefix + "sequence") or 0) > number >> msgids.NODE_BITS
    counter.close()


def test_a_network_msgid_is_a_reference_and_found_by_search_on_every_node(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    caps = (*FULL, "soju.im/search")
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice, bob = client_of(a, "alice", caps), client_of(b, "bob", caps)
    alice.send("PRIVMSG #general :first words", "PRIVMSG #general :second words")
    first = bob.expect("PRIVMSG", "#general")
    bob.expect("PRIVMSG", "#general")
    # Stored by the sender's node before it shows them: another node may be first.
    alice.expect("PRIVMSG", "#general", where=lambda m: m.params[1] == "second words")
    _flush(a)
    for reader in (bob, alice):
        after = _batch(reader, f"CHATHISTORY AFTER #general msgid={first.tags['msgid']} 10")
        assert [m.params[1] for m in after] == ["second words"]
        found = _batch(reader, "SEARCH text=first")
        assert _shown(found) == _shown([first])


def test_a_private_message_to_another_node_is_stored_once(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice, bob = client_of(a, "alice", FULL), client_of(b, "bob", FULL)
    wait_for(lambda: a.registry.find_nick("bob") is not None, what="bob known on a")
    alice.send("PRIVMSG bob :just for you")
    live = bob.expect("PRIVMSG", "bob")
    _flush(a, b)
    assert _shown(_batch(bob, "CHATHISTORY LATEST alice * 10")) == _shown([live])
    assert _shown(_batch(alice, "CHATHISTORY LATEST bob * 10")) == _shown([live])


def test_a_message_the_network_refuses_is_refused_alone_and_stored_nowhere(
    make_node, client_of, postgres_url, tmp_path, cluster_url, redis_prefix
) -> None:
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice, bob = client_of(a, "alice", FULL), client_of(b, "bob", FULL)
    alice.send("PRIVMSG #general :before")
    bob.expect("PRIVMSG", "#general", where=lambda m: m.params[1] == "before")
    alice.expect("PRIVMSG", "#general")
    redis_client = redis.Redis.from_url(cluster_url)
    key = redis_prefix + "sequence"
    position = redis_client.get(key)
    assert position is not None
    redis_client.set(key, "not a position")  # the sequencing script fails on it
    try:
        alice.send("PRIVMSG #general :refused")
        alice.expect("FAIL", "PRIVMSG", "TEMPORARILY_UNAVAILABLE")
    finally:
        redis_client.set(key, position)
        redis_client.close()
    # Only that message was refused: the link stayed up, nobody was told of a split,
    # and the next message goes through at once, in the same order for everyone.
    alice.send("PRIVMSG #general :after")
    seen = alice.until("PRIVMSG", "#general")
    assert [m.params[-1] for m in seen if m.command in ("PRIVMSG", "NOTICE")] == ["after"]
    assert bob.expect("PRIVMSG", "#general").params[1] == "after"
    _flush(a, b)
    for reader in (alice, bob):
        found = _batch(reader, "CHATHISTORY LATEST #general * 10")
        assert [m.params[1] for m in found] == ["before", "after"]


def test_messages_sent_in_a_row_are_stored_in_the_order_the_network_gave(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    a, b = _shared(make_node, postgres_url, tmp_path)
    alice, bob = client_of(a, "alice", FULL), client_of(b, "bob", FULL)
    texts = [f"line {n}" for n in range(40)]
    # One write: the node reads them together and numbers them in one pipeline.
    alice.send(*(f"PRIVMSG #general :{text}" for text in texts))
    live = [bob.expect("PRIVMSG", "#general") for _ in texts]
    assert [m.params[1] for m in live] == texts
    # Node a shows its users' messages (the echoes too) once their rows are stored.
    echoed = [alice.expect("PRIVMSG", "#general") for _ in texts]
    assert _shown(echoed) == _shown(live)
    _flush(a, b)
    found = _batch(bob, "CHATHISTORY LATEST #general * 50")
    assert _shown(found) == _shown(live)
    ids = [msgids.row_id(m.tags["msgid"]) for m in found]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
