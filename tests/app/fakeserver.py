"""A scripted IRC server on port 0 for cases the Kibitz server cannot play (no echo-message,
silent peers, odd numerics). It records every line it receives and answers by rules."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from server.protocol.codec import LineReader, Message, parse

Rule = Callable[["FakeServer", Message], None]


class FakeServer:
    """Accepts connections one after another; ``rules`` map a command to a reply function."""

    def __init__(self, caps: str | None = "", welcome: bool = True) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.caps = caps  # None: CAP is an unknown command here
        self.welcome = welcome
        self.lines: list[Message] = []
        self.rules: dict[str, Rule] = {}
        self.conn: socket.socket | None = None
        self.nick = "*"
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def send(self, *lines: str) -> None:
        """Send lines to the connected client."""
        assert self.conn is not None
        self.conn.sendall("".join(line + "\r\n" for line in lines).encode())

    def received(self, command: str) -> list[Message]:
        """Every received message with ``command``."""
        with self._cond:
            return [m for m in self.lines if m.command == command]

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conn = conn
            reader = LineReader()
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    conn.close()
                    break
                try:
                    for raw in reader.feed(data):
                        msg = parse(raw.decode())
                        with self._cond:
                            self.lines.append(msg)
                        self._answer(msg)
                except OSError:
                    # The client (or ``close``) dropped the connection while it was
                    # being answered: the next one is served.
                    conn.close()
                    break

    def _answer(self, msg: Message) -> None:
        rule = self.rules.get(msg.command)
        if rule is not None:
            rule(self, msg)
            return
        if msg.command == "CAP" and msg.params[0] == "LS":
            if self.caps is None:
                self.send(":fake 421 * CAP :Unknown command")
            else:
                self.send(f":fake CAP * LS :{self.caps}")
        elif msg.command == "CAP" and msg.params[0] == "REQ":
            self.send(f":fake CAP * ACK :{msg.params[-1]}")
        elif msg.command == "NICK":
            self.nick = msg.params[0]
        elif msg.command == "USER" and self.welcome:
            self.send(f":fake 001 {self.nick} :Welcome {self.nick}!u@h")
        elif msg.command == "JOIN":
            for chan in msg.params[0].split(","):
                self.send(
                    f":{self.nick}!u@h JOIN {chan}",
                    f":fake 353 {self.nick} = {chan} :@{self.nick} +carol dave",
                    f":fake 366 {self.nick} {chan} :End of /NAMES list",
                )
        elif msg.command == "PING":
            self.send(f":fake PONG fake :{msg.params[-1]}")

    def close(self) -> None:
        """Stop listening and drop the client; the serving thread ends."""
        # A thread blocked in accept() holds a descriptor number until it returns, and
        # close() alone does not wake it: shutdown() does.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        if self.conn is not None:
            try:
                self.conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.conn.close()
