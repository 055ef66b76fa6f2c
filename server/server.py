"""ChatServer: a ThreadingTCPServer speaking IRC, and the handler that reads one connection."""

from __future__ import annotations

import _thread
import contextlib
import errno
import logging
import math
import re
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import __version__
from .accounts import Account, AccountError, StoreUnavailable
from .clustering import ClusterUnavailable
from .commands import COMMANDS, signin
from .commands.outage import unavailable
from .commands.table import REPLY_BYTES_PER_TOKEN, line_cost, safe_command
from .config import Config
from .cork import cork, current_cork, uncork
from .datalock import DataDirInUse
from .descriptors import Spare, fit_clients, raise_limit
from .handover import announce_handovers
from .history import HistoryError
from .penalty import LoginFailures, Throttle, in_networks, parse_networks
from .presence import notify_offline
from .protocol.codec import (
    MAX_LINE,
    LineError,
    LineReader,
    Message,
    Overlong,
    parse,
)
from .protocol.names import casefold
from .protocol.numerics import (
    ERR_INPUTTOOLONG,
    ERR_NEEDMOREPARAMS,
    ERR_NOTREGISTERED,
    ERR_UNKNOWNCOMMAND,
)
from .reading import read_some, settle_before
from .registry import Registry
from .rehash import Report, rehash
from .sendq import (
    Flusher,
    Outgoing,
    ResponseBuffer,
    send_labeled,
)
from .session import Session
from .stores import open_stores

if TYPE_CHECKING:
    import ssl  # loaded only with TLS (with OpenSSL's libcrypto: megabytes)

    from .clustering import ClusterHook

_NOT_UTF8 = "Message rejected, your IRC software MUST use UTF-8"

log = logging.getLogger("server")

#: Longest tag section a client may send, the leading '@' and the space included.
MAX_CLIENT_TAGS = 4096


#: Why a connection was refused, by what ``Registry.reserve`` answered.
_REFUSALS = {"full": "Server is full", "ip": "Too many connections from your address"}

_HTTP_REQUEST = re.compile(rb"^(GET|HEAD|POST|PUT|DELETE|OPTIONS|CONNECT|PATCH) \S+ HTTP/")


class ClientHandler(socketserver.BaseRequestHandler):
    """Reads one connection line by line and hands each line to the chat server."""

    server: ChatServer | TLSListener

    def setup(self) -> None:
        """Complete TLS when this is the TLS port, then register the new connection."""
        server = self.server
        self.chat: ChatServer = server.chat if isinstance(server, TLSListener) else server
        self.client: Session | None = None
        # verify_request reserved this connection's slot: it becomes the client below,
        # or finish() gives it back (a failed handshake).
        self._reserved = True
        chat = self.chat
        accepted_at = chat.clock()
        try:
            # Writes are already gathered per read (see ``cork``); Nagle would only add delay.
            with contextlib.suppress(OSError):
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = None
            context = self.server.tls_context
            if context is not None:
                from .protocol.tls import TLSSession

                tls = TLSSession(context)
                try:
                    tls.handshake(self.request, chat.config.tls_handshake_timeout, chat.clock)
                except OSError as exc:  # ssl.SSLError, ConnectionError
                    log.info("TLS handshake with %s failed: %s", self.client_address[0], exc)
                    return
            client = Session(
                self.request, self.client_address, chat.config, chat.clock, chat.flusher, tls
            )
            # The registration timeout runs from accept, the handshake included.
            client.connected_at = client.last_active = accepted_at
            chat.registry.add(client)
            self._reserved = False
            self.client = client
        except BaseException:
            self.finish()  # socketserver does not call finish() when setup() raises
            raise

    def handle(self) -> None:
        """The reader loop: bounded reads, split into lines, dispatched in order."""
        client = self.client
        if client is None:
            return
        sock: socket.socket = self.request
        reader = LineReader()
        server = self.chat
        while not client.closing:
            try:
                data = read_some(sock)
            except OSError as exc:
                client.quit_reason = client.quit_reason or f"Read error: {exc.strerror or exc}"
                return
            if not data:
                return
            if client.tls is not None:
                try:
                    data = client.queue.receive(data)
                except OSError as exc:  # an ssl.SSLError: receive raises nothing else
                    client.quit_reason = client.quit_reason or f"TLS error: {exc.reason}"  # type: ignore[attr-defined]
                    return
            client.last_active = server.clock()
            client.ping_sent_at = None
            lines = reader.feed(data)
            costs = server.flood_costs(client, lines)
            if costs is None:
                server.end(client, "Excess Flood")
                return
            queued = sum(costs)  # tokens charged for the lines still waiting behind
            cork()  # replies and relays from this read go out together, once per recipient
            try:
                for line, cost in zip(lines, costs, strict=True):
                    queued -= cost
                    # Asked line by line: a heavy command's replies, charged once it has
                    # run, delay what follows it.
                    delay = server.flood_wait(client, queued)
                    if delay:
                        uncork()  # nothing may wait behind fake lag
                        server.sleep(delay, client.wakeup)
                        cork()
                        if client.closing:
                            return
                    server.dispatch(client, line)
                    if client.closing:
                        return
            finally:
                uncork()

    def finish(self) -> None:
        """The reader's last step: leave the registry (if still in it), tell the peers,
        close the socket. Every connection passes here, however it ended."""
        if self.client is not None:
            self.chat._leave(self.client)
            self.client.queue.close()
        elif self._reserved:
            self._reserved = False
            self.chat.registry.release(str(self.client_address[0]))


class Listener(socketserver.ThreadingTCPServer):
    """One listening port of a :class:`ChatServer`: admission and the accept loop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    block_on_close = False
    #: The server whose clients this port accepts.
    chat: ChatServer
    #: Set when this port speaks TLS.
    tls_context: ssl.SSLContext | None = None

    def verify_request(self, request: socket.socket, client_address: tuple) -> bool:  # type: ignore[override]  # TCP: always a socket
        """The chat server's admission rules, in the accept thread (see ``admit``)."""
        return self.chat.admit(request, client_address, self.tls_context is not None)

    def get_request(self) -> tuple[socket.socket, tuple]:
        """Accept; out of descriptors, turn the newcomer away rather than spin."""
        try:
            return self.socket.accept()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                self.chat.out_of_descriptors(self.socket, self.tls_context is not None)
            raise

    def process_request(self, request: socket.socket, client_address: tuple) -> None:  # type: ignore[override]  # TCP: always a socket
        """Start the connection's bare thread (no Thread object, no wait); none: refuse."""
        try:
            _thread.start_new_thread(self.process_request_thread, (request, client_address))
        except RuntimeError as exc:  # "can't start new thread"
            ip = str(client_address[0])
            self.chat.registry.release(ip)
            log.warning("cannot serve %s: %s", ip, exc)
            self.chat.refuse(request, ip, "Server is full", self.tls_context is not None)
            self.shutdown_request(request)

    def handle_error(self, request: object, client_address: object) -> None:
        """Log a handler's exception; only that connection ends."""
        log.exception("error while serving %s", client_address)


class TLSListener(Listener):
    """The TLS port: accepts connections for the same :class:`ChatServer`."""

    def __init__(self, chat: ChatServer, address: tuple[str, int], context: ssl.SSLContext):
        self.chat = chat
        self.tls_context = context
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, ClientHandler)


class ChatServer(Listener):
    """The Kibitz IRC server: one handler thread per connection, one shared registry.

    Its own socket is the main port (TLS when ``tls_only``); ``tls_listener`` the other.
    """

    def __init__(
        self,
        config: Config | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float, threading.Event], object] | None = None,
    ) -> None:
        self.config = config or Config()
        self.chat = self
        self.clock = clock
        #: How a reader waits out fake lag; it returns early when the event is set.
        self.sleep = sleep or (lambda seconds, event: event.wait(seconds))
        self.registry = Registry(self.config.autojoin)
        self.version = f"kibitz-{__version__}"
        self.started = time.time()
        self.stopping = False
        #: PRIVMSG/NOTICE/TAGMSG lines handled since start (the server window's rate).
        self.messages = 0
        if ":" in self.config.host:
            self.address_family = socket.AF_INET6
        config = self.config
        config.max_clients = fit_clients(config.max_clients, raise_limit())
        self.exempt_networks = parse_networks(config.exempt)
        self.throttle = Throttle(config.throttle, config.throttle_window, clock)
        self.login_failures = LoginFailures(config.login_delay, config.login_ban, clock)
        #: Wrong passwords per account: guessing one account from many addresses is slow too.
        self.account_failures = LoginFailures(config.login_delay, 0, clock)
        self._spare = Spare()
        self._descriptors_warned = -math.inf
        # Where accounts exist, the TLS port asks for client certificates (SASL EXTERNAL).
        wants_certs = config.data_dir is not None
        context = None
        if config.cert and config.key:
            from .protocol.tls import server_context

            context = server_context(config.cert, config.key, wants_certs)
        self.tls_listener: TLSListener | None = None
        if config.tls_only:
            if context is None:
                raise ValueError("--tls-only needs --cert and --key")
            self.tls_context = context
            super().__init__((config.host, config.tls_port or config.port), ClientHandler)
        else:
            super().__init__((config.host, config.port), ClientHandler)
            if config.tls_port is not None:
                if context is None:
                    self.server_close()
                    raise ValueError("--tls-port needs --cert and --key")
                try:
                    self.tls_listener = TLSListener(self, (config.host, config.tls_port), context)
                except OSError:
                    self.server_close()
                    raise
        try:
            self.stores = open_stores(config)
        except (DataDirInUse, HistoryError, AccountError):
            self.server_close()
            if self.tls_listener is not None:
                self.tls_listener.server_close()
            raise
        stores = self.stores
        self.history = stores.history
        self.search = stores.search
        self.accounts = stores.accounts
        self.rooms = stores.rooms
        self.markers = stores.markers
        self.data_lock = stores.data_lock
        self.database = stores.database
        self.flusher = Flusher()
        #: This node's place in a network of nodes (``--cluster``), or None.
        self.cluster: ClusterHook | None = None
        if config.cluster:
            self._join_network()
        self._reaper_stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="kibitz-reaper", daemon=True)
        self._serve_thread: threading.Thread | None = None
        self._serving = False
        self._tls_thread: threading.Thread | None = None

    def _join_network(self) -> None:
        from .cluster import join_network  # redis-py is loaded only for a network

        try:
            node = join_network(self, self.config.host, self.port)
        except ClusterUnavailable:
            self.flusher.close()
            self.stores.close()
            self.server_close()
            if self.tls_listener is not None:
                self.tls_listener.server_close()
            raise
        self.cluster = node
        self.registry.claims = node.claims

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return self.server_address[1]

    @property
    def tls_port(self) -> int | None:
        """The TLS port actually bound, when there is one beside the plain port."""
        return self.tls_listener.server_address[1] if self.tls_listener else None

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        """Serve in a background thread (the server GUI and tests use this)."""
        self._reaper.start()
        self._serve_thread = threading.Thread(
            target=self.serve_forever, name="kibitz-accept", daemon=True
        )
        self._serve_thread.start()
        if self.tls_listener is not None:
            self._tls_thread = threading.Thread(
                target=self.tls_listener.serve_forever,
                args=(0.1,),
                name="kibitz-accept-tls",
                daemon=True,
            )
            self._tls_thread.start()

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        """Accept connections until :meth:`stop` (starts the timeout reaper if needed)."""
        if not self._reaper.is_alive() and not self._reaper_stop.is_set():
            self._reaper.start()
        self._serving = True
        try:
            super().serve_forever(poll_interval)
        finally:
            self._serving = False

    def stop(self, reason: str = "Server shutting down", grace: float = 1.5) -> None:
        """Stop accepting, tell every client, close every socket; return within ``grace``."""
        if self.stopping:
            return
        self.stopping = True
        self._reaper_stop.set()
        if self.cluster is not None:
            self.cluster.stop()  # the others see this node's users quit at once
        if self._serving:
            self.shutdown()
        self.server_close()
        if self.tls_listener is not None:
            if self._tls_thread is not None:
                self.tls_listener.shutdown()
            self.tls_listener.server_close()
        # Nothing already sent may be lost: queue the ERROR behind every client's
        # pending output, let the buffers drain, send FIN, and read until the client
        # closes; only what is still open when the grace time runs out is cut.
        start = time.monotonic()
        clients = self.registry.snapshot()
        for client in clients:
            client.quit_reason = client.quit_reason or reason
            client.send_line("ERROR", reason)
        self._wait(lambda: not any(c.queue.pending for c in clients), start + grace / 2)
        for client in clients:
            client.queue.half_close()
        self._wait(lambda: not self.registry.snapshot(), start + grace * 0.8)
        for client in self.registry.snapshot():
            self._cut(client)
        self._wait(lambda: not self.registry.snapshot(), start + grace)
        if self.cluster is not None:
            self.cluster.close()
        self.flusher.close()
        self.stores.close()

    @staticmethod
    def _wait(done: Callable[[], bool], deadline: float) -> None:
        while not done() and time.monotonic() < deadline:
            time.sleep(0.01)

    def handle_error(self, request: object, client_address: object) -> None:
        """Log a handler's exception; only that connection ends."""
        log.exception("error while serving %s", client_address)

    # --- admission and flood control ------------------------------------------------
    def admit(self, request: socket.socket, client_address: tuple, tls: bool = False) -> bool:
        """Admit a new connection, or refuse it with ERROR saying why.

        Runs in the accept thread, before any byte is read: a refused connection costs
        no thread, and an admitted one is counted (``max_clients``, ``max_per_ip``,
        LUSERS) from here on, its TLS handshake included.
        """
        config = self.config
        ip = str(client_address[0]) if client_address else ""
        exempt = in_networks(ip, self.exempt_networks)
        banned = 0.0 if exempt else self.login_failures.banned(ip)
        if banned:
            reason = f"Too many failed logins; try again in {math.ceil(banned)} seconds"
        elif not exempt and (wait := self.throttle.hit(ip)):
            reason = f"Connecting too fast; try again in {math.ceil(wait)} seconds"
        else:
            limit = 0 if exempt else config.max_per_ip
            refused = self.registry.reserve(ip, config.max_clients, limit)
            if refused is None:
                return True
            reason = _REFUSALS[refused]
        self.refuse(request, ip, reason, tls)
        return False

    def refuse(self, request: socket.socket, ip: str, reason: str, tls: bool = False) -> None:
        """Tell a connection that is not admitted why, without waiting for it."""
        log.info("refused %s: %s", ip, reason)
        if tls:
            return  # a plaintext ERROR would only be garbage inside a TLS handshake
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send(f"ERROR :Closing Link: {ip} ({reason})\r\n".encode())

    def out_of_descriptors(self, listener: socket.socket, tls: bool) -> None:
        """accept() failed for want of descriptors: turn the first newcomer away with
        ERROR using the spare descriptor, or pause a moment, so the loop cannot spin."""
        now = time.monotonic()
        if now - self._descriptors_warned > 60:
            self._descriptors_warned = now
            log.warning("out of file descriptors: turning new connections away")

        def turn_away() -> None:
            listener.settimeout(0)
            try:
                request, address = listener.accept()
            except OSError:
                return
            finally:
                listener.settimeout(None)
            self.refuse(request, str(address[0]), "Server is full", tls)
            request.close()

        if not self._spare.lend(turn_away):
            self._reaper_stop.wait(0.1)

    def server_close(self) -> None:
        """Close the main port and give the spare descriptor back."""
        super().server_close()
        self._spare.close()

    def login_failed(self, client: Session, what: str, account: str | None = None) -> int:
        """A failed PASS, OPER or sign-in: count and log it, and hold the client's reader
        for the penalty delay of its address or of ``account``, whichever is longer (other
        clients go on); return the connection's failures."""
        failures, delay = self.login_failures.fail(client.ip, client)
        if account is not None:
            delay = max(delay, self.account_failures.fail(casefold(account), client)[1])
        log.warning("failed %s from %s (nick %s)", what, client.ip, client.nick)
        if delay > 0:
            corked = current_cork() is not None
            uncork()  # what was already answered must not wait behind the penalty
            self.sleep(delay, client.wakeup)
            if corked:
                cork()
        return failures

    def sign_in(
        self, client: Session, account: Account, reply: ResponseBuffer | None = None
    ) -> None:
        """Sign ``client`` in to ``account`` (900, +r, account-notify)."""
        signin.sign_in(self, client, account, reply)

    def sign_out(self, client: Session, reply: ResponseBuffer | None = None) -> None:
        """Sign ``client`` out of its account, if it has one (901, -r, account-notify)."""
        signin.sign_out(self, client, reply)

    def rehash(self, by: str = "SIGHUP") -> Report:
        """Read the configuration file again and apply what can change (REHASH, SIGHUP)."""
        return rehash(self, by)

    @staticmethod
    def _flood_applies(client: Session) -> bool:
        return client.flood is not None and "o" not in client.modes

    def flood_costs(self, client: Session, lines: list[bytes | Overlong]) -> list[int] | None:
        """Charge the flood bucket for the lines of one read: each line's cost in tokens
        (its command's, see ``COSTS``), or None when that is past Excess Flood."""
        bucket = client.flood
        if bucket is None or "o" in client.modes:
            return [0] * len(lines)
        costs = [1 if isinstance(line, Overlong) else line_cost(line) for line in lines]
        if not bucket.charge(sum(costs)):
            return None
        return costs

    def flood_wait(self, client: Session, queued: float) -> float:
        """Seconds to hold the next line, with ``queued`` tokens of lines behind it."""
        bucket = client.flood
        if bucket is None or "o" in client.modes:
            return 0.0
        return bucket.wait(queued)

    def _charge_replies(self, client: Session, lines: list[bytes]) -> None:
        """A metered command has run: its replies cost tokens by size, at most a burst."""
        bucket = client.flood
        if bucket is None:
            return
        tokens = min(sum(map(len, lines)) // REPLY_BYTES_PER_TOKEN, bucket.burst)
        if tokens and not bucket.charge(tokens):
            self.end(client, "Excess Flood")

    # --- lines ----------------------------------------------------------------------
    def dispatch(self, client: Session, raw: bytes | Overlong) -> None:
        """Check one line and run its command."""
        if isinstance(raw, Overlong):
            client.numeric(ERR_INPUTTOOLONG)
            return
        if not raw or self.stopping:
            return  # empty lines are ignored, and so is everything once stopping
        if not client.registered:
            client.early_lines += 1
            if client.early_lines == 1 and _HTTP_REQUEST.match(raw):
                self.end(client, "HTTP request", error="This is an IRC server, not a web server")
                return
            if client.early_lines > self.config.max_unregistered_lines:
                self.end(client, "Too many lines before registration")
                return
        tag_len = raw.find(b" ") + 1 if raw.startswith(b"@") else 0
        if len(raw) - tag_len > MAX_LINE - 2 or tag_len > MAX_CLIENT_TAGS:
            client.numeric(ERR_INPUTTOOLONG)
            return
        try:
            line, utf8 = raw.decode("utf-8"), True
        except UnicodeDecodeError:
            line, utf8 = raw.decode("utf-8", "replace"), False
        try:
            message = parse(line)
        except LineError:
            if not utf8:
                self._fail(client.direct, "*", "INVALID_UTF8", _NOT_UTF8)
            return
        message.command = message.command.upper()
        settle_before(message.command, client.queue)  # held messages go out first
        entry = COMMANDS.get(message.command)
        label = message.tags.get("label")
        if "labeled-response" not in client.caps or (entry is not None and entry.own_label):
            label = None
        metered = entry is not None and entry.metered and self._flood_applies(client)
        if label is None and not metered:
            self._check_and_run(client, message, utf8, "\0" in line, client.direct)
            return
        # Held back while the command runs: a labeled command's replies are sent labeled
        # (a refusal as much as a result), a metered command's are counted.
        replies: list[bytes] = []
        reply = ResponseBuffer(client, self.config.name, replies)
        try:
            self._check_and_run(client, message, utf8, "\0" in line, reply)
        finally:
            if label is not None:
                send_labeled(client, self.config.name, label, replies)
            else:
                for data in replies:
                    client.send(data)
        if metered:
            self._charge_replies(client, replies)

    def _check_and_run(
        self, client: Session, message: Message, utf8: bool, nul: bool, reply: ResponseBuffer
    ) -> None:
        name = message.command
        if not utf8:
            # UTF8ONLY is advertised: the line is refused as a whole (IRCv3 UTF8ONLY).
            self._fail(reply, name, "INVALID_UTF8", _NOT_UTF8)
            return
        if nul:
            # NUL can never be sent on to anyone: refuse the line, say why.
            self._fail(reply, name, "INVALID_CHARACTERS", "Message contained a NUL character")
            return
        entry = COMMANDS.get(name)
        if entry is None:
            if client.registered or not name.isdigit():
                # Control characters are not sent back: `*` stands for such a name.
                reply.numeric(ERR_UNKNOWNCOMMAND, name if name.isprintable() else "*")
            return
        if not client.registered and not entry.pre_registration:
            reply.numeric(ERR_NOTREGISTERED)
        elif len(message.params) < entry.min_params:
            reply.numeric(ERR_NEEDMOREPARAMS, message.command)
        else:
            try:
                entry.handler(self, client, message, reply)
            except StoreUnavailable as exc:
                unavailable(self, client, name, reply, exc.text)

    def _fail(self, reply: ResponseBuffer, command: str, code: str, text: str) -> None:
        reply.send_line("FAIL", safe_command(command), code, text, source=self.config.name)

    # --- leaving ----------------------------------------------------------------------
    def end(self, client: Session, reason: str, error: str | None = None) -> None:
        """The one way to end a connection: off the network first, then ERROR, then the
        socket is cut and the reader thread cleans up (``ClientHandler.finish``).

        Once the client sees the ERROR, its nick is free and LUSERS no longer counts it.
        ``reason`` is what its channels see in its QUIT; ``error`` the ERROR text, when
        it is not ``Closing Link: <host> (<reason>)``.
        """
        self._leave(client, reason)
        text = error if error is not None else f"Closing Link: {client.host} ({reason})"
        client.send_line("ERROR", text)
        client.queue.write_out(wait=True)  # even when corked: the socket is about to be cut
        # Only now may the reader thread stop and close the socket: had it seen
        # `closing` before the ERROR was queued, the ERROR would be lost.
        self._cut(client)

    @staticmethod
    def _cut(client: Session) -> None:
        """Cut the connection now; its reader wakes (from fake lag too) and cleans up."""
        client.closing = True
        client.wakeup.set()
        client.queue.cut()

    def _leave(self, client: Session, reason: str | None = None) -> None:
        """Take ``client`` off the network and show its QUIT to everyone who shared a
        channel (part of :meth:`end`, and of the reader's last step). Runs once per client.
        """
        if reason is not None and client.quit_reason is None:
            client.quit_reason = reason
        left = self.registry.remove(client)
        if left is None:
            return
        peers, handovers = left  # without the client: it has left its channels
        # While stopping, everyone is leaving: telling each of them about all the others
        # would cost N*N sends for nothing.
        if client.registered and not self.stopping:
            if self.cluster is not None and not client.remote:
                self.cluster.left(client, client.quit_reason or "Connection closed")
            if peers:
                text = client.quit_reason or "Connection closed"
                out = Outgoing("QUIT", text, source=client.source, account=client.account_name)
                out.deliver(peers)
            notify_offline(self.registry, client.nick)
            announce_handovers(self.config.name, handovers)  # after the QUIT

    # --- timeouts ---------------------------------------------------------------------
    def check_timeouts(self, now: float | None = None) -> None:
        """Ping idle clients, drop silent ones and those that never registered."""
        now = self.clock() if now is None else now
        config = self.config
        for client in self.registry.snapshot():
            if client.closing:
                continue
            if not client.registered:
                if now - client.connected_at > config.registration_timeout:
                    self.end(client, "Registration timed out")
                continue
            if client.ping_sent_at is None:
                if now - client.last_active > config.ping_interval:
                    client.ping_sent_at = now
                    client.send_line("PING", config.name)
            elif now - client.ping_sent_at > config.ping_timeout:
                idle = int(now - client.last_active)
                self.end(client, f"Ping timeout: {idle} seconds")

    def _reap(self) -> None:
        tick = max(0.05, min(1.0, self.config.ping_interval / 4))
        while not self._reaper_stop.wait(tick):
            try:
                self.check_timeouts()
            except Exception:
                log.exception("timeout check failed")
