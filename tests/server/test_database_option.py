"""``--database postgresql://…`` on real server processes: an account registered over IRC
signs in again after a restart; the option in a configuration file and at REHASH; a
database that cannot be used is one error at start, its password never shown."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from server.configfile import load
from server.server import ChatServer
from tests.server.test_rehash import BASE, _oper, _rehash, _rewrite
from tests.support.ircclient import IRCClient
from tests.support.processes import run_server, start_server
from tests.support.services import free_port


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    assert proc.wait(timeout=10) == 0


def _sasl_plain(port: int, nick: str, password: str) -> IRCClient:
    client = IRCClient(port)
    client.send("CAP REQ :sasl", f"NICK {nick}", f"USER {nick} 0 * :{nick}", "AUTHENTICATE PLAIN")
    client.expect("AUTHENTICATE", "+")
    token = base64.b64encode(f"\0{nick}\0{password}".encode()).decode()
    client.send(f"AUTHENTICATE {token}")
    assert client.expect("903").params[1] == "SASL authentication successful"
    client.send("CAP END")
    client.expect("001")
    client.sync()
    return client


def test_an_account_registered_over_irc_signs_in_after_a_restart(
    postgres_url: str, tmp_path: Path
) -> None:
    options = ("--database", postgres_url, "--data-dir", str(tmp_path))
    proc, port = start_server(*options)
    try:
        client = IRCClient(port)
        client.register("dana")
        client.send("PRIVMSG NickServ :REGISTER s3cret-pw")
        assert client.expect("900").params[2] == "dana"
        client.close()
    finally:
        _stop(proc)
    assert not (tmp_path / "accounts.sqlite3").exists()  # the accounts went to PostgreSQL

    proc, port = start_server(*options)
    try:
        again = _sasl_plain(port, "dana", "s3cret-pw")
        again.send("WHOIS dana")
        assert again.expect("330").params[1:3] == ["dana", "dana"]  # signed in as dana
        again.close()
        other = IRCClient(port)  # the account's nick is reserved to it, on a new life too
        other.send("NICK dana", "USER x 0 * :x")
        assert other.expect("433").params[1] == "dana"
        other.close()
    finally:
        _stop(proc)


def test_a_database_that_cannot_be_reached_is_one_error_without_its_password() -> None:
    port = free_port()  # nothing listens there
    done = run_server("--database", f"postgresql://kibitz:s3cret@127.0.0.1:{port}/kibitz")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(
        f"error: cannot use the accounts database: cannot connect to "
        f"postgresql://kibitz:***@127.0.0.1:{port}/kibitz: "
    )
    assert "s3cret" not in done.stderr


@pytest.mark.parametrize("url", ["mysql://x@y/z", "/var/lib/kibitz", ""])
def test_a_database_that_is_no_postgresql_url_is_refused(url: str) -> None:
    done = run_server("--database", url)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--database takes a postgresql://USER@HOST:PORT/DBNAME URL" in done.stderr


def test_the_database_key_of_a_file_is_used_and_needs_a_restart_to_change(
    postgres_url: str, tmp_path: Path
) -> None:
    (tmp_path / "motd.txt").write_text("hello\n", encoding="utf-8")
    text = BASE + f'database = "{postgres_url}"\n'
    _rewrite(tmp_path, text)
    given = {"host": "127.0.0.1", "port": 0, "name": "kibitz.test", "data_dir": str(tmp_path)}
    server = ChatServer(load(str(tmp_path / "kibitz.toml"), given))
    server.start()
    try:
        assert server.accounts is not None and server.accounts.where.startswith("postgresql://")
        server.accounts.create("erin", "pw")
        boss = _oper(server.port)
        _rewrite(tmp_path, text.replace("postgresql://", "postgres://"))
        assert _rehash(boss)[1] == [
            "No setting changed",
            "database changed but needs a restart to take effect",
        ]
        assert server.accounts.find("erin") is not None  # still the same database
        boss.close()
    finally:
        server.stop()
