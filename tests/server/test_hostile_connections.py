"""Hostile connections over real sockets: one address taking every slot, connection
floods, TLS handshakes that never finish, running out of descriptors, password guessing.

Per-address rules are tried from 127.0.0.2 and up (the test servers exempt 127.0.0.1);
timeouts and penalties run on a fake clock, so no test waits for real time to pass.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from server import admin
from server.__main__ import config_from_args, parse_args
from server.descriptors import RESERVE
from server.penalty import FORGET_FAILURES, LoginFailures, Throttle
from tests.support.fake_time import FakeTime
from tests.support.ircclient import IRCClient
from tests.support.processes import ROOT, run_server


@pytest.fixture
def opened() -> Iterator[list]:
    """Sockets and clients to close after the test, whatever happened."""
    things: list = []
    yield things
    for thing in things:
        thing.close()


def _client(things: list, port: int, bind: str, nick: str | None = None) -> IRCClient:
    client = IRCClient(port, bind=bind)
    things.append(client)
    if nick is not None:
        client.register(nick)
    return client


def _refusal(client: IRCClient) -> str:
    """The text of the ERROR a refused connection gets before it is closed."""
    got = client.wait_closed()
    assert [m.command for m in got] == ["ERROR"], [m.format() for m in got]
    return got[0].params[0]


# --- one address, every slot ---------------------------------------------------------------
def test_one_address_cannot_take_every_slot(make_server, opened) -> None:
    server = make_server()  # the defaults (only 127.0.0.1 is exempt, see conftest)
    for i in range(10):
        _client(opened, server.port, "127.0.0.2", f"hog{i}")
    eleventh = _client(opened, server.port, "127.0.0.2")
    assert _refusal(eleventh) == "Closing Link: 127.0.0.2 (Too many connections from your address)"
    neighbour = _client(opened, server.port, "127.0.0.3", "neighbour")
    neighbour.send("LUSERS")
    assert neighbour.expect("251").params[1].startswith("There are 11 users")


def test_exempt_blocks_have_no_per_address_limit(make_server, opened) -> None:
    server = make_server(max_per_ip=2, exempt=["127.0.0.2/31"])  # .2 and .3
    for i in range(4):
        _client(opened, server.port, "127.0.0.3", f"lab{i}")
    _client(opened, server.port, "127.0.0.4", "one")
    _client(opened, server.port, "127.0.0.4", "two")
    third = _client(opened, server.port, "127.0.0.4")
    assert _refusal(third).endswith("(Too many connections from your address)")


def test_connection_throttle_per_address(make_server, opened) -> None:
    fake = FakeTime()
    server = make_server(clock=fake.clock, sleep=fake.sleep, throttle=3, throttle_window=60)
    for i in range(3):
        client = _client(opened, server.port, "127.0.0.2", f"quick{i}")
        client.send("QUIT")
        client.wait_closed()
    fourth = _client(opened, server.port, "127.0.0.2")
    assert _refusal(fourth) == (
        "Closing Link: 127.0.0.2 (Connecting too fast; try again in 60 seconds)"
    )
    _client(opened, server.port, "127.0.0.3", "other")  # another address is not held up
    for i in range(5):
        _client(opened, server.port, "127.0.0.1", f"exempt{i}")  # nor is an exempt one
    fake.now += 45
    assert "try again in 15 seconds" in _refusal(_client(opened, server.port, "127.0.0.2"))
    fake.now += 15
    _client(opened, server.port, "127.0.0.2", "later")


def test_exempt_option_takes_cidr_lists() -> None:
    args = parse_args(["--exempt", "127.0.0.1/8,10.0.0.0/24", "--exempt", "::1"])
    config = config_from_args(args)
    assert config.exempt == ["127.0.0.1/8,10.0.0.0/24", "::1"]
    assert config.max_per_ip == 10 and config.throttle == 20
    result = run_server("--exempt", "10.0.0.0/33")
    assert result.returncode == 2
    assert "--exempt: not an address or CIDR block: '10.0.0.0/33'" in result.stderr


# --- TLS handshakes ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def cert_files(ca: trustme.CA, tmp_path: Path) -> tuple[str, str]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    return str(chain), str(key)


def _trickler(opened: list, port: int, bind: str = "127.0.0.1") -> socket.socket:
    """A TLS client that has sent one byte of its ClientHello."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(bind, 0))
    opened.append(sock)
    sock.sendall(b"\x16")  # a handshake record begins; the rest comes a byte at a time
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _unknown(client: IRCClient, expected: str) -> str:
    """LUSERS' unknown connections, asked until they are ``expected`` (or 5 s passed)."""
    deadline = time.monotonic() + 5
    while True:
        client.send("LUSERS")
        unknown = client.expect("253").params[1]
        if unknown == expected or time.monotonic() > deadline:
            return unknown


def test_a_tls_handshake_counts_from_accept_and_has_a_deadline(
    make_server, cert_files, opened
) -> None:
    chain, key = cert_files
    fake = FakeTime()
    server = make_server(
        clock=fake.clock, sleep=fake.sleep, tls_port=0, cert=chain, key=key, max_clients=3
    )
    watcher = _client(opened, server.port, "127.0.0.1", "watcher")
    slow = [_trickler(opened, server.tls_port) for _ in range(2)]
    # Both handshakes count: LUSERS sees them, and the server is full.
    assert _unknown(watcher, "2") == "2"
    assert admin.stats(server).connections == 3
    newcomer = _client(opened, server.port, "127.0.0.1")
    assert _refusal(newcomer).endswith("(Server is full)")
    # Trickling does not help: the deadline is for the whole handshake.
    fake.now += 4
    slow[0].sendall(b"\x03")
    assert not _closed_by_server_soon(slow[0])
    fake.now += 2  # 6 s after accept, past the 5 s deadline
    for sock in slow:
        sock.sendall(b"\x01")
        assert _closed_by_server(sock)
    assert _unknown(watcher, "0") == "0"
    _client(opened, server.port, "127.0.0.1", "newcomer")


def _closed_by_server_soon(sock: socket.socket) -> bool:
    """Whether the server closes ``sock`` within a moment (it should not)."""
    sock.settimeout(0.2)
    try:
        return _closed_by_server(sock)
    finally:
        sock.settimeout(5)


def test_tls_handshakes_count_against_the_per_address_limit(
    make_server, cert_files, opened
) -> None:
    chain, key = cert_files
    server = make_server(tls_port=0, cert=chain, key=key, max_per_ip=2)
    _trickler(opened, server.tls_port, "127.0.0.2")
    _trickler(opened, server.tls_port, "127.0.0.2")
    third = _trickler(opened, server.tls_port, "127.0.0.2")
    # Closed at once, and with no plaintext ERROR inside what should be TLS.
    assert third.recv(4096) == b""
    plain = _client(opened, server.port, "127.0.0.2")
    assert _refusal(plain).endswith("(Too many connections from your address)")


# --- descriptors -------------------------------------------------------------------------
def test_too_few_descriptors_lower_max_clients_and_newcomers_are_told(opened) -> None:
    limit = RESERVE + 20

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    command = [sys.executable, "-m", "server", "-H", "127.0.0.1", "-p", "0", "--no-history"]
    proc = subprocess.Popen(
        [*command, "--exempt", "127.0.0.1"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=low_limit,
    )
    try:
        lines = []
        while not lines or "listening on" not in lines[-1]:
            lines.append(proc.stderr.readline())
            assert lines[-1], lines
        port = int(lines[-1].rsplit(":", 1)[1])
        assert any("max-clients lowered from 10000 to 20" in line for line in lines), lines
        clients = [_client(opened, port, "127.0.0.1") for _ in range(limit + 10)]
        for client in clients[20:]:
            assert _refusal(client) == "Closing Link: 127.0.0.1 (Server is full)"
        clients[0].register("first")
        clients[19].register("last")
    finally:
        proc.kill()
        proc.communicate()


def _lower_descriptor_limit(free: int) -> int:
    """Lower this process's soft descriptor limit so ``free`` more can be opened."""
    in_use = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            os.fstat(int(name))
            in_use.add(int(name))
        except OSError:
            pass  # the listing's own descriptor, closed by now
    found, limit = 0, 0
    while found < free:
        if limit not in in_use:
            found += 1
        limit += 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    return soft


def test_out_of_descriptors_newcomers_get_error_and_accept_does_not_spin(
    make_server, opened
) -> None:
    server = make_server()
    calls = [0]
    handle = server._handle_request_noblock

    def counted() -> None:
        calls[0] += 1
        handle()

    server._handle_request_noblock = counted
    socks = [socket.socket() for _ in range(6)]
    opened.extend(socks)
    # Room for about two accepted connections. Other threads of this test process may
    # open or close a descriptor meanwhile, so which newcomers fit is not fixed: each is
    # either served or told why, never left hanging.
    old = _lower_descriptor_limit(2)
    try:
        for sock in socks:
            sock.settimeout(5)
            sock.connect(("127.0.0.1", server.port))
        served, refused = [], []
        for sock in socks:
            sock.settimeout(1.5)  # a served connection says nothing before registering
            data = b""
            try:
                while chunk := sock.recv(4096):
                    data += chunk
            except TimeoutError:
                served.append(sock)
                continue
            assert data == b"ERROR :Closing Link: 127.0.0.1 (Server is full)\r\n"
            refused.append(sock)
        assert len(refused) >= 3  # most of the six could not fit, and were told so
        settled = calls[0]
        for sock in served:  # those served stay served
            sock.settimeout(5)
            for i in range(10):
                sock.sendall(f"PING :alive{i}\r\n".encode())
                assert f"alive{i}".encode() in sock.recv(4096)
        assert calls[0] - settled <= 1  # nothing left to accept: the loop waits, idle
    finally:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (old, hard))


# --- guessing ------------------------------------------------------------------------------
def test_wrong_oper_is_delayed_logged_and_ends_the_connection(make_server, opened, caplog) -> None:
    fake = FakeTime()
    server = make_server(
        clock=fake.clock, sleep=fake.sleep, opers={"root": "hunter2"}, flood_rate=0
    )
    guesser = _client(opened, server.port, "127.0.0.2", "guesser")
    guesser.send("OPER root guess-one")
    assert guesser.expect("464").params == ["guesser", "Password incorrect"]
    guesser.send("OPER nobody hunter2")
    assert guesser.expect("491").params == ["guesser", "No O-lines for your host"]
    guesser.send("OPER root guess-three")
    guesser.expect("464")
    assert _refusal(guesser) == "Closing Link: 127.0.0.2 (Too many failed OPER attempts)"
    assert fake.slept == [1.0, 2.0, 4.0]
    again = _client(opened, server.port, "127.0.0.2", "again")
    again.send("OPER root guess-four")
    again.expect("464")
    assert fake.slept[-1] == 8.0  # the address keeps its record across connections
    other = _client(opened, server.port, "127.0.0.3", "other")
    other.send("OPER root typo", "OPER root hunter2")
    assert other.expect("381").params[0] == "other"
    assert fake.slept[-1] == 1.0  # another address starts afresh
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    failures = [w for w in warnings if w.startswith("failed OPER")]
    assert failures[0] == "failed OPER as 'root' from 127.0.0.2 (nick guesser)"
    assert failures[1] == "failed OPER as 'nobody' from 127.0.0.2 (nick guesser)"
    assert len(failures) == 5
    assert not [w for w in warnings if "guess-" in w or "typo" in w or "hunter2" in w]
    assert admin.stats(server).failed_logins == 5


def test_a_delayed_guesser_holds_up_no_one_else(make_server, opened) -> None:
    gate = threading.Event()
    waits: list[float] = []

    def held(seconds: float, event: threading.Event) -> None:
        waits.append(seconds)
        gate.wait(5)

    server = make_server(sleep=held, opers={"root": "hunter2"})
    guesser = _client(opened, server.port, "127.0.0.2", "guesser")
    bystander = _client(opened, server.port, "127.0.0.3", "bystander")
    guesser.send("OPER root wrong", "PRIVMSG #general :after the guess")
    try:
        bystander.send("PRIVMSG #general :hello")
        bystander.sync()  # answered while the guesser waits out its penalty
        assert waits == [1.0]
        assert guesser.expect("PRIVMSG").params[1] == "hello"
        assert guesser.next(timeout=0.2) is None  # no 464 before the delay is over
    finally:
        gate.set()
    assert guesser.expect("464").params[0] == "guesser"
    assert bystander.expect("PRIVMSG").params[1] == "after the guess"


def test_wrong_pass_is_delayed_then_the_address_is_refused(make_server, opened, caplog) -> None:
    fake = FakeTime()
    server = make_server(clock=fake.clock, sleep=fake.sleep, password="s3cret", login_ban=3)
    for i in range(3):
        guesser = _client(opened, server.port, "127.0.0.2")
        guesser.send(f"PASS guess{i}", f"NICK guess{i}", "USER g 0 * :G")
        assert guesser.expect("464").params == [f"guess{i}", "Password incorrect"]
        assert guesser.wait_closed()[-1].params == ["Closing Link: Password incorrect"]
    assert fake.slept == [1.0, 2.0, 4.0]
    refused = _client(opened, server.port, "127.0.0.2")
    assert _refusal(refused) == (
        # 600 s after the last failure, which was 4 s ago (its own delay)
        "Closing Link: 127.0.0.2 (Too many failed logins; try again in 596 seconds)"
    )
    neighbour = _client(opened, server.port, "127.0.0.3")
    neighbour.register("neighbour", password="s3cret")
    fake.now += FORGET_FAILURES
    forgiven = _client(opened, server.port, "127.0.0.2")
    forgiven.register("forgiven", password="s3cret")
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "failed PASS from 127.0.0.2 (nick guess0)" in logged
    assert not [line for line in logged if "guess1 " in line or "s3cret" in line]
    assert admin.stats(server).failed_logins == 3


class Connection:
    """Stands for a client: the failures keep a weak reference to it."""


def test_per_address_state_is_bounded_and_expires() -> None:
    fake = FakeTime()
    throttle = Throttle(2, 60, fake.clock, max_addresses=100)
    failures = LoginFailures(1.0, 3, fake.clock, max_addresses=100)
    for i in range(1000):
        ip = f"10.0.{i // 256}.{i % 256}"
        assert throttle.hit(ip) == 0
        failures.fail(ip, Connection())
        fake.now += 0.01
    assert len(throttle) == 100 and len(failures) == 100
    fake.now += FORGET_FAILURES
    throttle.hit("10.9.9.9")
    assert failures.banned("10.9.9.9") == 0
    assert len(throttle) == 1 and len(failures) == 0
