"""Channel messages through the network in bulk: one read's messages to a channel are
one publish, what arrives together is delivered together, and the guarantees hold (one
order for every member and for history, one msgid and time everywhere, the echoes)."""

from __future__ import annotations

import json

import redis

from tests.support.ircclient import IRCClient, send_together
from tests.support.services import private_redis
from tests.support.waiting import wait_for

FULL = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")


def _joined(clients: list[IRCClient], channel: str) -> None:
    for client in clients:
        client.send(f"JOIN {channel}")
        client.expect("366")
    for client in clients:  # everyone has seen everyone's JOIN
        client.sync()


def _history(client: IRCClient, channel: str, limit: int) -> list:
    return client.batch(f"CHATHISTORY LATEST {channel} * {limit}")[1]


def test_one_read_to_a_channel_is_published_once_and_shown_alike_everywhere(
    make_node, client_of, redis_port, redis_prefix
) -> None:
    a, b = make_node("a", flood_rate=0), make_node("b", flood_rate=0)
    alice = client_of(a, "alice", ("echo-message", "message-tags", "server-time"))
    here = client_of(a, "carol", ("message-tags", "server-time"))
    there = client_of(b, "bob", ("message-tags", "server-time"))
    plain = client_of(b, "dave")
    _joined([alice, here, there, plain], "#bulk")
    watcher = redis.Redis(port=redis_port, decode_responses=True).pubsub()
    try:
        watcher.subscribe(redis_prefix + "chan:#bulk")
        assert watcher.get_message(timeout=5)["type"] == "subscribe"
        count = 20
        alice.send(*(f"PRIVMSG #bulk :line {n}" for n in range(count)))  # one write
        texts = [f"line {n}" for n in range(count)]
        echoes = [alice.expect("PRIVMSG", "#bulk") for _ in texts]
        assert [m.params[1] for m in echoes] == texts
        for reader in (here, there, plain):
            got = [reader.expect("PRIVMSG", "#bulk") for _ in texts]
            assert [m.params[1] for m in got] == texts
            if reader is not plain:
                assert [m.tags for m in got] == [m.tags for m in echoes]
        published = []
        while (message := watcher.get_message(timeout=0.5)) is not None:
            published.append(json.loads(message["data"]))
    finally:
        watcher.close()
    # Fewer publishes than messages (one per read: the lines came in one write), each
    # with its lines in order, their msgids those every member saw.
    assert 1 <= len(published) < count
    items = [item for message in published for item in message["items"]]
    assert [item[1][1] for item in items] == texts
    assert [item[2]["msgid"] for item in items] == [m.tags["msgid"] for m in echoes]


def test_bursts_from_both_nodes_keep_one_order_for_members_and_history(
    make_node, client_of, postgres_url, tmp_path
) -> None:
    a = make_node("a", database=postgres_url, data_dir=str(tmp_path / "a"), flood_rate=0)
    b = make_node("b", database=postgres_url, data_dir=str(tmp_path / "b"), flood_rate=0)
    senders = [client_of(node, f"s{i}", FULL) for i, node in enumerate((a, b, a, b))]
    readers = [client_of(a, "ra", FULL), client_of(b, "rb", ("server-time",))]
    everyone = senders + readers
    _joined(everyone, "#burst")
    bursts, size = 5, 5  # 100 messages: what one CHATHISTORY request gives
    send_together(
        senders,
        lambda c: (
            [f"PRIVMSG #burst :{c.nick} {n}.{k}" for k in range(size)] for n in range(bursts)
        ),
    )
    total = bursts * size * len(senders)
    orders = []
    for client in everyone:
        seen = [client.expect("PRIVMSG", "#burst", timeout=10) for _ in range(total)]
        orders.append([(m.params[1], m.tags.get("msgid")) for m in seen])
    for client, order in zip(everyone, orders, strict=True):
        assert [text for text, _ in order] == [text for text, _ in orders[0]], client.nick
        if client is not readers[1]:  # the others see the msgids (message-tags)
            assert order == orders[0], f"{client.nick} saw other msgids"
    texts = [text for text, _ in orders[0]]
    for sender in senders:  # each sender's own messages in the order it sent them
        mine = [t for t in texts if t.startswith(sender.nick + " ")]
        assert mine == [f"{sender.nick} {n}.{k}" for n in range(bursts) for k in range(size)]
    # History holds each message once, with the msgid shown live; the messages of one
    # node are in it in the order the network relayed them.
    for node in (a, b):
        assert node.history is not None
        wait_for(node.history.flush, what="history written")
    stored = _history(readers[0], "#burst", total)
    assert sorted(m.tags["msgid"] for m in stored) == sorted(msgid for _, msgid in orders[0])
    for prefix in ("s0 ", "s1 "):
        node_of = {"s0 ": ("s0 ", "s2 "), "s1 ": ("s1 ", "s3 ")}[prefix]
        relayed = [t for t in texts if t.startswith(node_of)]
        kept = [m.params[1] for m in stored if m.params[1].startswith(node_of)]
        assert kept == relayed


def test_a_publish_waiting_on_redis_holds_up_nothing_else_in_its_channel(
    make_node, client_of, tmp_path
) -> None:
    caps = ("echo-message", "message-tags", "server-time", "draft/message-redaction")
    with private_redis() as instance:  # paused by this test: nobody else's
        url = f"redis://127.0.0.1:{instance.port}/0"
        a = make_node("a", cluster=url, cluster_lease=10.0, data_dir=str(tmp_path), flood_rate=0)
        alice, carol, dave = (client_of(a, nick, caps) for nick in ("alice", "carol", "dave"))
        for client in (alice, carol):
            client.sync()
        carol.send("PRIVMSG #general :oops")
        msgid = carol.expect("PRIVMSG", "#general").tags["msgid"]
        dave.expect("PRIVMSG", "#general", where=lambda m: m.params[1] == "oops")
        admin = redis.Redis(port=instance.port, decode_responses=True)

        def publish_waiting() -> bool:
            return any(
                c.get("cmd") == "publish" and "b" in c.get("flags", "") for c in admin.client_list()
            )

        # Writes wait (PUBLISH among them) until UNPAUSE, which comes well within the
        # nodes' command timeout.
        admin.execute_command("CLIENT", "PAUSE", "10000", "WRITE")
        try:
            alice.send("PRIVMSG #general :held up")
            wait_for(publish_waiting, what="alice's message waiting on Redis")
            # A REDACT is shown to the node's members under the channel's send lock:
            # it must not wait for alice's round trip to Redis.
            carol.send(f"REDACT #general {msgid}")
            gone = dave.expect("REDACT", timeout=1.0)
            still = publish_waiting()
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")
            admin.close()
        assert gone.params == ["#general", msgid] and still
        assert dave.expect("PRIVMSG", "#general").params[1] == "held up"
        echo = alice.expect("PRIVMSG", "#general", where=lambda m: m.params[1] == "held up")
        assert echo.source.startswith("alice!")
