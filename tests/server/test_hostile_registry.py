"""Hostile use of the registry over real sockets: masks that cost exponential time,
list entries without bound, nicks held before registration, ghosts left by a KILL,
invitations that outlive their channel."""

from __future__ import annotations

import gc
import re
import threading
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server import admin
from server.channel import ListEntry
from server.commands import channels as channel_commands
from server.protocol.names import list_mask, matches
from tests.support.ircclient import IRCClient

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


def test_list_masks_are_collapsed_and_cut_to_the_longest_source(server, connect) -> None:
    op = connect("op")
    op.send("JOIN #room")
    op.expect("366")
    nick, user, host = "n" * 100, "u" * 100, "h" * 200
    op.send(f"MODE #room +b {nick}!{user}@{host}")
    assert op.expect("MODE").params == ["#room", "+b", f"{'n' * 30}!{'u' * 16}@{'h' * 63}"]
    op.send("MODE #room +e a***b?**")
    assert op.expect("MODE").params == ["#room", "+e", "a*b?*!*@*"]
    op.send("MODE #room -e a*b?*")  # the same entry, however it is written
    assert op.expect("MODE").params == ["#room", "-e", "a*b?*!*@*"]
    assert list_mask("x!" + "*" * 400, 30) == "x!*@*"


# --- 5. list entries -------------------------------------------------------------------
def _op_in(client, *channels: str) -> None:
    for name in channels:
        client.send(f"JOIN {name}")
        client.expect("366", client.nick, name)


def test_list_entries_set_from_one_address_are_bounded(make_server, dial) -> None:
    server = make_server(max_list_entries_per_ip=6)
    first = dial(server, "first", bind="127.0.0.2")
    second = dial(server, "second", bind="127.0.0.2")  # the same address, another connection
    other = dial(server, "other", bind="127.0.0.3")
    _op_in(first, "#one", "#two")
    _op_in(second, "#three")
    first.send("MODE #one +bbbb m1 m2 m3 m4", "MODE #two +e m5")
    first.sync()
    second.send("MODE #three +I m6", "MODE #three +b m7")
    assert second.expect("478").params == ["second", "#three", "b", "Channel list is full"]
    first.send("MODE #two +I m8")
    assert first.expect("478").params == ["first", "#two", "I", "Channel list is full"]
    _op_in(other, "#four")
    other.send("MODE #four +b m9")
    assert other.expect("MODE").params == ["#four", "+b", "m9!*@*"]
    # Removing an entry frees its place, and so does the end of a channel.
    first.send("MODE #one -b m1!*@*", "MODE #one +b m10")
    assert first.expect("MODE").params == ["#one", "-b", "m1!*@*"]
    assert first.expect("MODE").params == ["#one", "+b", "m10!*@*"]
    first.send("PART #one")
    first.expect("PART")
    second.send("MODE #three +bbbb m11 m12 m13 m14")  # 2 + 4: four were freed
    assert second.expect("MODE").params == [
        "#three",
        "+bbbb",
        "m11!*@*",
        "m12!*@*",
        "m13!*@*",
        "m14!*@*",
    ]
    second.send("MODE #three +b m15")
    assert second.expect("478")


def test_an_entry_is_a_small_tuple_with_nothing_compiled(server, connect) -> None:
    op = connect("op")
    joiner = connect("joiner")
    _op_in(op, "#room")
    masks = [f"nick{i}x!*user@*.example{i}.net" for i in range(100)]
    # What the mode, mask and registry code allocates (not socket buffers, not logs).
    ours = [
        tracemalloc.Filter(True, f"*/server/{name}", all_frames=True)
        for name in (
            "registry.py",
            "registry_channels.py",
            "channel.py",
            "protocol/names.py",
            "commands/modes.py",
        )
    ]
    gc.collect()
    tracemalloc.start(30)
    try:
        before = tracemalloc.take_snapshot().filter_traces(ours)
        for start in range(0, 100, 4):
            op.send("MODE #room +IIII " + " ".join(masks[start : start + 4]))
        op.send("MODE #room +i")
        op.sync()
        joiner.send("JOIN #room")  # tried against every +I entry, refused
        joiner.expect("473")
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(ours)
    finally:
        tracemalloc.stop()
    used = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    entries = list(server.registry.find_channel("#room").lists["I"].values())
    assert len(entries) == 100
    # A compiled pattern per mask alone costs more than 400 bytes; an entry is ~260.
    assert used / 100 < 400, used / 100
    assert all(type(entry) is ListEntry for entry in entries)


# --- 7. unregistered connections ---------------------------------------------------------
@pytest.mark.parametrize("password", [None, "sesame"])
def test_a_nick_held_before_registration_is_invisible(make_server, dial, password) -> None:
    server = make_server(password=password)
    squatter = dial(server)
    squatter.send("NICK victim")  # never registers (and may not know the password)
    squatter.sync()
    alice = dial(server, "alice", password=password)
    alice.send("PRIVMSG victim :hello")
    assert alice.expect("401").params[1] == "victim"
    alice.send("ISON victim alice")
    assert alice.expect("303").params == ["alice", "alice"]
    alice.send("USERHOST victim")
    assert alice.expect("302").params == ["alice", ""]
    alice.send("WHOIS victim")
    assert alice.expect("401").params[1] == "victim"
    alice.send("WHO victim")
    assert not [m for m in alice.until("315") if m.command == "352"]
    alice.send("WHO *")
    assert [m.params[5] for m in alice.until("315") if m.command == "352"] == ["alice"]
    alice.send("MONITOR + victim")
    assert alice.expect("731").params == ["alice", "victim"]
    alice.send("NAMES #general")
    assert "victim" not in alice.expect("353").params[-1]
    alice.send("LUSERS")
    assert alice.expect("253").params[1] == "1"  # counted only as unknown
    # The real owner of the nick takes it, and the squatter is refused it at the end.
    dial(server, "victim", password=password)
    assert alice.expect("730").params == ["alice", "victim!~victim@127.0.0.1"]
    squatter.send("USER v 0 * :V")
    if password is None:
        assert squatter.expect("433").params == ["*", "victim", "Nickname is already in use"]
        squatter.send("NICK other")
        squatter.expect("001")
    else:
        assert squatter.expect("464")
    assert not [m for m in squatter.seen if m.command == "PRIVMSG"]


def test_a_user_may_take_a_nick_an_unregistered_connection_asked_for(server, connect) -> None:
    squatter = connect()
    squatter.send("CAP LS 302", "NICK bob", "USER b 0 * :B")  # stays in negotiation
    alice = connect("alice")
    alice.send("NICK bob")
    assert alice.expect("NICK").params == ["bob"]
    squatter.send("CAP END")
    assert squatter.expect("433").params == ["*", "bob", "Nickname is already in use"]


def test_of_two_connections_asking_for_a_nick_the_first_to_register_wins(server, connect) -> None:
    slow, fast = connect(), connect()
    slow.send("NICK same")
    slow.sync()
    fast.send("NICK same")
    fast.sync()  # not refused yet: nobody has registered the nick
    fast.send("USER f 0 * :F")
    fast.expect("001")
    slow.send("USER s 0 * :S")
    assert slow.expect("433").params == ["*", "same", "Nickname is already in use"]
    slow.send("NICK same")  # still taken, and said so again
    assert slow.expect("433").params == ["*", "same", "Nickname is already in use"]
    slow.send("NICK other")
    assert slow.expect("001").params[0] == "other"


# --- 8. KILL during a multi-channel JOIN -------------------------------------------------
@pytest.mark.parametrize("how", ["KILL", "Disconnect"])
def test_a_kill_during_a_long_join_leaves_no_empty_channel(
    make_server, dial, monkeypatch, how
) -> None:
    server = make_server(autojoin=[], opers={"boss": "pw"})
    boss = dial(server, "boss")
    boss.send("OPER boss pw")
    boss.expect("381")
    victim = dial(server, "victim")
    victim_client = server.registry.find_nick("victim")
    restore = channel_commands.set_up_channel
    killed = threading.Event()

    def kill_on_first_join(server_, channel) -> None:
        # Runs in the victim's thread before its first JOIN: the kill lands mid-command.
        if not killed.is_set():
            killed.set()
            if how == "KILL":
                boss.send("KILL victim :bye")
                gone = threading.Event()
                while not gone.wait(0.01):
                    with server_.registry.lock:
                        if victim_client not in server_.registry.clients:
                            gone.set()
            else:
                assert admin.kill(server_, "victim", "bye")
        restore(server_, channel)

    monkeypatch.setattr(channel_commands, "set_up_channel", kill_on_first_join)
    names = ",".join(f"#room{i}" for i in range(40))
    victim.send(f"JOIN {names}")
    victim.wait_closed()
    assert killed.is_set()
    boss.send("LUSERS")
    assert boss.expect("254").params[1] == "0"
    boss.send("LIST")
    assert not [m for m in boss.until("323") if m.command == "322"]
    assert server.registry.channels == {}


# --- 9. invitations ----------------------------------------------------------------------
def test_an_invitation_ends_with_the_channel(server, connect) -> None:
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    _op_in(alice, "#club")
    alice.send("MODE #club +i", "INVITE bob #club")
    alice.expect("341")
    bob.expect("INVITE")
    alice.send("PART #club")
    alice.expect("PART")
    _op_in(carol, "#club")  # the same name, another channel
    carol.send("MODE #club +i")
    carol.expect("MODE")
    bob.send("INVITE")
    assert [m.command for m in bob.until("337")] == ["337"]
    bob.send("JOIN #club")
    assert bob.expect("473").params[1] == "#club"
    carol.send("INVITE bob #club")
    carol.expect("341")
    bob.send("INVITE")
    assert bob.expect("336").params[1] == "#club"
    bob.send("JOIN #club")
    bob.expect("JOIN", "#club")


# --- along the way: LIST conditions -------------------------------------------------------
@pytest.mark.parametrize("condition", [">\u00b2", "<\u00b3", "C<\u00b9", "T>\u00b2", "C>٣"])
def test_list_conditions_take_plain_digits_only(server, connect, condition) -> None:
    alice = connect("alice")
    alice.send(f"LIST {condition}")
    replies = alice.until("323")
    assert re.fullmatch(r"321(?: 322)* 323", " ".join(m.command for m in replies))
    bystander_is_answered(alice)
