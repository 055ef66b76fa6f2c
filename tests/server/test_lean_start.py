"""A server without TLS never loads OpenSSL; one given a bad certificate says so."""

from __future__ import annotations

from pathlib import Path

from tests.support.ircclient import IRCClient
from tests.support.processes import run_server, start_server


def _mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_plaintext_server_never_loads_openssl(tmp_path: Path) -> None:
    proc, port = start_server("--data-dir", str(tmp_path))
    try:
        alice, bob = IRCClient(port), IRCClient(port)
        alice.register("alice")
        bob.register("bob")
        alice.send("PRIVMSG #general :hello", "PRIVMSG bob :hi")
        bob.expect("PRIVMSG", "#general", "hello")
        bob.expect("PRIVMSG", "bob", "hi")
        alice.send("PING :done")
        alice.expect("PONG")
        # libcrypto alone is megabytes of every server's memory: it is loaded with TLS,
        # passwords and SCRAM only (hashlib, hmac, secrets and ssl all pull it in).
        maps = _mapped(proc.pid)
        assert "libcrypto" not in maps and "libssl" not in maps
        alice.close()
        bob.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_an_unusable_certificate_is_refused_with_a_reason(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("not a certificate\n")
    key.write_text("not a key\n")
    args = ["-H", "127.0.0.1", "-p", "0", "--tls-port", "0", "--cert", str(cert)]
    done = run_server(*args, "--key", str(key), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 2
    assert "error: cannot use the certificate or key:" in done.stderr
