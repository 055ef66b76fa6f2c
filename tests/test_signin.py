"""Signing in: the account a connection has, and who hears about it (over real sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.accounts import AccountStore
from server.server import ChatServer


@pytest.fixture
def server(make_server, tmp_path: Path) -> ChatServer:
    """A server with a data directory (accounts) and one account, alice."""
    AccountStore(tmp_path).create("Alice", "secret")
    return make_server(data_dir=str(tmp_path), flood_rate=0)


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
