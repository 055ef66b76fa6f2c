"""The outbound path: one connection's send queue, the shared flusher, one message for
many recipients, and the response buffer a command's replies go through (a reader's
cork is in :mod:`server.cork`).

Sending never blocks the caller. ``SendQueue.push`` first tries a non-blocking send
straight from the calling thread (most of the time the kernel takes everything);
whatever the kernel does not take is kept in the queue's own bounded buffer, and the
shared :class:`Flusher` thread writes it out when the socket becomes writable. A queue
whose buffer passes ``sendq`` bytes is dropped with ``ERROR :SendQ exceeded``, so a
reader that stalls can never slow anybody else down.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .cork import current_cork
from .protocol.codec import (
    MAX_LINE,
    LineError,
    build,
    encode,
    escape_tag_value,
    fit_params,
    format_tags,
    format_time,
)
from .protocol.numerics import Numeric

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .cork import Cork
    from .protocol.tls import TLSSession

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
#: What no parameter may hold (``build`` refuses it).
_FORBIDDEN = re.compile("[\r\n\0]")

#: Bits of a recipient's ``tag_key``: which tags it is sent.
TAG_TIME = 1
TAG_CLIENT = 2
#: The ``account`` tag (IRCv3 account-tag), on messages from a signed-in user.
TAG_ACCOUNT = 4


def with_tag(line: bytes, tag: bytes) -> bytes:
    """Add one tag to an encoded line."""
    if line.startswith(b"@"):
        return b"@" + tag + b";" + line[1:]
    return b"@" + tag + b" " + line


def new_batch_id() -> str:
    """A batch reference tag, unique on this connection."""
    return os.urandom(6).hex()


def _middle(param: str) -> str:
    param = param.replace(" ", "_").lstrip(":")
    return param or "*"


def numeric_line(server_name: str, nick: str, numeric: Numeric, params: tuple[str, ...]) -> bytes:
    """A numeric reply from the server to ``nick``, encoded.

    Parameters echo what the client sent, so one that cannot stand in the middle of a
    line (empty, with a space, starting with ':') is made safe, not refused.
    """
    if numeric.text is not None:
        params = (*params, numeric.text)
    code = numeric.code
    try:
        line = encode(build(code, nick, *params, source=server_name))
    except LineError:
        params = (*(_middle(p) for p in params[:-1]), *params[-1:])
        line = encode(build(code, nick, *params, source=server_name))
    if len(line) <= MAX_LINE:
        return line  # nearly every reply: built once
    # What the client sent comes back cut at a character boundary, never overlong.
    fitted = fit_params(code, (nick, *params), server_name, keep=1)
    return encode(build(code, *fitted, source=server_name))


def message_line(
    command: str, params: tuple[str, ...], source: str | None, tags: dict | None
) -> bytes:
    """One message, encoded, its longest parameter cut if it would not fit."""
    params = fit_params(command, params, source)
    return encode(build(command, *params, source=source, tags=tags))


class Flusher:
    """One thread that drains the queues of every connection whose socket is full."""

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

    def watch(self, queue: SendQueue) -> None:
        """Start writing ``queue`` whenever its socket can take more."""
        with self._lock:
            try:
                self._selector.register(queue.sock, selectors.EVENT_WRITE, queue)
            except (KeyError, ValueError, OSError):
                return
        self._wake()

    def unwatch(self, queue: SendQueue) -> None:
        """Stop watching ``queue`` (it is empty or going away)."""
        with self._lock, contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(queue.sock)

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


class SendQueue:
    """One connection's outbound bytes: buffer, TLS records, SendQ limit, the socket."""

    # Slots: every connection has one (no instance dictionary to hold, or to look in).
    __slots__ = (
        "_claimed",
        "_dead",
        "_farewell_due",
        "_flusher",
        "_idle",
        "_lock",
        "_on_overflow",
        "_out",
        "_out_size",
        "_sendq",
        "_watched",
        "_writing",
        "sock",
        "tls",
    )

    def __init__(
        self,
        sock: socket.socket,
        flusher: Flusher,
        limit: int,
        tls: TLSSession | None = None,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self.sock = sock
        #: The TLS session of a connection made to the TLS port.
        self.tls = tls
        self._flusher = flusher
        self._sendq = limit
        #: Called (with the queue's lock held) when the buffer passes its limit.
        self._on_overflow = on_overflow
        # Guards the buffer. The socket writes themselves happen outside it (one writer
        # at a time, `_writing`), so a thread queueing bytes for this connection never
        # waits for another thread's system call.
        self._lock = threading.Lock()
        # Made when a thread first waits for a write to end (rarely): not every idle
        # connection carries one.
        self._idle: threading.Condition | None = None
        self._out: list[bytes] = []
        self._out_size = 0  # bytes queued or being written
        self._writing = False
        #: Whether a thread's cork holds this queue (see :func:`cork`): bytes other
        #: threads queue meanwhile wait for that thread's write instead of their own.
        self._claimed = False
        self._farewell_due = False
        self._dead = False
        #: Whether the flusher is waiting for this socket to become writable.
        self._watched = False

    def push(self, data: bytes, corked: Cork | None) -> None:
        """Queue ``data`` given this thread's cork (or None); never blocks, never
        raises. The one-message-to-many loops look the cork up once, not per recipient."""
        if corked is not None and corked.batch is not None:
            corked.settle()  # what this thread held back goes first
        with self._lock:
            if self._dead:
                return
            if self.tls is not None:
                try:
                    data = self.tls.encrypt(data)
                except OSError:  # ssl.SSLError
                    self._dead = True
                    return
            self._out_size += len(data)
            if self._out_size > self._sendq:
                self._overflow()
                return
            # Nothing queued and no write in flight (a message for many recipients, each
            # pushed in turn): this thread writes it at once, without queueing it first.
            now = corked is None and not self._writing and not self._out
            if now:
                self._writing = True
            else:
                self._out.append(data)
                if corked is not None:
                    if self._claimed or self._writing:
                        # Another thread writes it: the one whose cork holds this queue,
                        # or the write in flight, which takes what was queued meanwhile.
                        return
                    self._claimed = True
        if now:
            self._write(taken=data)
        elif corked is None:
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
            # The bytes are exactly what goes on the wire: TLS's own, not encrypted again.
            self._out.append(reply)
            self._out_size += len(reply)
            if self._out_size > self._sendq:
                self._overflow()
        self._write()
        return plain

    def _write(self, wait: bool = False, taken: bytes | None = None) -> None:
        """Write the queue as far as the socket takes it, the rest when it can take more;
        ``taken``: bytes this thread already holds to write first (``_writing`` set).

        One thread writes at a time; the others only queue behind it, and the writer
        picks up what they queued when its system call returns.
        """
        data = taken
        while True:
            if data is None:
                with self._lock:
                    while wait and self._writing and not self._dead:
                        self._waiting().wait(1.0)
                    self._claimed = False  # what others queue from now on, they write
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
                if (
                    self._idle is None
                    and not self._farewell_due
                    and not self._dead
                    and not failed
                    and sent == len(data)
                ):  # what nearly every write comes to: all of it taken
                    self._out_size -= sent
                    if self._out:
                        data = None  # queued meanwhile: written next
                        continue
                    if self._watched:
                        self._set_watched(False)
                    return
                if self._idle is not None:
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
                data = None

    def _waiting(self) -> threading.Condition:
        # With _lock held: the condition a thread waits on for the write in flight.
        if self._idle is None:
            self._idle = threading.Condition(self._lock)
        return self._idle

    def _set_watched(self, on: bool) -> None:
        if on != self._watched:
            self._watched = on
            if on:
                self._flusher.watch(self)
            else:
                self._flusher.unwatch(self)

    def flush(self) -> None:
        """Write as much of the buffer as the socket takes (called by the flusher)."""
        with self._lock:
            if self._dead or not (self._out or self._writing):
                self._set_watched(False)
                return
        self._write()

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
        if self._on_overflow is not None:
            self._on_overflow()
        if self._writing:
            self._farewell_due = True  # not in the middle of another write's bytes
        else:
            self._say_farewell()

    def _say_farewell(self) -> None:
        # With _lock held and no write in flight: a last ERROR, then the socket is shut.
        with contextlib.suppress(OSError):  # ssl.SSLError too
            farewell = b"ERROR :SendQ exceeded\r\n"
            if self.tls is not None:
                farewell = self.tls.encrypt(farewell)
            self.sock.send(farewell, _DONTWAIT)
        self.cut()

    def cut(self) -> None:
        """Shut the socket both ways now; the reader's ``recv`` returns and it cleans up."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def half_close(self) -> None:
        """Send FIN after everything queued, but keep reading until the peer closes:
        closing with unread input would reset the connection and lose what was sent."""
        with self._lock:
            if self._out or self._writing:
                return  # not drained yet; the caller will cut it later
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Release the socket (called once, by the connection's reader thread)."""
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
                self._waiting().wait(1.0)
        self.sock.close()


class Recipient(Protocol):
    """What the send path needs of a connection (a ``Session`` is one)."""

    nick: str
    tag_key: int
    queue: SendQueue


def send_labeled(client: Recipient, server_name: str, label: str, lines: list[bytes]) -> None:
    """Send a labeled command's replies: ACK, one labeled line, or a labeled-response
    batch (IRCv3 labeled-response)."""
    corked = current_cork()
    tag = b"label=" + escape_tag_value(label).encode()
    if not lines:
        client.queue.push(message_line("ACK", (), server_name, {"label": label}), corked)
        return
    if len(lines) == 1:
        client.queue.push(with_tag(lines[0], tag), corked)
        return
    batch = new_batch_id()
    head = ("+" + batch, "labeled-response")
    out = [message_line("BATCH", head, server_name, {"label": label})]
    outer = b"batch=" + batch.encode()
    for line in lines:
        nested = line.startswith(b"@") and b"batch=" in line.split(b" ", 1)[0]
        out.append(line if nested else with_tag(line, outer))
    out.append(message_line("BATCH", ("-" + batch,), server_name, None))
    for data in out:
        client.queue.push(data, corked)


class ResponseBuffer:
    """Where a command's replies to its sender go (Ergo's ``rb``).

    Unlabeled, it writes straight through to the sender's queue. Held (a labeled
    command, or one whose replies are metered), it collects the encoded lines in
    ``lines`` for the dispatcher to send afterwards, labeled or counted.
    """

    __slots__ = ("client", "lines", "server_name")

    def __init__(
        self, client: Recipient, server_name: str, lines: list[bytes] | None = None
    ) -> None:
        #: The command's sender.
        self.client = client
        self.server_name = server_name
        #: Where the replies are held back, or None to write them straight through.
        self.lines = lines

    def send(self, data: bytes) -> None:
        """Send (or hold) one encoded reply."""
        lines = self.lines
        if lines is None:
            self.client.queue.push(data, current_cork())
        else:
            lines.append(data)

    def send_lines(self, data: bytes) -> None:
        """Send several encoded replies given as one buffer (held: as its lines)."""
        lines = self.lines
        if lines is None:
            self.client.queue.push(data, current_cork())
        else:
            lines.extend(data.splitlines(keepends=True))

    def send_line(
        self, command: str, *params: str, source: str | None = None, tags: dict | None = None
    ) -> None:
        """Build and send one reply, its longest parameter cut if it would not fit."""
        self.send(message_line(command, params, source, tags))

    def numeric(self, numeric: Numeric, *params: str) -> None:
        """Send a numeric reply from the server, addressed to the sender."""
        self.send(numeric_line(self.server_name, self.client.nick, numeric, params))


class Outgoing:
    """One message for many recipients, encoded once per distinct set of tags."""

    __slots__ = (
        "_body",
        "_cache",
        "account",
        "command",
        "millis",
        "params",
        "source",
        "tags",
        "time",
        "valid",
    )

    def __init__(
        self,
        command: str,
        *params: str,
        source: str,
        tags: dict[str, str] | None = None,
        when: float | None = None,
        account: str | None = None,
        stamped: bool = True,
        valid: bool = False,
    ) -> None:
        self.command = command
        self.params = params
        self.source = source
        self.tags = tags or {}
        #: The sender's account (the ``account`` tag), or None when not signed in.
        self.account = account
        #: The relay time, in whole milliseconds: what the ``time`` tag and history say.
        #: Not ``stamped``: :meth:`stamp` sets it when the message is relayed.
        self.millis = int((time.time() if when is None else when) * 1000) if stamped else 0
        self.time = format_time(self.millis) if stamped else ""
        #: Whether the parameters are known to be valid (a relayed message: a channel's
        #: name and a text the codec parsed), so the line is formatted without checks.
        self.valid = valid
        # The line without tags, CRLF included: the same for every tag set.
        self._body: bytes | None = None
        # One slot per tag set (the TAG_* bits of a recipient's ``tag_key``).
        self._cache: list[bytes | None] = [None] * 8

    def stamp(self, millis: int, text: str) -> None:
        """Set the relay time (``text`` is ``millis`` formatted) before anything is built."""
        self.millis = millis
        self.time = text

    def for_client(self, client: Recipient) -> bytes:
        """The bytes ``client`` should receive, built at most once per tag set."""
        key = client.tag_key
        data = self._cache[key]
        if data is None:
            # Without an account the account-tag bit changes nothing: share those bytes.
            shown = key if self.account is not None else key & ~TAG_ACCOUNT
            data = self._cache[shown]
            if data is None:
                data = self._build(shown)
                if data is None:
                    # A relayed reason, topic or away text gains its sender's prefix: cut it.
                    self.params = fit_params(self.command, self.params, self.source)
                    self._cache = [None] * 8
                    self._body = None
                    return self.for_client(client)
                self._cache[shown] = data
            self._cache[key] = data
        return data

    def _build(self, key: int) -> bytes | None:
        """The line for one tag set, or None when its body would pass the line limit."""
        body = self._body
        if body is None:
            body = self._body = self._encode_body()
        if len(body) > MAX_LINE:
            return None
        if self.valid and len(self.tags) == 1 and not (key & TAG_ACCOUNT and self.account):
            msgid = self.tags.get("msgid")  # a relayed message's usual tags: nothing to escape
            if msgid is not None:
                if key & TAG_TIME:
                    time_tag = "@time=" + self.time
                    head = f"{time_tag};msgid={msgid} " if key & TAG_CLIENT else time_tag + " "
                elif key & TAG_CLIENT:
                    head = f"@msgid={msgid} "
                else:
                    return body
                return head.encode() + body
        tags: dict[str, str] = {}
        if key & TAG_TIME:
            tags["time"] = self.time
        if key & TAG_ACCOUNT and self.account is not None:
            tags["account"] = self.account
        if key & TAG_CLIENT:
            tags.update(self.tags)
        if not tags:
            return body
        return b"@" + format_tags(tags).encode("utf-8", "surrogateescape") + b" " + body

    def _encode_body(self) -> bytes:
        params = self.params
        if self.valid and len(params) == 2 and not _FORBIDDEN.search(params[1]):
            # What ``build`` makes of them, without its checks of what is known valid.
            target, text = params
            if not text or " " in text or text[0] == ":":
                text = ":" + text
            line = f":{self.source} {self.command} {target} {text}"
            return line.encode("utf-8", "surrogateescape") + b"\r\n"
        return encode(build(self.command, *params, source=self.source))

    def deliver(self, recipients: Iterable[Recipient], reply: ResponseBuffer | None = None) -> None:
        """Send to every recipient; the sender's own copy through ``reply`` when given
        (it answers the command: a labeled one gets it in its response)."""
        if reply is not None and reply.lines is not None:
            # Held replies are rare (labeled-response): the loop below stays as lean.
            me = reply.client
            others = []
            for recipient in recipients:
                if recipient is me:
                    reply.send(self.for_client(recipient))
                else:
                    others.append(recipient)
            recipients = others
        corked = current_cork()
        cache = self._cache
        for recipient in recipients:
            recipient.queue.push(cache[recipient.tag_key] or self.for_client(recipient), corked)
