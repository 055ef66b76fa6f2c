"""A Redis outage: the nodes tell their users the network is split and refuse new
registrations; once Redis is back they claim their users' nicks again, publish their
state again, and chat crosses the nodes again."""

from __future__ import annotations

import pytest

from server.clustering import SPLIT_TEXT
from tests.support.services import private_redis
from tests.support.tcpproxy import TCPProxy
from tests.support.waiting import wait_for

#: Quick retries, so the test does not wait out a long backoff.
RETRY = {"cluster_retry": (0.05, 0.2)}


@pytest.fixture
def redis_instance():
    """A Redis server of this test's own: it is stopped and started again."""
    with private_redis() as instance:
        yield instance


def test_nodes_survive_a_redis_restart(redis_instance, make_node, client_of) -> None:
    url = f"redis://127.0.0.1:{redis_instance.port}/0"
    a = make_node("a", cluster=url, **RETRY)
    b = make_node("b", cluster=url, **RETRY)
    alice = client_of(a, "alice", caps=("echo-message",))
    bob = client_of(b, "bob")
    wait_for(lambda: b.registry.find_nick("alice") is not None, what="alice known on b")

    redis_instance.stop()
    assert alice.expect("NOTICE").params == ["alice", SPLIT_TEXT]
    assert bob.expect("NOTICE").params == ["bob", SPLIT_TEXT]
    # Registering needs the network's nick table: refused, and told why.
    newcomer = client_of(a)
    newcomer.send("NICK carol", "USER c 0 * :c")
    fail = newcomer.expect("FAIL")
    assert fail.params == ["*", "TEMPORARILY_UNAVAILABLE", SPLIT_TEXT]
    assert newcomer.expect("ERROR").params[0].endswith("(Network temporarily unavailable)")
    # A message that cannot reach the network is refused, not lost in silence.
    alice.send("PRIVMSG #general :anyone?", "NOTICE bob :still there?", "NICK alicia")
    assert alice.expect("FAIL").params == ["PRIVMSG", "TEMPORARILY_UNAVAILABLE", SPLIT_TEXT]
    assert alice.expect("FAIL").params == ["NOTICE", "TEMPORARILY_UNAVAILABLE", SPLIT_TEXT]
    assert alice.expect("FAIL").params == ["NICK", "TEMPORARILY_UNAVAILABLE", SPLIT_TEXT]

    redis_instance.start()
    assert alice.expect("NOTICE", timeout=10).params == ["alice", "The network is whole again"]
    assert bob.expect("NOTICE", timeout=10).params == ["bob", "The network is whole again"]
    # Each node knows the other's users again (a node back first may have seen the
    # other's users leave and come back: QUIT, then JOIN).
    for node, nick in ((a, "bob"), (b, "alice")):
        waited = node.registry.find_nick(nick)
        while waited is None:
            (alice if node is a else bob).expect("JOIN", "#general", timeout=10)
            waited = node.registry.find_nick(nick)
    alice.send("PRIVMSG #general :back")
    assert bob.expect("PRIVMSG", "#general").params[1] == "back"
    assert alice.expect("PRIVMSG", "#general").params[1] == "back"
    bob.send("PRIVMSG alice :welcome back")
    assert alice.expect("PRIVMSG", "alice").params[1] == "welcome back"
    # The nicks are claimed again: nobody else can take them.
    late = client_of(b)
    late.send("NICK alice", "USER l 0 * :l")
    assert late.expect("433").params[1] == "alice"


def test_a_node_cut_off_gives_up_a_nick_taken_meanwhile(
    make_node, client_of, redis_port, cluster_url
) -> None:
    proxy = TCPProxy(redis_port)
    try:
        a = make_node("a", cluster=f"redis://127.0.0.1:{proxy.port}/0", **RETRY)
        b = make_node("b")
        alice = client_of(a, "alice")
        bob = client_of(b, "bob")
        wait_for(lambda: b.registry.find_nick("alice") is not None, what="alice known on b")

        proxy.cut()  # node a alone loses Redis; b reaps it once its lease runs out
        assert alice.expect("NOTICE").params == ["alice", SPLIT_TEXT]
        gone = bob.expect("QUIT", timeout=10)
        assert (gone.source, gone.params) == ("alice!~alice@127.0.0.1", ["*.net *.split"])
        client_of(b, "alice")  # the nick is free on the network: someone on b takes it

        proxy.restore()
        renamed = alice.expect("NICK", timeout=10)
        assert renamed.source == "alice!~alice@127.0.0.1"
        guest = renamed.params[0]
        assert guest.startswith("Guest")
        told = alice.expect("NOTICE")
        assert (
            told.params[1] == f"Your nick was taken elsewhere during a split; you are now {guest}"
        )
        assert alice.expect("NOTICE").params[1] == "The network is whole again"
        # Node b knows the renamed user again: it joins #general there.
        bob.expect("JOIN", "#general", timeout=10, where=lambda m: m.source.startswith(guest))
        assert b.registry.find_nick(guest).node == "a"
    finally:
        proxy.close()
