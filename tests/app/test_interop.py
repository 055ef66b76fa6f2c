"""The Kibitz app against another IRC server (ngircd, from Debian), so "works with any
IRC server" is tested and not assumed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.model import ChatModel, Kind
from tests.app.helpers import EventLog
from tests.support.ircclient import IRCClient

NGIRCD = shutil.which("ngircd") or "/usr/sbin/ngircd"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[int]:
    """An ngircd on an ephemeral port, stopped after the test."""
    assert Path(NGIRCD).exists(), "install ngircd (make test does this with apt-get)"
    port = _free_port()
    config = tmp_path / "ngircd.conf"
    config.write_text(
        "[Global]\n    Name = ngircd.test\n    Info = interop\n    Listen = 127.0.0.1\n"
        f"    Ports = {port}\n    AdminInfo1 = test\n    AdminInfo2 = test\n"
        "    AdminEMail = root@localhost\n"
        "[Options]\n    PAM = no\n    Ident = no\n    DNS = no\n"
    )
    proc = subprocess.Popen(
        [NGIRCD, "-n", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError("ngircd did not start") from None
                time.sleep(0.05)  # poll until ngircd listens
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_app_chats_on_ngircd(ngircd: int) -> None:
    model = ChatModel("127.0.0.1", ngircd, "kibitzer", channels=("#interop",))
    model.start()
    log = EventLog(model.events)
    try:
        log.expect(Kind.REGISTERED, nick="kibitzer", timeout=15)
        log.expect(Kind.JOIN, target="#interop", own=True, timeout=15)
        peer = IRCClient(ngircd)
        peer.register("peer")
        peer.send("JOIN #interop")
        peer.expect("366", timeout=15)
        log.expect(Kind.JOIN, target="#interop", nick="peer", timeout=15)
        assert model.say("#interop", "hello from Kibitz \u00e9\U0001f600")
        got = peer.expect("PRIVMSG", "#interop", timeout=15)
        assert got.params[1] == "hello from Kibitz \u00e9\U0001f600"
        # ngircd has no echo-message: the app shows its own line itself.
        own = log.expect(Kind.MESSAGE, target="#interop", nick="kibitzer", timeout=15)
        assert own.own and own.text == "hello from Kibitz \u00e9\U0001f600"
        peer.send("PRIVMSG #interop :hello from ngircd")
        reply = log.expect(Kind.MESSAGE, target="#interop", nick="peer", timeout=15)
        assert reply.text == "hello from ngircd"
        peer.send("PRIVMSG kibitzer :a private word")
        private = log.expect(Kind.MESSAGE, nick="peer", text="a private word", timeout=15)
        assert private.target == "peer"  # the conversation is named after the other person
        peer.close()
    finally:
        model.stop()
