"""A channel's modes, lists and topic across nodes: changed in one order (Redis's), so
nodes changing one channel at the same instant end up holding the same state, the one
Redis holds, and a node that joins later takes it from there."""

from __future__ import annotations

import json

import pytest
import redis

from server.accounts import AccountStore
from server.clustering import SPLIT_TEXT
from tests.support.ircclient import IRCClient
from tests.support.services import private_redis
from tests.support.tcpproxy import TCPProxy
from tests.support.waiting import wait_for

#: Conflicting changes each side sends at once.
ROUNDS = 30
CAPS = ("away-notify",)
#: Quick retries, so a test does not wait out a long backoff.
RETRY = {"cluster_retry": (0.05, 0.2)}


def _state(client: IRCClient) -> tuple[list[str], str, list[str]]:
    """What ``client`` is told of #room: its modes (and key), topic and ban list."""
    client.send("MODE #room", "TOPIC #room", "MODE #room b")
    modes = client.expect("324", client.nick, "#room").params[2:]
    topic = client.expect("332", client.nick, "#room").params[2]
    bans = [m.params[2] for m in client.until("368") if m.command == "367"]
    return modes, topic, bans


def _seen(client: IRCClient, *commands: str) -> None:
    """Read until each of ``commands`` has come, in whatever order."""
    waiting = set(commands)
    while waiting:
        message = client.next(5.0)
        assert message is not None, f"still waiting for {waiting}"
        waiting.discard(message.command)


def _stored(cluster_url: str, prefix: str) -> tuple[list[str], str, list[str]]:
    """What Redis holds of #room, as a member would be told it."""
    state = json.loads(redis.Redis.from_url(cluster_url).hget(prefix + "channels", "#room"))
    modes = ["+" + state["modes"] + ("k" if state["key"] else "")]
    modes += [state["key"]] if state["key"] else []
    return modes, state["topic"][0], [entry[0] for entry in state["lists"]["b"]]


def test_concurrent_changes_on_two_nodes_leave_one_state(
    make_node, client_of, cluster_url, redis_prefix
) -> None:
    a, b = make_node("a", flood_rate=0), make_node("b", flood_rate=0)
    alice, bob = client_of(a, "alice", caps=CAPS), client_of(b, "bob", caps=CAPS)
    alice.send("JOIN #room")
    alice.expect("366")
    wait_for(lambda: b.registry.find_channel("#room") is not None, what="#room known on b")
    bob.send("JOIN #room")
    assert alice.expect("JOIN", "#room").source.startswith("bob!")  # a knows bob's in
    alice.send("MODE #room +o bob")
    bob.expect("MODE", "#room", "+o", "bob")
    # Both at once, each change conflicting with the other side's.
    for client, side in ((alice, "a"), (bob, "b")):
        lines = []
        for i in range(ROUNDS):
            lines += [f"MODE #room +k {side}{i}", f"TOPIC #room :{side}{i}"]
            lines += [f"MODE #room +b {side}{i}!*@*"]
        client.send(*lines, "AWAY :done")
    # Each side's AWAY is published after all its changes: whoever sees it has seen them.
    _seen(alice, "306", "AWAY")
    _seen(bob, "306", "AWAY")
    on_a, on_b = _state(alice), _state(bob)
    assert on_a == on_b
    assert on_a == _stored(cluster_url, redis_prefix)
    # No change was lost: every ban either side set is there.
    assert sorted(on_a[2]) == sorted(f"{s}{i}!*@*" for s in "ab" for i in range(ROUNDS))


def test_a_node_joining_later_takes_the_state_from_redis(
    make_node, client_of, cluster_url, redis_prefix
) -> None:
    a = make_node("a")
    alice = client_of(a, "alice")
    alice.send("JOIN #room", "MODE #room +k secret", "TOPIC #room :plans", "MODE #room +b x!*@*")
    alice.expect("TOPIC", "#room")
    alice.expect("MODE", "#room", "+b")
    b = make_node("b")
    carol = client_of(b, "carol")
    carol.send("JOIN #room secret")
    carol.expect("366")
    assert _state(carol) == _state(alice) == _stored(cluster_url, redis_prefix)


@pytest.fixture
def redis_instance():
    """A Redis server of this test's own: it is stopped and started again."""
    with private_redis() as instance:
        yield instance


def test_a_change_during_an_outage_is_refused_and_the_state_outlives_a_restart(
    redis_instance, make_node, client_of
) -> None:
    url = f"redis://127.0.0.1:{redis_instance.port}/0"
    a = make_node("a", cluster=url, **RETRY)
    b = make_node("b", cluster=url, **RETRY)
    alice, bob = client_of(a, "alice"), client_of(b, "bob")
    alice.send("JOIN #room", "MODE #room +k secret")
    alice.expect("MODE", "#room", "+k")
    wait_for(lambda: b.registry.find_channel("#room") is not None, what="#room known on b")
    bob.send("JOIN #room secret")
    assert alice.expect("JOIN", "#room").source.startswith("bob!")  # a knows bob's in
    alice.send("MODE #room +o bob")
    bob.expect("MODE", "#room", "+o", "bob")

    redis_instance.stop()
    assert alice.expect("NOTICE").params == ["alice", SPLIT_TEXT]
    assert bob.expect("NOTICE").params == ["bob", SPLIT_TEXT]
    # Made here alone, the change would leave the nodes disagreeing: refused, undone.
    alice.send("MODE #room -k+m *", "TOPIC #room :alone")
    assert alice.expect("FAIL").params == ["MODE", "TEMPORARILY_UNAVAILABLE", "#room", SPLIT_TEXT]
    assert alice.expect("FAIL").params == ["TOPIC", "TEMPORARILY_UNAVAILABLE", "#room", SPLIT_TEXT]
    alice.send("MODE #room")
    assert alice.expect("324").params[2:] == ["+ntk", "secret"]

    # Redis comes back empty: the nodes give it the channel's state again, and the
    # next changes from both nodes go on from there.
    redis_instance.start()
    assert alice.expect("NOTICE", timeout=10).params == ["alice", "The network is whole again"]
    assert bob.expect("NOTICE", timeout=10).params == ["bob", "The network is whole again"]
    alice.send("TOPIC #room :back")
    assert bob.expect("TOPIC", "#room", timeout=10).params[1] == "back"
    bob.send("MODE #room +m")
    assert alice.expect("MODE", "#room", "+m").source.startswith("bob!")
    assert _state(alice) == _state(bob) == _stored(url, a.config.cluster_prefix)


def test_chanserv_changes_are_versions_of_the_shared_state_too(
    make_node, client_of, cluster_url, redis_prefix, tmp_path
) -> None:
    store = AccountStore(tmp_path)
    store.create("carol", "secret")
    store.close()
    a = make_node("a", data_dir=str(tmp_path), flood_rate=0, reserve_nicks=False)
    b = make_node("b", flood_rate=0)
    carol, bob = client_of(a, "carol"), client_of(b, "bob")
    a.sign_in(a.registry.find_nick("carol"), a.accounts.find("carol"))
    carol.expect("900")
    carol.send("JOIN #room")
    carol.expect("366")
    wait_for(lambda: b.registry.find_channel("#room") is not None, what="#room known on b")
    bob.send("JOIN #room")
    assert carol.expect("JOIN", "#room").source.startswith("bob!")
    carol.send("MODE #room +o bob", "PRIVMSG ChanServ :REGISTER #room")
    registered = bob.expect("MODE", "#room", "+r")
    assert registered.source.startswith("ChanServ!")
    carol.expect("MODE", "#room", "+r")
    # ChanServ's topic on a and bob's key on b at once: one order, the same everywhere.
    carol.send("PRIVMSG ChanServ :TOPIC #room from chanserv")
    bob.send("MODE #room +k fromb")
    _seen(carol, "TOPIC", "MODE")
    _seen(bob, "TOPIC", "MODE")
    assert _state(carol) == _state(bob) == _stored(cluster_url, redis_prefix)


def test_a_node_cut_off_takes_the_changes_made_meanwhile_from_redis(
    make_node, client_of, redis_port, redis_prefix
) -> None:
    proxy = TCPProxy(redis_port)
    try:
        a = make_node("a", cluster=f"redis://127.0.0.1:{proxy.port}/0", **RETRY)
        b = make_node("b")
        alice, bob = client_of(a, "alice"), client_of(b, "bob")
        bob.send("JOIN #room", "TOPIC #room :before")
        bob.expect("TOPIC", "#room")
        wait_for(lambda: a.registry.find_channel("#room") is not None, what="#room known on a")
        alice.send("JOIN #room")
        alice.expect("366")

        proxy.cut()  # node a alone loses Redis; its channel keeps its member alice
        assert alice.expect("NOTICE").params == ["alice", SPLIT_TEXT]
        bob.send("MODE #room +k meanwhile", "TOPIC #room :meanwhile")
        bob.expect("TOPIC", "#room")

        proxy.restore()
        assert alice.expect("NOTICE", timeout=10).params[1] == "The network is whole again"
        url = f"redis://127.0.0.1:{redis_port}/0"
        assert _state(alice) == _state(bob) == _stored(url, redis_prefix)
        assert _state(alice)[:2] == (["+ntk", "meanwhile"], "meanwhile")
    finally:
        proxy.close()
