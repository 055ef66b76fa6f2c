"""The reader's socket reads: a small blocking read, then what else has arrived."""

from __future__ import annotations

import socket

from server.reading import RECV_SIZE, WAIT_SIZE
from server.reading import read_some as _read


def test_a_short_read_is_returned_as_it_came() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"NICK x\r\n")
        assert _read(b) == b"NICK x\r\n"


def test_a_full_small_read_takes_everything_that_is_waiting() -> None:
    a, b = socket.socketpair()
    with a, b:
        data = bytes(range(256)) * 40  # 10 KiB, far past the small first read
        a.sendall(data)
        got = b""
        while len(got) < len(data):
            got += _read(b)
        assert got == data
        assert len(data) > WAIT_SIZE


def test_one_read_stops_at_its_limit_and_the_end_of_stream_is_kept_for_the_next() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        data = b"x" * (RECV_SIZE + 1000)
        a.sendall(data)
        a.shutdown(socket.SHUT_WR)
        first = _read(b)
        assert len(first) <= RECV_SIZE
        rest = b""
        while chunk := _read(b):
            rest += chunk
        assert first + rest == data
        assert _read(b) == b""  # and the end of stream stays visible


def test_exactly_one_small_read_then_end_of_stream() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"y" * WAIT_SIZE)
        a.shutdown(socket.SHUT_WR)
        assert _read(b) == b"y" * WAIT_SIZE
        assert _read(b) == b""
