"""ChatModel: the IRC connection, its state and its events. No tkinter here.

A reader thread turns lines from the server into small :class:`Event` records on a
``queue.Queue``; a writer thread drains an outbound queue, so nothing the GUI calls
ever blocks on the network. The connection is re-established with exponential backoff
and jitter, and the channels that were open are joined again.

TLS runs over memory BIOs: the reader and the writer thread both drive one TLS session,
which must never happen at once, so a lock serialises them (``ssl.SSLSocket`` would
let the two threads into OpenSSL together).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from server.codec import (
    MAX_LINE,
    LineError,
    LineReader,
    Message,
    Overlong,
    build,
    encode,
    format_time,
    parse,
    split_source,
    split_utf8,
)

log = logging.getLogger("app.model")

#: Capabilities the client asks for when the server offers them.
WANTED_CAPS = (
    "echo-message",
    "server-time",
    "message-tags",
    "multi-prefix",
    "away-notify",
    "batch",
    "draft/chathistory",
)
#: Messages asked for per CHATHISTORY request (less when the server's CHATHISTORY says so).
HISTORY_PAGE = 100
#: Message ids remembered per conversation for dedupe; the oldest are forgotten first.
_SEEN_CAP = 20000
#: Lines one batch may hold before the rest is dropped (a server gone wild).
_BATCH_CAP = 10000
#: Seconds between reconnect attempts: doubles from BACKOFF_BASE up to BACKOFF_CAP.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
#: Longest host name the server may put in our prefix (when it has not told us yet).
_MAX_HOST = 63
_USER_LEN_GUESS = 12
#: Receive buffer: tags may make a line up to 8191 + 512 bytes long.
_RECV_SIZE = 65536
_VERSION = "Kibitz desktop client"

# Numerics the client reacts to (names from the Modern IRC documents).
RPL_WELCOME = "001"
RPL_ISUPPORT = "005"
RPL_AWAY = "301"
RPL_UNAWAY = "305"
RPL_NOWAWAY = "306"
RPL_WHOISUSER = "311"
RPL_WHOISSERVER = "312"
RPL_WHOISOPERATOR = "313"
RPL_ENDOFWHO = "315"
RPL_WHOISIDLE = "317"
RPL_ENDOFWHOIS = "318"
RPL_WHOISCHANNELS = "319"
RPL_CHANNELMODEIS = "324"
RPL_CREATIONTIME = "329"
RPL_WHOISACCOUNT = "330"
RPL_NOTOPIC = "331"
RPL_TOPIC = "332"
RPL_TOPICWHOTIME = "333"
RPL_WHOREPLY = "352"
RPL_NAMREPLY = "353"
RPL_ENDOFNAMES = "366"
RPL_MOTD = "372"
RPL_MOTDSTART = "375"
RPL_ENDOFMOTD = "376"
RPL_WHOISSECURE = "671"
ERR_NOMOTD = "422"
ERR_NONICKNAMEGIVEN = "431"
ERR_ERRONEUSNICKNAME = "432"
ERR_NICKNAMEINUSE = "433"
ERR_NICKCOLLISION = "436"
ERR_PASSWDMISMATCH = "464"

#: Shown with a certificate that failed verification.
INSECURE_HINT = "use --tls-insecure to connect anyway"

# Numerics whose text belongs to whatever the user is looking at (answers to a command).
_ANSWERS = {
    RPL_AWAY,
    RPL_UNAWAY,
    RPL_NOWAWAY,
    RPL_WHOISUSER,
    RPL_WHOISSERVER,
    RPL_WHOISOPERATOR,
    RPL_ENDOFWHO,
    RPL_WHOISIDLE,
    RPL_ENDOFWHOIS,
    RPL_WHOISCHANNELS,
    RPL_WHOISACCOUNT,
    RPL_WHOREPLY,
    RPL_WHOISSECURE,
    RPL_CHANNELMODEIS,
    RPL_CREATIONTIME,
}
# Numerics not worth a line of their own.
_QUIET = {
    ERR_NOMOTD,
    RPL_ENDOFMOTD,
    RPL_MOTDSTART,
    RPL_ENDOFNAMES,
    RPL_TOPICWHOTIME,
    RPL_ENDOFWHOIS,
}

_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)


class Kind:
    """The kinds of :class:`Event` the model emits."""

    STATUS = "status"  # state: connecting / connected / disconnected / reconnecting / closed
    REGISTERED = "registered"  # the server accepted us; nick is our nick
    MESSAGE = "message"  # PRIVMSG / NOTICE / CTCP ACTION, to a channel or to us
    JOIN = "join"
    PART = "part"
    KICK = "kick"
    QUIT = "quit"
    NICK = "nick"  # someone (perhaps we) changed nick, shown in ``target``
    OWN_NICK = "own_nick"  # our nick changed
    TOPIC = "topic"
    MEMBERS = "members"  # the member list of ``target`` changed
    MODE = "mode"
    INFO = "info"  # a server line worth showing
    ERROR = "error"
    PASSWORD = "password"  # the server wants a (different) password: ask the user
    TLS = "tls"  # TLS is up: ``state`` verified or insecure, with the ``fingerprint``
    # One chathistory batch for ``target``: ``messages`` oldest first, none already shown;
    # ``state`` says where they belong: latest (first page), before (older), after (missed).
    HISTORY = "history"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, for the controller to render.

    ``target`` is the conversation it belongs to: a channel, the peer of a direct
    conversation, ``""`` for the server buffer, or ``None`` for "whatever is open".
    """

    kind: str
    target: str | None = ""
    nick: str = ""
    text: str = ""
    time: datetime | None = None
    own: bool = False
    action: bool = False
    notice: bool = False
    state: str = ""
    old: str = ""
    delay: float = 0.0
    members: tuple[tuple[str, str], ...] = ()
    fingerprint: str = ""
    msgid: str = ""
    messages: tuple[HistoryLine, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One message of a chathistory batch, with its original time and id."""

    msgid: str
    time: datetime | None
    nick: str
    text: str
    own: bool = False
    action: bool = False
    notice: bool = False
    topic: bool = False


@dataclass
class _Log:
    """What has been shown of one conversation: for dedupe and for paging its history."""

    name: str
    seen: dict[str, None] = field(default_factory=dict)  # msgids, in the order seen
    oldest: str = ""  # msgid of the oldest message shown
    newest: str = ""  # msgid of the newest message shown
    newest_time: str = ""  # its server-time, for catching up when the msgid is gone
    complete: bool = False  # the server has nothing older
    pending: list[tuple[str, int, str]] = field(default_factory=list)  # (mode, limit, ref)

    def remember(self, msgid: str) -> bool:
        """Record ``msgid``; False when it was seen before (a duplicate)."""
        if msgid in self.seen:
            return False
        self.seen[msgid] = None
        if len(self.seen) > _SEEN_CAP:
            for old in list(self.seen)[: _SEEN_CAP // 10]:
                del self.seen[old]
        return True


@dataclass
class _Batch:
    """An open IRCv3 batch: its type, parameters and (for chathistory) the lines so far."""

    kind: str
    params: list[str]
    lines: list[Message] = field(default_factory=list)


@dataclass
class Member:
    """A channel member and the prefix modes (``o``, ``v``, ...) it holds."""

    nick: str
    modes: str = ""


@dataclass
class Channel:
    """A joined channel: display name, topic and members keyed by casefolded nick."""

    name: str
    topic: str = ""
    members: dict[str, Member] = field(default_factory=dict)


def backoff_delay(
    attempt: int, rand: float, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP
) -> float:
    """Seconds to wait before reconnect ``attempt`` (0-based): exponential, jittered, capped.

    The delay lies between half and all of ``min(cap, base * 2**attempt)``, so clients
    dropped together by a server restart do not all come back in the same instant.
    """
    ceiling = min(cap, base * (2 ** min(attempt, 16)))
    return min(cap, ceiling * (0.5 + 0.5 * rand))


def strip_formatting(text: str) -> str:
    """Remove mIRC bold/colour/italic/reset codes from ``text``."""
    return _FORMATTING.sub("", text)


def casefold(name: str, mapping: str = "rfc1459") -> str:
    """Fold ``name`` for comparison under the server's CASEMAPPING."""
    folded = name.lower()
    if mapping == "ascii":
        return "".join(c.lower() if "A" <= c <= "Z" else c for c in name)
    if mapping in ("rfc1459", "rfc1459-strict"):
        folded = folded.replace("[", "{").replace("]", "}").replace("\\", "|")
        if mapping == "rfc1459":
            folded = folded.replace("~", "^")
    return folded


def parse_server_time(value: str | None) -> datetime | None:
    """The ``time`` tag (IRCv3 server-time) as an aware datetime, or None if absent or bad."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _just_before(server_time: str) -> str:
    """The server-time one millisecond before ``server_time`` ("" if it is not one), so
    that "after it" also covers messages sent in the same millisecond."""
    moment = parse_server_time(server_time)
    if moment is None:
        return ""
    return format_time(round(moment.timestamp() * 1000) - 1)


def next_nick(nick: str, nicklen: int = 30) -> str:
    """The nick to try after ``nick`` was refused as in use: append ``_`` (within NICKLEN)."""
    candidate = nick + "_"
    if len(candidate) <= nicklen:
        return candidate
    trimmed = nick[: nicklen - 1]
    if trimmed + "_" != nick:
        return trimmed + "_"
    return nick[: nicklen - 2] + str(random.randint(0, 9)) + "_"


def decode_line(raw: bytes) -> str:
    """Decode one received line: UTF-8, or Latin-1 for the odd legacy client."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def tls_context(verify: bool = True) -> ssl.SSLContext:
    """A client TLS context: the system's CAs and host name check, or (``verify=False``) none."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def cert_fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate as ``AA:BB:...``."""
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


class TLSFailure(ConnectionError):
    """The TLS handshake failed; the message says why in the user's words."""


class TLSStream:
    """One TLS session over a connected socket, safe to use from a reader and a writer.

    ``recv`` and ``sendall`` mirror the socket's; records are made and read through
    memory BIOs under one lock, and every record goes out in the order it was made.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, hostname: str) -> None:
        self.sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=hostname)
        self._lock = threading.Lock()

    def handshake(self) -> None:
        """Complete the handshake (blocking, within the socket's timeout)."""
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(_RECV_SIZE)
                if not data:
                    raise ConnectionResetError("closed during the TLS handshake") from None
                self._incoming.write(data)
            except ssl.SSLError:
                self._flush_quietly()  # the alert tells the server why
                raise
        self._flush()

    @property
    def version(self) -> str:
        """The negotiated protocol, such as ``TLSv1.3``."""
        return self._tls.version() or ""

    def fingerprint(self) -> str:
        """The SHA-256 fingerprint of the server's certificate."""
        der = self._tls.getpeercert(binary_form=True)
        return cert_fingerprint(der) if der else ""

    def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending:
            self.sock.sendall(pending)

    def _flush_quietly(self) -> None:
        try:
            self._flush()
        except OSError:
            pass

    def recv(self, size: int) -> bytes:
        """Plaintext from the server; ``b""`` at the end of the stream."""
        while True:
            data = self.sock.recv(size)
            if not data:
                return b""
            chunks = []
            with self._lock:
                self._incoming.write(data)
                while True:
                    try:
                        chunk = self._tls.read(size)
                    except ssl.SSLWantReadError:
                        break
                    except ssl.SSLZeroReturnError:  # close_notify: a clean end
                        return b"".join(chunks)
                    if not chunk:
                        break
                    chunks.append(chunk)
                self._flush()  # a key update may want an answer
            if chunks:
                return b"".join(chunks)
            # Only handshake records (a session ticket, say): read on.

    def sendall(self, data: bytes) -> None:
        """Encrypt ``data`` and send the records."""
        with self._lock:
            self._tls.write(data)
            self._flush()


Handler = Callable[["ChatModel", Message], None]
HANDLERS: dict[str, Handler] = {}


def handles(*commands: str) -> Callable[[Handler], Handler]:
    """Register a method as the handler of IRC ``commands`` in :data:`HANDLERS`."""

    def register(func: Handler) -> Handler:
        for name in commands:
            HANDLERS[name] = func
        return func

    return register


class ChatModel:
    """An IRC connection that reconnects, keeps channel state and emits :class:`Event` s."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        nick: str = "kibitzer",
        *,
        channels: Iterable[str] = ("#general",),
        password: str | None = None,
        tls: bool = False,
        tls_verify: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        username: str | None = None,
        realname: str = "Kibitz user",
        events: queue.Queue[Event] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        rand: Callable[[], float] = random.random,
        connect_timeout: float = 10.0,
        keepalive: float = 60.0,
        reconnect: bool = True,
        wanted_caps: Iterable[str] = WANTED_CAPS,
    ) -> None:
        self.host = host
        self.port = port
        self.password = password or None
        #: TLS is used when asked for or when a context is given; ``tls_verify=False``
        #: accepts any certificate (its fingerprint is shown instead).
        self.tls = tls or ssl_context is not None
        self.tls_verify = tls_verify if ssl_context is None else ssl_context.check_hostname
        self.ssl_context = ssl_context
        self.tls_fingerprint = ""  # of the certificate of the current connection
        self.tls_version = ""
        self.username = username or _username(nick)
        self.realname = realname
        self.events: queue.Queue[Event] = events if events is not None else queue.Queue()
        self.clock = clock
        self.rand = rand
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.reconnect = reconnect
        self.wanted_caps = tuple(wanted_caps)
        self._stop = threading.Event()
        self._sleep = sleep if sleep is not None else self._stop.wait
        # Set by set_password (and stop): a connection refused for its password waits here.
        self._wake = threading.Event()
        self._password_refused = False
        self._lock = threading.RLock()  # guards the IRC state below
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._outq: queue.Queue[bytes | None] | None = None
        self._writer: threading.Thread | None = None
        # IRC state
        self.nick = nick
        self.wanted_nick = nick
        self.registered = False
        self.connected = False
        self.caps: set[str] = set()
        self.away = False
        self.mask: str | None = None  # our nick!user@host as the server relays it
        self.casemapping = "rfc1459"
        self.chantypes = "#&"
        self.prefixes: dict[str, str] = {"o": "@", "v": "+"}  # mode -> prefix, by rank
        self.chanmodes = ("beI", "k", "l", "imnpst")
        self.nicklen = 30
        self.network = ""
        self.channels: dict[str, Channel] = {}
        self.queries: dict[str, str] = {}  # folded nick -> display nick
        self._wanted: dict[str, str] = {}  # folded channel -> name, joined on (re)connect
        for name in channels:
            if name:
                self._wanted[self.fold(name)] = name
        self._names: dict[str, list[tuple[str, str]]] = {}
        self._cap_ls: dict[str, str] = {}
        self._cap_done = False
        self._ping_pending: float | None = None
        # History: open batches by reference, and what was shown per folded conversation.
        self.history_page = HISTORY_PAGE
        self.msgreftypes: tuple[str, ...] = ("msgid", "timestamp")
        self._batches: dict[str, _Batch] = {}
        self._logs: dict[str, _Log] = {}

    # --- small helpers ---------------------------------------------------------------
    def fold(self, name: str) -> str:
        """Casefold ``name`` with the server's CASEMAPPING."""
        return casefold(name, self.casemapping)

    def is_channel(self, name: str) -> bool:
        """True when ``name`` names a channel on this server."""
        return bool(name) and name[0] in self.chantypes

    def is_me(self, nick: str | None) -> bool:
        """True when ``nick`` is our own nick."""
        return nick is not None and self.fold(nick) == self.fold(self.nick)

    def _emit(self, kind: str, **fields: object) -> None:
        self.events.put(Event(kind, **fields))  # type: ignore[arg-type]

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (and keep reconnecting until :meth:`stop`)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
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

    def quit(self, reason: str = "Leaving", timeout: float = 2.0) -> None:
        """Send QUIT (when connected), then stop."""
        self._stop.set()
        self._wake.set()
        outq = self._outq
        if outq is not None and self.connected:
            outq.put(encode(build("QUIT", reason or "Leaving")))
            outq.put(None)  # the writer exits after flushing, then closes the socket
            writer = self._writer
            if writer is not None:
                writer.join(timeout)
        self.stop(timeout)

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
        shown_error = ""  # a TLS failure goes to the server window once, not every retry
        while not self._stop.is_set():
            secure = " (TLS)" if self.tls else ""
            self._emit(
                Kind.STATUS,
                state="connecting",
                text=f"Connecting to {self.host}:{self.port}{secure}…",
            )
            error = ""
            try:
                sock = socket.create_connection((self.host, self.port), self.connect_timeout)
            except OSError as exc:
                error = _describe(exc)
            else:
                try:
                    self._session(sock)
                except OSError as exc:  # ConnectionAbortedError("Ping timeout") included
                    error = _describe(exc)
                except Exception as exc:  # never leave the window "connected" to a dead thread
                    log.exception("connection failed")
                    error = f"internal error: {exc}"
                finally:
                    if self.registered:
                        attempt = 0
                    self._end_session(sock)
            if self._stop.is_set():
                break
            if error.startswith("TLS") and error != shown_error:
                self._emit(Kind.ERROR, target="", text=error)
            shown_error = error
            text = f"Disconnected from {self.host}:{self.port}" + (f": {error}" if error else "")
            if self._password_refused:
                self._wait_for_password()
                attempt = 0
                continue
            self._emit(Kind.STATUS, state="disconnected", text=text)
            if not self.reconnect:
                break
            delay = backoff_delay(attempt, self.rand())
            attempt += 1
            self._emit(
                Kind.STATUS,
                state="reconnecting",
                delay=delay,
                text=f"{text} — reconnecting in {delay:.0f} s",
            )
            self._sleep(delay)
        self._emit(Kind.STATUS, state="closed", text="Disconnected")

    def _wait_for_password(self) -> None:
        """Retrying with the refused password is pointless: wait for set_password (or stop)."""
        self._emit(
            Kind.STATUS,
            state="disconnected",
            text=f"{self.host}:{self.port} wants a password — not connected",
        )
        self._wake.wait()
        self._wake.clear()
        self._password_refused = False

    def set_password(self, password: str | None) -> None:
        """Use ``password`` from now on; a connection waiting for one connects again."""
        self.password = password or None
        self._wake.set()

    def _secure(self, sock: socket.socket) -> TLSStream:
        """The TLS handshake on a fresh connection; failures explained for the status bar."""
        context = self.ssl_context or tls_context(self.tls_verify)
        stream = TLSStream(sock, context, self.host)
        try:
            stream.handshake()
        except ssl.SSLCertVerificationError as exc:
            reason = exc.verify_message or exc.reason or str(exc)
            raise TLSFailure(f"TLS certificate not trusted: {reason} — {INSECURE_HINT}") from exc
        except ssl.SSLError as exc:
            reason = exc.reason or str(exc)
            raise TLSFailure(f"TLS handshake failed: {reason} (is this a TLS port?)") from exc
        self.tls_version = stream.version
        self.tls_fingerprint = stream.fingerprint()
        if self.tls_verify:
            state = "verified"
            text = f"TLS ({self.tls_version}): the certificate of {self.host} is verified"
        else:
            state = "insecure"
            text = (
                f"TLS ({self.tls_version}) with an unverified certificate: check that its "
                f"SHA-256 fingerprint is {self.tls_fingerprint}"
            )
        self._emit(Kind.TLS, target="", state=state, text=text, fingerprint=self.tls_fingerprint)
        return stream

    def connected_text(self) -> str:
        """The status bar's sentence for a live connection (with the TLS state)."""
        text = f"Connected to {self.host}:{self.port} as {self.nick}"
        if self.tls and self.tls_verify:
            text += " · TLS"
        elif self.tls:
            text += f" · TLS, unverified certificate SHA-256 {self.tls_fingerprint}"
        return text

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
            self.registered = False
            self.caps = set()
            self._cap_ls = {}
            self._cap_done = False
            self._ping_pending = None
            self.nick = self.wanted_nick
            self.mask = None
            self._password_refused = False
        self._writer = threading.Thread(
            target=self._write_loop, args=(sock, stream, outq), name="kibitz-writer", daemon=True
        )
        self._writer.start()
        if self._stop.is_set():
            return
        lines = ["CAP LS 302"]
        if self.password:
            lines.append(build("PASS", self.password))
        lines += [build("NICK", self.nick), build("USER", self.username, "0", "*", self.realname)]
        for line in lines:
            self.send_raw(line)
        sock.settimeout(self.keepalive)
        reader = LineReader(limit=1 << 16)
        while not self._stop.is_set():
            try:
                data = stream.recv(_RECV_SIZE)
            except TimeoutError:
                if self._ping_pending is not None:
                    raise ConnectionAbortedError("Ping timeout") from None
                self._ping_pending = self.clock()
                self.send_raw(build("PING", "kibitz"))
                continue
            if not data:
                return
            self._ping_pending = None
            for raw in reader.feed(data):
                if isinstance(raw, Overlong):
                    continue
                self.handle_line(decode_line(raw))

    def _end_session(self, sock: socket.socket) -> None:
        with self._lock:
            outq = self._outq
            self._outq = None
            self._sock = None
            self.connected = False
            self.registered = False
            self._names.clear()
            joined = list(self.channels.values())
            self.channels.clear()
            self._batches.clear()
            for log_ in self._logs.values():
                log_.pending.clear()  # unanswered requests died with the connection
        if outq is not None:
            outq.put(None)
        try:
            sock.close()
        except OSError:
            pass
        for channel in joined:
            self._emit(Kind.MEMBERS, target=channel.name, members=())

    def _write_loop(
        self,
        sock: socket.socket,
        stream: socket.socket | TLSStream,
        outq: queue.Queue[bytes | None],
    ) -> None:
        while True:
            data = outq.get()
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
            try:
                stream.sendall(b"".join(chunks))
            except OSError:
                break
        if self._stop.is_set():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # --- sending -----------------------------------------------------------------------
    def send_raw(self, line: str) -> bool:
        """Queue one line for the server; False when there is no connection."""
        outq = self._outq
        if outq is None or not self.connected:
            return False
        try:
            outq.put(encode(line))
        except UnicodeEncodeError:
            return False
        return True

    def _prefix_len(self) -> int:
        if self.mask:
            return len(self.mask.encode("utf-8"))
        # Until the server shows us our own prefix, assume the longest it could be.
        return len(self.nick.encode()) + 2 + _USER_LEN_GUESS + _MAX_HOST

    def budget(self, command: str, target: str, extra: int = 0) -> int:
        """Bytes of text that fit in one ``command`` to ``target`` as the server relays it."""
        # ":" mask " " command " " target " :" text CRLF
        head = 1 + self._prefix_len() + 1 + len(command) + 1 + len(target.encode()) + 2
        return max(16, MAX_LINE - 2 - head - extra)

    def split_message(
        self, target: str, text: str, command: str = "PRIVMSG", extra: int = 0
    ) -> list[str]:
        """Split ``text`` into lines (one per pasted line) that each fit in one message."""
        pieces: list[str] = []
        budget = self.budget(command, target, extra)
        for line in text.replace("\0", "").splitlines():
            if line.strip():
                pieces.extend(split_utf8(line, budget))
        return pieces

    def say(self, target: str, text: str, *, action: bool = False, notice: bool = False) -> bool:
        """Send ``text`` to a channel or nick: one message per line, split to fit 512 bytes."""
        if not self.registered:
            return False
        command = "NOTICE" if notice else "PRIVMSG"
        extra = len("\x01ACTION \x01") if action else 0
        pieces = self.split_message(target, text, command, extra)
        if not pieces:
            return True
        if not self.is_channel(target):
            self.open_query(target)
        for piece in pieces:
            body = f"\x01ACTION {piece}\x01" if action else piece
            if not self.send_raw(build(command, target, body)):
                return False
            if "echo-message" not in self.caps:
                self._emit(
                    Kind.MESSAGE,
                    target=target,
                    nick=self.nick,
                    text=piece,
                    time=datetime.now(timezone.utc),
                    own=True,
                    action=action,
                    notice=notice,
                )
        return True

    def join(self, channel: str, key: str | None = None) -> bool:
        """Join ``channel`` (and remember it for reconnects)."""
        with self._lock:
            self._wanted[self.fold(channel)] = channel
        params = [channel] + ([key] if key else [])
        return self.send_raw(build("JOIN", *params))

    def part(self, channel: str, reason: str = "") -> bool:
        """Leave ``channel`` (and stop rejoining it)."""
        with self._lock:
            self._wanted.pop(self.fold(channel), None)
        params = [channel] + ([reason] if reason else [])
        return self.send_raw(build("PART", *params))

    def set_nick(self, nick: str) -> bool:
        """Ask the server for a new nick; the change shows when the server confirms it."""
        self.wanted_nick = nick
        if not self.connected:
            self.nick = nick
            return True
        return self.send_raw(build("NICK", nick))

    def set_topic(self, channel: str, topic: str | None) -> bool:
        """Set the topic of ``channel``, or ask for it when ``topic`` is None."""
        if topic is None:
            return self.send_raw(build("TOPIC", channel))
        return self.send_raw(build("TOPIC", channel, topic))

    def set_away(self, message: str | None) -> bool:
        """Mark us away with ``message``, or back when it is None or empty."""
        if message:
            return self.send_raw(build("AWAY", message))
        return self.send_raw("AWAY")

    def open_query(self, nick: str) -> None:
        """Remember a direct conversation with ``nick`` (and fetch its history when new)."""
        key = self.fold(nick)
        with self._lock:
            new = key not in self.queries
            self.queries.setdefault(key, nick)
        if new and self.registered:
            self._catch_up(nick)

    def close_query(self, nick: str) -> None:
        """Forget a direct conversation."""
        with self._lock:
            self.queries.pop(self.fold(nick), None)
            self._logs.pop(self.fold(nick), None)

    # --- history (IRCv3 draft/chathistory) ---------------------------------------------
    @property
    def history_available(self) -> bool:
        """True when the server keeps history we can page through (chathistory and batch)."""
        return self.registered and {"draft/chathistory", "batch"} <= self.caps

    def load_older(self, name: str) -> bool:
        """Ask for the page before the oldest message shown of ``name``; False if nothing to ask."""
        with self._lock:
            log_ = self._logs.get(self.fold(name))
            if log_ is None or log_.complete or log_.pending or not log_.oldest:
                return False
            oldest, name = log_.oldest, log_.name
        return self._request_history(name, "before", f"msgid={oldest}")

    def _catch_up(self, name: str) -> bool:
        """After a (re)join: what was missed since the newest message seen, or the latest page."""
        with self._lock:
            log_ = self._logs.get(self.fold(name))
            newest = log_.newest if log_ is not None else ""
        if newest:
            return self._request_history(name, "after", f"msgid={newest}")
        return self._request_history(name, "latest", "*")

    def _request_history(self, name: str, mode: str, ref: str) -> bool:
        if not self.history_available:
            return False
        limit = self.history_page
        try:
            line = build("CHATHISTORY", mode.upper(), name, ref, str(limit))
        except (LineError, ValueError):  # a msgid the codec cannot carry
            return False
        request = (mode, limit, ref)
        with self._lock:
            log_ = self._logs.setdefault(self.fold(name), _Log(name))
            log_.pending.append(request)
        if self.send_raw(line):
            return True
        with self._lock:
            if request in log_.pending:
                log_.pending.remove(request)  # never sent: nothing to wait for
        return False

    def _seen_live(self, conversation: str, msgid: str, when: str = "") -> bool:
        """Record a live message's id; False when it was already shown (a duplicate)."""
        if not msgid or not conversation:
            return True
        with self._lock:
            log_ = self._logs.setdefault(self.fold(conversation), _Log(conversation))
            if not log_.remember(msgid):
                return False
            log_.newest, log_.newest_time = msgid, when
            log_.oldest = log_.oldest or msgid
        return True

    @handles("BATCH")
    def _on_batch(self, msg: Message) -> None:
        ref = msg.param(0)
        if ref.startswith("+") and len(ref) > 1:
            self._batches[ref[1:]] = _Batch(msg.param(1).lower(), list(msg.params[2:]))
        elif ref.startswith("-"):
            batch = self._batches.pop(ref[1:], None)
            if batch is not None and batch.kind == "chathistory" and batch.params:
                self._history_batch(batch.params[0], batch.lines)

    def _history_batch(self, target: str, lines: list[Message]) -> None:
        key = self.fold(target)
        with self._lock:
            chan = self.channels.get(key)
            name = chan.name if chan is not None else self.queries.get(key, target)
            log_ = self._logs.setdefault(key, _Log(name))
            # The server answers in order; an unasked batch is a join replay: the latest.
            mode, limit, ref = log_.pending.pop(0) if log_.pending else ("latest", 0, "*")
            parsed = [h for h in (self._history_line(m) for m in lines) if h is not None]
            dated = [m for m in lines if m.tags.get("msgid")]
            ids = [m.tags["msgid"] for m in dated]
            fresh = tuple(h for h in parsed if not h.msgid or log_.remember(h.msgid))
            if mode in ("latest", "before"):
                if ids:
                    log_.oldest = ids[0]
                    if not log_.newest:
                        log_.newest, log_.newest_time = ids[-1], dated[-1].tags.get("time", "")
                if limit and len(lines) < limit:
                    log_.complete = True
            elif ids:
                log_.newest, log_.newest_time = ids[-1], dated[-1].tags.get("time", "")
            more = mode == "after" and bool(ids) and limit > 0 and len(lines) >= limit
            # Nothing after a msgid may mean nothing was missed, or that the server no
            # longer knows that msgid (it lost its last moments): ask once more by time.
            since = (
                _just_before(log_.newest_time)
                if mode == "after"
                and not lines
                and ref.startswith("msgid=")
                and "timestamp" in self.msgreftypes
                else ""
            )
        self._emit(Kind.HISTORY, target=name, state=mode, messages=fresh)
        if more:  # more was missed than one page holds: keep going until none is left
            self._request_history(name, "after", f"msgid={ids[-1]}")
        elif since:
            self._request_history(name, "after", f"timestamp={since}")

    def _history_line(self, msg: Message) -> HistoryLine | None:
        command = msg.command.upper()
        nick = msg.nick or msg.source or ""
        when = parse_server_time(msg.tags.get("time"))
        msgid = msg.tags.get("msgid", "")
        if command == "TOPIC":
            return HistoryLine(msgid, when, nick, msg.param(1), own=self.is_me(nick), topic=True)
        if command not in ("PRIVMSG", "NOTICE"):
            return None
        text = msg.param(1)
        action = False
        if text.startswith("\x01"):
            verb, _, rest = text.strip("\x01").partition(" ")
            if verb.upper() != "ACTION":
                return None  # a CTCP request or reply from the past needs no answer now
            text, action = rest, True
        return HistoryLine(
            msgid,
            when,
            nick,
            strip_formatting(text),
            own=self.is_me(nick),
            action=action,
            notice=command == "NOTICE",
        )

    @handles("FAIL")
    def _on_fail(self, msg: Message) -> None:
        if msg.param(0).upper() != "CHATHISTORY":
            return
        # The failed request is no longer pending: the one for a named target, else the oldest.
        with self._lock:
            waiting = [log_ for log_ in self._logs.values() if log_.pending]
            named = [log_ for log_ in waiting if self.fold(log_.name) in map(self.fold, msg.params)]
            for log_ in (named or waiting)[:1]:
                log_.pending.pop(0)
        log.debug("history request failed: %s", " ".join(msg.params))

    # --- queries about the state (any thread) ---------------------------------------
    def members(self, channel: str) -> list[tuple[str, str]]:
        """``(prefix, nick)`` pairs of ``channel``, ops first, then voiced, then by name."""
        with self._lock:
            chan = self.channels.get(self.fold(channel))
            if chan is None:
                return []
            return self._sorted_members(chan)

    def _sorted_members(self, chan: Channel) -> list[tuple[str, str]]:
        ranks = {mode: i for i, mode in enumerate(self.prefixes)}
        none = len(ranks)

        def rank(member: Member) -> int:
            return min((ranks.get(m, none) for m in member.modes), default=none)

        ordered = sorted(chan.members.values(), key=lambda m: (rank(m), self.fold(m.nick)))
        return [(self._prefix_of(m), m.nick) for m in ordered]

    def _prefix_of(self, member: Member) -> str:
        for mode, prefix in self.prefixes.items():
            if mode in member.modes:
                return prefix
        return ""

    def topic(self, channel: str) -> str:
        """The topic of ``channel`` ("" when none or not joined)."""
        with self._lock:
            chan = self.channels.get(self.fold(channel))
            return chan.topic if chan else ""

    def joined(self) -> list[str]:
        """Names of the channels we are in."""
        with self._lock:
            return [c.name for c in self.channels.values()]

    def wanted_channels(self) -> list[str]:
        """Channels joined on (re)connect."""
        with self._lock:
            return list(self._wanted.values())

    # --- receiving ---------------------------------------------------------------------
    def handle_line(self, line: str) -> None:
        """Process one line from the server (the reader thread calls this)."""
        try:
            msg = parse(line)
        except LineError:
            return
        ref = msg.tags.get("batch")
        if ref and msg.command.upper() != "BATCH":
            batch = self._batches.get(ref)
            if batch is not None and batch.kind == "chathistory":
                # History is collected and shown as one page, never as live traffic.
                if len(batch.lines) < _BATCH_CAP:
                    batch.lines.append(msg)
                return
        handler = HANDLERS.get(msg.command.upper())
        if handler is None:
            if msg.command.isdigit():
                handler = ChatModel._on_numeric
            else:
                return
        try:
            handler(self, msg)
        except (IndexError, ValueError, KeyError) as exc:  # a malformed line harms nobody
            log.debug("ignored %r: %s", line, exc)
        except Exception:  # a bug here must not end the connection: log it and go on
            log.exception("error handling %r", line)

    def _time(self, msg: Message) -> datetime:
        return parse_server_time(msg.tags.get("time")) or datetime.now(timezone.utc)

    def _learn_mask(self, msg: Message) -> None:
        if msg.source and "!" in msg.source and self.is_me(msg.nick):
            self.mask = msg.source

    @handles("PING")
    def _on_ping(self, msg: Message) -> None:
        self.send_raw(build("PONG", *msg.params[-1:]))

    @handles("PONG")
    def _on_pong(self, msg: Message) -> None:
        self._ping_pending = None  # the keep-alive was answered

    @handles("CAP")
    def _on_cap(self, msg: Message) -> None:
        sub = msg.param(1).upper()
        if sub == "LS":
            more = len(msg.params) > 3 and msg.params[2] == "*"
            for item in msg.params[-1].split():
                name, _, value = item.partition("=")
                self._cap_ls[name] = value
            if more:
                return
            wanted = [c for c in self.wanted_caps if c in self._cap_ls]
            if wanted and not self.registered:
                self.send_raw(build("CAP", "REQ", " ".join(wanted)))
            elif not self.registered:
                self._cap_end()
        elif sub == "ACK":
            for name in msg.params[-1].split():
                if name.startswith("-"):
                    self.caps.discard(name[1:])
                else:
                    self.caps.add(name)
            self._cap_end()
        elif sub == "NAK":
            self._cap_end()
        elif sub == "NEW":
            new = [c for c in msg.params[-1].split() if c.partition("=")[0] in self.wanted_caps]
            if new:
                self.send_raw(build("CAP", "REQ", " ".join(c.partition("=")[0] for c in new)))
        elif sub == "DEL":
            for name in msg.params[-1].split():
                self.caps.discard(name)

    def _cap_end(self) -> None:
        if not self._cap_done and not self.registered:
            self._cap_done = True
            self.send_raw("CAP END")

    @handles(RPL_WELCOME)
    def _on_welcome(self, msg: Message) -> None:
        with self._lock:
            self.registered = True
            self.nick = msg.params[0]
            wanted = list(self._wanted.values())
        text = msg.params[-1]
        if "!" in text.rsplit(" ", 1)[-1]:
            self.mask = text.rsplit(" ", 1)[-1]
        self._emit(Kind.REGISTERED, nick=self.nick, text=text)
        self._emit(
            Kind.STATUS,
            state="connected",
            nick=self.nick,
            text=self.connected_text(),
        )
        self._emit(Kind.INFO, target="", text=text, time=self._time(msg))
        for start in range(0, len(wanted), 10):
            self.send_raw(build("JOIN", ",".join(wanted[start : start + 10])))
        with self._lock:
            queries = list(self.queries.values())
        for nick in queries:
            self._catch_up(nick)
        if self.away:
            self.send_raw(build("AWAY", "Away"))

    @handles(RPL_ISUPPORT)
    def _on_isupport(self, msg: Message) -> None:
        for token in msg.params[1:-1]:
            name, _, value = token.partition("=")
            if name == "CASEMAPPING" and value:
                self._refold(value)
            elif name == "CHANTYPES":
                self.chantypes = value
            elif name == "NETWORK":
                self.network = value
            elif name == "NICKLEN" and value.isdigit():
                self.nicklen = int(value)
            elif name == "CHATHISTORY" and value.isdigit() and int(value) > 0:
                self.history_page = min(HISTORY_PAGE, int(value))
            elif name == "MSGREFTYPES":
                self.msgreftypes = tuple(value.split(","))
            elif name == "CHANMODES":
                parts = ([*value.split(","), "", "", "", ""])[:4]
                self.chanmodes = (parts[0], parts[1], parts[2], parts[3])
            elif name == "PREFIX":
                m = re.fullmatch(r"\(([^)]*)\)(.*)", value)
                if m and len(m.group(1)) == len(m.group(2)):
                    self.prefixes = dict(zip(m.group(1), m.group(2), strict=False))

    def _refold(self, mapping: str) -> None:
        with self._lock:
            self.casemapping = mapping
            self._wanted = {self.fold(n): n for n in self._wanted.values()}
            self.queries = {self.fold(n): n for n in self.queries.values()}

    def _on_numeric(self, msg: Message) -> None:
        code = msg.command
        args = msg.params[1:]
        if code in _QUIET:
            return
        text = _numeric_text(code, args)
        is_error = code.startswith(("4", "5")) and code not in (ERR_NICKNAMEINUSE,)
        if code in (RPL_MOTD,):
            self._emit(Kind.INFO, target="", text=text, time=self._time(msg))
        elif is_error:
            self._emit(Kind.ERROR, target=None, text=text, time=self._time(msg))
        elif code in _ANSWERS:
            self._emit(Kind.INFO, target=None, text=text, time=self._time(msg))
        else:
            self._emit(Kind.INFO, target="", text=text, time=self._time(msg))

    @handles(ERR_NICKNAMEINUSE, ERR_ERRONEUSNICKNAME, ERR_NICKCOLLISION, ERR_NONICKNAMEGIVEN)
    def _on_nick_error(self, msg: Message) -> None:
        tried = msg.param(1, self.nick)
        reason = msg.params[-1]
        if self.registered:
            self._emit(Kind.ERROR, target=None, text=f"Cannot use the name {tried}: {reason}")
            self.wanted_nick = self.nick
            self._emit(Kind.OWN_NICK, nick=self.nick)
            return
        if msg.command == ERR_NICKNAMEINUSE:
            new = next_nick(tried, self.nicklen)
        else:
            new = "kibitzer" if self.fold(tried) != "kibitzer" else "kibitzer_"
        self._emit(
            Kind.ERROR,
            target="",
            text=f"The name {tried} is taken or invalid ({reason}); trying {new}",
        )
        self.nick = new
        self._emit(Kind.OWN_NICK, nick=new)
        self.send_raw(build("NICK", new))

    @handles(ERR_PASSWDMISMATCH)
    def _on_bad_password(self, msg: Message) -> None:
        if self.registered:  # the answer to OPER, not to the connection password
            self._on_numeric(msg)
            return
        self._password_needed()

    def _password_needed(self) -> None:
        if self._password_refused:
            return
        self._wake.clear()  # only a password given from now on counts
        self._password_refused = True
        text = "The server refused the password" if self.password else "The server wants a password"
        self._emit(Kind.ERROR, target="", text=text)
        self._emit(Kind.PASSWORD, target="", text=text)

    @handles("ERROR")
    def _on_error(self, msg: Message) -> None:
        text = msg.param(0, "Connection closed by the server")
        if not self.registered and "password" in text.lower():
            self._password_needed()
        self._emit(Kind.ERROR, target="", text=text)

    @handles("JOIN")
    def _on_join(self, msg: Message) -> None:
        name = msg.param(0)
        nick = msg.nick or ""
        own = self.is_me(nick)
        with self._lock:
            key = self.fold(name)
            if own:
                self._learn_mask(msg)
                self.channels[key] = Channel(name)
                self._wanted.setdefault(key, name)
                self._names.pop(key, None)
            chan = self.channels.get(key)
            if chan is None:
                return
            chan.members[self.fold(nick)] = Member(nick)
            members = tuple(self._sorted_members(chan))
        self._emit(Kind.JOIN, target=name, nick=nick, own=own, time=self._time(msg))
        self._emit(Kind.MEMBERS, target=name, members=members)
        if own:
            self._catch_up(name)

    @handles("PART")
    def _on_part(self, msg: Message) -> None:
        self._leave(msg, Kind.PART, msg.nick or "", msg.param(1))

    @handles("KICK")
    def _on_kick(self, msg: Message) -> None:
        reason = msg.param(2)
        text = f"by {msg.nick}" + (f": {reason}" if reason else "")
        self._leave(msg, Kind.KICK, msg.param(1), text)

    def _leave(self, msg: Message, kind: str, nick: str, text: str) -> None:
        name = msg.param(0)
        own = self.is_me(nick)
        with self._lock:
            key = self.fold(name)
            chan = self.channels.get(key)
            if chan is None:
                return
            name = chan.name
            if own:
                del self.channels[key]
                if kind == Kind.PART:
                    self._wanted.pop(key, None)
                    self._logs.pop(key, None)
                members: tuple[tuple[str, str], ...] = ()
            else:
                chan.members.pop(self.fold(nick), None)
                members = tuple(self._sorted_members(chan))
        self._emit(kind, target=name, nick=nick, text=text, own=own, time=self._time(msg))
        self._emit(Kind.MEMBERS, target=name, members=members)

    @handles("QUIT")
    def _on_quit(self, msg: Message) -> None:
        nick = msg.nick or ""
        folded = self.fold(nick)
        changed: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        with self._lock:
            for chan in self.channels.values():
                if chan.members.pop(folded, None) is not None:
                    changed.append((chan.name, tuple(self._sorted_members(chan))))
            query = self.queries.get(folded)
        when = self._time(msg)
        for name, members in changed:
            self._emit(Kind.QUIT, target=name, nick=nick, text=msg.param(0), time=when)
            self._emit(Kind.MEMBERS, target=name, members=members)
        if query is not None:
            self._emit(Kind.QUIT, target=query, nick=nick, text=msg.param(0), time=when)

    @handles("NICK")
    def _on_nick(self, msg: Message) -> None:
        old = msg.nick or ""
        new = msg.param(0)
        own = self.is_me(old)
        folded_old, folded_new = self.fold(old), self.fold(new)
        changed: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        with self._lock:
            if own:
                self.nick = new
                self.wanted_nick = new
                if self.mask:
                    self.mask = new + self.mask[self.mask.index("!") :]
            for chan in self.channels.values():
                member = chan.members.pop(folded_old, None)
                if member is not None:
                    member.nick = new
                    chan.members[folded_new] = member
                    changed.append((chan.name, tuple(self._sorted_members(chan))))
            query = self.queries.pop(folded_old, None)
            if query is not None:
                self.queries[folded_new] = new
                moved = self._logs.pop(folded_old, None)
                if moved is not None:
                    moved.name = new
                    self._logs[folded_new] = moved
        when = self._time(msg)
        for name, members in changed:
            self._emit(Kind.NICK, target=name, nick=new, old=old, own=own, time=when)
            self._emit(Kind.MEMBERS, target=name, members=members)
        if query is not None:
            self._emit(Kind.NICK, target=query, nick=new, old=old, own=own, time=when)
        if own:
            self._emit(Kind.OWN_NICK, nick=new, old=old)
            self._emit(
                Kind.STATUS,
                state="connected",
                nick=new,
                text=self.connected_text(),
            )

    @handles("TOPIC")
    def _on_topic(self, msg: Message) -> None:
        name, topic = msg.param(0), msg.param(1)
        self._seen_live(name, msg.tags.get("msgid", ""), msg.tags.get("time", ""))
        with self._lock:
            chan = self.channels.get(self.fold(name))
            if chan is not None:
                chan.topic = topic
                name = chan.name
        self._emit(
            Kind.TOPIC,
            target=name,
            nick=msg.nick or "",
            text=topic,
            own=self.is_me(msg.nick),
            time=self._time(msg),
        )

    @handles(RPL_TOPIC, RPL_NOTOPIC)
    def _on_rpl_topic(self, msg: Message) -> None:
        name = msg.param(1)
        topic = msg.param(2) if msg.command == RPL_TOPIC else ""
        with self._lock:
            chan = self.channels.get(self.fold(name))
            if chan is not None:
                chan.topic = topic
                name = chan.name
        self._emit(Kind.TOPIC, target=name, text=topic, time=self._time(msg))

    @handles(RPL_NAMREPLY)
    def _on_names(self, msg: Message) -> None:
        name = msg.param(2)
        key = self.fold(name)
        prefix_chars = "".join(self.prefixes.values())
        modes_of = {p: m for m, p in self.prefixes.items()}
        entries = self._names.setdefault(key, [])
        for item in msg.params[-1].split():
            stripped = item.lstrip(prefix_chars)
            modes = "".join(modes_of[c] for c in item[: len(item) - len(stripped)])
            nick = split_source(stripped)[0] or stripped
            entries.append((modes, nick))

    @handles(RPL_ENDOFNAMES)
    def _on_end_of_names(self, msg: Message) -> None:
        name = msg.param(1)
        key = self.fold(name)
        entries = self._names.pop(key, None)
        if entries is None:
            return
        with self._lock:
            chan = self.channels.get(key)
            if chan is None:
                # A /names for a channel we are not in: show it as text.
                listing = " ".join(n for _, n in entries)
                self._emit(Kind.INFO, target=None, text=f"Users on {name}: {listing}")
                return
            chan.members = {self.fold(nick): Member(nick, modes) for modes, nick in entries}
            members = tuple(self._sorted_members(chan))
            name = chan.name
        self._emit(Kind.MEMBERS, target=name, members=members)

    @handles("MODE")
    def _on_mode(self, msg: Message) -> None:
        target = msg.param(0)
        if not self.is_channel(target):
            return
        modes = msg.param(1)
        args = list(msg.params[2:])
        always = self.chanmodes[0] + self.chanmodes[1] + "".join(self.prefixes)
        on_set = self.chanmodes[2]
        adding = True
        with self._lock:
            chan = self.channels.get(self.fold(target))
            for ch in modes:
                if ch in "+-":
                    adding = ch == "+"
                    continue
                arg = None
                if ch in always or (adding and ch in on_set):
                    arg = args.pop(0) if args else None
                if chan is not None and ch in self.prefixes and arg:
                    member = chan.members.get(self.fold(arg))
                    if member is not None:
                        if adding and ch not in member.modes:
                            member.modes += ch
                        elif not adding:
                            member.modes = member.modes.replace(ch, "")
            members = tuple(self._sorted_members(chan)) if chan is not None else ()
            name = chan.name if chan is not None else target
        text = " ".join(msg.params[1:])
        self._emit(Kind.MODE, target=name, nick=msg.nick or "", text=text, time=self._time(msg))
        if chan is not None:
            self._emit(Kind.MEMBERS, target=name, members=members)

    @handles("PRIVMSG", "NOTICE")
    def _on_message(self, msg: Message) -> None:
        target, text = msg.param(0), msg.param(1)
        nick = msg.nick or ""
        notice = msg.command.upper() == "NOTICE"
        own = self.is_me(nick)
        if own:
            self._learn_mask(msg)
        action = False
        if text.startswith("\x01"):
            body = text.strip("\x01")
            verb, _, rest = body.partition(" ")
            verb = verb.upper()
            if verb == "ACTION":
                text, action = rest, True
            elif notice:
                text = f"CTCP {verb} reply: {rest}"
            else:
                self._ctcp_reply(nick, verb, rest)
                return
        server_line = not msg.source or "!" not in msg.source or not self.registered
        if self.is_channel(target):
            conversation = target
            with self._lock:
                chan = self.channels.get(self.fold(target))
                if chan is not None:
                    conversation = chan.name
        elif server_line and notice:
            conversation = ""
        elif own:
            conversation = target
            self.open_query(target)
        else:
            conversation = nick
            if not notice:
                self.open_query(nick)
            else:
                # A notice from a user goes to an open conversation with them, else the server.
                with self._lock:
                    conversation = self.queries.get(self.fold(nick), "")
        msgid = msg.tags.get("msgid", "")
        if not self._seen_live(conversation, msgid, msg.tags.get("time", "")):
            return  # already shown (it came in a history page first)
        self._emit(
            Kind.MESSAGE,
            target=conversation,
            nick=nick or (msg.source or ""),
            text=strip_formatting(text),
            time=self._time(msg),
            own=own,
            action=action,
            notice=notice,
            msgid=msgid,
        )

    def _ctcp_reply(self, nick: str, verb: str, rest: str) -> None:
        if verb == "VERSION":
            self.send_raw(build("NOTICE", nick, f"\x01VERSION {_VERSION}\x01"))
        elif verb == "PING":
            self.send_raw(build("NOTICE", nick, f"\x01PING {rest}\x01"))

    @handles("INVITE")
    def _on_invite(self, msg: Message) -> None:
        self._emit(Kind.INFO, target=None, text=f"{msg.nick} invites you to {msg.param(1)}")

    @handles("AWAY", "ACCOUNT", "CHGHOST", "SETNAME", "TAGMSG")
    def _on_ignored(self, msg: Message) -> None:
        """Lines the client does not show."""


def _numeric_text(code: str, args: list[str]) -> str:
    """A readable line for a numeric reply (the leading 'our nick' parameter removed)."""
    if code == RPL_WHOISUSER and len(args) >= 5:
        return f"{args[0]} is {args[1]}@{args[2]} ({args[-1]})"
    if code == RPL_WHOISSERVER and len(args) >= 3:
        return f"{args[0]} is on {args[1]} ({args[2]})"
    if code == RPL_WHOISCHANNELS and len(args) >= 2:
        return f"{args[0]} is in {args[1]}"
    if code == RPL_WHOISIDLE and len(args) >= 3 and args[1].isdigit():
        idle = int(args[1])
        return f"{args[0]} has been idle {idle // 60} min {idle % 60} s"
    if code == RPL_AWAY and len(args) >= 2:
        return f"{args[0]} is away: {args[-1]}"
    if code == RPL_WHOREPLY and len(args) >= 7:
        return f"{args[0]}: {args[4]} ({args[1]}@{args[2]}) {args[5]}"
    return " ".join(a for a in args if a)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    return getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__


def _username(nick: str) -> str:
    name = "".join(c for c in nick if c.isalnum() or c in "-_")
    return (name or "kibitz")[:10]
