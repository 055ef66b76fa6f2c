"""The registry's rules, checked: only it takes its lock or touches its tables, the
visibility rule is written once, and KICK and KILL are one implementation each."""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server import admin
from server.channel import Channel, sees_channel, sees_member, sees_user
from tests.support.ircclient import IRCClient
from tests.support.waiting import wait_for

SERVER = Path(__file__).resolve().parents[2] / "server"
#: The modules that own the registry's state: the registry and the channel it keeps.
OWNERS = {SERVER / "registry.py", SERVER / "registry_channels.py", SERVER / "channel.py"}
#: The registry's tables and its lock, as attributes of the registry.
TABLES = {"lock", "clients", "nicks", "channels", "whowas", "watchers", "per_ip", "entries"}


@pytest.fixture
def dial() -> Iterator[Callable[..., IRCClient]]:
    """Connect to a server made with ``make_server``; all are closed after the test."""
    clients: list[IRCClient] = []

    def open_client(server, nick: str) -> IRCClient:
        client = IRCClient(server.port)
        clients.append(client)
        client.register(nick)
        return client

    yield open_client
    for client in clients:
        client.close()


class RecordingLock:
    """The registry's lock, recording the file of the code that takes it."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.takers: set[str] = set()

    def __enter__(self) -> bool:
        self.takers.add(sys._getframe(1).f_code.co_filename)
        return self.lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.lock.__exit__(*exc)


def _reads_registry(node: ast.Attribute) -> bool:
    """Whether ``node`` is ``<something>.registry.<table>`` or ``registry.<table>``."""
    value = node.value
    name = value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", "")
    return name == "registry" and node.attr in TABLES


def test_no_module_but_the_registry_touches_its_lock_or_tables() -> None:
    found = []
    for path in sorted(SERVER.rglob("*.py")):
        if path in OWNERS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [
            f"{path.relative_to(SERVER)}:{node.lineno} .{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and _reads_registry(node)
        ]
    assert found == []


def test_only_the_registry_takes_its_lock(make_server, dial, tmp_path) -> None:
    """Every command that reads or changes channels and users, and every server window
    action, takes the lock only inside the registry's own code."""
    server = make_server(opers={"boss": "pw"}, data_dir=str(tmp_path))
    recorder = RecordingLock(server.registry.lock)
    server.registry.lock = recorder
    alice, bob, carol = dial(server, "alice"), dial(server, "bob"), dial(server, "carol")
    alice.send(
        "JOIN #room",
        "MODE #room +sntk-l key",
        "MODE #room +b-b+I-I bad!*@* bad!*@* good!*@* good!*@*",
        "MODE #room b",
        "MODE #room",
        "TOPIC #room :work",
        "TOPIC #room",
        "INVITE bob #room",
        "INVITE",
        "NAMES",
        "NAMES #room",
        "LIST",
        "WHO #room",
        "WHO b*",
        "WHO bob",
        "WHOIS bob",
        "WHOWAS nobody",
        "MONITOR + bob",
        "MONITOR L",
        "MONITOR S",
        "PRIVMSG #room :hello",
        "PRIVMSG @#room :ops",
        "CHATHISTORY LATEST #room * 5",
        "LUSERS",
    )
    alice.sync()
    bob.send("JOIN #room", "PART #room", "JOIN #room key", "JOIN 0", "JOIN #room key")
    bob.sync()
    alice.send("KICK #room bob :out", "KICK #room nobody")
    alice.sync()
    carol.send("OPER boss pw", "WALLOPS :hi", "KILL bob :bye")
    carol.sync()
    admin.users(server)
    admin.channels(server)
    admin.stats(server)
    admin.broadcast(server, "notice")
    admin.kick(server, "alice", "#room", "done")
    admin.kill(server, "alice", "done")
    wait_for(lambda: len(server.registry.snapshot()) == 1, what="two users gone")
    takers = {Path(name).resolve() for name in recorder.takers}
    assert {SERVER / "registry.py", SERVER / "registry_channels.py"} <= takers
    assert takers - OWNERS == set()


def test_a_client_keeps_no_table_of_the_registry(server, connect) -> None:
    alice = connect("alice")
    alice.send("JOIN #room")
    alice.expect("366", "alice", "#room")
    (client,) = server.registry.snapshot()
    # Its channels, invitations and MONITOR list are the registry's, under its lock.
    for name in ("channels", "invites", "monitoring"):
        assert not hasattr(client, name)
    assert sorted(c.name for c in server.registry.visible_channels(client)) == [
        "#general",
        "#room",
    ]


# --- the visibility rule, written once -------------------------------------------------
class _User:
    """Just what the rule reads of a client: its user modes."""

    def __init__(self, *modes: str) -> None:
        self.modes = set(modes)


def test_a_secret_channel_is_seen_by_its_members_only() -> None:
    member, outsider = _User(), _User()
    channel = Channel("#club")
    channel.members[member] = "o"
    assert sees_channel(member, channel) and sees_channel(outsider, channel)
    channel.modes.add("s")
    assert sees_channel(member, channel) and not sees_channel(outsider, channel)


def test_an_invisible_user_is_seen_by_those_who_share_a_channel() -> None:
    viewer, hidden, shown = _User(), _User("i"), _User()
    channel = Channel("#club")
    channel.members.update({hidden: "", shown: ""})
    # Outside the channel: only those who are not invisible.
    assert not sees_member(viewer, hidden, channel) and sees_member(viewer, shown, channel)
    assert not sees_user(viewer, hidden, [channel]) and sees_user(viewer, shown, [channel])
    assert sees_user(hidden, hidden, [])  # oneself, always
    channel.members[viewer] = ""
    assert sees_member(viewer, hidden, channel) and sees_user(viewer, hidden, [channel])


# --- KICK and KILL: one implementation each --------------------------------------------
@pytest.mark.parametrize("by", ["command", "window"])
def test_kick_by_command_and_by_the_window_are_one_action(
    make_server, dial, monkeypatch, by
) -> None:
    server = make_server()
    alice, bob = dial(server, "alice"), dial(server, "bob")
    alice.send("JOIN #room")
    alice.expect("366")
    bob.send("JOIN #room")
    bob.expect("366")
    calls = []
    kick_member = admin.kick_member

    def spy(*args, **kwargs):
        calls.append(args[2])
        return kick_member(*args, **kwargs)

    monkeypatch.setattr(admin, "kick_member", spy)
    if by == "command":
        alice.send("KICK #room bob :out")
    else:
        assert admin.kick(server, "bob", "#room", "out")
    message = bob.expect("KICK", "#room", "bob")
    assert message.params[-1] == "out"
    assert [getattr(target, "nick", target) for target in calls] == ["bob"]


@pytest.mark.parametrize("by", ["command", "window"])
def test_kill_by_command_and_by_the_window_are_one_action(
    make_server, dial, monkeypatch, by
) -> None:
    server = make_server(opers={"boss": "pw"})
    boss, victim = dial(server, "boss"), dial(server, "victim")
    boss.send("OPER boss pw")
    boss.expect("381")
    calls = []
    kill_user = admin.kill_user

    def spy(server_, target, *args):
        calls.append(target.nick)
        kill_user(server_, target, *args)

    monkeypatch.setattr(admin, "kill_user", spy)
    if by == "command":
        boss.send("KILL victim :bye")
    else:
        assert admin.kill(server, "victim", "bye")
    lines = victim.wait_closed()
    assert [m.command for m in lines if m.command in ("KILL", "ERROR")] == ["KILL", "ERROR"]
    assert calls == ["victim"]
