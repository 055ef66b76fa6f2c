"""The fault suite: churn, clients killed mid-line, a server killed under load, thread
leaks, and random hostile input. Real sockets against real servers throughout."""

from __future__ import annotations

import _thread
import os
import selectors
import signal
import socket
import subprocess
import threading
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.ircclient import IRCClient
from tests.support.processes import start_server


def _wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_threads_return_to_baseline_after_1000_connections(make_server) -> None:
    server = make_server(flood_rate=0)
    # The stores' own threads start with the first registration and join that use them
    # (and stay): one client first, so that the baseline holds them.
    first = IRCClient(server.port)
    first.register("first")
    first.close()
    assert _wait_for(lambda: not server.registry.snapshot())
    # Handler threads are bare (no Thread object): count every running thread.
    baseline = _thread._count()
    for i in range(1000):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        if i % 2:
            sock.sendall(f"NICK c{i}\r\nUSER c 0 * :C\r\nQUIT\r\n".encode())
            while sock.recv(65536):
                pass
        sock.close()
    assert _wait_for(lambda: _thread._count() <= baseline), _thread._count()
    assert _wait_for(lambda: not server.registry.snapshot())


def test_churn_of_1000_clients_while_two_chat(make_server) -> None:
    server = make_server(flood_rate=0)
    alice, bob = IRCClient(server.port), IRCClient(server.port)
    alice.register("alice")
    bob.register("bob")
    errors: list[BaseException] = []

    def churn(offset: int) -> None:
        try:
            for i in range(500):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                sock.sendall(f"NICK ch{offset}_{i}\r\nUSER c 0 * :C\r\n".encode())
                data = b""
                while b" 366 " not in data:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if i % 2:
                    sock.sendall(b"QUIT :done\r\n")
                sock.close()  # the others just vanish
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=churn, args=(n,)) for n in range(2)]
    for worker in workers:
        worker.start()
    sent = 0
    while any(worker.is_alive() for worker in workers):
        alice.send(f"PRIVMSG bob :message {sent}")
        assert bob.expect("PRIVMSG", "bob", timeout=30).params[1] == f"message {sent}"
        sent += 1
    for worker in workers:
        worker.join()
    assert not errors, errors
    assert sent > 10  # the chat really ran alongside the churn
    assert _wait_for(lambda: len(server.registry.snapshot()) == 2)
    alice.close()
    bob.close()


def test_a_client_killed_mid_line_sends_nothing(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.sync()
    alice.send_raw(b"PRIVMSG #general :this line never ends")
    alice.close()
    quit_ = bob.expect("QUIT")
    assert quit_.source.startswith("alice!")
    assert [m for m in bob.consumed if m.command == "PRIVMSG"] == []


def test_sigterm_under_load_loses_nothing_already_echoed() -> None:
    proc, port = start_server("--flood-rate", "0", "--sendq", str(64 << 20))
    try:
        senders = [IRCClient(port) for _ in range(3)]
        receivers = [IRCClient(port) for _ in range(5)]
        for i, client in enumerate(senders):
            client.register(f"sender{i}", caps=("echo-message",))
        for i, client in enumerate(receivers):
            client.register(f"receiver{i}")
        for client in senders + receivers:
            client.sync()
        received = {c.nick: [] for c in senders + receivers}
        by_socket = {c.sock: c for c in senders + receivers}
        # The receivers read nothing until the signal, so what they are owed piles up in
        # the server's buffers: exactly what a careless shutdown would throw away.
        selector = selectors.DefaultSelector()
        for client in senders + receivers:
            client.sock.setblocking(False)
        for client in senders:
            selector.register(client.sock, selectors.EVENT_READ)
        open_socks = set(by_socket)
        buffers = {s: b"" for s in by_socket}
        sent = 0
        killed_at = None
        while open_socks:
            if sent < 100_000 and killed_at is None:
                for client in senders:
                    try:
                        client.sock.send(
                            f"PRIVMSG #general :{client.nick} {sent} {PAD}\r\n".encode()
                        )
                    except (BlockingIOError, OSError):
                        pass
                sent += 1
                if sent == 9000:
                    proc.send_signal(signal.SIGTERM)
                    killed_at = sent
                    for receiver in receivers:
                        selector.register(receiver.sock, selectors.EVENT_READ)
            for key, _ in selector.select(timeout=0.01 if killed_at is None else 1.0):
                sock = key.fileobj
                try:
                    data = sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(sock)
                    open_socks.discard(sock)
                    continue
                buffers[sock] += data
                *lines, buffers[sock] = buffers[sock].split(b"\r\n")
                for line in lines:
                    if b" PRIVMSG #general :" in line:
                        text = line.split(b" PRIVMSG #general :", 1)[1]
                        received[by_socket[sock].nick].append(text.rsplit(b" ", 1)[0])
            if killed_at is not None and not _alive(proc) and not open_socks:
                break
        assert proc.wait(timeout=10) == 0
        echoed = set()
        for client in senders:
            echoed.update(m for m in received[client.nick] if m.startswith(client.nick.encode()))
        assert echoed, "nothing was echoed before the shutdown"
        for client in receivers:
            missing = echoed - set(received[client.nick])
            assert not missing, f"{client.nick} lost {len(missing)} echoed messages"
    finally:
        proc.kill()
        proc.wait()


PAD = "p" * 300


def _alive(proc: subprocess.Popen) -> bool:
    return proc.poll() is None


IRC_COMMANDS = [
    "PRIVMSG",
    "NOTICE",
    "JOIN",
    "PART",
    "MODE",
    "TOPIC",
    "KICK",
    "INVITE",
    "WHO",
    "WHOIS",
    "WHOWAS",
    "NICK",
    "USER",
    "CAP",
    "PING",
    "PONG",
    "AWAY",
    "MONITOR",
    "LIST",
    "NAMES",
    "TAGMSG",
    "SETNAME",
    "OPER",
    "KILL",
    "HELP",
    "VERSION",
    "STATS",
    "USERHOST",
    "ISON",
]
param = st.one_of(
    st.sampled_from(
        [
            "#general",
            "#x",
            "*",
            "0",
            "+o",
            "-b",
            "alice",
            "",
            ":",
            "@#general",
            "+i",
            "LS",
            "REQ",
            "END",
            "302",
            "%tnuhfr,1",
        ]
    ),
    st.text(min_size=0, max_size=40),
)
hostile_lines = st.builds(
    lambda tags, command, params: (tags + " " if tags else "") + " ".join([command, *params]),
    st.sampled_from(["", "@a=b", "@+x=\\s\\:", "@;;", "@=x", "@" + "k" * 300]),
    st.one_of(st.sampled_from(IRC_COMMANDS), st.text(min_size=1, max_size=10)),
    st.lists(param, max_size=6),
)


def _probe(server) -> None:
    """The server still answers a fresh client."""
    observer = IRCClient(server.port)
    observer.send("PING :alive")
    assert observer.expect("PONG").params[-1] == "alive"
    observer.close()


def test_random_bytes_never_hurt_the_server(make_server) -> None:
    server = make_server(flood_rate=0)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.binary(min_size=0, max_size=600), min_size=1, max_size=8))
    def run(chunks: list[bytes]) -> None:
        fuzzer = IRCClient(server.port)
        fuzzer.send("NICK fuzz", "USER f 0 * :F")
        try:
            for chunk in chunks:
                fuzzer.send_raw(chunk)
            fuzzer.send_raw(b"\r\n")
        except OSError:
            pass  # the server may have ended the connection: that is an answer too
        fuzzer.close()
        _probe(server)

    run()


def test_wrong_but_well_formed_lines_never_hurt_the_server(make_server) -> None:
    # No delay after a failed OPER: the fuzzer guesses at random, and each example's
    # "fuzzer" must be gone before the next one registers under the same nick.
    server = make_server(flood_rate=0, login_delay=0)
    bystander = IRCClient(server.port)
    bystander.register("bystander")

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(hostile_lines, min_size=1, max_size=10))
    def run(lines: list[str]) -> None:
        fuzzer = IRCClient(server.port)
        fuzzer.register("fuzzer")
        try:
            fuzzer.send_raw(
                b"".join(line.encode("utf-8", "surrogatepass") + b"\r\n" for line in lines)
            )
            if not fuzzer.closed:
                fuzzer.send("QUIT")
                fuzzer.wait_closed()
        except (OSError, AssertionError):
            pass  # a dropped connection is an allowed answer to hostile input
        fuzzer.close()
        bystander.sync()  # the bystander is still served, whatever the fuzzer did
        assert not bystander.closed

    run()
    assert os.getpid()  # the test process itself is untouched
