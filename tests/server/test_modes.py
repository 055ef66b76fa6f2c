"""Channel and user modes over real sockets: lists, key, limit, flags, prefixes."""

from __future__ import annotations

import pytest


@pytest.fixture
def room(server, connect):
    """alice (op of #room) and bob (a plain member)."""
    alice = connect("alice", caps=("multi-prefix",))
    alice.send("JOIN #room")
    alice.expect("366", "alice", "#room")
    bob = connect("bob")
    bob.send("JOIN #room")
    bob.expect("366", "bob", "#room")
    alice.expect("JOIN", "#room")
    return alice, bob


def test_mode_query_shows_key_only_to_members(room, connect) -> None:
    alice, bob = room
    alice.send("MODE #room +kl sesame 10")
    assert bob.expect("MODE").params == ["#room", "+kl", "sesame", "10"]
    bob.send("MODE #room")
    assert bob.expect("324").params == ["bob", "#room", "+ntkl", "sesame", "10"]
    outsider = connect("carol")
    outsider.send("MODE #room")
    assert outsider.expect("324").params == ["carol", "#room", "+ntkl", "*", "10"]


@pytest.mark.parametrize(
    ("letter", "entry", "end", "text"),
    [
        ("b", "367", "368", "End of channel ban list"),
        ("e", "348", "349", "End of channel exception list"),
        ("I", "346", "347", "End of Channel Invite Exception List"),
    ],
)
def test_list_modes_add_show_and_remove(room, letter, entry, end, text) -> None:
    alice, bob = room
    alice.send(f"MODE #room +{letter} troll")
    assert bob.expect("MODE").params == ["#room", f"+{letter}", "troll!*@*"]
    bob.send(f"MODE #room {letter}")  # anyone may look at the lists
    row = bob.expect(entry)
    assert row.params[:4] == ["bob", "#room", "troll!*@*", "alice!~alice@127.0.0.1"]
    assert row.params[4].isdigit()
    assert bob.expect(end).params == ["bob", "#room", text]
    alice.send(f"MODE #room -{letter} troll!*@*")
    assert bob.expect("MODE").params == ["#room", f"-{letter}", "troll!*@*"]
    bob.send(f"MODE #room {letter}")
    assert bob.expect(end)
    assert not [m for m in bob.consumed[-2:] if m.command == entry]


def test_non_op_cannot_change_modes(room) -> None:
    _alice, bob = room
    bob.send("MODE #room +m")
    assert bob.expect("482").params == ["bob", "#room", "You're not channel operator"]
    bob.send("MODE #room +b x")
    assert bob.expect("482")


def test_ban_blocks_join_and_speech_exception_lets_through(room, connect) -> None:
    alice, bob = room
    alice.send("MODE #room +b carol!*@*")
    bob.expect("MODE")
    carol = connect("carol")
    carol.send("JOIN #room")
    assert carol.expect("474").params == ["carol", "#room", "Cannot join channel (+b)"]
    alice.send("MODE #room +b bob!*@*")
    bob.expect("MODE", "#room", "+b")
    bob.send("PRIVMSG #room :am I muted?")
    assert bob.expect("404").params == ["bob", "#room", "Cannot send to channel"]
    alice.send("MODE #room +e *!~carol@*")
    alice.expect("MODE", "#room", "+e")
    carol.send("JOIN #room")
    carol.expect("JOIN", "#room")


def test_invite_only_and_invite(room, connect) -> None:
    alice, bob = room
    alice.send("MODE #room +i")
    bob.expect("MODE", "#room", "+i")
    carol = connect("carol")
    carol.send("JOIN #room")
    assert carol.expect("473").params == ["carol", "#room", "Cannot join channel (+i)"]
    bob.send("INVITE carol #room")
    assert bob.expect("482").params == ["bob", "#room", "You're not channel operator"]
    alice.send("INVITE carol #room")
    assert alice.expect("341").params == ["alice", "carol", "#room"]
    invite = carol.expect("INVITE")
    assert invite.params == ["carol", "#room"] and invite.source.startswith("alice!")
    carol.send("INVITE")
    assert carol.expect("336").params == ["carol", "#room"]
    assert carol.expect("337").params == ["carol", "End of /INVITE list"]
    carol.send("JOIN #room")
    carol.expect("JOIN", "#room")


def test_invite_exception_mask_admits_without_invite(room, connect) -> None:
    alice, _bob = room
    alice.send("MODE #room +iI dave!*@*")
    alice.expect("MODE", "#room")
    dave = connect("dave")
    dave.send("JOIN #room")
    dave.expect("JOIN", "#room")


def test_key_and_limit(room, connect) -> None:
    alice, _bob = room
    alice.send("MODE #room +k sesame")
    alice.expect("MODE", "#room", "+k")
    carol = connect("carol")
    carol.send("JOIN #room", "JOIN #room wrong")
    assert carol.expect("475").params == ["carol", "#room", "Cannot join channel (+k)"]
    assert carol.expect("475")
    carol.send("JOIN #room sesame")
    carol.expect("JOIN", "#room")
    alice.send("MODE #room -k+l * 3")
    assert alice.expect("MODE").params == ["#room", "-k+l", "*", "3"]
    dave = connect("dave")
    dave.send("JOIN #room")
    assert dave.expect("471").params == ["dave", "#room", "Cannot join channel (+l)"]


@pytest.mark.parametrize(
    ("line", "letter", "param"),
    [
        ("MODE #room +l many", "l", "many"),
        ("MODE #room +l 0", "l", "0"),
        ("MODE #room +k :open sesame", "k", "*"),  # a key is not repeated back
        ("MODE #room +k " + "k" * 24, "k", "*"),
        ("MODE #room +k a,b", "k", "*"),
    ],
)
def test_invalid_mode_parameters_get_696(room, line, letter, param) -> None:
    alice, _bob = room
    alice.send(line)
    reply = alice.expect("696")
    assert reply.params[:4] == ["alice", "#room", letter, param]
    alice.send("MODE #room")
    assert alice.expect("324").params[2] == "+nt"  # nothing was set


def test_moderated_channel_needs_voice(room) -> None:
    alice, bob = room
    alice.send("MODE #room +m")
    bob.expect("MODE", "#room", "+m")
    bob.send("PRIVMSG #room :can I talk?")
    assert bob.expect("404")
    alice.send("MODE #room +v bob")
    bob.expect("MODE", "#room", "+v")
    bob.send("PRIVMSG #room :now I can")
    assert alice.expect("PRIVMSG").params == ["#room", "now I can"]


def test_secret_channel_is_hidden_from_outsiders(room, connect) -> None:
    alice, _bob = room
    alice.send("MODE #room +s")
    alice.expect("MODE", "#room", "+s")
    carol = connect("carol")
    carol.send("LIST")
    listed = [m.params[1] for m in carol.until("323") if m.command == "322"]
    assert "#room" not in listed and "#general" in listed
    carol.send("NAMES #room")
    assert carol.expect("366").params[1] == "#room"
    assert carol.consumed[-2].command != "353"
    alice.send("NAMES #room")
    assert alice.expect("353").params[1] == "@"  # the secret-channel symbol


def test_multi_prefix_shows_every_prefix(room) -> None:
    alice, bob = room
    alice.send("MODE #room +v alice")
    alice.expect("MODE", "#room", "+v")
    alice.send("NAMES #room")
    names = alice.expect("353").params[-1].split()
    assert "@+alice" in names
    bob.send("NAMES #room")
    assert "@alice" in bob.expect("353").params[-1].split()  # without the cap: highest only


def test_mode_parameters_are_limited_per_command(room, connect) -> None:
    alice, bob = room
    for nick in ("c1", "c2", "c3", "c4", "c5"):
        extra = connect(nick)
        extra.send("JOIN #room")
        extra.expect("366", nick, "#room")
    alice.sync()
    alice.send("MODE #room +vvvvv c1 c2 c3 c4 c5")
    change = bob.expect("MODE", where=lambda m: m.params[1].startswith("+v"))
    assert change.params == ["#room", "+vvvv", "c1", "c2", "c3", "c4"]  # MODES=4


def test_user_modes_wallops_bot_and_invisible(server, connect) -> None:
    alice = connect("alice")
    alice.send("MODE alice +iwB")
    assert alice.expect("MODE").params == ["alice", "+iwB"]
    alice.send("MODE alice")
    assert alice.expect("221").params == ["alice", "+Biw"]
    alice.send("MODE alice +o")  # operator status only comes from OPER
    assert [m for m in alice.sync() if m.command == "MODE"] == []


def test_a_limit_in_other_digits_is_refused_not_a_crash(server, connect) -> None:
    alice = connect("alice")
    alice.send("MODE #general +l ²")
    reply = alice.expect("696")
    assert reply.params[1:4] == ["#general", "l", "²"]
    alice.send("MODE #general +l 5")
    alice.expect("MODE", "#general", "+l", "5")
