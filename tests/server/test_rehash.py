"""REHASH and SIGHUP on real servers: the configuration file read again, what can change
applied (visible on the wire), what cannot reported, a bad file changing nothing."""

from __future__ import annotations

import os
import signal
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from server.__main__ import main
from server.accounts import AccountStore
from server.configfile import load
from server.gui_model import config_from_form
from server.history_records import Record
from server.msgids import new_msgid
from server.server import ChatServer
from tests.server.test_server_gui import free_port
from tests.server.test_tls import TLSClient
from tests.support.ircclient import IRCClient
from tests.support.processes import start_server

StartFromFile = Callable[..., ChatServer]

BASE = """
motd = "motd.txt"
opers = ["root:first"]
exempt = ["127.0.0.1"]
"""


@pytest.fixture
def from_file(tmp_path: Path) -> Iterator[StartFromFile]:
    """Start a server from ``kibitz.toml`` in ``tmp_path`` (written from the text given)
    under a command line of the test's own; each is stopped after the test."""
    servers: list[ChatServer] = []
    (tmp_path / "motd.txt").write_text("first motd\n", encoding="utf-8")

    def start(text: str = BASE, **command_line: object) -> ChatServer:
        path = tmp_path / "kibitz.toml"
        path.write_text(text, encoding="utf-8")
        given = {
            "host": "127.0.0.1",
            "port": 0,
            "name": "kibitz.test",
            "data_dir": str(tmp_path / "data"),
            **command_line,
        }
        server = ChatServer(load(str(path), given))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _oper(port: int, nick: str = "boss", password: str = "first") -> IRCClient:
    client = IRCClient(port)
    client.register(nick)
    client.send(f"OPER root {password}")
    client.expect("381")
    return client


def _rehash(client: IRCClient) -> tuple[list[str], list[str]]:
    """REHASH: the 382's parameters and the NOTICE texts that follow it."""
    client.send("REHASH")
    reply = client.expect("382")
    notices = [m.params[1] for m in client.sync() if m.command == "NOTICE"]
    return reply.params, notices


def _rewrite(tmp_path: Path, text: str) -> None:
    (tmp_path / "kibitz.toml").write_text(text, encoding="utf-8")


def test_rehash_gives_the_new_motd_and_the_new_operator_password(
    from_file: StartFromFile, tmp_path: Path
) -> None:
    server = from_file()
    boss = _oper(server.port)
    boss.send("MOTD")
    assert boss.expect("372").params[1] == "- first motd"
    (tmp_path / "motd.txt").write_text("second motd\nline two\n", encoding="utf-8")
    _rewrite(tmp_path, BASE.replace("root:first", "root:second"))
    params, notices = _rehash(boss)
    assert params == ["boss", str(tmp_path / "kibitz.toml"), "Rehashing"]
    assert notices == ["Applied: motd, opers"]
    boss.send("MOTD")
    assert [m.params[1] for m in boss.until("376") if m.command == "372"] == [
        "- second motd",
        "- line two",
    ]
    # The old password is refused, the new one works; the operator stays one.
    other = IRCClient(server.port)
    other.register("other")
    other.send("OPER root first")
    other.expect("464")
    other.send("OPER root second")
    other.expect("381")
    assert _rehash(boss)[1] == ["No setting changed"]


def test_rehash_by_a_user_who_is_no_operator_gets_481(
    from_file: StartFromFile, tmp_path: Path
) -> None:
    server = from_file()
    user = IRCClient(server.port)
    user.register("user")
    (tmp_path / "motd.txt").write_text("changed\n", encoding="utf-8")
    user.send("REHASH")
    reply = user.expect("481")
    assert reply.params == ["user", "Permission Denied- You're not an IRC operator"]
    user.send("MOTD")
    assert user.expect("372").params[1] == "- first motd"
    early = IRCClient(server.port)
    early.send("REHASH")
    assert early.expect("451").params[1:] == ["You have not registered"]


def test_rehash_updates_the_limits_made_into_objects_at_start(
    from_file: StartFromFile, tmp_path: Path
) -> None:
    base = BASE.replace('exempt = ["127.0.0.1"]', 'exempt = ["127.0.0.1", "127.0.0.4"]')
    server = from_file(BASE + "max_per_ip = 5\nthrottle = 20\n")
    boss = _oper(server.port)
    first = IRCClient(server.port, bind="127.0.0.2")
    first.register("first")
    _rewrite(tmp_path, BASE + "max_per_ip = 1\nthrottle = 20\nflood_burst = 7\n")
    assert _rehash(boss)[1] == ["Applied: flood_burst, max_per_ip"]
    # A second connection from 127.0.0.2 passes the throttle (20) but not max_per_ip.
    second = IRCClient(server.port, bind="127.0.0.2")
    assert second.wait_closed()[-1].params == [
        "Closing Link: 127.0.0.2 (Too many connections from your address)"
    ]
    # The connections made before the REHASH follow the new flood burst too.
    assert {c.flood.burst for c in server.registry.snapshot() if c.flood} == {7}
    # The throttle, the exempt networks and the login penalties were made at start.
    limits = "max_per_ip = 1\nthrottle = 1\nflood_burst = 7\n"
    _rewrite(tmp_path, base + limits + "history_days = 7\nlogin_delay = 0\n")
    assert _rehash(boss)[1] == ["Applied: history_days, exempt, throttle, login_delay"]
    third = IRCClient(server.port, bind="127.0.0.3")
    third.register("third")
    fourth = IRCClient(server.port, bind="127.0.0.3")
    assert "(Connecting too fast; try again in " in fourth.wait_closed()[-1].params[0]
    for n in range(3):  # exempt now: neither the throttle nor max_per_ip applies
        IRCClient(server.port, bind="127.0.0.4").register(f"exempt{n}")
    assert server.history is not None and server.history.max_days == 7.0
    assert server.login_failures.delay == server.account_failures.delay == 0.0


def test_rehash_changes_the_redaction_window_at_once(
    from_file: StartFromFile, tmp_path: Path
) -> None:
    store = AccountStore(tmp_path / "data")
    store.create("alice", "secret")
    store.close()
    server = from_file(BASE)
    boss = _oper(server.port)  # first in #general: its operator
    alice = IRCClient(server.port)
    alice.register("alice", ("message-tags", "draft/message-redaction"), "alice:secret")
    # alice said this ten minutes ago (as history holds it).
    then = int(time.time() * 1000) - 600_000
    assert server.history is not None
    old = new_msgid()  # as the server makes them: its number is the row's id
    server.history.add(
        Record(old, "#general", then, "alice!a@h", "PRIVMSG", ("#general", "hi"), {}, "alice")
    )
    server.history.flush()
    _rewrite(tmp_path, BASE + "redact_window = 60\n")
    assert _rehash(boss)[1] == ["Applied: redact_window"]
    alice.send(f"REDACT #general {old}")
    refused = alice.expect("FAIL")
    assert refused.params[:5] == ["REDACT", "REDACT_WINDOW_EXPIRED", "#general", old, "60"]
    alice.close()


def test_rehash_reports_each_key_that_needs_a_restart(
    from_file: StartFromFile, tmp_path: Path
) -> None:
    server = from_file()
    boss = _oper(server.port)
    _rewrite(tmp_path, BASE + 'network = "Other"\nhistory = false\nmax_channels = 3\n')
    assert _rehash(boss)[1] == [
        "Applied: max_channels",
        "network changed but needs a restart to take effect",
        "history changed but needs a restart to take effect",
    ]
    assert server.config.network == "Kibitz" and server.history is not None
    boss.send("JOIN #room1,#room2,#room3")  # with #general, three
    assert boss.expect("405").params[1] == "#room3"


def test_the_command_line_still_overrides_the_file_at_a_rehash(
    from_file: StartFromFile, tmp_path: Path
) -> None:
    server = from_file(BASE + "max_channels = 9\n", max_channels=2, opers=["root:first"])
    boss = _oper(server.port)
    _rewrite(tmp_path, BASE.replace("first", "other") + "max_channels = 9\nport = 1\n")
    # The file's port and operators lose to the command line's, so nothing changed.
    assert _rehash(boss)[1] == ["No setting changed"]
    boss.send("JOIN #a,#b,#c")
    assert boss.expect("405").params[1] == "#b"  # #general is the first of the two


def test_a_broken_file_changes_nothing_and_says_why(
    from_file: StartFromFile, tmp_path: Path
) -> None:
    server = from_file()
    boss = _oper(server.port)
    (tmp_path / "motd.txt").write_text("never shown\n", encoding="utf-8")
    path = tmp_path / "kibitz.toml"
    cases = {
        'motd = "motd.txt"\nopers = [,\n': f"{path}: Invalid value (at line 2, column 10)",
        'motd = "motd.txt"\nmax_per_ip = "ten"\n': (
            f"{path}:2: max_per_ip: expected an integer, not the string 'ten'"
        ),
        'motd = "motd.txt"\nmotto = "hi"\n': f"{path}:2: motto: unknown key",
        # A line break in a quoted key never reaches the wire as one.
        'motd = "motd.txt"\n"a\\r\\nQUIT" = 1\n': f"{path}: 'a\\r\\nQUIT': unknown key",
        'motd = "motd.txt"\nnetwork = "a\\r\\nb"\n': (
            f"{path}:2: network: --network must be one line of printable text"
        ),
    }
    for text, problem in cases.items():
        _rewrite(tmp_path, text)
        params, notices = _rehash(boss)
        assert params[1] == str(path)
        assert len(notices) == 1 and notices[0].startswith(problem), notices
        assert notices[0].endswith("; nothing was changed")
    path.unlink()
    assert _rehash(boss)[1] == [
        f"cannot read {path}: No such file or directory; nothing was changed"
    ]
    boss.send("MOTD")
    assert boss.expect("372").params[1] == "- first motd"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _issue(ca: trustme.CA, chain: Path, key: Path) -> None:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))


def test_rehash_swaps_the_tls_certificate_for_new_connections(
    from_file: StartFromFile, tmp_path: Path, ca: trustme.CA
) -> None:
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    _issue(ca, chain, key)
    server = from_file(BASE + 'tls_port = 0\ncert = "chain.pem"\nkey = "key.pem"\n')
    before = TLSClient(server.tls_port, ca)
    before.register("before")
    boss = _oper(server.port)
    renewed = trustme.CA()
    _issue(renewed, chain, key)  # written over the old files, as a renewal does
    assert _rehash(boss)[1] == [
        "No setting changed",
        f"TLS certificate read again from {chain}: new connections use it",
    ]
    after = TLSClient(server.tls_port, renewed)
    after.register("after")
    with pytest.raises(ssl.SSLCertVerificationError):
        TLSClient(server.tls_port, ca)
    before.send("PRIVMSG after :still here")  # the connection made before keeps its session
    assert after.expect("PRIVMSG").params == ["after", "still here"]
    # A certificate that does not load leaves the one in use.
    chain.write_text("not a certificate\n", encoding="utf-8")
    notices = _rehash(boss)[1]
    assert notices[0].startswith(f"cannot use the certificate {chain} and key {key} (")
    assert notices[0].endswith("): the old certificate stays in use")
    TLSClient(server.tls_port, renewed).register("later")


def test_without_a_file_rehash_reads_the_motd_file_again(make_server, tmp_path: Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("old\n", encoding="utf-8")
    server = make_server(motd=["old"], opers={"root": "first"}, command_line={"motd": motd})
    boss = _oper(server.port)
    motd.write_text("new\n", encoding="utf-8")
    params, notices = _rehash(boss)
    assert params == ["boss", str(motd), "Rehashing"]
    assert notices == [
        "Applied: motd",
        "No configuration file (--config): only the MOTD file was read again; "
        "nothing else can change without a restart",
    ]
    boss.send("MOTD")
    assert boss.expect("372").params[1] == "- new"


def test_sighup_reads_the_file_again_in_a_server_process(tmp_path: Path) -> None:
    config = tmp_path / "kibitz.toml"
    (tmp_path / "motd.txt").write_text("before the hangup\n", encoding="utf-8")
    config.write_text('motd = "motd.txt"\nport = 6667\n', encoding="utf-8")
    proc, port = start_server("--config", str(config))  # -p 0 on the command line wins
    try:
        client = IRCClient(port)
        client.register("alice")
        client.send("MOTD")
        assert client.expect("372").params == ["alice", "- before the hangup"]
        (tmp_path / "motd.txt").write_text("after the hangup\n", encoding="utf-8")
        config.write_text('motd = "motd.txt"\nport = 6667\nnetwork = "Other"\n', "utf-8")
        os.kill(proc.pid, signal.SIGHUP)
        logged = []
        while "needs a restart" not in (line := proc.stderr.readline()):
            assert line, logged
            logged.append(line)
        assert line.rstrip().endswith(
            "REHASH by SIGHUP: network changed but needs a restart to take effect"
        )
        assert any(line.rstrip().endswith("REHASH by SIGHUP: Applied: motd") for line in logged)
        client.send("MOTD")
        assert client.expect("372").params[1] == "- after the hangup"
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_server_window_starts_from_the_file_and_its_form_counts_as_the_command_line(
    tmp_path: Path, mocker
) -> None:
    (tmp_path / "motd.txt").write_text("first motd\n", encoding="utf-8")
    _rewrite(tmp_path, BASE + "port = 6001\nmax_channels = 4\n")
    run = mocker.patch("server.gui.run", return_value=0)
    assert main(["--gui", "--config", str(tmp_path / "kibitz.toml")]) == 0
    base = run.call_args.args[0]
    assert (base.port, base.max_channels, base.motd) == (6001, 4, ["first motd"])
    # What the window's Start does: the form over the file's settings.
    form = {"host": "127.0.0.1", "port": str(free_port()), "history": False}
    server = ChatServer(config_from_form(base, form))
    server.start()
    try:
        boss = _oper(server.port)
        _rewrite(tmp_path, BASE + "port = 6001\nmax_channels = 5\n")
        # The form's port and host are not the file's, but they are what the user chose.
        assert _rehash(boss)[1] == ["Applied: max_channels"]
    finally:
        server.stop()


def test_a_file_name_with_control_characters_is_sent_printable(tmp_path: Path) -> None:
    path = tmp_path / "odd\x01name\x7f.toml"
    path.write_text('opers = ["root:first"]\nexempt = ["127.0.0.1"]\n', encoding="utf-8")
    server = ChatServer(load(str(path), {"host": "127.0.0.1", "port": 0, "data_dir": None}))
    server.start()
    try:
        boss = _oper(server.port)
        path.write_text("opers = [\n", encoding="utf-8")
        params, notices = _rehash(boss)
        assert params[1] == str(tmp_path / "odd\ufffdname\ufffd.toml")
        assert notices[0].startswith(f"{params[1]}: Invalid value")
    finally:
        server.stop()
