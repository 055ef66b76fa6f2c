"""What an idle connection costs the server: real sockets, real registrations."""

from __future__ import annotations

import _thread
import gc
import socket
import threading
import tracemalloc
from collections.abc import Iterator

import pytest

from tests.support.waiting import wait_for


def _register(port: int, nick: str) -> socket.socket:
    """A raw registered connection, read up to the end of its welcome (422: no MOTD)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"NICK {nick}\r\nUSER u 0 * :U\r\n".encode())
    data = b""
    while b" 422 " not in data and b" 376 " not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return sock


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Raw client sockets, closed after the test."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def test_a_connection_is_served_without_a_thread_object(make_server, sockets) -> None:
    server = make_server(autojoin="", flood_rate=0)
    objects, running = threading.active_count(), _thread._count()
    sockets.extend(_register(server.port, f"idle{i}") for i in range(20))
    wait_for(lambda: len(server.registry.snapshot()) == 20)
    # Each connection has its own thread, but no Thread object (nor its events, locks
    # and the accept loop's wait for it to start).
    assert _thread._count() >= running + 20
    assert threading.active_count() == objects


def test_an_idle_registered_connection_costs_under_4_kib_of_python_objects(
    make_server, sockets
) -> None:
    server = make_server(autojoin="", flood_rate=0)
    sockets.extend(_register(server.port, f"warm{i}") for i in range(20))
    count = 300
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sockets.extend(_register(server.port, f"idle{i}") for i in range(count))
        wait_for(lambda: len(server.registry.snapshot()) == 20 + count)
        gc.collect()
        per_connection = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    # Thread objects, their events, an event per session, a set per session for its
    # modes and capabilities and a thread-local dictionary per reader came to 8 KiB.
    assert per_connection < 4096, per_connection


def test_registrations_read_the_accounts_table_on_one_thread_and_only_after_a_change(
    make_server, sockets, tmp_path, monkeypatch
) -> None:
    # SQLite's deep C stack would leave every reader thread's stack a page larger, and
    # a query per registration made a burst of connections queue on the lookup thread.
    from server.accounts import AccountStore

    asked_on: list[int] = []
    read = AccountStore._all_names

    def recording(self: AccountStore) -> set[str]:
        asked_on.append(threading.get_ident())
        return read(self)

    monkeypatch.setattr(AccountStore, "_all_names", recording)
    server = make_server(autojoin="", flood_rate=0, data_dir=str(tmp_path))
    sockets.extend(_register(server.port, f"idle{i}") for i in range(5))
    assert len(asked_on) == 1  # read once; ten questions since, nothing changed
    AccountStore(tmp_path).create("carol", "pw")
    sockets.extend(_register(server.port, f"late{i}") for i in range(3))
    assert len(asked_on) == 2  # read again once, after the change
    # Asked by two connections' threads, read by the same one: the store's.
    assert len(set(asked_on)) == 1
