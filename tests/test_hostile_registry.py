"""Hostile use of the registry over real sockets: masks that cost exponential time,
list entries without bound, nicks held before registration, ghosts left by a KILL,
invitations that outlive their channel."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.names import matches
from tests.ircclient import IRCClient

# A mask that makes a backtracking matcher try every way of placing eight stars: a
# regular expression took 30 s for it on a 58-letter realname, with the lock held.
SLOW_MASK = "*a*a*a*a*a*a*a*a*b"


@pytest.fixture
def dial() -> Iterator[Callable[..., IRCClient]]:
    """Connect to a server made with ``make_server`` (``connect`` only reaches ``server``)."""
    clients: list[IRCClient] = []

    def open_client(
        server, nick: str | None = None, bind: str | None = None, password: str | None = None
    ) -> IRCClient:
        client = IRCClient(server.port, bind=bind)
        clients.append(client)
        if nick is not None:
            client.register(nick, password=password)
        return client

    yield open_client
    for client in clients:
        client.close()


def bystander_is_answered(client) -> None:
    """A PING round trip within the client's timeout: the server is not frozen."""
    client.sync()


# --- 1. wildcard masks ----------------------------------------------------------------
def _reference(mask: str, text: str) -> bool:
    """Glob matching by dynamic programming: slow, plain, obviously right."""
    mask, text = mask.lower(), text.lower()
    row = [True] + [False] * len(text)
    for m in mask:
        if m == "*":
            for i in range(1, len(row)):
                row[i] = row[i] or row[i - 1]
        else:
            new = [False] * len(row)
            for i in range(1, len(row)):
                new[i] = row[i - 1] and (m == "?" or m == text[i - 1])
            row = new
    return row[-1]


@settings(max_examples=400)
@given(st.text("aAb*?", max_size=10), st.text("aAb?*", max_size=12))
def test_matcher_agrees_with_the_reference(mask: str, text: str) -> None:
    assert matches(mask, text) == _reference(mask, text)


@pytest.mark.parametrize(
    ("mask", "text", "expected"),
    [
        (SLOW_MASK, "a" * 58, False),
        (SLOW_MASK, "a" * 58 + "b", True),
        ("*" * 12 + "x", "u0!~u0@127.0.0.1", False),
        ("*a?a?a?a?a?a?a?b*", "a" * 128, False),
        ("*a?a?a?a?a?a?a?b*", "a" * 128 + "cb", True),
        ("?" * 300 + "*" + "a?" * 100 + "b", "a" * 600, False),
        ("n?ck*!*@*.example.*", "Nick1!~u@host.EXAMPLE.org", True),
        ("a.b", "axb", False),  # no regular-expression meaning
        ("[x]", "[X]", True),
    ],
)
def test_pathological_masks_get_the_right_answer(mask: str, text: str, expected: bool) -> None:
    assert matches(mask, text) is expected


def test_who_with_a_backtracking_mask_does_not_freeze_the_server(server, connect) -> None:
    attacker = connect()
    attacker.send("NICK mallory", "USER m 0 * :" + "a" * 58)
    attacker.expect("001")
    attacker.sync()
    bystander = connect("alice")
    attacker.send(f"WHO {SLOW_MASK}")
    bystander_is_answered(bystander)
    replies = attacker.until("315")
    assert not [m for m in replies if m.command == "352"]
    attacker.send(f"WHO {SLOW_MASK[:-1]}")  # matches the realname
    replies = attacker.until("315")
    assert [m.params[5] for m in replies if m.command == "352"] == ["mallory"]


def test_list_with_a_backtracking_mask_does_not_freeze_the_server(server, connect) -> None:
    attacker = connect("mallory")
    attacker.send("JOIN #" + "a" * 60)
    attacker.expect("366")
    bystander = connect("alice")
    attacker.send(f"LIST {SLOW_MASK}")
    bystander_is_answered(bystander)
    replies = attacker.until("323")
    assert not [m for m in replies if m.command == "322"]
    attacker.send("LIST !" + SLOW_MASK)
    replies = attacker.until("323")
    assert sorted(m.params[1] for m in replies if m.command == "322") == [
        "#" + "a" * 60,
        "#general",
    ]


def test_a_backtracking_ban_does_not_freeze_the_server(server, connect) -> None:
    op = connect("op")
    op.send("JOIN #room")
    op.expect("366")
    op.send("MODE #room +b *a*a*a*a*a*a*a*a*a*a*0!*@*")
    op.expect("MODE")
    victim = connect("a" * 22)
    bystander = connect("alice")
    victim.send("JOIN #room")
    bystander_is_answered(bystander)
    victim.expect("JOIN", "#room")  # not banned: the nick has no 0 in it
    op.send("MODE #room +b *a*a*a*a*a*a*a*a*a*a*!*@*")
    op.expect("MODE")
    victim.send("PART #room", "JOIN #room")
    assert victim.expect("474").params[1] == "#room"


# --- along the way: LIST conditions -------------------------------------------------------
@pytest.mark.parametrize("condition", [">\u00b2", "<\u00b3", "C<\u00b9", "T>\u00b2", "C>٣"])
def test_list_conditions_take_plain_digits_only(server, connect, condition) -> None:
    alice = connect("alice")
    alice.send(f"LIST {condition}")
    replies = alice.until("323")
    assert re.fullmatch(r"321(?: 322)* 323", " ".join(m.command for m in replies))
    bystander_is_answered(alice)
