"""What the network guarantees when things go wrong: a node killed outright is gone
from the network within 15 seconds (its users quit, its nicks are free), and messages
sent at once from several nodes reach every member in one order."""

from __future__ import annotations

import signal

from tests.support.ircclient import IRCClient, send_together
from tests.support.processes import start_server


def test_a_killed_node_s_users_quit_elsewhere_and_its_nicks_are_freed(
    make_node, client_of, cluster_url, redis_prefix, tmp_path
) -> None:
    a = make_node("a")
    alice = client_of(a, "alice")
    proc, port = start_server(
        "--cluster", cluster_url, "--node", "b", "--cluster-prefix", redis_prefix,
        "--data-dir", str(tmp_path), "--name", "b.test", "--cluster-lease", "3",
    )  # fmt: skip
    try:
        alice.send("JOIN #room")
        alice.expect("366")
        bob = IRCClient(port)
        bob.register("bob")
        bob.send("JOIN #room")
        bob.expect("366")
        alice.expect("JOIN", "#room", where=lambda m: m.source.startswith("bob!"))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        # The lease (3 s) runs out, node a reaps b: within its lease and one check.
        gone = alice.expect("QUIT", timeout=15)
        assert (gone.source, gone.params) == ("bob!~bob@127.0.0.1", ["*.net *.split"])
        alice.send("NAMES #room")
        assert alice.expect("353").params[3] == "@alice"
        client_of(a, "bob")  # the nick is free again
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stderr.close()


def test_concurrent_senders_on_two_nodes_give_every_member_one_order(make_node, client_of) -> None:
    a, b = make_node("a", flood_rate=0), make_node("b", flood_rate=0)
    caps = ("echo-message",)
    senders = [client_of(node, f"s{i}", caps) for i, node in enumerate((a, b, a, b))]
    readers = [client_of(a, "ra"), client_of(b, "rb")]
    everyone = senders + readers
    for client in everyone:
        client.send("JOIN #race")
        client.expect("366")
    for client in everyone:  # everyone has seen everyone's JOIN
        client.sync()
    count = 50
    send_together(senders, lambda c: ([f"PRIVMSG #race :{c.nick} {n}"] for n in range(count)))
    orders = []
    for client in everyone:
        seen = []
        while len(seen) < count * len(senders):
            message = client.expect("PRIVMSG", "#race", timeout=10)
            seen.append((message.params[1], message.tags.get("msgid")))
        orders.append(seen)
    texts = [[text for text, _ in order] for order in orders]
    for client, order in zip(everyone, texts, strict=True):
        assert order == texts[0], f"{client.nick} saw another order"
    for sender in senders:  # each sender's own messages stay in the order it sent them
        mine = [t for t in texts[0] if t.startswith(sender.nick + " ")]
        assert mine == [f"{sender.nick} {n}" for n in range(count)]
