"""A queue in one reader's cork is claimed: what other threads queue for it meanwhile
goes out in that reader's write, in order, and nothing waits behind a command that
takes time."""

from __future__ import annotations

import dataclasses
import select
import socket
import threading
from collections.abc import Iterator

import pytest

from server import cork
from server.commands.table import COMMANDS
from server.sendq import Flusher, SendQueue
from tests.support.ircclient import IRCClient


@pytest.fixture
def flusher() -> Iterator[Flusher]:
    flusher = Flusher()
    yield flusher
    flusher.close()


def _queue(flusher: Flusher) -> tuple[SendQueue, socket.socket]:
    ours, peer = socket.socketpair()
    peer.settimeout(5)
    return SendQueue(ours, flusher, 1 << 20), peer


def _in_thread(step) -> None:
    thread = threading.Thread(target=step)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()


def _queue_from_another_reader(queue: SendQueue, line: bytes) -> None:
    """What a reader on another thread does: cork, queue ``line`` for ``queue``, uncork."""

    def other_reader() -> None:
        cork.cork()
        try:
            queue.push(line, cork.current_cork())
        finally:
            cork.uncork()

    _in_thread(other_reader)


def _nothing_waiting(peer: socket.socket) -> bool:
    # Every write in question was made before this (by a thread already joined).
    readable, _, _ = select.select([peer], [], [], 0)
    return not readable


def test_bytes_for_a_claimed_queue_go_out_in_the_claimants_write(flusher) -> None:
    queue, peer = _queue(flusher)
    cork.cork()
    try:
        queue.push(b"first\r\n", cork.current_cork())

        _queue_from_another_reader(queue, b"second\r\n")
        # The other reader has uncorked; its line waits behind the first, for one write.
        assert _nothing_waiting(peer)
    finally:
        cork.uncork()
    assert peer.recv(4096) == b"first\r\nsecond\r\n"


def test_a_queue_written_out_is_no_longer_claimed(flusher) -> None:
    queue, peer = _queue(flusher)
    cork.cork()
    try:
        queue.push(b"first\r\n", cork.current_cork())
    finally:
        cork.uncork()
    assert peer.recv(4096) == b"first\r\n"

    _queue_from_another_reader(queue, b"second\r\n")
    assert peer.recv(4096) == b"second\r\n"


def test_release_writes_what_is_held_for_others_but_not_the_own_queue(flusher) -> None:
    own, own_peer = _queue(flusher)
    other, other_peer = _queue(flusher)
    cork.cork()
    try:
        own.push(b"reply\r\n", cork.current_cork())
        other.push(b"mine\r\n", cork.current_cork())

        _queue_from_another_reader(other, b"theirs\r\n")
        cork.release(own)
        assert other_peer.recv(4096) == b"mine\r\ntheirs\r\n"
        assert _nothing_waiting(own_peer)
        # Released, the queue is no one's: a later line is written by whoever queues it.
        _queue_from_another_reader(other, b"theirs\r\n")
        assert other_peer.recv(4096) == b"theirs\r\n"
    finally:
        cork.uncork()
    assert own_peer.recv(4096) == b"reply\r\n"


@pytest.fixture
def slow_time(monkeypatch) -> Iterator[threading.Event]:
    """TIME that waits (like a password check or a history query) until released."""
    go = threading.Event()
    entry = COMMANDS["TIME"]

    def slow(server, client, msg, reply) -> None:
        go.wait(10)
        entry.handler(server, client, msg, reply)

    monkeypatch.setitem(COMMANDS, "TIME", dataclasses.replace(entry, handler=slow))
    yield go
    go.set()


def test_a_command_that_takes_time_holds_back_no_one_elses_messages(make_server, slow_time) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    clients = []
    for nick in ("alice", "bob", "carol"):
        client = IRCClient(server.port)
        clients.append(client)
        client.register(nick, ())
        client.send("JOIN #a")
        client.expect("366")
    alice, bob, carol = clients
    try:
        for client in clients:
            client.sync()
        # One read: a message for the channel, then a command that takes a while.
        alice.send("PRIVMSG #a :before", "TIME")
        carol.expect("PRIVMSG", "#a", "before")
        bob.expect("PRIVMSG", "#a", "before")
        # Alice's reader is still in TIME: bob's message reaches carol all the same.
        bob.send("PRIVMSG #a :meanwhile")
        carol.expect("PRIVMSG", "#a", "meanwhile")
        slow_time.set()
        got = alice.until("391")
        assert [m.params[1] for m in got if m.command == "PRIVMSG"] == ["meanwhile"]
    finally:
        for client in clients:
            client.close()
