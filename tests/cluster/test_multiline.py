"""Multi-line messages (draft/multiline) across nodes: a batch to a channel goes
through the network's order and reaches each member on each node as one message (or
as its lines, without the capability); a batch to a user of another node reaches it."""

from __future__ import annotations

from tests.support.waiting import wait_for

BASE = ("message-tags", "batch", "echo-message", "server-time")
ML = (*BASE, "draft/multiline")


def _send_batch(client, target: str, *lines: str) -> None:
    client.send(
        f"BATCH +b1 draft/multiline {target}",
        *(f"@batch=b1 PRIVMSG {target} :{line}" for line in lines),
        "BATCH -b1",
    )


def _batch(client) -> tuple:
    opening = client.expect("BATCH")
    lines = client.until("BATCH", "-" + opening.params[0][1:])[:-1]
    return opening, [m.params[1] for m in lines]


def test_a_batch_reaches_members_on_every_node(make_node, client_of) -> None:
    a, b = make_node("a", flood_rate=0), make_node("b", flood_rate=0)
    alice = client_of(a, "alice", ML)
    bob, carol = client_of(b, "bob", ML), client_of(b, "carol", BASE)
    wait_for(lambda: a.registry.find_nick("carol") is not None, what="carol known on a")
    _send_batch(alice, "#general", "hello", "everyone")
    echo, echoed = _batch(alice)
    assert echoed == ["hello", "everyone"]
    got, lines = _batch(bob)
    assert got.params[1:] == ["draft/multiline", "#general"] and lines == echoed
    assert (got.tags["msgid"], got.tags["time"]) == (echo.tags["msgid"], echo.tags["time"])
    plain = [carol.expect("PRIVMSG", "#general") for _ in range(2)]
    assert [m.params[1] for m in plain] == ["hello", "everyone"]
    assert plain[0].tags["msgid"] == echo.tags["msgid"]


def test_a_batch_reaches_a_user_of_another_node(make_node, client_of) -> None:
    a, b = make_node("a", flood_rate=0), make_node("b", flood_rate=0)
    alice, bob = client_of(a, "alice", ML), client_of(b, "bob", ML)
    wait_for(lambda: a.registry.find_nick("bob") is not None, what="bob known on a")
    _send_batch(alice, "bob", "two", "lines")
    echo, _ = _batch(alice)
    got, lines = _batch(bob)
    assert got.params[1:] == ["draft/multiline", "bob"] and lines == ["two", "lines"]
    assert got.tags["msgid"] == echo.tags["msgid"]
