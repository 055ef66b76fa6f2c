"""The network's table of channels holds only channels someone is in: the entry of a
channel goes as the last member of the whole network leaves it, however it leaves
(PART, KICK, QUIT, its node stopping or found dead)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import redis

from tests.support.ircclient import IRCClient
from tests.support.processes import start_server
from tests.support.waiting import wait_for


@pytest.fixture
def rooms(redis_port: int, redis_prefix: str) -> Iterator:
    """The channels the network's table holds, as a function of no arguments."""
    conn = redis.Redis(port=redis_port, decode_responses=True)
    yield lambda: set(conn.hkeys(redis_prefix + "channels"))
    conn.close()


def _join(client: IRCClient, channel: str) -> None:
    client.send(f"JOIN {channel}")
    client.expect("366")


def test_a_channel_leaves_the_table_with_its_last_member_of_the_network(
    make_node, client_of, rooms
) -> None:
    a, b = make_node("a", autojoin=[]), make_node("b", autojoin=[])
    alice, bob = client_of(a, "alice"), client_of(b, "bob")
    _join(alice, "#parted")
    wait_for(lambda: b.registry.find_channel("#parted") is not None, what="#parted on b")
    _join(bob, "#parted")
    alice.expect("JOIN", "#parted", where=lambda m: m.source.startswith("bob!"))
    assert rooms() == {"#parted"}
    alice.send("PART #parted")
    alice.expect("PART")
    bob.expect("PART")
    assert rooms() == {"#parted"}  # bob is still in it
    bob.send("PART #parted")
    bob.expect("PART")
    wait_for(lambda: rooms() == set(), what="#parted out of the table")
    # The same by KICK and by QUIT.
    _join(alice, "#kicked")
    wait_for(lambda: b.registry.find_channel("#kicked") is not None, what="#kicked on b")
    _join(bob, "#kicked")
    alice.expect("JOIN", "#kicked", where=lambda m: m.source.startswith("bob!"))
    alice.send("KICK #kicked bob :out")
    bob.expect("KICK")
    assert rooms() == {"#kicked"}
    alice.send("QUIT :bye")
    alice.wait_closed()
    wait_for(lambda: rooms() == set(), what="#kicked out of the table")
    # A channel made again starts afresh, in the table again.
    _join(bob, "#kicked")
    assert rooms() == {"#kicked"}


def test_nodes_stopping_cleanly_leave_no_channel_behind(make_node, client_of, rooms) -> None:
    nodes = [make_node("a"), make_node("b")]
    for node, nick in zip(nodes, ("alice", "bob"), strict=True):
        _join(client_of(node, nick), "#team")
    assert rooms() == {"#general", "#team"}
    nodes[0].stop()
    assert rooms() == {"#general", "#team"}  # bob is in both
    nodes[1].stop()
    assert rooms() == set()


def test_a_dead_node_s_channels_go_with_it_when_it_is_reaped(
    make_node, client_of, cluster_url, redis_prefix, tmp_path, rooms
) -> None:
    a = make_node("a", autojoin=[])
    proc, port = start_server(
        "--cluster", cluster_url, "--node", "b", "--cluster-prefix", redis_prefix,
        "--data-dir", str(tmp_path), "--name", "b.test", "--cluster-lease", "3",
        "--autojoin", "",
    )  # fmt: skip
    try:
        bob = IRCClient(port)
        bob.register("bob")
        _join(bob, "#lonely")
        assert rooms() == {"#lonely"}
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        # Node a reaps b once its lease (3 s) has run out.
        wait_for(lambda: rooms() == set(), timeout=15, what="#lonely out of the table")
        # The reaping's QUITs are applied as they come back through Redis, just after.
        wait_for(lambda: a.registry.find_nick("bob") is None, what="bob's QUIT on node a")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stderr.close()
