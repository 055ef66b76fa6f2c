"""One namespace across nodes: a nick held on any node is in use on every node, and of
two nodes racing for one nick exactly one wins."""

from __future__ import annotations

import subprocess
import sys
import threading

from tests.support.ircclient import IRCClient
from tests.support.processes import ROOT, run_server
from tests.support.waiting import wait_for


def test_a_nick_held_on_one_node_is_in_use_on_the_other(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    client_of(a, "alice")
    other = client_of(b)
    other.send("NICK Alice", "USER x 0 * :x")
    assert other.expect("433").params[1] == "Alice"
    other.send("NICK carol")
    other.expect("001")
    other.sync()
    # A nick change is claimed across the network too.
    other.send("NICK ALICE")
    assert other.expect("433").params[1] == "ALICE"


def test_a_nick_given_up_on_one_node_is_free_on_the_other(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    alice = client_of(a, "alice")
    watcher = client_of(b, "bob")
    alice.send("NICK alicia")
    watcher.expect("NICK", "alicia")
    taker = client_of(b, "alice")  # the old nick is free now
    alice.send("QUIT :bye")
    watcher.expect("QUIT", "Quit: bye")
    taker.send("NICK alicia")
    taker.expect("NICK", "alicia")


def test_two_nodes_racing_for_one_nick_give_it_to_exactly_one(make_node) -> None:
    nodes = [make_node("a"), make_node("b")]
    contenders = [IRCClient(nodes[i % 2].port) for i in range(16)]
    start = threading.Barrier(len(contenders))
    outcomes: list[str] = []

    def contend(client: IRCClient) -> None:
        start.wait()
        client.send("NICK prize", "USER p 0 * :p")
        while True:
            message = client.next()
            assert message is not None, "no answer to the registration"
            if message.command in ("001", "433"):
                outcomes.append(message.command)
                return

    try:
        threads = [threading.Thread(target=contend, args=(c,)) for c in contenders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert sorted(outcomes) == ["001"] + ["433"] * (len(contenders) - 1)
    finally:
        for client in contenders:
            client.close()


def test_whois_ison_userhost_and_lusers_see_the_whole_network(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    client_of(a, "alice").send("AWAY :lunch")
    bob = client_of(b, "bob")
    wait_for(lambda: (m := b.registry.find_nick("alice")) is not None and m.away, what="away")
    bob.send("WHOIS alice")
    lines = {m.command: m for m in bob.until("318")}
    assert lines["311"].params[1:4] == ["alice", "~alice", "127.0.0.1"]
    assert lines["301"].params[1:] == ["alice", "lunch"]
    assert lines["319"].params[2] == "@#general"
    bob.send("ISON alice bob nobody", "USERHOST alice")
    assert bob.expect("303").params[1] == "alice bob"
    assert bob.expect("302").params[1] == "alice=-~alice@127.0.0.1"
    bob.send("LUSERS")
    lines = {m.command: m for m in bob.until("266")}
    assert lines["251"].params[1] == "There are 2 users and 0 invisible on 2 servers"
    assert lines["255"].params[1] == "I have 1 clients and 1 servers"
    assert lines["266"].params[1] == "2"


def test_the_cluster_options_have_configuration_keys() -> None:
    shown = run_server("--print-config").stdout
    assert '# cluster = "redis://127.0.0.1:6379/0"' in shown
    assert '# node = "node1"' in shown
    assert '# cluster_prefix = "kibitz:"' in shown


def test_a_server_alone_never_loads_redis() -> None:
    script = (
        "import sys; from server.config import Config; from server.server import ChatServer;"
        "s = ChatServer(Config(host='127.0.0.1', port=0)); s.start(); s.stop();"
        "print(sorted(m for m in sys.modules"
        " if m == 'redis' or m == 'server.cluster' or m.startswith('server.cluster.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_an_unreachable_redis_stops_the_node_from_starting() -> None:
    result = run_server("-p", "0", "--cluster", "redis://127.0.0.1:1/0", "--node", "x")
    assert result.returncode == 1
    assert "cannot join the network at redis://127.0.0.1:1/0" in result.stderr
