"""Signing in: the account a connection has, and who hears about it (over real sockets)."""

from __future__ import annotations

import base64
import logging
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from server.accounts import AccountStore
from server.protocol.sasl import ScramClient, authenticate_chunks, plain_message
from server.protocol.tls import cert_fingerprint
from server.server import ChatServer
from tests.support.fake_time import FakeTime
from tests.support.ircclient import IRCClient


@pytest.fixture
def connect_to() -> Iterator[Callable[..., IRCClient]]:
    """Open raw connections to any server; all are closed after the test."""
    clients: list[IRCClient] = []

    def open_client(server: ChatServer, bind: str | None = None) -> IRCClient:
        client = IRCClient(server.port, bind=bind)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


def start_sasl(client: IRCClient, nick: str = "alice", mechanism: str = "PLAIN") -> None:
    """Negotiate sasl, send NICK and USER, and choose ``mechanism`` (CAP END not sent)."""
    client.send("CAP LS 302", "CAP REQ sasl", f"NICK {nick}", f"USER {nick} 0 * :{nick}")
    client.expect("CAP", "*", "ACK")
    client.send(f"AUTHENTICATE {mechanism}")
    assert client.expect("AUTHENTICATE").params == ["+"]


def send_response(client: IRCClient, data: bytes) -> None:
    """One client response, framed as sasl-3.1 says (400-byte chunks, ``+``)."""
    client.send(*[f"AUTHENTICATE {chunk}" for chunk in authenticate_chunks(data)])


@pytest.fixture
def server(make_server, tmp_path: Path) -> ChatServer:
    """A server with a data directory (accounts) and one account, alice."""
    AccountStore(tmp_path).create("Alice", "secret")
    # These tests register as alice before or without signing in: nick reservation
    # (tests/server/test_nickserv.py) would refuse them the nick.
    return make_server(data_dir=str(tmp_path), flood_rate=0, reserve_nicks=False)


def test_the_server_keeps_accounts_in_its_data_dir(server: ChatServer) -> None:
    assert server.accounts is not None
    assert server.accounts.find("alice").display == "Alice"


def test_signing_in_and_out_tells_the_client_and_account_notify_peers(server, connect):
    alice = connect("alice", caps=("account-notify",))
    watcher = connect("watcher", caps=("account-notify",))
    plain = connect("plain")
    watcher.sync()
    session = server.registry.find_nick("alice")
    account = server.accounts.find("alice")

    server.sign_in(session, account)
    logged_in = alice.expect("900")
    assert logged_in.params == ["alice", session.source, "Alice", "You are now logged in as Alice"]
    assert alice.expect("MODE").params == ["alice", "+r"]
    assert alice.expect("ACCOUNT").params == ["Alice"]
    notice = watcher.expect("ACCOUNT")
    assert notice.source == session.source and notice.params == ["Alice"]
    assert session.account == account and "r" in session.modes
    assert server.registry.signed_in("ALICE") == [session]
    alice.send("MODE alice")
    assert alice.expect("221").params[1] == "+r"
    alice.send("MODE alice -r")  # only the server gives or takes +r
    alice.send("MODE alice")
    assert alice.expect("221").params[1] == "+r"

    server.sign_out(session)
    assert alice.expect("901").params == ["alice", session.source, "You are now logged out"]
    assert alice.expect("MODE").params == ["alice", "-r"]
    assert watcher.expect("ACCOUNT").params == ["*"]
    assert session.account is None and server.registry.signed_in("alice") == []
    assert not [m for m in plain.sync() if m.command == "ACCOUNT"]


def test_a_connection_that_leaves_is_no_longer_signed_in(server, connect):
    alice = connect("alice")
    session = server.registry.find_nick("alice")
    server.sign_in(session, server.accounts.find("alice"))
    alice.expect("900")
    alice.send("QUIT")
    alice.wait_closed()
    assert server.registry.signed_in("alice") == []


def test_no_history_keeps_the_accounts(make_server, tmp_path: Path, connect_to) -> None:
    AccountStore(tmp_path).create("alice", "secret")
    server = make_server(data_dir=str(tmp_path), history=False)
    assert server.history is None and server.accounts.find("alice") is not None
    client = connect_to(server)
    client.send("CAP LS 302")
    offered = client.expect("CAP").params[-1].split()
    assert "sasl=PLAIN,EXTERNAL,SCRAM-SHA-256" in offered
    assert not any(cap.startswith("draft/chathistory") for cap in offered)


# --- AUTHENTICATE ------------------------------------------------------------------------
def test_cap_ls_offers_sasl_with_its_mechanisms_only_where_accounts_exist(
    server, make_server, connect_to
) -> None:
    modern = connect_to(server)
    modern.send("CAP LS 302")
    assert "sasl=PLAIN,EXTERNAL,SCRAM-SHA-256" in modern.expect("CAP").params[-1].split()
    old = connect_to(server)
    old.send("CAP LS")
    assert "sasl" in old.expect("CAP").params[-1].split()  # 3.1 clients: no value
    bare = connect_to(make_server())  # no data directory: no accounts, no sasl
    bare.send("CAP LS 302", "CAP REQ sasl")
    assert not any(c.startswith("sasl") for c in bare.expect("CAP").params[-1].split())
    assert bare.expect("CAP").params[1:] == ["NAK", "sasl"]


def test_plain_signs_in_before_registration(server, connect_to) -> None:
    alice = connect_to(server)
    start_sasl(alice)
    alice.send("AUTHENTICATE " + base64.b64encode(plain_message("alice", "secret")).decode())
    logged_in = alice.expect("900")
    assert logged_in.params[0] == "alice" and logged_in.params[1].startswith("alice!~alice@")
    assert logged_in.params[2:] == ["Alice", "You are now logged in as Alice"]
    assert alice.expect("903").params == ["alice", "SASL authentication successful"]
    alice.send("CAP END")
    alice.expect("001")
    alice.send("MODE alice")
    assert "r" in alice.expect("221").params[1]
    assert server.registry.find_nick("alice").account.name == "alice"


def test_plain_in_chunks_of_400_and_an_exact_400_followed_by_plus(
    make_server, tmp_path, connect_to
) -> None:
    store = AccountStore(tmp_path)
    store.create("foo", "bar" * 97)  # the PLAIN message is exactly 400 base64 bytes
    store.create("big", "x" * 290)  # over 400: two chunks
    server = make_server(data_dir=str(tmp_path))
    exact = connect_to(server)
    start_sasl(exact, "foo")
    message = plain_message("foo", "bar" * 97)
    assert len(base64.b64encode(message)) == 400
    send_response(exact, message)
    assert exact.until("903")[-2].command == "900"
    split = connect_to(server)
    start_sasl(split, "big")
    message = plain_message("big", "x" * 290)
    assert len(authenticate_chunks(message)) == 2
    send_response(split, message)
    split.expect("903")


def test_scram_sha_256_signs_in_with_a_real_client_exchange(server, connect_to) -> None:
    alice = connect_to(server)
    start_sasl(alice, mechanism="SCRAM-SHA-256")
    scram = ScramClient("alice", "secret")
    send_response(alice, scram.first())
    server_first = base64.b64decode(alice.expect("AUTHENTICATE").params[0])
    send_response(alice, scram.final(server_first))
    server_final = base64.b64decode(alice.expect("AUTHENTICATE").params[0])
    assert scram.verify(server_final)  # the server proved it knows the password too
    alice.send("AUTHENTICATE +")
    assert alice.expect("900").params[2] == "Alice"
    alice.expect("903")


def test_wrong_passwords_fail_with_904_and_are_delayed_per_address_and_account(
    make_server, tmp_path, connect_to, caplog
) -> None:
    AccountStore(tmp_path).create("alice", "secret")
    fake = FakeTime()
    server = make_server(data_dir=str(tmp_path), clock=fake.clock, sleep=fake.sleep)
    guesser = connect_to(server, bind="127.0.0.2")
    start_sasl(guesser, "guesser")
    send_response(guesser, plain_message("alice", "guess1"))
    assert guesser.expect("904").params == ["guesser", "SASL authentication failed"]
    guesser.send("AUTHENTICATE SCRAM-SHA-256")  # may retry, another mechanism too
    guesser.expect("AUTHENTICATE")
    scram = ScramClient("alice", "guess2")
    send_response(guesser, scram.first())
    challenge = base64.b64decode(guesser.expect("AUTHENTICATE").params[0])
    send_response(guesser, scram.final(challenge))
    guesser.expect("904")
    assert fake.slept == [1.0, 2.0]
    # Another address guessing the same account is slowed by the account's failures.
    other = connect_to(server, bind="127.0.0.3")
    start_sasl(other, "other")
    send_response(other, plain_message("alice", "guess3"))
    other.expect("904")
    assert fake.slept[-1] == 4.0
    # The right password still works, and a stranger's account starts afresh.
    stranger = connect_to(server, bind="127.0.0.4")
    start_sasl(stranger, "bob")
    send_response(stranger, plain_message("nobody", "x"))
    stranger.expect("904")
    assert fake.slept[-1] == 1.0
    other.send("AUTHENTICATE PLAIN")
    other.expect("AUTHENTICATE")
    send_response(other, plain_message("alice", "secret"))
    other.expect("903")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "failed SASL (wrong password for alice) from 127.0.0.2 (nick guesser)" in warnings
    assert not [w for w in warnings if "guess1" in w or "secret" in w]


def test_unknown_mechanism_gets_908_then_904(server, connect_to) -> None:
    alice = connect_to(server)
    alice.send("CAP LS 302", "CAP REQ sasl", "AUTHENTICATE FOO")
    mechs = alice.expect("908")
    assert mechs.params == ["*", "PLAIN,EXTERNAL,SCRAM-SHA-256", "are available SASL mechanisms"]
    assert alice.next().params == ["*", "SASL authentication failed"]


def test_abort_malformed_and_overlong_responses(server, connect_to) -> None:
    alice = connect_to(server)
    start_sasl(alice)
    alice.send("AUTHENTICATE *")
    assert alice.expect("906").params == ["alice", "SASL authentication aborted"]
    alice.send("AUTHENTICATE PLAIN")
    alice.expect("AUTHENTICATE")
    alice.send("AUTHENTICATE " + "A" * 401)  # a chunk over 400 bytes
    assert alice.expect("905").params == ["alice", "SASL message too long"]
    alice.send("AUTHENTICATE PLAIN")
    alice.expect("AUTHENTICATE")
    alice.send(*["AUTHENTICATE " + "A" * 400] * 5)  # a response over the limit
    alice.expect("905")
    alice.send("AUTHENTICATE PLAIN")
    alice.expect("AUTHENTICATE")
    alice.send("AUTHENTICATE not!base64")
    alice.expect("904")
    alice.send("AUTHENTICATE PLAIN")
    alice.expect("AUTHENTICATE")
    send_response(alice, b"no separators")  # base64, but not a PLAIN message
    alice.expect("904")
    alice.send("AUTHENTICATE PLAIN")
    alice.expect("AUTHENTICATE")
    send_response(alice, plain_message("alice", "secret"))  # nothing was spoiled
    alice.expect("903")


def test_authenticate_needs_the_sasl_capability(server, connect_to) -> None:
    alice = connect_to(server)
    alice.send("AUTHENTICATE PLAIN")
    assert alice.expect("904").params == ["*", "SASL authentication failed"]
    alice.send("NICK alice", "USER alice 0 * :A")
    alice.expect("001")


def test_a_second_sign_in_after_success_gets_907(server, connect_to) -> None:
    alice = connect_to(server)
    start_sasl(alice)
    send_response(alice, plain_message("alice", "secret"))
    alice.expect("903")
    alice.send("AUTHENTICATE PLAIN")
    assert alice.expect("907").params == ["alice", "You have already authenticated using SASL"]
    alice.send("CAP END")
    alice.expect("001")
    alice.send("AUTHENTICATE PLAIN")
    alice.expect("907")


def test_sasl_after_registration_signs_in_and_tells_the_channel(server, connect_to) -> None:
    watcher = connect_to(server)
    watcher.register("watcher", ("account-notify",))
    alice = connect_to(server)
    alice.register("alice", ("sasl",))
    alice.send("AUTHENTICATE PLAIN")
    alice.expect("AUTHENTICATE", "+")
    send_response(alice, plain_message("alice", "secret"))
    alice.expect("900")
    assert alice.expect("MODE").params == ["alice", "+r"]
    alice.expect("903")
    assert watcher.expect("ACCOUNT").params == ["Alice"]


def test_registering_mid_exchange_aborts_it_with_906(server, connect_to) -> None:
    alice = connect_to(server)
    start_sasl(alice)
    alice.send("CAP END")
    assert alice.expect("906").params == ["alice", "SASL authentication aborted"]
    alice.expect("001")
    assert server.registry.find_nick("alice").account is None


# --- PASS and --require-account --------------------------------------------------------
def test_pass_account_password_signs_in_without_sasl(server, connect_to) -> None:
    alice = connect_to(server)
    alice.send("PASS alice:secret", "NICK alice", "USER alice 0 * :A")
    assert alice.expect("900").params[2:] == ["Alice", "You are now logged in as Alice"]
    assert alice.expect("001").params[0] == "alice"
    assert server.registry.find_nick("alice").account.name == "alice"


def test_pass_with_a_wrong_account_password_is_delayed_and_refused(
    make_server, tmp_path, connect_to
) -> None:
    AccountStore(tmp_path).create("alice", "secret")
    fake = FakeTime()
    server = make_server(data_dir=str(tmp_path), clock=fake.clock, sleep=fake.sleep)
    guesser = connect_to(server, bind="127.0.0.2")
    guesser.send("PASS alice:guess", "NICK alice", "USER alice 0 * :A")
    closing = guesser.wait_closed()
    assert [m.command for m in closing] == ["464", "ERROR"]
    assert closing[1].params == ["Closing Link: Password incorrect"]
    assert fake.slept == [1.0]


def test_with_a_server_password_an_account_login_stands_in_for_it(
    make_server, tmp_path, connect_to
) -> None:
    AccountStore(tmp_path).create("alice", "secret")
    server = make_server(data_dir=str(tmp_path), password="a:b")
    alice = connect_to(server)
    alice.send("PASS alice:secret", "NICK alice", "USER alice 0 * :A")
    alice.expect("900")
    alice.expect("001")
    guest = connect_to(server)
    guest.send("PASS a:b", "NICK guest", "USER guest 0 * :G")  # the server password itself
    guest.expect("001")
    assert server.registry.find_nick("guest").account is None


def test_require_account_lets_only_signed_in_clients_register(
    make_server, tmp_path, connect_to
) -> None:
    AccountStore(tmp_path).create("alice", "secret")
    server = make_server(data_dir=str(tmp_path), require_account=True)
    stranger = connect_to(server)
    stranger.send("NICK stranger", "USER s 0 * :S")
    closing = stranger.wait_closed()
    text = "You must log in with SASL to join this server"
    assert closing[0].command == "FAIL" and closing[0].params == ["*", "ACCOUNT_REQUIRED", text]
    assert closing[-1].command == "ERROR" and text in closing[-1].params[0]
    assert server.registry.find_nick("stranger") is None
    alice = connect_to(server)
    start_sasl(alice)
    send_response(alice, plain_message("alice", "secret"))
    alice.expect("903")
    alice.send("CAP END")
    alice.expect("001")
    by_pass = connect_to(server)
    by_pass.send("PASS alice:secret", "NICK alice2", "USER a 0 * :A")
    by_pass.expect("001")


def test_an_account_made_by_the_admin_command_signs_in_on_the_running_server(
    server, tmp_path, connect_to
) -> None:
    command = [sys.executable, "-m", "server.accounts", "--data-dir", str(tmp_path)]
    added = subprocess.run(
        [*command, "add", "Bob", "--password", "hunter22"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert added.returncode == 0, added.stderr
    bob = connect_to(server)
    start_sasl(bob, "bob")
    send_response(bob, plain_message("bob", "hunter22"))
    assert bob.expect("900").params[2] == "Bob"
    bob.expect("903")
    changed = subprocess.run(
        [*command, "passwd", "bob", "--password", "newer-one"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert changed.returncode == 0, changed.stderr
    again = connect_to(server)
    start_sasl(again, "bob2")
    send_response(again, plain_message("bob", "hunter22"))
    again.expect("904")  # the old password stopped working at once


# --- EXTERNAL: a TLS client certificate ---------------------------------------------------
def test_external_signs_in_by_a_self_signed_client_certificate(
    make_server, tmp_path, connect_to
) -> None:
    ca = trustme.CA()
    served = ca.issue_cert("localhost", "127.0.0.1")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    served.private_key_and_cert_chain_pem.write_to_path(str(chain))
    served.private_key_pem.write_to_path(str(key))
    mine = trustme.CA().issue_cert("alice@home")  # signed by nobody the server trusts
    der = ssl.PEM_cert_to_DER_cert(mine.cert_chain_pems[0].bytes().decode())
    store = AccountStore(tmp_path / "data")
    store.create("alice", "secret")
    store.add_certfp("alice", cert_fingerprint(der))
    server = make_server(data_dir=str(tmp_path / "data"), tls_port=0, cert=str(chain), key=str(key))

    def tls_client(with_cert: bool) -> IRCClient:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        if with_cert:
            mine.configure_cert(context)
        client = connect_to(server)
        client.sock.close()
        raw = socket.create_connection(("127.0.0.1", server.tls_port), timeout=5)
        client.sock = context.wrap_socket(raw, server_hostname="localhost")
        return client

    alice = tls_client(with_cert=True)
    start_sasl(alice, mechanism="EXTERNAL")
    alice.send("AUTHENTICATE +")
    assert alice.expect("900").params[2] == "alice"
    alice.expect("903")
    anonymous = tls_client(with_cert=False)  # no certificate: connects, EXTERNAL fails
    start_sasl(anonymous, "anon", mechanism="EXTERNAL")
    anonymous.send("AUTHENTICATE +")
    anonymous.expect("904")
    anonymous.send("CAP END")
    anonymous.expect("001")
    # WHOIS shows the fingerprint (276) to its owner only, not to other users.
    alice.send("CAP END")
    alice.expect("001")
    alice.send("WHOIS alice")
    certfp = alice.expect("276")
    assert certfp.params[1:] == [
        "alice",
        f"has client certificate fingerprint {cert_fingerprint(der)}",
    ]
    anonymous.send("WHOIS alice")
    assert "276" not in [line.command for line in anonymous.until("318")]
