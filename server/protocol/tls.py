"""TLS for client connections, done in memory so sending never blocks.

An ``ssl.SSLObject`` over two memory BIOs turns plaintext into records and back; the
records travel over the plain socket through the same non-blocking send path as any
other bytes. The caller serialises access (``Client`` holds its own lock), because one
TLS session must never be driven by two threads at once.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

#: Seconds a whole handshake may take by default (``--tls-handshake-timeout``).
HANDSHAKE_TIMEOUT = 5.0


def server_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server-side context: TLS 1.2 or newer, the given certificate chain and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


class TLSSession:
    """One connection's TLS state."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)

    @property
    def version(self) -> str | None:
        """The negotiated protocol version, once the handshake is done."""
        return self._tls.version()

    def handshake(
        self,
        sock: socket.socket,
        timeout: float = HANDSHAKE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Complete the handshake over ``sock`` (blocking, before anyone else sends).

        ``timeout`` bounds the whole handshake, as measured by ``clock``: a client that
        trickles its hello a byte at a time cannot hold the connection past it.
        """
        deadline = clock() + timeout
        try:
            while True:
                try:
                    self._tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    remaining = deadline - clock()
                    if remaining <= 0:
                        raise TimeoutError("the TLS handshake took too long") from None
                    sock.settimeout(remaining)
                    pending = self._outgoing.read()
                    if pending:
                        sock.sendall(pending)
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionError("closed during the TLS handshake") from None
                    self._incoming.write(data)
            pending = self._outgoing.read()
            if pending:
                sock.settimeout(max(0.001, deadline - clock()))
                sock.sendall(pending)
        finally:
            sock.settimeout(None)

    def decrypt(self, data: bytes) -> tuple[bytes, bytes]:
        """Feed received records; return the plaintext and any records to send back."""
        self._incoming.write(data)
        chunks = []
        while True:
            try:
                chunk = self._tls.read(65536)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks), self._outgoing.read()

    def encrypt(self, data: bytes) -> bytes:
        """Turn plaintext into records ready for the socket."""
        self._tls.write(data)
        return self._outgoing.read()
