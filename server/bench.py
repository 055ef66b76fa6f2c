"""`python -m server.bench`: a load generator for Kibitz and any other IRC server.

One process, one thread, non-blocking sockets on a selector. It connects ``--receivers``
plus ``--senders`` clients, registers them (a nick in use gets another one, PINGs are
answered), joins them to one channel and waits until every one of them has seen the end
of NAMES. Then each sender sends PRIVMSGs to the channel, either at ``--rate`` messages
per second or as fast as a window of ``--window`` messages in flight allows (a message
is in flight until every receiver has it). The text of each message is
``<sender>|<kind> <seq> [<sent-ns>] xxx...`` padded to ``--size`` bytes; one message in
``--sample`` carries the send time (``kind`` ``T``) and gives a one-way latency when it
arrives; the others (``kind`` ``u``) are only counted. Receivers count messages with a
few ``bytes.count`` calls per read, so the tool stays cheap next to the server it loads.

When the duration is over, the tool waits up to ``--drain`` seconds for what is still on
its way and reports deliveries expected vs received (loss is visible), deliveries and
messages per second, latency percentiles, its own CPU time (so one can see whether it was
the bottleneck) and, given ``--server-pid``, the server's CPU seconds and peak RSS.

With ``--ports A,B`` the clients are spread over the nodes of one network (senders in
turn, receivers in turn), and each sender's padding byte names its node, so the report
also gives each node's figures and the deliveries that crossed from one node to another
(counted, lost, per second, and the latency of the sampled ones); ``--watch-pid`` adds
the CPU seconds of more processes (the other nodes, Redis) while sending.

``--connect-only`` connects and registers the clients (no channel), holds them for the
duration and reports how many stayed, how long registering took and, given
``--server-pid``, the server's resident memory per client.

Flood control must be off on the server under test: Kibitz ``--flood-rate 0``; for ngircd
``MaxPenaltyTime = 0`` (see the README's Performance section). Every client comes from
one address, so the server's per-address limits must let them in too: Kibitz
``--exempt 127.0.0.1`` (or ``--max-per-ip 0 --throttle 0``); ngircd ``MaxConnectionsIP = 0``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import random
import selectors
import socket
import string
import sys
import threading
import time
from dataclasses import asdict

from . import bench_ping
from .bench_options import CAPS, Options
from .bench_report import (
    cpu_between,
    format_report,
    latency_figures,
    node_figures,
    own_cpu,
    percentile,
    proc_stats,
    raise_fd_limit,
)
from .options import add_options, values

_RECV_SIZE = 262144
_NO_LIMIT = 1 << 62
#: The longest partial line kept between reads (tags and line together are under 9 KiB).
_MAX_KEPT = 16384
#: Replies that end a JOIN attempt with a refusal.
_JOIN_ERRORS = {b"403", b"405", b"471", b"473", b"474", b"475", b"476", b"477"}
#: Replies that refuse a nick during registration: pick another one.
_NICK_ERRORS = {b"431", b"432", b"433", b"436"}


#: Padding bytes: node 0's is ``x`` (a single server's payload is unchanged).
_PADS = b"xyzwvutsrqponmlkjihgfedcba"

# Connection states.
CONNECTING, REGISTERING, JOINING, READY, CLOSED = range(5)


class Conn:
    """One benchmark client: its socket, buffers and progress."""

    __slots__ = (
        "error",
        "index",
        "nick",
        "node",
        "rbuf",
        "sender",
        "sent",
        "sock",
        "state",
        "total",
        "wbuf",
        "writing",
    )

    def __init__(
        self, sock: socket.socket, index: int, sender: int | None, nick: str, node: int = 0
    ) -> None:
        self.sock = sock
        self.index = index
        #: The sender number, or None for a receiver.
        self.sender = sender
        self.nick = nick
        #: Which of ``--ports`` it is connected to (0 with one server).
        self.node = node
        self.state = CONNECTING
        self.rbuf = b""
        self.wbuf = bytearray()
        self.writing = False
        self.error = ""
        #: Receivers: messages counted so far.
        self.total = 0
        #: Senders: messages sent so far.
        self.sent = 0


class Bench:
    """The benchmark: clients on one selector, driven by :meth:`run`."""

    def __init__(self, options: Options) -> None:
        self.o = options
        self.sel = selectors.DefaultSelector()
        self.conns: list[Conn] = []
        self.receivers: list[Conn] = []
        self.senders: list[Conn] = []
        self.total = options.senders + options.receivers
        self.opened = 0
        self.in_setup = 0  # connections opened and not yet ready (or closed)
        self.registered = 0
        self.ready = 0
        self.failed = 0
        self.dropped = 0  # ready clients the server closed later
        self.last_ready = 0.0
        self.last_registered = 0.0
        self.fast = False  # True once messages flow: receivers only count
        self.channel = options.channel.encode()
        self.channel_key = self.channel.lower()
        self.rbuf = bytearray(_RECV_SIZE + _MAX_KEPT)  # room for a kept partial line
        self.rview = memoryview(self.rbuf)
        #: totals[r]: messages counted by receiver r (a gone receiver: no limit).
        self.totals: list[int] = []
        self.latencies: list[int] = []
        self.received = 0
        self.last_delivery_ns = 0
        self.base_ns = time.monotonic_ns()
        self.sample = options.sample or (1 if options.rate > 0 else 10)
        self.errors: dict[str, int] = {}
        #: The capabilities the server acknowledged (to the first client it answered).
        self.caps_acked: list[str] | None = None
        self.ports = options.ports or [options.port]
        #: A sender's padding names its node (the last byte before CRLF), so a receiver
        #: counts what came from each node with one ``bytes.count`` per node.
        self.pads = bytes(_PADS[n % len(_PADS)] for n in range(len(self.ports)))
        self.ends = [bytes([pad]) + b"\r\n" for pad in self.pads]
        self.node_of_pad = {pad: n for n, pad in enumerate(self.pads)}
        #: from_node[r][o]: messages receivers on node r counted from senders on node o.
        self.from_node = [[0] * len(self.ports) for _ in self.ports]
        #: Latencies of the sampled messages that crossed from one node to another.
        self.cross_latencies: list[int] = []

    # --- connections -------------------------------------------------------------
    def _open(self) -> None:
        index = self.opened
        self.opened += 1
        sender = index if index < self.o.senders else None
        role = "s" if sender is not None else "r"
        nick = (
            f"{self.o.nick_prefix}{role}{index if sender is not None else index - self.o.senders}"
        )
        sock = socket.socket(socket.AF_INET6 if ":" in self.o.host else socket.AF_INET)
        sock.setblocking(False)
        # The tool's own writes must not wait for delayed ACKs (Nagle): only the
        # server's behaviour should show in the latencies.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Each role in turn over the nodes: both get senders and receivers.
        node = (index if sender is not None else index - self.o.senders) % len(self.ports)
        conn = Conn(sock, index, sender, nick, node)
        self.conns.append(conn)
        self.in_setup += 1
        if sender is not None:
            self.senders.append(conn)
        else:
            self.receivers.append(conn)
        err = sock.connect_ex((self.o.host, self.ports[node]))
        if err not in (0, errno.EINPROGRESS, errno.EAGAIN):
            self._close(conn, f"connect: {os.strerror(err)}")
            return
        conn.writing = True
        self.sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)

    def _close(self, conn: Conn, why: str) -> None:
        if conn.state == CLOSED:
            return
        if conn.state != READY:
            self.in_setup -= 1
            self.failed += 1
        else:
            self.dropped += 1
        conn.state = CLOSED
        conn.error = why
        key = why.split(":")[0]
        self.errors[key] = self.errors.get(key, 0) + 1
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(conn.sock)
        conn.sock.close()
        if conn.sender is None and self.totals:
            # A gone receiver no longer holds the window back.
            self.totals[conn.index - self.o.senders] = _NO_LIMIT

    def _write(self, conn: Conn, data: bytes) -> None:
        if conn.state == CLOSED:
            return
        if conn.wbuf:
            conn.wbuf += data
            return
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._close(conn, f"send: {exc.strerror or exc}")
            return
        if sent < len(data):
            conn.wbuf += data[sent:]
            self._want_write(conn, True)

    def _want_write(self, conn: Conn, on: bool) -> None:
        if conn.writing != on and conn.state != CLOSED:
            conn.writing = on
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if on else 0)
            self.sel.modify(conn.sock, events, conn)

    def _writable(self, conn: Conn) -> None:
        if conn.state == CONNECTING:
            err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._close(conn, f"connect: {os.strerror(err)}")
                return
            conn.state = REGISTERING
            self._want_write(conn, False)
            lines = [f"PASS {self.o.password}"] if self.o.password is not None else []
            if self.o.caps:
                lines.append("CAP REQ :" + " ".join(CAPS))
            lines += [f"NICK {conn.nick}", f"USER {conn.nick} 0 * :Kibitz bench"]
            if self.o.caps:
                lines.append("CAP END")
            self._write(conn, "".join(line + "\r\n" for line in lines).encode())
            return
        try:
            sent = conn.sock.send(conn.wbuf)
        except BlockingIOError:
            return
        except OSError as exc:
            self._close(conn, f"send: {exc.strerror or exc}")
            return
        del conn.wbuf[:sent]
        if not conn.wbuf:
            self._want_write(conn, False)

    def _readable(self, conn: Conn) -> None:
        # One shared buffer for every read: no allocation per read, and the hot path
        # only counts inside it. A partial last line is kept by its connection.
        buf = self.rbuf
        tail = conn.rbuf
        kept = len(tail)
        if kept > _MAX_KEPT:
            self._close(conn, "a line longer than 16 KiB")
            return
        if kept:
            buf[:kept] = tail
        try:
            got = conn.sock.recv_into(self.rview[kept:])
        except BlockingIOError:
            return
        except OSError as exc:
            self._close(conn, f"recv: {exc.strerror or exc}")
            return
        if not got:
            self._close(conn, "closed by the server")
            return
        size = kept + got
        end = buf.rfind(b"\n", 0, size) + 1
        conn.rbuf = bytes(buf[end:size]) if end < size else b""
        if not end:
            return
        if not self.fast:
            self._lines(conn, bytes(buf[:end]))
            return
        lines = buf.count(b"\n", 0, end)
        messages = buf.count(b" PRIVMSG ", 0, end)
        if messages and conn.sender is None:
            self._count(conn, buf, end, messages)
        # Senders only drain what they get (the others' messages and, with echo-message,
        # their own); anything but a message takes the slow path.
        if lines != messages:
            self._lines(conn, bytes(buf[:end]), control_only=True)

    # --- the hot path: count, and time the sampled messages --------------------------
    def _count(self, conn: Conn, buf: bytearray, end: int, got: int) -> None:
        now = time.monotonic_ns() - self.base_ns
        self.last_delivery_ns = now
        conn.total += got
        self.received += got
        self.totals[conn.index - self.o.senders] = conn.total
        here = conn.node
        several = len(self.ports) > 1
        if several:
            counts = self.from_node[here]
            others = 0
            for origin, ending in enumerate(self.ends):
                if origin != here:
                    found = buf.count(ending, 0, end)
                    counts[origin] += found
                    others += found
            counts[here] += got - others
        append = self.latencies.append
        find = buf.find
        pos = find(b"|T ", 0, end)
        while pos >= 0:
            start = pos + 3
            start = find(b" ", start, end) + 1  # skip the sequence number
            stop = find(b" ", start, end)
            latency = now - int(buf[start:stop])
            append(latency)
            if several and self.node_of_pad.get(buf[find(b"\r", stop, end) - 1]) != here:
                self.cross_latencies.append(latency)
            pos = find(b"|T ", stop, end)

    # --- the slow path: registration, joining, PING, errors -------------------------
    def _lines(self, conn: Conn, buf: bytes, control_only: bool = False) -> None:
        for line in buf.split(b"\n"):
            line = line.rstrip(b"\r")
            if line.startswith(b"@"):
                line = line.partition(b" ")[2].lstrip(b" ")
            if line.startswith(b":"):
                line = line.partition(b" ")[2].lstrip(b" ")
            command, _, rest = line.partition(b" ")
            if command == b"PING":
                self._write(conn, b"PONG " + rest + b"\r\n")
            elif command == b"ERROR":
                self._close(conn, "ERROR: " + rest.decode("utf-8", "replace").lstrip(":"))
                return
            elif control_only:
                continue
            elif command == b"001":
                self._registered(conn)
            elif command in _NICK_ERRORS and conn.state == REGISTERING:
                conn.nick = self._other_nick(conn)
                self._write(conn, f"NICK {conn.nick}\r\n".encode())
            elif command == b"366" and conn.state == JOINING:
                params = rest.split(b" ")
                if len(params) > 1 and params[1].lower() == self.channel_key:
                    self._ready(conn)
            elif command in _JOIN_ERRORS and conn.state == JOINING:
                self._close(conn, f"join refused: {line.decode('utf-8', 'replace')}")
                return
            elif command == b"CAP":
                self._cap(rest.split(b" "))
            elif command == b"464":
                self._close(conn, "password refused")
                return

    def _cap(self, params: list[bytes]) -> None:
        if self.caps_acked is None and len(params) > 2 and params[1] in (b"ACK", b"NAK"):
            named = b" ".join(params[2:]).lstrip(b":").decode("utf-8", "replace").split()
            self.caps_acked = named if params[1] == b"ACK" else []

    def _other_nick(self, conn: Conn) -> str:
        role = "s" if conn.sender is not None else "r"
        tail = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        return f"{self.o.nick_prefix[:1]}{role}{tail}"

    def _registered(self, conn: Conn) -> None:
        if conn.state != REGISTERING:
            return
        self.registered += 1
        self.last_registered = time.monotonic()
        if self.o.connect_only:
            self._ready(conn)
            return
        conn.state = JOINING
        self._write(conn, b"JOIN " + self.channel + b"\r\n")

    def _ready(self, conn: Conn) -> None:
        conn.state = READY
        self.ready += 1
        self.in_setup -= 1
        self.last_ready = time.monotonic()

    # --- the loop ------------------------------------------------------------------
    def _poll(self, timeout: float) -> None:
        for key, mask in self.sel.select(timeout):
            conn = key.data
            if mask & selectors.EVENT_WRITE:
                self._writable(conn)
            if mask & selectors.EVENT_READ and conn.state != CLOSED:
                self._readable(conn)

    def _setup(self) -> tuple[float, float]:
        """Connect, register and join everyone; return (register seconds, ready seconds)."""
        start = time.monotonic()
        deadline = start + self.o.setup_timeout
        while time.monotonic() < deadline:
            while self.opened < self.total and self.in_setup < self.o.connect_batch:
                self._open()
            if self.opened == self.total and self.in_setup == 0:
                break
            self._poll(0.05)
        for conn in self.conns:
            if conn.state not in (READY, CLOSED):
                self._close(conn, "setup timed out")
        register = (self.last_registered - start) if self.registered else 0.0
        ready = (self.last_ready - start) if self.ready else 0.0
        return register, ready

    def _run_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._poll(min(left, 0.1))

    def _message(self, sender: Conn, seq: int, now_ns: int) -> bytes:
        s = sender.sender
        timed = seq % self.sample == 0
        text = f"{s}|T {seq} {now_ns} " if timed else f"{s}|u {seq} "
        pad = self.pads[sender.node : sender.node + 1]
        return (
            b"PRIVMSG "
            + self.channel
            + b" :"
            + text.encode()
            + pad * max(1, self.o.size - len(text))
            + b"\r\n"
        )

    def _send_phase(self) -> float:
        """Send for the duration; return the seconds it took.

        With a rate, each sender keeps to its schedule. At max rate the senders share a
        window of ``window * senders`` messages sent but not yet counted by the slowest
        receiver (the server relays in order, so every receiver is counted in order).
        """
        senders = [c for c in self.senders if c.state == READY]
        rate = self.o.rate
        limit = self.o.window * len(senders)
        low = 0  # messages the slowest receiver has counted
        sent = 0
        start = time.monotonic()
        end = start + self.o.duration
        while True:
            now = time.monotonic()
            if now >= end:
                break
            now_ns = time.monotonic_ns() - self.base_ns
            live = [c for c in senders if c.state != CLOSED]
            if rate <= 0 and live and sent - low >= limit // 2:
                low = min(self.totals, default=0)
            budget = limit - (sent - low)
            for number, conn in enumerate(live):
                if rate > 0:
                    due = int((now - start) * rate) + 1 - conn.sent
                else:
                    # An even share of what the window allows now, the remainder first.
                    due = budget // len(live) + (number < budget % len(live))
                if due > 0:
                    first = conn.sent
                    conn.sent += due
                    sent += due
                    batch = [self._message(conn, q, now_ns) for q in range(first, first + due)]
                    self._write(conn, b"".join(batch))
            if rate > 0:
                wait = min((start + c.sent / rate for c in live), default=end)
                self._poll(max(0.0, min(wait, end) - time.monotonic()))
            else:
                self._poll(min(0.05, end - now))
        return time.monotonic() - start

    def _drain(self, expected: int) -> None:
        deadline = time.monotonic() + self.o.drain
        while self.received < expected and time.monotonic() < deadline:
            self._poll(0.05)

    def close(self) -> None:
        """Close every socket and the selector."""
        for conn in self.conns:
            if conn.state != CLOSED:
                with contextlib.suppress(KeyError, ValueError):
                    self.sel.unregister(conn.sock)
                conn.sock.close()
        self.sel.close()

    def run(self) -> dict:
        """Run the benchmark; return the report."""
        limit = raise_fd_limit()
        server_before = proc_stats(self.o.server_pid) if self.o.server_pid else None
        cpu_start = own_cpu()
        wall_start = time.monotonic()
        report: dict = {
            "mode": "connect-only" if self.o.connect_only else "messages",
            "options": asdict(self.o),
            "fd_limit": limit,
        }
        try:
            register_s, ready_s = self._setup()
            report["clients"] = {
                "requested": self.total,
                "registered": self.registered,
                "ready": self.ready,
                "failed": self.failed,
                "errors": dict(self.errors),
            }
            report["register_seconds"] = round(register_s, 4)
            if self.o.caps:
                report["caps_acked"] = self.caps_acked or []
            if self.o.connect_only:
                if self.o.bystander_pings > 0:
                    report["bystander"] = self._bystander()
                else:
                    self._run_for(self.o.duration)
                held = sum(1 for c in self.conns if c.state == READY)
                report["clients"]["held"] = held
                report["clients"]["errors"] = dict(self.errors)
                server_held = proc_stats(self.o.server_pid) if self.o.server_pid else None
                if server_before and server_held and held:
                    grown = server_held.rss_kib - server_before.rss_kib
                    report["server_rss_per_client_kib"] = round(grown / held, 2)
            else:
                report["join_seconds"] = round(ready_s, 4)
                self._run_for(self.o.settle)
                report.update(self._measure())
                report["clients"]["dropped"] = self.dropped
                report["clients"]["errors"] = dict(self.errors)
        finally:
            self.close()
        report["bench_cpu_seconds"] = round(own_cpu() - cpu_start, 3)
        report["bench_wall_seconds"] = round(time.monotonic() - wall_start, 3)
        if self.o.server_pid:
            after = proc_stats(self.o.server_pid)
            if server_before and after:
                report["server"] = {
                    "pid": self.o.server_pid,
                    "cpu_seconds": round(after.cpu_seconds - server_before.cpu_seconds, 3),
                    "rss_before_kib": server_before.rss_kib,
                    "rss_kib": after.rss_kib,
                    "peak_rss_kib": after.hwm_kib,
                }
            else:
                report["server"] = {"pid": self.o.server_pid, "error": "cannot read /proc"}
        return report

    def _bystander(self) -> dict:
        """Hold the clients while one more PINGs (at least for the duration); its figures."""
        pinger = bench_ping.Pinger(
            self.o.host,
            self.ports[0],
            self.o.bystander_pings,
            self.o.bystander_interval,
            nick=f"{self.o.nick_prefix}bystander",
            password=self.o.password,
        )
        thread = threading.Thread(target=pinger.run, name="bench-bystander", daemon=True)
        thread.start()
        deadline = time.monotonic() + self.o.duration
        while thread.is_alive() or time.monotonic() < deadline:
            self._poll(0.05)  # the idle clients still answer the server's PINGs
        thread.join()
        trips = sorted(pinger.round_trips)
        ms = 1e-6
        figures: dict = {
            "pings": self.o.bystander_pings,
            "answered": len(trips),
            "p50": round(percentile(trips, 0.50) * ms, 3),
            "p90": round(percentile(trips, 0.90) * ms, 3),
            "p99": round(percentile(trips, 0.99) * ms, 3),
            "max": round(trips[-1] * ms, 3) if trips else 0.0,
        }
        if pinger.error:
            figures["error"] = pinger.error
        return figures

    def _measure(self) -> dict:
        """The message phase: send, drain, and the figures."""
        senders = [c for c in self.senders if c.state == READY]
        receivers = [c for c in self.receivers if c.state == READY]
        self.totals = [0 if c.state == READY else _NO_LIMIT for c in self.receivers]
        self.fast = True
        cpu_start = own_cpu()
        pid = self.o.server_pid
        server_start = proc_stats(pid) if pid else None
        watched_start = {p: proc_stats(p) for p in self.o.watch_pids}
        start_ns = time.monotonic_ns() - self.base_ns
        send_s = self._send_phase()
        sent = sum(c.sent for c in senders)
        expected = sent * len(receivers)
        self._drain(expected)
        cpu = own_cpu() - cpu_start
        server_end = proc_stats(pid) if pid else None
        watched = cpu_between(watched_start)
        active_s = max(1e-9, (self.last_delivery_ns - start_ns) / 1e9)
        lat = sorted(self.latencies)
        figures: dict = {
            "send_seconds": round(send_s, 3),
            "messages_sent": sent,
            "messages_per_second": round(sent / send_s, 1) if send_s else 0.0,
            "deliveries_expected": expected,
            "deliveries_received": self.received,
            "deliveries_lost": expected - self.received,
            "deliveries_per_second": round(self.received / active_s, 1) if self.received else 0,
            "latency_ms": latency_figures(lat),
            "bench_cpu_seconds_messages": round(cpu, 3),
        }
        if server_start and server_end:
            server_cpu = server_end.cpu_seconds - server_start.cpu_seconds
            figures["server_cpu_seconds_messages"] = round(server_cpu, 3)
        if watched:
            figures["watched_cpu_seconds_messages"] = watched
        if len(self.ports) > 1:
            figures.update(node_figures(self.ports, senders, receivers, self.from_node, active_s))
            figures["cross_node"]["latency_ms"] = latency_figures(sorted(self.cross_latencies))
        return figures


def parse_args(argv: list[str] | None = None) -> tuple[Options, bool]:
    """The command line: the options, and whether to print JSON."""
    p = argparse.ArgumentParser(
        prog="python -m server.bench",
        description="Load an IRC server with many clients and measure delivery and latency.",
        epilog="Turn the server's flood control and per-address limits off first "
        "(Kibitz: --flood-rate 0 --exempt 127.0.0.1).",
    )
    add_options(p, Options, Options())
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    a = p.parse_args(argv)
    for name in ("receivers", "senders", "window", "size", "connect_batch"):
        if getattr(a, name) < (0 if name in ("receivers", "senders") else 1):
            p.error(f"--{name.replace('_', '-')} is too small")
    if a.bystander_pings and not a.connect_only:
        p.error("--bystander-pings needs --connect-only")
    if not a.connect_only and (a.receivers < 1 or a.senders < 1):
        p.error("need at least one receiver and one sender (or --connect-only)")
    try:
        options = Options(**values(Options, a))
    except ValueError as exc:
        p.error(str(exc))
    return options, a.json


def run(options: Options) -> dict:
    """Run one benchmark and return its report."""
    return Bench(options).run()


def main(argv: list[str] | None = None) -> int:
    """Run from the command line; exit 1 when a client failed or a delivery was lost."""
    options, as_json = parse_args(argv)
    report = run(options)
    print(json.dumps(report, indent=2) if as_json else format_report(report))
    failed = report["clients"]["failed"] or report.get("deliveries_lost", 0)
    if options.connect_only:
        failed = failed or report["clients"]["held"] < report["clients"]["requested"]
        bystander = report.get("bystander")
        failed = failed or (bystander is not None and bystander["answered"] < bystander["pings"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
