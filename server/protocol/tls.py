"""TLS done in memory, for both sides: the server's connections and the app's.

An ``ssl.SSLObject`` over two memory BIOs turns plaintext into records and back; the
records travel over a plain socket through whatever send path the owner has (the
server's non-blocking one, the app's writer thread). The owner serialises access,
because one TLS session must never be driven by two threads at once (``ssl.SSLSocket``
would let a reader and a writer into OpenSSL together).
"""

from __future__ import annotations

import _ssl
import ctypes
import hashlib
import socket
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path

_READ_SIZE = 65536


def server_context(
    cert: str | Path, key: str | Path, client_certificates: bool = False
) -> ssl.SSLContext:
    """A server-side context: TLS 1.2 or newer, the given certificate chain and key; with
    ``client_certificates``, it asks each client for a certificate and accepts any one
    (SASL EXTERNAL looks its fingerprint up), or none."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    if client_certificates:
        accept_any_client_certificate(context)
    return context


# OpenSSL's verify callback: "the certificate is fine" whatever the chain. Kept here so
# it lives as long as the contexts that point at it.
_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
_ACCEPT = _VERIFY_CALLBACK(lambda _ok, _store: 1)
_SSL_VERIFY_PEER = 0x01


def accept_any_client_certificate(context: ssl.SSLContext) -> None:
    """Ask clients for a certificate and accept a self-signed (or any) one.

    Python's ssl has no verify callback: CERT_OPTIONAL alone fails the handshake of a
    client whose certificate no trusted CA signed, which is every personal certificate.
    Trust comes from the account's recorded fingerprint instead, so the chain does not
    matter: OpenSSL's own SSL_CTX_set_verify is called with a callback that accepts.
    The context's SSL_CTX pointer is the first field after the object header of
    CPython's ``PySSLContext``; it is checked against what ``verify_mode`` reports
    (two different values) before anything is written through it.
    """
    if sys.implementation.name != "cpython":
        raise RuntimeError("client certificates need CPython's ssl module")
    library = ctypes.CDLL(_ssl.__file__)
    get_mode = library.SSL_CTX_get_verify_mode
    get_mode.argtypes, get_mode.restype = [ctypes.c_void_p], ctypes.c_int
    set_verify = library.SSL_CTX_set_verify
    set_verify.argtypes, set_verify.restype = (
        [ctypes.c_void_p, ctypes.c_int, _VERIFY_CALLBACK],
        None,
    )
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    for mode in (ssl.CERT_NONE, ssl.CERT_OPTIONAL):
        context.verify_mode = mode
        if not pointer or get_mode(pointer) != int(mode):
            raise RuntimeError("cannot reach this ssl module's SSL_CTX")
    set_verify(pointer, _SSL_VERIFY_PEER, _ACCEPT)


def client_context(verify: bool = True) -> ssl.SSLContext:
    """A client context: the system's CAs and host name check, or (``verify=False``) none."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def cert_fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate as ``AA:BB:...``."""
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


class TLSSession:
    """One connection's TLS state: the server's side, or a client's of ``server_hostname``."""

    def __init__(
        self,
        context: ssl.SSLContext,
        *,
        server_side: bool = True,
        server_hostname: str | None = None,
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
        )
        self._closed = False

    @property
    def version(self) -> str | None:
        """The negotiated protocol version (``TLSv1.3``), once the handshake is done."""
        return self._tls.version()

    @property
    def closed(self) -> bool:
        """Whether the peer ended the session cleanly (its close_notify arrived)."""
        return self._closed

    def peer_fingerprint(self) -> str:
        """The SHA-256 fingerprint of the peer's certificate, or ``""`` without one."""
        der = self._tls.getpeercert(binary_form=True)
        return cert_fingerprint(der) if der else ""

    def handshake(
        self,
        sock: socket.socket,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        alert: bool = False,
    ) -> None:
        """Complete the handshake over ``sock`` (blocking, before anyone else sends).

        With ``timeout``, it bounds the whole handshake as measured by ``clock``: a peer
        that trickles its hello a byte at a time cannot hold the connection past it, and
        the socket is left blocking. Without, each read and write has the socket's own
        timeout. With ``alert``, a failed handshake first sends the alert that says why
        (the app tells a server it does not trust its certificate).
        """
        deadline = None if timeout is None else clock() + timeout
        try:
            while True:
                try:
                    self._tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    if deadline is not None:
                        remaining = deadline - clock()
                        if remaining <= 0:
                            raise TimeoutError("the TLS handshake took too long") from None
                        sock.settimeout(remaining)
                    self._send_pending(sock)
                    data = sock.recv(_READ_SIZE)
                    if not data:
                        raise ConnectionResetError("closed during the TLS handshake") from None
                    self._incoming.write(data)
                except ssl.SSLError:
                    if alert:
                        try:
                            self._send_pending(sock)
                        except OSError:
                            pass  # the alert is a courtesy; the failure is what matters
                    raise
            if deadline is not None:
                sock.settimeout(max(0.001, deadline - clock()))
            self._send_pending(sock)
        finally:
            if deadline is not None:
                sock.settimeout(None)

    def _send_pending(self, sock: socket.socket) -> None:
        pending = self._outgoing.read()
        if pending:
            sock.sendall(pending)

    def decrypt(self, data: bytes) -> tuple[bytes, bytes]:
        """Feed received records; return the plaintext and any records to send back."""
        self._incoming.write(data)
        chunks = []
        while True:
            try:
                chunk = self._tls.read(_READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:  # close_notify: a clean end
                self._closed = True
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks), self._outgoing.read()

    def encrypt(self, data: bytes) -> bytes:
        """Turn plaintext into records ready for the socket."""
        self._tls.write(data)
        return self._outgoing.read()
