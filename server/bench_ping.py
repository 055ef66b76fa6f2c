"""The bench's bystander: one more client that PINGs the server while the others idle.

It registers on a blocking socket of its own (a thread of the load generator, beside
its selector loop), then sends one ``PING`` at a time and times the ``PONG`` that
answers it: how long a server holding many idle clients takes to answer one that
speaks. The server's own PINGs are answered; a nick in use gets another one.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Replies that refuse a nick during registration: pick another one.
_NICK_ERRORS = {b"431", b"432", b"433", b"436"}


@dataclass
class Pinger:
    """Where to connect, who to be and how many PINGs to send."""

    host: str
    port: int
    pings: int
    #: Seconds between a PONG and the next PING.
    interval: float = 0.02
    nick: str = "bystander"
    password: str | None = None
    #: Seconds allowed for registering, and for each PONG.
    timeout: float = 30.0
    #: Round trips in nanoseconds, in the order the PINGs went.
    round_trips: list[int] = field(default_factory=list)
    error: str = ""
    _buffer: bytes = b""

    def run(self) -> None:
        """Register, then PING and time each PONG; any failure ends it (``error``)."""
        try:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            with socket.socket(family) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(self.timeout)
                sock.connect((self.host, self.port))
                self._register(sock)
                for number in range(self.pings):
                    token = f"bystander{number}".encode()
                    start = time.monotonic_ns()
                    sock.sendall(b"PING :" + token + b"\r\n")
                    self._wait_for(sock, _pong_for(token))
                    self.round_trips.append(time.monotonic_ns() - start)
                    time.sleep(self.interval)
                sock.sendall(b"QUIT\r\n")
        except (OSError, ValueError) as exc:
            self.error = str(exc) or type(exc).__name__

    def _register(self, sock: socket.socket) -> None:
        lines = [f"PASS {self.password}"] if self.password is not None else []
        lines += [f"NICK {self.nick}", f"USER {self.nick} 0 * :Kibitz bench bystander"]
        sock.sendall("".join(line + "\r\n" for line in lines).encode())
        tries = 0

        def welcomed(command: bytes, _rest: bytes) -> bool:
            nonlocal tries
            if command in _NICK_ERRORS:
                tries += 1
                sock.sendall(f"NICK {self.nick[:20]}{tries}\r\n".encode())
            return command == b"001"

        self._wait_for(sock, welcomed)

    def _wait_for(self, sock: socket.socket, done: Callable[[bytes, bytes], bool]) -> None:
        """Read lines until ``done(command, rest)`` is true for one; answer PINGs."""
        while True:
            end = self._buffer.find(b"\n")
            while end < 0:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ValueError("closed by the server")
                self._buffer += chunk
                end = self._buffer.find(b"\n")
            line, self._buffer = self._buffer[:end].rstrip(b"\r"), self._buffer[end + 1 :]
            if line.startswith(b"@"):
                line = line.partition(b" ")[2]
            if line.startswith(b":"):
                line = line.partition(b" ")[2]
            command, _, rest = line.partition(b" ")
            if command == b"PING":
                sock.sendall(b"PONG " + rest + b"\r\n")
            elif command == b"ERROR":
                raise ValueError("ERROR " + rest.decode("utf-8", "replace"))
            elif done(command, rest):
                return


def _pong_for(token: bytes) -> Callable[[bytes, bytes], bool]:
    """Whether a line (its command and the rest) is the PONG that answers ``token``."""

    def answers(command: bytes, rest: bytes) -> bool:
        return command == b"PONG" and rest.rsplit(b" ", 1)[-1].lstrip(b":") == token

    return answers
