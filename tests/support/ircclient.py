"""A scripted IRC peer for tests: a real socket, lines in, parsed messages out."""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from server.protocol.codec import LineReader, Message, Overlong, parse

DEFAULT_TIMEOUT = 5.0


class IRCClient:
    """Speaks raw IRC to a server; every wait has a timeout, nothing sleeps blindly."""

    def __init__(self, port: int, host: str = "127.0.0.1", bind: str | None = None) -> None:
        # ``bind``: the local address to connect from (127.0.0.2, 127.0.0.3 …), so tests
        # of per-address rules can be several addresses without exempting loopback.
        source = (bind, 0) if bind is not None else None
        self.sock = socket.create_connection(
            (host, port), timeout=DEFAULT_TIMEOUT, source_address=source
        )
        self._reader = LineReader(limit=1 << 20)
        self._queue: deque[Message] = deque()
        self.seen: list[Message] = []
        #: Every line as it arrived, tags included, CRLF excluded.
        self.raw: list[bytes] = []
        self.consumed: list[Message] = []
        self.closed = False
        self.nick = "*"
        self._sync = 0

    # --- sending ----------------------------------------------------------------
    def send(self, *lines: str) -> None:
        """Send lines (CRLF added) in one write."""
        self.send_raw("".join(line + "\r\n" for line in lines).encode())

    def send_raw(self, data: bytes) -> None:
        """Send bytes exactly as given."""
        self.sock.sendall(data)

    # --- receiving --------------------------------------------------------------
    def _fill(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.closed:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return False
        for raw in self._reader.feed(data):
            assert not isinstance(raw, Overlong)
            self.raw.append(raw)
            message = parse(raw.decode("utf-8"))
            self._queue.append(message)
            self.seen.append(message)
        return True

    def next(self, timeout: float = DEFAULT_TIMEOUT) -> Message | None:
        """The next message, or None when none arrives in time (or the socket closed)."""
        deadline = time.monotonic() + timeout
        while not self._queue:
            if not self._fill(deadline):
                return None
        message = self._queue.popleft()
        self.consumed.append(message)
        return message

    def expect(
        self,
        command: str,
        *params: str,
        timeout: float = DEFAULT_TIMEOUT,
        where: Callable[[Message], bool] | None = None,
    ) -> Message:
        """Skip messages until one with ``command`` whose first params are ``params``."""
        skipped: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(0.0, deadline - time.monotonic()))
            if message is None:
                state = "connection closed" if self.closed else "timed out"
                raise AssertionError(f"{state} waiting for {command} {params}; got: {skipped}")
            if (
                message.command == command
                and tuple(message.params[: len(params)]) == params
                and (where is None or where(message))
            ):
                return message
            skipped.append(message.format())

    def until(self, command: str, *params: str, timeout: float = DEFAULT_TIMEOUT) -> list[Message]:
        """Every message up to and including the first ``command``."""
        mark = len(self.consumed)
        self.expect(command, *params, timeout=timeout)
        return self.consumed[mark:]

    def batch(self, line: str) -> tuple[Message, list[Message]]:
        """Send ``line`` and read the batch that answers it: its ``BATCH +ref`` line and
        the messages tagged with that batch, up to ``BATCH -ref`` (other traffic arriving
        meanwhile is passed over)."""
        self.send(line)
        start = self.expect("BATCH")
        assert start.params[0].startswith("+"), start.format()
        ref = start.params[0][1:]
        lines: list[Message] = []
        while True:
            message = self.next()
            assert message is not None, f"batch {ref} did not end"
            if message.command == "BATCH" and message.params[0] == "-" + ref:
                return start, lines
            if message.tags.get("batch") == ref:
                lines.append(message)

    def sync(self) -> list[Message]:
        """Round-trip a PING; return every message received before its PONG."""
        self._sync += 1
        token = f"sync{self._sync}"
        self.send(f"PING {token}")
        messages: list[Message] = []
        while True:
            message = self.next()
            if message is None:
                raise AssertionError(f"no PONG {token}; got {[m.format() for m in messages]}")
            if message.command == "PONG" and message.params[-1] == token:
                return messages
            messages.append(message)

    def wait_closed(self, timeout: float = DEFAULT_TIMEOUT) -> list[Message]:
        """Read until the server closes the connection; return what arrived."""
        messages = list(self._queue)
        self._queue.clear()
        deadline = time.monotonic() + timeout
        while not self.closed:
            if not self._fill(deadline) and not self.closed:
                raise AssertionError(f"still open; got {[m.format() for m in messages]}")
            messages.extend(self._queue)
            self._queue.clear()
        return messages

    # --- conveniences -------------------------------------------------------------
    def register(self, nick: str, caps: Iterable[str] = (), password: str | None = None) -> None:
        """Register as ``nick`` (with the given caps) and wait for the end of the burst."""
        caps = list(caps)
        lines = []
        if caps:
            lines += ["CAP LS 302", f"CAP REQ :{' '.join(caps)}", "CAP END"]
        if password is not None:
            lines.append(f"PASS {password}")
        lines += [f"NICK {nick}", f"USER {nick} 0 * :{nick} Tester"]
        self.send(*lines)
        self.expect("001")
        self.nick = nick
        self.sync()

    def close(self) -> None:
        """Close the socket."""
        try:
            self.sock.close()
        finally:
            self.closed = True


def send_together(
    clients: Sequence[IRCClient], sends: Callable[[IRCClient], Iterable[Sequence[str]]]
) -> None:
    """Each client, on a thread of its own, all starting at once, makes the writes
    ``sends(client)`` gives (each a group of lines sent in one write); returns when all
    are done (or after 20 s)."""
    start = threading.Barrier(len(clients))

    def run(client: IRCClient) -> None:
        start.wait()
        for lines in sends(client):
            client.send(*lines)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
