"""History in a network of nodes: the sender's node stores each message once (as it
publishes it, with the msgid every node shows), so nodes that share a PostgreSQL
history (``--database``) all read every message of the network, each once."""

from __future__ import annotations

from tests.support.waiting import wait_for

FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")


def _batch(client, line: str) -> list:
    client.send(line)
    ref = client.expect("BATCH").params[0][1:]
    lines = []
    while True:
        message = client.next()
        assert message is not None
        if message.command == "BATCH" and message.params[0] == "-" + ref:
            return lines
        if message.tags.get("batch") == ref:
            lines.append(message)


def test_nodes_sharing_a_history_store_each_message_once(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    a = make_node("a", database=postgres_url, data_dir=str(tmp_path / "a"), flood_rate=0)
    b = make_node("b", database=postgres_url, data_dir=str(tmp_path / "b"), flood_rate=0)
    alice, bob = client_of(a, "alice", FULL), client_of(b, "bob", FULL)
    alice.send("PRIVMSG #general :from a")
    live = bob.expect("PRIVMSG", "#general")
    bob.send("PRIVMSG #general :from b")
    alice.expect("PRIVMSG", "#general", where=lambda m: m.params[1] == "from b")
    for node in (a, b):
        assert node.history is not None and node.history.flush()
    for reader in (alice, bob):
        found = _batch(reader, "CHATHISTORY LATEST #general * 10")
        assert [m.params[1] for m in found] == ["from a", "from b"]
        assert found[0].tags["msgid"] == live.tags["msgid"]
        assert found[0].tags["time"] == live.tags["time"]


def test_a_redact_reaches_the_members_of_other_nodes(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    caps = (*FULL, "draft/message-redaction")
    a = make_node("a", database=postgres_url, data_dir=str(tmp_path / "a"), flood_rate=0)
    b = make_node("b", database=postgres_url, data_dir=str(tmp_path / "b"), flood_rate=0)
    alice, bob = client_of(a, "alice", caps), client_of(b, "bob", caps)
    wait_for(lambda: a.registry.find_nick("bob") is not None, what="bob known on a")
    alice.send("PRIVMSG #general :oops")
    msgid = alice.expect("PRIVMSG", "#general").tags["msgid"]
    assert bob.expect("PRIVMSG", "#general").tags["msgid"] == msgid
    alice.send(f"REDACT #general {msgid} :typo")
    gone = bob.expect("REDACT")
    assert (gone.source, gone.params) == ("alice!~alice@127.0.0.1", ["#general", msgid, "typo"])
