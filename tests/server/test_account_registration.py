"""IRCv3 draft/account-registration over real sockets: REGISTER, VERIFY, each FAIL, the CAP
value, closed registration (irctest's account_registration and register_verify cases)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.accounts import AccountStore
from server.server import ChatServer
from tests.support.ircclient import IRCClient

CAP = "draft/account-registration"


@pytest.fixture
def server(make_server, tmp_path: Path) -> ChatServer:
    """A server with its own data directory holding the account alice."""
    AccountStore(tmp_path).create("alice", "secret")
    return make_server(data_dir=str(tmp_path), flood_rate=0)


@pytest.fixture
def raw(server: ChatServer):
    """Unregistered connections to ``server``."""
    clients: list[IRCClient] = []

    def open_client() -> IRCClient:
        clients.append(IRCClient(server.port))
        return clients[-1]

    yield open_client
    for client in clients:
        client.close()


def cap_ls(client: IRCClient) -> dict[str, str]:
    client.send("CAP LS 302")
    offered: dict[str, str] = {}
    while True:
        line = client.expect("CAP")
        for item in line.params[-1].split():
            name, _, value = item.partition("=")
            offered[name] = value
        if line.params[2] != "*":
            return offered


def replies(client: IRCClient) -> list:
    return [m for m in client.sync() if m.command in ("REGISTER", "VERIFY", "FAIL", "900")]


def test_the_cap_offers_registration_before_connecting(server, raw):
    client = raw()
    assert cap_ls(client)[CAP] == "before-connect"


def test_register_before_connecting_signs_in_and_keeps_the_nick(server, raw):
    client = raw()
    cap_ls(client)
    client.send(f"CAP REQ :{CAP} account-tag", "NICK bar", "REGISTER * * shivarampassphrase")
    got = replies(client)
    assert got[0].command == "REGISTER"
    assert got[0].params == ["SUCCESS", "bar", "Account successfully registered"]
    assert got[1].command == "900" and got[1].params[2] == "bar"
    client.send("USER bar 0 * :Bar", "CAP END")
    assert client.expect("001").params[0] == "bar"  # its own name: not refused
    assert server.registry.find_nick("bar").account.name == "bar"
    assert server.accounts.authenticate("bar", "shivarampassphrase") is not None


def test_register_after_connecting(server, connect):
    client = connect("carol")
    client.send("REGISTER carol carol@example.com pw-of-carol")
    got = replies(client)
    assert got[0].params == ["SUCCESS", "carol", "Account successfully registered"]
    assert got[1].command == "900"
    assert "r" in server.registry.find_nick("carol").modes


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["REGISTER * * pw"], ["REGISTER", "NEED_NICK", "*", "Send NICK before REGISTER"]),
        (
            ["NICK dave", "REGISTER other * pw"],
            [
                "REGISTER",
                "ACCOUNT_NAME_MUST_BE_NICK",
                "other",
                "Your account name must be your current nickname",
            ],
        ),
        (
            ["NICK dave", "REGISTER * not-an-address pw"],
            ["REGISTER", "INVALID_EMAIL", "dave", "That is not an e-mail address"],
        ),
        (
            ["NICK dave", "REGISTER * * DAVE"],
            ["REGISTER", "WEAK_PASSWORD", "dave", "Your password must not be your account name"],
        ),
        (
            ["NICK alice", "REGISTER * * pw"],
            ["REGISTER", "ACCOUNT_EXISTS", "alice", "Account already exists"],
        ),
        (
            ["NICK dave", "VERIFY dave 1234"],
            [
                "VERIFY",
                "INVALID_CODE",
                "dave",
                "Invalid verification code: accounts here need no verification",
            ],
        ),
    ],
)
def test_each_fail_code(server, raw, lines, expected):
    client = raw()
    client.send(*lines)
    fail = [m for m in replies(client) if m.command == "FAIL"]
    assert [m.params for m in fail] == [expected]


def test_unacceptable_password(server, raw):
    client = raw()
    client.send("NICK dave", "REGISTER * * " + "p" * 301)
    fail = [m for m in replies(client) if m.command == "FAIL"]
    assert fail[0].params == [
        "REGISTER",
        "UNACCEPTABLE_PASSWORD",
        "dave",
        "The password is longer than 300 characters",
    ]
    assert server.accounts.find("dave") is None


def test_already_authenticated(server, connect):
    client = connect("bob")
    client.send("REGISTER * * pw-of-bob")
    replies(client)
    client.send("REGISTER * * pw-of-bob", "VERIFY bob 1")
    fails = [m.params[:3] for m in replies(client) if m.command == "FAIL"]
    assert fails == [
        ["REGISTER", "ALREADY_AUTHENTICATED", "bob"],
        ["VERIFY", "ALREADY_AUTHENTICATED", "bob"],
    ]


def test_missing_parameters_get_461(server, connect):
    client = connect("bob")
    client.send("REGISTER bob pw", "VERIFY bob")
    assert client.expect("461").params[1] == "REGISTER"
    assert client.expect("461").params[1] == "VERIFY"


def test_a_service_name_is_a_bad_account_name(server, raw):
    client = raw()
    client.send("NICK NickServ")
    client.expect("433")
    client.send("NICK dave", "REGISTER NickServ * pw")
    fail = [m for m in replies(client) if m.command == "FAIL"]
    assert fail[0].params == [
        "REGISTER",
        "BAD_ACCOUNT_NAME",
        "NickServ",
        "That name belongs to a service",
    ]


def test_closed_registration(make_server, tmp_path):
    server = make_server(data_dir=str(tmp_path), registration="closed")
    client = IRCClient(server.port)
    try:
        assert CAP not in cap_ls(client)
        client.send("NICK bob", "REGISTER * * pw", "VERIFY bob 1")
        fails = [m.params for m in replies(client) if m.command == "FAIL"]
        text = "Account registration is closed on this server"
        assert fails == [
            ["REGISTER", "TEMPORARILY_UNAVAILABLE", "*", text],
            ["VERIFY", "TEMPORARILY_UNAVAILABLE", "bob", text],
        ]
        assert server.accounts.find("bob") is None
    finally:
        client.close()


def test_with_a_connection_password_registration_waits_for_the_connection(make_server, tmp_path):
    server = make_server(data_dir=str(tmp_path), password="letmein")
    client = IRCClient(server.port)
    try:
        assert cap_ls(client)[CAP] == ""  # no before-connect: PASS comes first
        client.send("NICK bob", "REGISTER * * pw")
        fail = [m.params for m in replies(client) if m.command == "FAIL"]
        assert fail[0][:2] == ["REGISTER", "COMPLETE_CONNECTION_REQUIRED"]
        assert server.accounts.find("bob") is None
    finally:
        client.close()


def test_without_a_data_directory_there_is_no_registration(make_server):
    server = make_server()
    client = IRCClient(server.port)
    try:
        assert CAP not in cap_ls(client)
        client.send("NICK bob", "REGISTER * * pw")
        fail = [m.params for m in replies(client) if m.command == "FAIL"]
        assert fail == [
            ["REGISTER", "TEMPORARILY_UNAVAILABLE", "*", "This server keeps no accounts"]
        ]
    finally:
        client.close()
