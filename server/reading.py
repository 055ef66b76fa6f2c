"""What the reader loop does around its commands: how a connection's bytes are read, and
when channel messages it holds back (``cork.Cork.batch``) must go out."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from .cork import release

if TYPE_CHECKING:
    from .sendq import SendQueue

#: The most one read takes: about a hundred 100-byte messages, each read's messages to a
#: channel relayed as one batch. Larger reads make larger batches, and the relay then
#: runs in bigger, fewer steps that the senders and receivers wait on in turn: at full
#: rate (``python -m server.bench``, 100 receivers, 4 senders, 2026-12-02) reads of 64
#: KiB gave 1.16 M deliveries/s, 16 KiB 1.31 M, 12 KiB 1.42 M, 8 KiB 1.42 M for 20 % more
#: CPU a delivery than 12, and 4 KiB 1.20 M for 70 % more.
RECV_SIZE = 12288
#: What a reader's blocking ``recv`` asks for: its buffer is held while the connection
#: idles, so it is small (a bytes object this size fits CPython's small-object pools);
#: a full one is followed by non-blocking reads up to ``RECV_SIZE``.
WAIT_SIZE = 448
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
#: Commands that may join a batch of channel messages held by the reader.
_BATCHED = frozenset({"PRIVMSG", "NOTICE"})


def read_some(sock: socket.socket) -> bytes:
    """Wait for bytes with a small buffer, then take what else has arrived (at most
    ``RECV_SIZE`` in all) without waiting: an idle connection holds 448 bytes, not 64 KiB."""
    data = sock.recv(WAIT_SIZE)
    if len(data) < WAIT_SIZE or not _DONTWAIT:
        return data
    parts = [data]
    got = len(data)
    while got < RECV_SIZE:
        try:
            more = sock.recv(RECV_SIZE - got, _DONTWAIT)
        except OSError:
            break  # nothing more now (or an error the next blocking read reports)
        if not more:
            break  # end of stream: the next read says so
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def settle_before(command: str, own: SendQueue) -> None:
    """Before ``command`` runs, send the channel messages this thread holds back and
    what it holds for others (``cork.release``; ``own``: its connection's queue),
    unless it is one more message that may join them."""
    if command not in _BATCHED:
        release(own)
