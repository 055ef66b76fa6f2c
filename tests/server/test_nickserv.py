"""Owned nicks and NickServ over real sockets: reservation, GHOST, every command and error."""

from __future__ import annotations

import base64
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from server.accounts import AccountStore
from server.protocol.sasl import plain_message
from server.server import ChatServer
from tests.support.ircclient import IRCClient


class Sleeps:
    """The server's ``sleep``: records each penalty delay instead of waiting it out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float, event) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def server(make_server, tmp_path: Path, sleeps: Sleeps) -> ChatServer:
    """A server with its own data directory holding the account alice (password secret)."""
    AccountStore(tmp_path).create("alice", "secret")
    return make_server(data_dir=str(tmp_path), flood_rate=0, sleep=sleeps)


def notices(client: IRCClient) -> list[str]:
    """The NOTICE texts from NickServ received before a PING round-trip."""
    return [
        m.params[1]
        for m in client.sync()
        if m.command == "NOTICE" and (m.source or "").startswith("NickServ!")
    ]


def ns(client: IRCClient, text: str) -> list[str]:
    """Say ``text`` to NickServ; its answers."""
    client.send(f"PRIVMSG NickServ :{text}")
    return notices(client)


def unregistered(server: ChatServer, nick: str) -> IRCClient:
    client = IRCClient(server.port)
    client.send(f"NICK {nick}", f"USER {nick} 0 * :{nick} Tester")
    return client


# --- owned nicks ----------------------------------------------------------------------
def test_an_accounts_name_is_refused_at_registration_to_others(server, connect):
    client = unregistered(server, "Alice")
    try:
        refused = client.expect("433")
        assert refused.params == ["*", "Alice", "Nickname is reserved by a different account"]
        client.send("NICK bob")  # another nick: registration completes
        assert client.expect("001").params[0] == "bob"
    finally:
        client.close()


def test_an_accounts_name_is_refused_on_nick_change_until_signed_in(server, connect):
    guest = connect("guest")
    guest.send("NICK alice")
    refused = guest.expect("433")
    assert refused.params == ["guest", "alice", "Nickname is reserved by a different account"]
    assert ns(guest, "IDENTIFY alice secret")[-1] == "You're now logged in as alice"
    guest.send("NICK ALICE")  # its own now, in any case
    assert guest.expect("NICK").params == ["ALICE"]


def test_an_account_made_by_the_admin_command_is_reserved_at_once(server, connect):
    guest = connect("guest")
    AccountStore(server.config.data_dir).create("carol", "pw")
    guest.send("NICK carol")
    assert guest.expect("433").params[-1] == "Nickname is reserved by a different account"


def test_an_account_removed_by_the_admin_command_frees_its_name_at_once(server, connect):
    guest = connect("guest")
    guest.send("NICK alice")
    assert guest.expect("433").params[-1] == "Nickname is reserved by a different account"
    admin = [sys.executable, "-m", "server.accounts", "--data-dir", server.config.data_dir]
    subprocess.run([*admin, "remove", "alice"], check=True, capture_output=True, timeout=60)
    guest.send("NICK alice")
    assert guest.expect("NICK").params == ["alice"]
    subprocess.run(
        [*admin, "add", "Guest2", "--password", "pw"], check=True, capture_output=True, timeout=60
    )
    late = unregistered(server, "guest2")  # reserved for the very next registration
    try:
        assert late.expect("433").params[1:] == [
            "guest2",
            "Nickname is reserved by a different account",
        ]
    finally:
        late.close()


def test_signing_in_with_sasl_before_registering_keeps_ones_own_nick(server):
    client = IRCClient(server.port)
    try:
        client.send("CAP LS 302", "CAP REQ sasl", "NICK alice", "USER alice 0 * :A")
        client.expect("CAP", "*", "ACK")
        client.send("AUTHENTICATE PLAIN")
        client.expect("AUTHENTICATE", "+")
        payload = base64.b64encode(plain_message("alice", "secret")).decode()
        client.send(f"AUTHENTICATE {payload}", "CAP END")
        client.expect("903")
        assert client.expect("001").params[0] == "alice"
    finally:
        client.close()


def test_an_irssi_user_connects_with_pass_account_password_and_keeps_the_nick(server):
    # irssi: /connect -password alice:secret
    client = IRCClient(server.port)
    try:
        client.send("PASS alice:secret", "NICK alice", "USER alice 0 * :A")
        assert client.expect("001").params[0] == "alice"
        assert server.registry.find_nick("alice").account.name == "alice"
    finally:
        client.close()


def test_service_nicks_cannot_be_taken(server, connect):
    guest = connect("guest")
    guest.send("NICK nickserv")
    assert guest.expect("433").params == ["guest", "nickserv", "Nickname is already in use"]


def test_ghost_disconnects_a_stale_session_of_ones_own_account(server, connect):
    stale = connect("guest1")
    assert ns(stale, "IDENTIFY alice secret")[-1] == "You're now logged in as alice"
    stale.send("NICK alice")
    stale.expect("NICK")
    fresh = connect("guest2")
    ns(fresh, "IDENTIFY alice secret")
    fresh.send("NICK alice")
    assert fresh.expect("433").params[-1] == "Nickname is already in use"
    assert ns(fresh, "GHOST alice") == ["alice has been disconnected"]
    assert stale.wait_closed()[-1].params[0].endswith("(GHOSTed by guest2)")
    fresh.send("NICK alice")
    assert fresh.expect("NICK").params == ["alice"]


def test_ghost_refusals(server, connect):
    alice = connect("guest1")
    other = connect("other")
    assert ns(alice, "GHOST other") == ["You're not logged into an account"]
    ns(alice, "IDENTIFY alice secret")
    assert ns(alice, "GHOST nobody") == ["No such nick"]
    assert ns(alice, "GHOST guest1") == ["You can't GHOST yourself (try /QUIT instead)"]
    assert ns(alice, "GHOST other") == ["You don't own that nick"]
    assert not other.closed


def test_ghost_frees_ones_own_nick_from_a_squatter(server, connect):
    # Someone used the nick before the account existed: its owner may take it back.
    squatter = connect("dave")
    AccountStore(server.config.data_dir).create("dave", "pw")
    owner = connect("guest")
    ns(owner, "IDENTIFY dave pw")
    assert ns(owner, "GHOST dave") == ["dave has been disconnected"]
    squatter.wait_closed()


# --- NickServ -----------------------------------------------------------------------
def test_nickserv_is_a_service_in_whois(server, connect):
    client = connect("guest")
    client.send("WHOIS NickServ")
    replies = client.until("318")
    assert [(m.command, m.params[1:]) for m in replies] == [
        ("311", ["NickServ", "NickServ", "kibitz.test", "*", "Network Services"]),
        ("312", ["NickServ", "kibitz.test", server.config.info()]),
        ("313", ["NickServ", "is a Network Service"]),
        ("318", ["NickServ", "End of /WHOIS list"]),
    ]


def test_services_are_online_to_ison_and_userhost(server, connect):
    # irssi's and HexChat's notify lists ask ISON before they talk to NickServ.
    client = connect("guest")
    client.send("ISON nickserv ChanServ nobody guest")
    assert client.expect("303").params[1] == "NickServ ChanServ guest"
    client.send("USERHOST NickServ")
    assert client.expect("302").params[1] == "NickServ=+NickServ@kibitz.test"


def test_help_lists_every_command_and_explains_one(server, connect):
    client = connect("guest")
    index = ns(client, "HELP")
    for name in ("REGISTER", "IDENTIFY", "GHOST", "INFO", "PASSWD", "DROP"):
        assert any(line.strip().startswith(f"{name}:") for line in index), name
    assert ns(client, "help register")[0] == "Syntax: REGISTER <password> [email]"
    assert ns(client, "HELP FROB") == ["No help available for FROB. Run /msg NickServ HELP"]
    assert ns(client, "FROB") == [
        "Unknown command. To see available commands, run: /msg NickServ HELP"
    ]


@pytest.mark.parametrize("line", ["REGISTER", "IDENTIFY", "GHOST", "PASSWD old", "DROP alice"])
def test_missing_arguments_get_a_notice_not_a_traceback(server, connect, line):
    client = connect("guest")
    name = line.split()[0]
    answer = ns(client, line)
    assert len(answer) == 1
    assert answer[0].startswith(f"Invalid parameters. For usage, do /msg NickServ HELP {name}")


def test_register_creates_the_account_of_the_current_nick_and_signs_in(server, connect):
    bob = connect("bob", caps=("account-notify",))
    bob.send("PRIVMSG NickServ :REGISTER hunter22 bob@example.com")
    replies = bob.sync()
    assert [m.params for m in replies if m.command == "900"] == [
        ["bob", bob_source(server), "bob", "You are now logged in as bob"]
    ]
    texts = [m.params[1] for m in replies if m.command == "NOTICE"]
    assert texts == ["Account created", "You're now logged in as bob"]
    assert server.accounts.authenticate("bob", "hunter22") is not None
    assert ns(bob, "REGISTER again") == ["You're already logged into an account"]


def bob_source(server: ChatServer) -> str:
    return server.registry.find_nick("bob").source


def test_register_refusals(server, connect, tmp_path):
    taken = connect("guest")
    taken.send("NICK Alice")  # refused: it is an account's name
    taken.expect("433")
    assert ns(taken, "REGISTER guest") == ["Usage: REGISTER <password> [email]"]
    client = connect("carol")
    AccountStore(tmp_path).create("carol", "x")  # someone registered it meanwhile
    assert ns(client, "REGISTER pw") == ["Account already exists"]


def test_register_when_registration_is_closed(make_server, tmp_path):
    server = make_server(data_dir=str(tmp_path), registration="closed")
    client = IRCClient(server.port)
    try:
        client.register("bob")
        assert ns(client, "REGISTER hunter22") == [
            "This command has been disabled by the server administrators"
        ]
        assert server.accounts.find("bob") is None
    finally:
        client.close()


def test_identify_with_and_without_an_account_name(server, connect):
    alice = connect("guest")
    assert ns(alice, "IDENTIFY alice secret") == ["You're now logged in as alice"]
    assert ns(alice, "IDENTIFY alice secret") == ["You're already logged into an account"]
    AccountStore(server.config.data_dir).create("erin", "pw2")
    erin = connect("erin2")
    erin.send("NICK erin")
    erin.expect("433")
    # One argument: the password of the account named for the current nick.
    assert ns(erin, "IDENTIFY pw2") == ["Authentication failed: Invalid account credentials"]


def test_a_wrong_password_is_answered_after_a_growing_delay(server, connect, sleeps, caplog):
    client = connect("guest")
    for _ in range(3):
        assert ns(client, "IDENTIFY alice wrong") == [
            "Authentication failed: Invalid account credentials"
        ]
    assert sleeps.delays == [1.0, 2.0, 4.0]
    assert "wrong" not in caplog.text  # the password is never logged
    assert "failed NickServ IDENTIFY" in caplog.text
    assert client.nick == "guest" and server.registry.find_nick("guest").account is None


def test_info(server, connect):
    client = connect("guest")
    assert ns(client, "INFO") == ["You're not logged into an account"]
    assert ns(client, "INFO nobody") == ["That nickname is not registered"]
    answer = ns(client, "INFO alice")
    assert answer[0] == "Account: alice" and answer[1].startswith("Registered at: ")
    ns(client, "IDENTIFY alice secret")
    assert ns(client, "INFO")[-1] == "Logged in now as: guest"


def test_passwd(server, connect, sleeps):
    client = connect("guest")
    assert ns(client, "PASSWD secret new") == ["You're not logged into an account"]
    ns(client, "IDENTIFY alice secret")
    assert ns(client, "PASSWD secret new other") == ["Passwords do not match"]
    assert ns(client, "PASSWD wrong new") == ["Password incorrect"]
    assert sleeps.delays == [1.0]
    assert ns(client, "PASSWD secret fresh fresh") == ["Password changed"]
    assert server.accounts.authenticate("alice", "fresh") is not None
    assert server.accounts.authenticate("alice", "secret") is None


def test_drop_deletes_the_account_and_signs_everyone_out(server, connect, sleeps):
    first = connect("guest1")
    second = connect("guest2")
    ns(first, "IDENTIFY alice secret")
    ns(second, "IDENTIFY alice secret")
    assert ns(first, "DROP alice wrong") == ["Authentication failed: Invalid account credentials"]
    first.send("PRIVMSG NickServ :DROP alice secret")
    replies = first.sync()
    assert [m.command for m in replies if m.command in ("901", "NOTICE")] == ["901", "NOTICE"]
    assert replies[-1].params[1] == "Successfully unregistered account alice"
    second.expect("901")
    assert server.accounts.find("alice") is None
    assert server.registry.signed_in("alice") == []


def test_commands_by_nickserv_and_ns_not_by_notice(server, connect):
    client = connect("guest")
    client.send("NS IDENTIFY alice secret")
    assert notices(client) == ["You're now logged in as alice"]
    client.send("NICKSERV INFO")
    assert notices(client)[0] == "Account: alice"
    client.send("NOTICE NickServ :INFO alice")  # a NOTICE is never answered
    assert notices(client) == []


def test_what_is_said_to_nickserv_is_echoed_but_never_stored(server, connect):
    client = connect("guest", caps=("echo-message",))
    client.send("PRIVMSG NickServ :IDENTIFY alice secret")
    echo = client.expect("PRIVMSG", "NickServ")
    assert echo.params[1] == "IDENTIFY alice secret"
    client.send("PRIVMSG #general :a line that is stored")
    client.expect("PRIVMSG", "#general")
    assert server.history.flush()
    with sqlite3.connect(Path(server.config.data_dir) / "history.sqlite3") as db:
        rows = [row[0] for row in db.execute("SELECT params FROM messages")]
    assert len(rows) == 1 and "stored" in rows[0]


def test_without_a_data_directory_nickserv_says_it_is_off(make_server):
    server = make_server()
    client = IRCClient(server.port)
    try:
        client.register("guest")
        disabled = ["This command has been disabled by the server administrators"]
        assert ns(client, "IDENTIFY alice secret") == disabled
        assert ns(client, "REGISTER pw") == disabled
    finally:
        client.close()
