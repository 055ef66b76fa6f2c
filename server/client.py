"""One connection's state and its outbound path.

Sending never blocks the caller. ``Client.send`` first tries a non-blocking send
straight from the calling thread (most of the time the kernel takes everything);
whatever the kernel does not take is kept in the client's own bounded buffer, and the
shared :class:`Flusher` thread writes it out when the socket becomes writable. A
client whose buffer passes ``sendq`` bytes is dropped with ``ERROR :SendQ exceeded``,
so a reader that stalls can never slow anybody else down.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import selectors
import socket
import ssl
import threading
import time
from typing import TYPE_CHECKING

from .flood import TokenBucket
from .protocol.codec import MAX_LINE, LineError, build, encode, fit_params, format_time
from .protocol.numerics import Numeric

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .protocol.tls import TLSSession
    from .registry import Channel
    from .server import ChatServer

log = logging.getLogger(__name__)

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)

#: Bits of ``Client.tag_key``: which tags a client is sent.
TAG_TIME = 1
TAG_CLIENT = 2


_MSGID_PREFIX = secrets.token_hex(4)
_msgids = itertools.count(1)


def new_msgid() -> str:
    """A unique, opaque message id (IRCv3 ``msgid``)."""
    return f"{_MSGID_PREFIX}{next(_msgids):x}"


def _middle(param: str) -> str:
    param = param.replace(" ", "_").lstrip(":")
    return param or "*"


_cork = threading.local()


def cork() -> None:
    """Until :func:`uncork`, sends made by this thread only queue their bytes.

    A reader corks while it handles one read's worth of lines, so a recipient of many
    of them gets one write instead of one per line. Order is kept: the bytes wait in
    the recipient's own buffer, behind whatever other threads queued first.
    """
    _cork.clients = set()


def current_cork() -> set[Client] | None:
    """This thread's cork set (clients with bytes queued until :func:`uncork`), or None."""
    return getattr(_cork, "clients", None)


def uncork() -> None:
    """Write out everything this thread queued since :func:`cork`."""
    clients = getattr(_cork, "clients", None)
    _cork.clients = None
    if clients:
        for client in clients:
            client.write_out()


class Flusher:
    """One thread that drains the buffers of every client whose socket is full."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._running = True
        self._thread = threading.Thread(target=self._run, name="kibitz-flusher", daemon=True)
        self._thread.start()

    def watch(self, client: Client) -> None:
        """Start writing ``client``'s buffer whenever its socket can take more."""
        with self._lock:
            try:
                self._selector.register(client.sock, selectors.EVENT_WRITE, client)
            except (KeyError, ValueError, OSError):
                return
        self._wake()

    def unwatch(self, client: Client) -> None:
        """Stop watching ``client`` (its buffer is empty or it is going away)."""
        with self._lock, contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(client.sock)

    def close(self) -> None:
        """Stop the thread."""
        self._running = False
        self._wake()
        self._thread.join(timeout=2)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0", _DONTWAIT)
        except OSError:
            pass  # already awake: the pipe is full

    def _run(self) -> None:
        while self._running:
            try:
                events = self._selector.select(timeout=1.0)
            except (OSError, ValueError):
                if not self._running:
                    return
                continue
            for key, _mask in events:
                if key.data is None:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except OSError:
                        pass
                    continue
                key.data.flush()


class Client:
    """One connection: who it is, what it negotiated, and where its bytes go."""

    def __init__(
        self,
        sock: socket.socket,
        address: tuple,
        server: ChatServer,
        tls: TLSSession | None = None,
    ) -> None:
        self.sock = sock
        self.server = server
        #: The TLS session of a connection made to the TLS port.
        self.tls = tls
        self.secure = tls is not None
        host = str(address[0]) if address else "unknown"
        self.ip = host
        # A host must not start with ':' or it would read as a trailing parameter.
        self.host = "0" + host if host.startswith(":") else host
        self.nick = "*"
        self.key: str | None = None
        self.user: str | None = None
        self.realname = ""
        self.registered = False
        self.password_ok = server.config.password is None
        self.caps: set[str] = set()
        self.cap_version = 0
        self.cap_negotiating = False
        self.tag_key = 0
        self.modes: set[str] = set()
        self.channels: dict[str, Channel] = {}
        #: The away message, or None when here.
        self.away: str | None = None
        #: Invitations: casefolded channel name -> the serial of the channel's life.
        self.invites: dict[str, int] = {}
        #: MONITOR list: casefolded nick -> nick as given.
        self.monitoring: dict[str, str] = {}
        self.signon = int(time.time())
        now = server.clock()
        self.connected_at = now
        self.last_active = now
        #: When this client last sent a message (WHOIS idle time).
        self.last_spoke = now
        self.ping_sent_at: float | None = None
        self.quit_reason: str | None = None
        self.closing = False
        #: Set when the connection is ending, so a reader waiting out fake lag wakes.
        self.wakeup = threading.Event()
        config = server.config
        self.flood = (
            TokenBucket(config.flood_rate, config.flood_burst, config.flood_excess, server.clock)
            if config.flood_rate > 0
            else None
        )
        #: Lines received before registration completed.
        self.early_lines = 0
        # Outbound side, guarded by _lock. The socket writes themselves happen outside
        # it (one writer at a time, `_writing`), so a thread queueing bytes for this
        # client never waits for another thread's system call.
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._out: list[bytes] = []
        self._out_size = 0  # bytes queued or being written
        self._sendq = config.sendq
        self._writing = False
        self._farewell_due = False
        self._dead = False
        #: Whether the flusher is waiting for this socket to become writable.
        self._watched = False
        # labeled-response: what this client's own thread sends while a command runs.
        self._capture: list[bytes] | None = None
        self._capture_thread = 0

    def __repr__(self) -> str:
        return f"<Client {self.nick} {self.ip}>"

    @property
    def source(self) -> str:
        """This client as a message source: ``nick!user@host``."""
        return f"{self.nick}!{self.user or '*'}@{self.host}"

    def set_caps(self, caps: set[str]) -> None:
        """Replace the enabled capabilities (and the tags this client gets)."""
        self.caps = caps
        self.tag_key = (TAG_TIME if "server-time" in caps else 0) | (
            TAG_CLIENT if "message-tags" in caps else 0
        )

    # --- sending -----------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue ``data`` for this client; never blocks, never raises."""
        self.push(data, current_cork())

    def push(self, data: bytes, corked: set[Client] | None, reply: bool = True) -> None:
        """:meth:`send`, given this thread's cork set (or None): the one-message-to-many
        loops look that up once, not once per recipient. ``reply=False``: not a reply
        to the command this client is running (a message it sent to itself), so never
        held back for labeled-response."""
        if reply and self._capture is not None and self._capture_thread == threading.get_ident():
            self._capture.append(data)  # a reply to a labeled command: sent later, labeled
            return
        with self._lock:
            if self._dead:
                return
            if self.tls is not None:
                try:
                    data = self.tls.encrypt(data)
                except ssl.SSLError:
                    self._dead = True
                    return
            self._out.append(data)
            self._out_size += len(data)
            if self._out_size > self._sendq:
                self._overflow()
        if corked is None:
            self._write()
        else:
            corked.add(self)

    def write_out(self, wait: bool = False) -> None:
        """Write what is queued now, as far as the socket takes it. With ``wait``, when
        another thread is writing, wait for it rather than leave the rest to it (the
        caller is about to shut the socket)."""
        self._write(wait)

    def receive(self, data: bytes) -> bytes:
        """Turn received bytes into plaintext (decrypting, and answering TLS if needed)."""
        if self.tls is None:
            return data
        with self._lock:
            plain, reply = self.tls.decrypt(data)
            if not reply or self._dead:
                return plain
            self._queue_locked(reply)
        self._write()
        return plain

    def _queue_locked(self, data: bytes) -> None:
        # With _lock held; the bytes are exactly what goes on the wire.
        self._out.append(data)
        self._out_size += len(data)
        if self._out_size > self._sendq:
            self._overflow()

    def _write(self, wait: bool = False) -> None:
        """Write the queue as far as the socket takes it, the rest when it can take more.

        One thread writes at a time; the others only queue behind it, and the writer
        picks up what they queued when its system call returns.
        """
        while True:
            with self._lock:
                while wait and self._writing and not self._dead:
                    self._idle.wait(1.0)
                if self._writing or self._dead or not self._out:
                    return
                self._writing = True
                data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
                self._out.clear()  # in flight: still counted in _out_size
            try:
                sent = self.sock.send(data, _DONTWAIT)
                failed = False
            except BlockingIOError:
                sent, failed = 0, False
            except OSError:
                sent, failed = 0, True
            with self._lock:
                self._writing = False
                self._idle.notify_all()
                if self._farewell_due:  # a SendQ overflow waited for this write to end
                    self._farewell_due = False
                    self._say_farewell()
                if self._dead:
                    return
                if failed:
                    self._dead = True
                    self._out.clear()
                    self._out_size = 0
                    self._set_watched(False)
                    return
                self._out_size -= sent
                if sent < len(data):
                    self._out.insert(0, data[sent:])  # ahead of what was queued meanwhile
                    self._set_watched(True)  # the flusher writes it when the socket drains
                    return
                if not self._out:
                    self._set_watched(False)
                    return

    def _set_watched(self, on: bool) -> None:
        if on != self._watched:
            self._watched = on
            if on:
                self.server.flusher.watch(self)
            else:
                self.server.flusher.unwatch(self)

    def flush(self) -> None:
        """Write as much of the buffer as the socket takes (called by the flusher)."""
        with self._lock:
            if self._dead or not (self._out or self._writing):
                self._set_watched(False)
                return
        self._write()

    def capture(self) -> None:
        """Hold back what this thread sends to this client until :meth:`release`."""
        self._capture_thread = threading.get_ident()
        self._capture = []

    def release(self) -> list[bytes]:
        """Stop holding back; return the lines held."""
        lines, self._capture = self._capture or [], None
        return lines

    @property
    def pending(self) -> int:
        """Bytes waiting in the outbound buffer."""
        return self._out_size

    def _overflow(self) -> None:
        # Called with _lock held: the buffer is discarded, the reader thread ends the rest.
        self._out.clear()
        self._out_size = 0
        self._dead = True
        self._set_watched(False)
        self.quit_reason = self.quit_reason or "SendQ exceeded"
        self.closing = True
        if self._writing:
            self._farewell_due = True  # not in the middle of another write's bytes
        else:
            self._say_farewell()

    def _say_farewell(self) -> None:
        # With _lock held and no write in flight: a last ERROR, then the socket is shut.
        with contextlib.suppress(OSError, ssl.SSLError):
            farewell = b"ERROR :SendQ exceeded\r\n"
            if self.tls is not None:
                farewell = self.tls.encrypt(farewell)
            self.sock.send(farewell, _DONTWAIT)
        self._shutdown()

    def _shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def send_line(
        self, command: str, *params: str, source: str | None = None, tags: dict | None = None
    ) -> None:
        """Build and send one message, its longest parameter cut if it would not fit."""
        params = fit_params(command, params, source)
        self.send(encode(build(command, *params, source=source, tags=tags)))

    def numeric(self, numeric: Numeric, *params: str) -> None:
        """Send a numeric reply from the server, addressed to this client.

        Parameters echo what the client sent, so one that cannot stand in the middle
        of a line (empty, with a space, starting with ':') is made safe, not refused.
        """
        if numeric.text is not None:
            params = (*params, numeric.text)
        source = self.server.config.name
        try:
            build(numeric.code, *params, source=source)
        except LineError:
            params = (*(_middle(p) for p in params[:-1]), *params[-1:])
        # What the client sent comes back cut at a character boundary, never overlong.
        fitted = fit_params(numeric.code, (self.nick, *params), source, keep=1)
        self.send(encode(build(numeric.code, *fitted, source=source)))

    def farewell(self, text: str) -> None:
        """Queue a last ERROR without closing anything yet (graceful shutdown)."""
        self.send_line("ERROR", text)

    def finish_writing(self) -> None:
        """Send FIN after everything queued, but keep reading until the peer closes:
        closing with unread input would reset the connection and lose what was sent."""
        with self._lock:
            if self._out or self._writing:
                return  # not drained yet; the caller will force it later
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def abort(self) -> None:
        """Cut the connection now; the reader thread then cleans up."""
        self.closing = True
        self.wakeup.set()
        self._shutdown()

    def error_and_close(self, reason: str, error: str | None = None) -> None:
        """End this connection: send ``ERROR`` and let the reader thread clean up.

        ``reason`` is what the client's channels see in its QUIT.
        """
        if self.quit_reason is None:
            self.quit_reason = reason
        text = error if error is not None else f"Closing Link: {self.host} ({reason})"
        self.send_line("ERROR", text)
        self.write_out(wait=True)  # even when corked: the socket is about to be shut
        # Only now may the reader thread stop and close the socket: had it seen
        # `closing` before the ERROR was queued, the ERROR would be lost.
        self.abort()

    def close(self) -> None:
        """Release the socket (the one way out: called once by the reader thread)."""
        with self._lock:
            self._dead = True
            self._out.clear()
            self._out_size = 0
            self._set_watched(False)
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)  # a write in flight ends now
            # A write still in its system call holds the descriptor number: closing it
            # first could let a new connection reuse the number and get its bytes.
            while self._writing:
                self._idle.wait(1.0)
        self.sock.close()


class Outgoing:
    """One message for many recipients, encoded once per distinct set of tags."""

    __slots__ = ("_cache", "command", "millis", "params", "source", "tags", "time")

    def __init__(
        self,
        command: str,
        *params: str,
        source: str,
        tags: dict[str, str] | None = None,
        when: float | None = None,
    ) -> None:
        self.command = command
        self.params = params
        self.source = source
        self.tags = tags or {}
        #: The relay time, in whole milliseconds: what the ``time`` tag and history say.
        self.millis = int((time.time() if when is None else when) * 1000)
        self.time = format_time(self.millis)
        self._cache: list[bytes | None] = [None, None, None, None]

    def for_client(self, client: Client) -> bytes:
        """The bytes ``client`` should receive, built at most once per tag set."""
        key = client.tag_key
        data = self._cache[key]
        if data is None:
            tags: dict[str, str] = {}
            if key & TAG_TIME:
                tags["time"] = self.time
            if key & TAG_CLIENT:
                tags.update(self.tags)
            data = encode(build(self.command, *self.params, source=self.source, tags=tags))
            body = len(data) - (data.find(b" ") + 1 if tags else 0)
            if body > MAX_LINE:
                # A relayed reason, topic or away text gains its sender's prefix: cut it.
                self.params = fit_params(self.command, self.params, self.source)
                self._cache = [None, None, None, None]
                return self.for_client(client)
            self._cache[key] = data
        return data

    def deliver(self, recipients: Iterable[Client]) -> None:
        """Send to every recipient."""
        corked = current_cork()
        cache = self._cache
        for recipient in recipients:
            recipient.push(cache[recipient.tag_key] or self.for_client(recipient), corked)
