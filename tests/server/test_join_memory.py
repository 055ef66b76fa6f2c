"""What joining a big channel leaves behind: real sockets, real joins."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from server.commands import channels
from server.commands.channels import names_lines
from server.protocol.codec import MAX_LINE, parse
from server.protocol.numerics import RPL_NAMREPLY
from server.sendq import SendQueue, numeric_line
from tests.support.ircclient import IRCClient


def test_join_replays_are_read_on_the_stores_threads_not_each_joiners(
    make_server, tmp_path: Path, monkeypatch
) -> None:
    # SQLite's deep C stack would leave every reader thread's stack a page larger.
    from server import history

    read_on: list[str] = []
    window = history.window  # what every page of a target's messages reads

    def recording(*args: Any, **options: Any) -> list:
        read_on.append(threading.current_thread().name)
        return window(*args, **options)

    monkeypatch.setattr(history, "window", recording)
    server = make_server(data_dir=str(tmp_path), flood_rate=0)
    clients = [IRCClient(server.port) for _ in range(4)]
    try:
        clients[0].register("alice")
        clients[0].send("PRIVMSG #general :before the others came")
        clients[0].sync()
        for number, client in enumerate(clients[1:]):
            client.register(f"late{number}")
            client.sync()
            replayed = [m.params[-1] for m in client.consumed if m.command == "PRIVMSG"]
            assert replayed == ["before the others came"]  # read from the store
        assert len(read_on) >= 3
        assert set(read_on) == {"kibitz-history-reads"}
    finally:
        for client in clients:
            client.close()


def test_a_joiners_names_are_built_on_one_thread_and_sent_as_one_buffer(
    make_server, monkeypatch
) -> None:
    server = make_server(flood_rate=0)
    members = [IRCClient(server.port) for _ in range(30)]
    built_on: list[int] = []
    reply = channels.names_reply

    def recording(*args: object) -> bytes:
        built_on.append(threading.get_ident())
        return reply(*args)  # type: ignore[arg-type]

    pushed: list[bytes] = []
    push = SendQueue.push

    def record_push(self: SendQueue, data: bytes, corked: object) -> None:
        if b" 353 " in data:
            pushed.append(data)
        push(self, data, corked)  # type: ignore[arg-type]

    try:
        for number, member in enumerate(members):
            member.register(f"member{number:02d}_{'x' * 20}")
        monkeypatch.setattr(channels, "names_reply", recording)
        monkeypatch.setattr(SendQueue, "push", record_push)
        joiner = IRCClient(server.port)
        members.append(joiner)
        joiner.register("joiner")
        late = IRCClient(server.port)
        members.append(late)
        late.register("late")
    finally:
        for member in members:
            member.close()
    # Over 30 names of 29 characters need two lines; they left in one piece each time.
    assert [data.count(b" 353 ") for data in pushed] == [2, 2]
    assert len(built_on) == 2 and len(set(built_on)) == 1
    assert threading.get_ident() not in built_on


def test_names_lines_read_as_the_general_builder_makes_each_line() -> None:
    head = ":kibitz.test 353 alice = #general "
    names = ["@alice", *(f"user{i:03d}_{'y' * (i % 17)}" for i in range(200)), "+ünï"]
    data = names_lines(head, names)
    lines = data.split(b"\r\n")
    assert lines[-1] == b""
    seen: list[str] = []
    for raw in lines[:-1]:
        assert len(raw) + 2 <= MAX_LINE
        message = parse(raw.decode())
        text = message.params[-1]
        assert numeric_line("kibitz.test", "alice", RPL_NAMREPLY, ("=", "#general", text)) == (
            raw + b"\r\n"
        )
        seen += text.split()
    assert seen == names
    # A lone name is a last parameter that needs no ':', as the builder writes it.
    assert names_lines(head, ["bob"]) == b":kibitz.test 353 alice = #general bob\r\n"
    assert names_lines(head, ["@bob", "carol"]).endswith(b"#general :@bob carol\r\n")


def test_a_leaver_in_one_channel_gets_its_peers_as_a_list_each_once(make_server) -> None:
    # When everyone leaves a big channel at once, each leaver holds its peers while it
    # sends its QUIT: a set of 2,000 takes four times the memory of a list.
    server = make_server(autojoin=["#general", "#side"])
    clients = [IRCClient(server.port) for _ in range(3)]
    try:
        for number, client in enumerate(clients):
            client.register(f"peer{number}")
        sessions = {s.nick: s for s in server.registry.snapshot()}
        alice = IRCClient(server.port)
        clients.append(alice)
        alice.register("alice")
        alice.send("PART #side")
        alice.expect("PART")
        me = next(s for s in server.registry.snapshot() if s.nick == "alice")
        left = server.registry.remove(me)
        assert left is not None
        peers, _ = left
        assert isinstance(peers, list) and set(peers) == set(sessions.values())
        # In two channels with the same people: each of them once.
        bob = next(s for s in server.registry.snapshot() if s.nick == "peer0")
        left = server.registry.remove(bob)
        assert left is not None
        peers, _ = left
        assert sorted(p.nick for p in peers) == ["peer1", "peer2"]
    finally:
        for client in clients:
            client.close()
