"""TLS with certificates made by trustme: a TLS port beside the plain one, TLS only,
and TLS and plaintext users chatting in the same channel."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
import trustme

from tests.support.ircclient import IRCClient
from tests.support.processes import run_server, start_server


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


class TLSClient(IRCClient):
    """An IRCClient whose socket speaks TLS, verifying the server against the test CA."""

    def __init__(self, port: int, ca: trustme.CA, **context_options: object) -> None:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        for name, value in context_options.items():
            setattr(context, name, value)
        super().__init__(port)
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")


def test_tls_and_plain_users_share_a_channel(make_server, ca, cert_files) -> None:
    chain, key = cert_files
    server = make_server(tls_port=0, cert=chain, key=key)
    secure = TLSClient(server.tls_port, ca)
    assert secure.sock.version() in ("TLSv1.2", "TLSv1.3")
    secure.register("secure", caps=("echo-message",))
    plain = IRCClient(server.port)
    plain.register("plain")
    secure.send("PRIVMSG #general :over TLS \U0001f512")
    assert plain.expect("PRIVMSG").params == ["#general", "over TLS \U0001f512"]
    assert secure.expect("PRIVMSG").params[1] == "over TLS \U0001f512"
    plain.send("PRIVMSG #general :" + "long reply " * 40)
    assert secure.expect("PRIVMSG").params[1] == "long reply " * 40
    plain.send("WHOIS secure")
    assert plain.expect("671").params == ["plain", "secure", "is using a secure connection"]
    plain.send("WHOIS plain")
    assert "671" not in [m.command for m in plain.until("318")]
    secure.send("QUIT :bye")
    assert secure.wait_closed()[-1].command == "ERROR"
    assert plain.expect("QUIT").params == ["Quit: bye"]
    plain.close()


def test_tls_client_survives_a_big_burst(make_server, ca, cert_files) -> None:
    chain, key = cert_files
    server = make_server(tls_port=0, cert=chain, key=key, flood_rate=0)
    secure = TLSClient(server.tls_port, ca)
    secure.register("secure")
    talker = IRCClient(server.port)
    talker.register("talker")
    talker.send(*(f"PRIVMSG #general :{i} " + "x" * 400 for i in range(2000)))
    assert [secure.expect("PRIVMSG").params[1].split()[0] for _ in range(2000)] == [
        str(i) for i in range(2000)
    ]
    secure.close()
    talker.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # asking for TLS 1.1 on purpose
def test_tls_1_1_is_refused(make_server, ca, cert_files) -> None:
    chain, key = cert_files
    server = make_server(tls_port=0, cert=chain, key=key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(context)
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    raw = socket.create_connection(("127.0.0.1", server.tls_port), timeout=5)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        context.wrap_socket(raw, server_hostname="localhost")
    raw.close()


def test_plaintext_to_the_tls_port_is_dropped_and_harms_nobody(make_server, ca, cert_files) -> None:
    chain, key = cert_files
    server = make_server(tls_port=0, cert=chain, key=key)
    confused = IRCClient(server.tls_port)
    confused.send("NICK confused", "USER c 0 * :C")
    confused.wait_closed()
    secure = TLSClient(server.tls_port, ca)
    secure.register("fine")
    assert secure.nick == "fine"
    confused.close()
    secure.close()


def test_tls_only_refuses_plaintext(make_server, ca, cert_files) -> None:
    chain, key = cert_files
    server = make_server(tls_only=True, cert=chain, key=key)
    assert server.tls_port is None  # the one listening port speaks TLS
    secure = TLSClient(server.port, ca)
    secure.register("only")
    plain = IRCClient(server.port)
    plain.send("NICK plain", "USER p 0 * :P")
    plain.wait_closed()
    assert [m for m in plain.seen if m.command == "001"] == []
    secure.close()
    plain.close()


def test_tls_options_from_the_command_line(cert_files) -> None:
    chain, key = cert_files
    proc, _port = start_server("--tls-port", "0", "--cert", chain, "--key", key)
    try:
        assert "TLS on 127.0.0.1:" in proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    missing = run_server("-p", "0", "--tls-port", "0")
    assert missing.returncode == 2 and "--tls-port needs --cert and --key" in missing.stderr
    absent = run_server("-p", "0", "--tls-port", "0", "--cert", "/nope.pem", "--key", key)
    assert absent.returncode == 2 and "no such file: /nope.pem" in absent.stderr
