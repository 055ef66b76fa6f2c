"""The client's connection: socket, TLS, reader and writer threads, reconnect with backoff.

Lines in, bytes out, and no IRC state. A reader thread connects, reads and hands each
received line to the owner (a :class:`Listener`); a writer thread drains an outbound queue,
so nothing the GUI calls ever blocks on the network. What the user says goes through a
paced outbox instead (:class:`app.pacing.Pacer`): it drains no faster than the server
allows, and what a lost connection did not send waits for the next one. A lost
connection is made again with exponential backoff and jitter.

TLS is the protocol's memory-BIO session: the reader and the writer thread both drive it,
which must never happen at once, so :class:`TLSStream` serialises them with a lock.
"""

from __future__ import annotations

import logging
import queue
import random
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol

from app.events import Failure, Sending, Status, TLSRefused, TLSUp
from app.pacing import PACE_BURST, PACE_RATE, Pacer
from server.protocol.codec import LineReader, Overlong, encode
from server.protocol.tls import TLSSession, client_context

log = logging.getLogger("app.connection")

#: Seconds between reconnect attempts: doubles from BACKOFF_BASE up to BACKOFF_CAP.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
#: Receive buffer: tags may make a line up to 8191 + 512 bytes long.
_RECV_SIZE = 65536


def backoff_delay(
    attempt: int, rand: float, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP
) -> float:
    """Seconds to wait before reconnect ``attempt`` (0-based): exponential, jittered, capped.

    The delay lies between half and all of ``min(cap, base * 2**attempt)``, so clients
    dropped together by a server restart do not all come back in the same instant.
    """
    ceiling = min(cap, base * (2 ** min(attempt, 16)))
    return min(cap, ceiling * (0.5 + 0.5 * rand))


def decode_line(raw: bytes) -> str:
    """Decode one received line: UTF-8, or Latin-1 for the odd legacy client."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class ConnectionFailed(ConnectionError):
    """The connection cannot go on; :attr:`failure` says why."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail or failure.reason)
        self.failure = failure


def failure_of(exc: BaseException) -> Failure:
    """What went wrong, as data for the sentence the controller writes."""
    if isinstance(exc, ConnectionFailed):
        return exc.failure
    if isinstance(exc, ConnectionRefusedError):
        return Failure("refused")
    if isinstance(exc, TimeoutError):
        return Failure("timeout")
    if isinstance(exc, socket.gaierror):
        return Failure("unknown-host", str(exc.strerror))
    detail = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return Failure("os", detail)


class TLSStream:
    """A :class:`TLSSession` over a connected socket, safe to use from a reader and a writer.

    ``recv`` and ``sendall`` mirror the socket's; the session is driven under one lock,
    so every record goes out in the order it was made.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, hostname: str) -> None:
        self.sock = sock
        self._session = TLSSession(context, server_side=False, server_hostname=hostname)
        self._lock = threading.Lock()

    def handshake(self) -> None:
        """Complete the handshake (blocking, within the socket's timeout)."""
        self._session.handshake(self.sock, alert=True)  # the alert tells the server why

    @property
    def version(self) -> str:
        """The negotiated protocol, such as ``TLSv1.3``."""
        return self._session.version or ""

    def fingerprint(self) -> str:
        """The SHA-256 fingerprint of the server's certificate."""
        return self._session.peer_fingerprint()

    def recv(self, size: int) -> bytes:
        """Plaintext from the server; ``b""`` at the end of the stream."""
        while True:
            data = self.sock.recv(size)
            if not data:
                return b""
            with self._lock:
                plain, reply = self._session.decrypt(data)
                if reply:  # a key update may want an answer
                    self.sock.sendall(reply)
            if plain:
                return plain
            if self._session.closed:
                return b""
            # Only handshake records (a session ticket, say): read on.

    def sendall(self, data: bytes) -> None:
        """Encrypt ``data`` and send the records."""
        with self._lock:
            self.sock.sendall(self._session.encrypt(data))


class Listener(Protocol):
    """What a :class:`Connection` tells its owner (always from the reader thread)."""

    def connection_made(self) -> list[str]:
        """The link is up: the lines to send first."""
        ...

    def line_received(self, line: str) -> None:
        """One line from the server."""
        ...

    def connection_lost(self) -> None:
        """The link is down (a new one may follow)."""
        ...

    def report(self, event: Status | TLSUp | TLSRefused | Sending) -> None:
        """The connection's state changed."""
        ...


class Connection:
    """A line connection to ``host:port`` that reconnects until :meth:`stop`."""

    def __init__(
        self,
        listener: Listener,
        host: str = "127.0.0.1",
        port: int = 5000,
        *,
        tls: bool = False,
        tls_verify: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        rand: Callable[[], float] = random.random,
        connect_timeout: float = 10.0,
        keepalive: float = 60.0,
        reconnect: bool = True,
        pace_rate: float = PACE_RATE,
        pace_burst: int = PACE_BURST,
    ) -> None:
        self.listener = listener
        self.host = host
        self.port = port
        #: TLS is used when asked for or when a context is given; ``tls_verify=False``
        #: accepts any certificate (its fingerprint is shown instead).
        self.tls = tls or ssl_context is not None
        self.tls_verify = tls_verify if ssl_context is None else ssl_context.check_hostname
        self.ssl_context = ssl_context
        self.tls_fingerprint = ""  # of the certificate of the current connection
        self.tls_version = ""
        self.clock = clock
        self.rand = rand
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.reconnect = reconnect
        self.connected = False
        self._stop = threading.Event()
        self._quitting = threading.Event()
        self._sleep = sleep if sleep is not None else self._stop.wait
        # Set by release (and stop): a connection held for a password waits here.
        self._wake = threading.Event()
        self._held = False
        self._established = False  # the server accepted us: the backoff starts afresh
        self._lock = threading.Lock()  # guards the socket and the queue below
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._outq: queue.Queue[bytes | None] | None = None
        self._writer: threading.Thread | None = None
        self._ping_pending: float | None = None
        self.pacer = Pacer(pace_rate, pace_burst, clock)
        # The paced outbox (under _lock): lines accepted but not yet written, kept across
        # connections; sent/total count the lines of the paste now draining.
        #: What waits to be paced out: (bytes, the lines they hold); a multi-line message
        #: is one entry, sent as one write once the pacer has room for its lines.
        self._outbox: deque[tuple[bytes, int]] = deque()
        self._outbox_sent = 0
        self._outbox_total = 0

    @property
    def server(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the reader thread runs (connected or waiting to reconnect)."""
        return self._thread is not None and self._thread.is_alive()

    def status(
        self,
        state: str,
        *,
        nick: str = "",
        failure: Failure | None = None,
        delay: float = 0.0,
        password_wanted: bool = False,
    ) -> Status:
        """A :class:`Status` record for this connection."""
        return Status(
            state,
            self.server,
            self.tls,
            self.tls_verify,
            self.tls_fingerprint,
            nick=nick,
            failure=failure,
            delay=delay,
            password_wanted=password_wanted,
        )

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (and keep reconnecting until :meth:`stop`)."""
        if self.running:
            return
        self._stop.clear()
        self._quitting.clear()
        self._thread = threading.Thread(target=self._run, name="kibitz-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Close the connection and stop reconnecting; wait a little for the threads."""
        self._stop.set()
        self._wake.set()
        self._close_socket()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def quit(self, line: str, timeout: float = 2.0) -> None:
        """Send ``line`` (QUIT) when connected, then stop."""
        # Not `_stop` yet: the reader would end the session, closing the socket under a
        # QUIT still queued. `_quitting` only keeps a lost connection from reconnecting.
        self._quitting.set()
        self._wake.set()
        outq = self._outq
        if outq is not None and self.connected:
            outq.put(encode(line))
            outq.put(None)  # the writer exits once the QUIT is written
            writer = self._writer
            if writer is not None:
                writer.join(timeout)
        self.stop(timeout)

    def hold(self) -> None:
        """Retrying with a refused password is pointless: after this connection ends, wait
        for :meth:`release` (only a release from now on counts)."""
        self._wake.clear()
        self._held = True

    def release(self) -> None:
        """A held connection connects again."""
        self._wake.set()

    def established(self) -> None:
        """The server accepted us: the next loss starts the backoff from the beginning,
        and the paced outbox may drain (after the JOINs the session just sent)."""
        self._established = True
        self._wake_writer()

    def send_paced(self, lines: Iterable[str]) -> bool:
        """Accept lines for the paced outbox: they go out in order, at the paced rate, on
        this connection or the next one. False (and nothing accepted) when one cannot be
        encoded."""
        try:
            encoded = [encode(line) for line in lines]
        except UnicodeEncodeError:
            return False
        with self._lock:
            self._outbox.extend((data, 1) for data in encoded)
            self._outbox_total += len(encoded)
        self._wake_writer()
        return True

    def send_paced_batch(self, lines: list[str]) -> bool:
        """Accept the lines of one multi-line message for the paced outbox: they go out
        together, as one entry (see ``send_paced``)."""
        try:
            data = b"".join(encode(line) for line in lines)
        except UnicodeEncodeError:
            return False
        with self._lock:
            self._outbox.append((data, len(lines)))
            self._outbox_total += 1
        self._wake_writer()
        return True

    @property
    def unsent(self) -> int:
        """Lines accepted for the paced outbox and not yet written."""
        with self._lock:
            return len(self._outbox)

    def _wake_writer(self) -> None:
        outq = self._outq
        if outq is not None:
            outq.put(b"")  # nothing to write: the writer looks at the outbox again

    def _paced_wait(self) -> float | None:
        """Seconds until the next paced line may go (0.0: now; None: none may go yet)."""
        with self._lock:
            if not self._outbox or not self._established or not self.connected:
                return None
            lines = self._outbox[0][1]
        return self.pacer.delay(lines)

    def _send_paced_one(self, stream: socket.socket | TLSStream) -> bool:
        """Write the outbox's first line; it leaves the outbox only once written."""
        with self._lock:
            data, lines = self._outbox[0]
        try:
            stream.sendall(data)
        except OSError:
            return False
        self.pacer.spend(lines)
        with self._lock:
            self._outbox.popleft()
            self._outbox_sent += 1
            sent, total = self._outbox_sent, self._outbox_total
            if not self._outbox:
                self._outbox_sent = self._outbox_total = 0
        if total > self.pacer.burst:  # a long paste: say how far it is
            self.listener.report(Sending(sent, total))
        return True

    def send(self, line: str) -> bool:
        """Queue one line for the server; False when there is no connection."""
        outq = self._outq
        if outq is None or not self.connected:
            return False
        try:
            outq.put(encode(line))
        except UnicodeEncodeError:
            return False
        return True

    def _close_socket(self) -> None:
        with self._lock:
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _run(self) -> None:
        attempt = 0
        shown: Failure | None = None  # a TLS failure is shown once, not at every retry
        report = self.listener.report
        while not self._stop.is_set():
            report(self.status("connecting"))
            failure: Failure | None = None
            self._established = False
            try:
                sock = socket.create_connection((self.host, self.port), self.connect_timeout)
            except OSError as exc:
                failure = failure_of(exc)
            else:
                try:
                    self._session(sock)
                except OSError as exc:  # the ping timeout and TLS failures included
                    failure = failure_of(exc)
                except Exception as exc:  # never leave the window "connected" to a dead thread
                    log.exception("connection failed")
                    failure = Failure("internal", str(exc))
                finally:
                    if self._established:
                        attempt = 0
                    self._end_session(sock)
            if self._stop.is_set() or self._quitting.is_set():
                break
            if failure is not None and failure.reason.startswith("tls") and failure != shown:
                report(TLSRefused(failure))
            shown = failure
            if self._held:
                self._wait_for_release()
                attempt = 0
                continue
            report(self.status("disconnected", failure=failure))
            if not self.reconnect:
                break
            delay = backoff_delay(attempt, self.rand())
            attempt += 1
            report(self.status("reconnecting", failure=failure, delay=delay))
            self._sleep(delay)
        report(self.status("closed"))

    def _wait_for_release(self) -> None:
        self.listener.report(self.status("disconnected", password_wanted=True))
        self._wake.wait()
        self._wake.clear()
        self._held = False

    def _secure(self, sock: socket.socket) -> TLSStream:
        """The TLS handshake on a fresh connection; failures explained for the status bar."""
        context = self.ssl_context or client_context(self.tls_verify)
        stream = TLSStream(sock, context, self.host)
        try:
            stream.handshake()
        except ssl.SSLCertVerificationError as exc:
            reason = exc.verify_message or exc.reason or str(exc)
            raise ConnectionFailed(Failure("tls-untrusted", reason)) from exc
        except ssl.SSLError as exc:
            reason = exc.reason or str(exc)
            raise ConnectionFailed(Failure("tls-handshake", reason)) from exc
        self.tls_version = stream.version
        self.tls_fingerprint = stream.fingerprint()
        self.listener.report(
            TLSUp(self.host, self.tls_version, self.tls_verify, self.tls_fingerprint)
        )
        return stream

    def _session(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock  # from here on, stop() can interrupt us
            self.tls_fingerprint = self.tls_version = ""
        stream: socket.socket | TLSStream = sock
        if self.tls:
            stream = self._secure(sock)
        outq: queue.Queue[bytes | None] = queue.Queue()
        with self._lock:
            self._outq = outq
            self.connected = True
            self._ping_pending = None
            self._held = False
        first = self.listener.connection_made()
        self._writer = threading.Thread(
            target=self._write_loop, args=(sock, stream, outq), name="kibitz-writer", daemon=True
        )
        self._writer.start()
        if self._stop.is_set():
            return
        for line in first:
            self.send(line)
        sock.settimeout(self.keepalive)
        reader = LineReader(limit=1 << 16)
        while not self._stop.is_set():
            try:
                data = stream.recv(_RECV_SIZE)
            except TimeoutError:
                if self._ping_pending is not None:
                    raise ConnectionFailed(Failure("ping-timeout")) from None
                self._ping_pending = self.clock()
                self.send("PING kibitz")
                continue
            if not data:
                return
            self._ping_pending = None  # anything heard proves the link is alive
            for raw in reader.feed(data):
                if isinstance(raw, Overlong):
                    continue
                self.listener.line_received(decode_line(raw))

    def _end_session(self, sock: socket.socket) -> None:
        with self._lock:
            outq = self._outq
            self._outq = None
            self._sock = None
            self.connected = False
        if outq is not None:
            outq.put(None)
        try:
            sock.close()
        except OSError:
            pass
        self.listener.connection_lost()
        with self._lock:
            sent, total, left = self._outbox_sent, self._outbox_total, len(self._outbox)
        if left and not self._stop.is_set():
            self.listener.report(Sending(sent, total, waiting=True))

    def _write_loop(
        self,
        sock: socket.socket,
        stream: socket.socket | TLSStream,
        outq: queue.Queue[bytes | None],
    ) -> None:
        while True:
            wait = self._paced_wait()
            if wait == 0.0:
                if not self._send_paced_one(stream):
                    break
                continue
            try:  # a paced line waits for its token, or for something unpaced to write
                data = outq.get(timeout=wait)
            except queue.Empty:
                continue
            if data is None:
                break
            chunks = [data]
            while True:  # everything pending goes out in one sendall
                try:
                    more = outq.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    outq.put(None)
                    break
                chunks.append(more)
            payload = b"".join(chunks)
            if not payload:
                continue
            self.pacer.spend(sum(1 for chunk in chunks if chunk))  # the server counts these too
            try:
                stream.sendall(payload)
            except OSError:
                break
        if self._stop.is_set():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
