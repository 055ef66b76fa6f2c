"""TLS in the app, against the real server's TLS port with certificates made by trustme."""

from __future__ import annotations

import hashlib
import ssl
import threading
from pathlib import Path

import pytest
import trustme

from app.events import Kind
from app.text import failure_text, status_text, tls_text
from server.protocol.tls import cert_fingerprint, client_context
from tests.app.helpers import DEADLINE, pump


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _write(cert: trustme.LeafCert, folder: Path) -> tuple[str, str]:
    chain, key = folder / "chain.pem", folder / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    return str(chain), str(key)


@pytest.fixture
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost", "127.0.0.1")


@pytest.fixture
def server(make_server, leaf, tmp_path):
    """The server of this module listens for TLS beside its plain port."""
    chain, key = _write(leaf, tmp_path)
    return make_server(tls_port=0, cert=chain, key=key)


@pytest.fixture
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A verifying context that trusts the test CA."""
    context = client_context()
    ca.configure_trust(context)
    return context


def expected_fingerprint(cert: trustme.LeafCert) -> str:
    """SHA-256 of the leaf's DER form, worked out here independently of the app."""
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def test_fingerprint_format() -> None:
    assert cert_fingerprint(b"") == (
        "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:"
        "27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
    )


def test_verified_tls_round_trip_with_a_plain_peer(server, make_model, connect, trusting, leaf):
    bob = connect("bob")
    model, log = make_model(server.tls_port, "alice", ssl_context=trusting)
    assert model.tls and model.tls_verify
    log.expect(Kind.STATUS, state="connecting")
    tls = log.expect(Kind.TLS, state="verified")
    assert tls.fingerprint == expected_fingerprint(leaf)
    assert "verified" in tls_text(tls) and model.tls_version in ("TLSv1.2", "TLSv1.3")
    log.expect(Kind.REGISTERED, nick="alice")
    status = log.expect(Kind.STATUS, state="connected")
    assert "TLS" in status_text(status) and "unverified" not in status_text(status)
    log.expect(Kind.JOIN, conversation="#general", own=True)
    bob.expect("JOIN", "#general", where=lambda m: m.nick == "alice")
    assert model.say("#general", "sealed 🔒 hello")
    assert bob.expect("PRIVMSG", "#general").params[1] == "sealed 🔒 hello"
    log.expect(Kind.MESSAGE, own=True, text="sealed 🔒 hello")
    # A long reply that still fits 512 bytes once the server adds bob's prefix.
    bob.send("PRIVMSG #general :" + "plain reply " * 38)
    assert log.expect(Kind.MESSAGE, nick="bob").text == "plain reply " * 38
    bob.send("WHOIS alice")
    assert bob.expect("671").params[1] == "alice"  # the server sees a secure connection


def test_untrusted_certificate_is_refused_clearly_and_retried_with_backoff(
    server, make_model
) -> None:
    delays: list[float] = []
    gate = threading.Event()

    def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= 3:
            gate.wait(DEADLINE)

    # The system's CAs do not know the test CA.
    model, log = make_model(server.tls_port, "alice", tls=True, sleep=sleep, rand=lambda: 1.0)
    try:
        for attempt in range(3):
            down = log.expect(Kind.STATUS, state="disconnected")
            assert "TLS certificate not trusted" in status_text(down), down
            assert "use --tls-insecure to connect anyway" in status_text(down)
            retry = log.expect(Kind.STATUS, state="reconnecting")
            assert retry.delay == [1.0, 2.0, 4.0][attempt]
        assert delays == [1.0, 2.0, 4.0]
        errors = log.of(Kind.TLS_REFUSED)
        assert len(errors) == 1  # once (the controller shows it in the server window)
        assert "not trusted" in failure_text(errors[0].failure)
        assert not log.of(Kind.REGISTERED) and not log.of(Kind.TLS)
        assert not model.connected
    finally:
        model.stop(timeout=0)
        gate.set()


def test_host_name_mismatch_is_refused(make_server, ca, tmp_path, make_model, trusting):
    chain, key = _write(ca.issue_cert("chat.example"), tmp_path)
    other = make_server(tls_port=0, cert=chain, key=key)
    _model, log = make_model(other.tls_port, "alice", ssl_context=trusting, reconnect=False)
    down = log.expect(Kind.STATUS, state="disconnected")
    assert "TLS certificate not trusted" in status_text(down)
    assert "mismatch" in status_text(down)
    log.expect(Kind.STATUS, state="closed")


def test_tls_to_a_plain_port_says_so(server, make_model, trusting):
    _model, log = make_model(server.port, "alice", ssl_context=trusting, reconnect=False)
    down = log.expect(Kind.STATUS, state="disconnected")
    assert "TLS" in status_text(down) and "Traceback" not in status_text(down)


def test_insecure_tls_connects_and_exposes_the_fingerprint(server, make_model, connect, leaf):
    bob = connect("bob")
    model, log = make_model(server.tls_port, "alice", tls=True, tls_verify=False)
    fingerprint = expected_fingerprint(leaf)
    tls = log.expect(Kind.TLS, state="insecure")
    assert tls.fingerprint == fingerprint and fingerprint in tls_text(tls)
    status = log.expect(Kind.STATUS, state="connected")
    assert fingerprint in status_text(status) and "unverified" in status_text(status)
    assert model.tls_fingerprint == fingerprint
    log.expect(Kind.JOIN, own=True)
    bob.send("PRIVMSG #general :hi")
    assert log.expect(Kind.MESSAGE, nick="bob").text == "hi"


def test_window_shows_the_fingerprint_of_an_insecure_connection(server, make_chat, leaf):
    controller, view = make_chat(server.tls_port, tls=True, tls_verify=False)
    fingerprint = expected_fingerprint(leaf)
    pump(view, lambda: controller.model.registered, what="registered over TLS")
    pump(view, lambda: fingerprint in view.status_label.cget("text"), what="status fingerprint")
    server_lines = [line.text for line in view.conversations[""].lines]
    assert any(fingerprint in text for text in server_lines), server_lines


def test_window_explains_an_untrusted_certificate(server, make_chat):
    controller, view = make_chat(server.tls_port, tls=True)
    want = "TLS certificate not trusted"
    pump(view, lambda: want in view.status_label.cget("text"), what="untrusted status")
    status = view.status_label.cget("text")
    assert "use --tls-insecure to connect anyway" in status
    pump(view, lambda: "reconnecting in" in view.status_label.cget("text"), what="backoff")
    server_lines = [line.text for line in view.conversations[""].lines]
    assert any(want in text for text in server_lines)
    assert not any("Traceback" in text for text in server_lines)
    assert not controller.model.registered
