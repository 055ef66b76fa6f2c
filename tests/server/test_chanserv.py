"""ChanServ and registered rooms over real sockets: commands and their errors, a room's
modes, lists, topic and access kept across emptying and a restart, status on join."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from server.accounts import AccountStore
from server.rooms import UNSAVED
from server.server import ChatServer
from tests.support.ircclient import IRCClient
from tests.support.services import server_options

FULL = ("batch", "server-time", "message-tags", "draft/chathistory")


def _accounts(place: str | Path) -> None:
    store = AccountStore(place)
    for name in ("carol", "dave"):
        store.create(name, "secret")
    store.close()


@pytest.fixture
def cserver(make_server, tmp_path: Path) -> ChatServer:
    """A server with history and accounts (carol, dave) in a temporary directory."""
    _accounts(tmp_path)
    return make_server(data_dir=str(tmp_path), flood_rate=0, autojoin=[], reserve_nicks=False)


def _client(server: ChatServer, nick: str, account: str | None = None, caps=()) -> IRCClient:
    # Registers first and signs in after: the servers here reserve no nicks for that.
    client = IRCClient(server.port)
    client.register(nick, caps)
    if account is not None:
        session = server.registry.find_nick(nick)
        server.sign_in(session, server.accounts.find(account))
        client.expect("900")
        client.sync()
    return client


def _cs(client: IRCClient, text: str) -> list[str]:
    """Send ChanServ a command; the texts of its NOTICEs in answer."""
    client.send(f"PRIVMSG ChanServ :{text}")
    return [
        m.params[1]
        for m in client.sync()
        if m.command == "NOTICE" and m.source.startswith("ChanServ!")
    ]


def _join_status(client: IRCClient, channel: str, key: str = "") -> list[list[str]]:
    """JOIN; the MODE changes ChanServ made for it (they come before the names)."""
    client.send(f"JOIN {channel} {key}".strip())
    return [
        m.params[1:]
        for m in client.until("366", client.nick, channel)
        if m.command == "MODE" and m.source.startswith("ChanServ!")
    ]


def _modes(client: IRCClient, channel: str) -> list[str]:
    client.send(f"MODE {channel}")
    return client.expect("324").params[2:]


def test_chanserv_register_info_and_errors(cserver) -> None:
    carol = _client(cserver, "carol", "carol")
    dave = _client(cserver, "dave", "dave")
    stranger = _client(cserver, "stranger")
    carol.send("JOIN #team")
    carol.expect("366")
    dave.send("JOIN #team")
    dave.expect("366")
    stranger.send("JOIN #team")
    stranger.expect("366")
    carol.sync()
    assert _cs(stranger, "REGISTER #team") == ["You're not logged into an account"]
    assert _cs(dave, "REGISTER #team") == ["You must be an oper on the channel to register it"]
    assert _cs(carol, "REGISTER #nowhere") == ["No such channel"]
    assert _cs(carol, "REGISTER") == ["Syntax: REGISTER #channel"]
    assert _cs(carol, "FROBNICATE #team") == [
        "Unknown command. To see available commands, run: /ChanServ HELP"
    ]
    assert _cs(carol, "INFO #team") == ["Channel #team is not registered"]
    assert _cs(carol, "REGISTER #team") == ["Channel #team successfully registered"]
    announced = dave.expect("MODE", "#team")
    assert announced.source.startswith("ChanServ!") and announced.params[1:] == ["+r"]
    assert _cs(carol, "REGISTER #team") == ["Channel is already registered"]
    info = _cs(stranger, "INFO #team")
    assert info[:2] == ["Channel #team is registered", "Founder: carol"]
    assert info[2].startswith("Registered at: ")
    assert _cs(dave, "DROP #team") == ["Insufficient privileges"]
    # +r is the server's: an op can neither set nor clear it.
    carol.send("MODE #team -r")
    assert "r" in _modes(carol, "#team")[0]
    carol.send("JOIN #other", "MODE #other +r")
    carol.expect("366", "carol", "#other")
    assert "r" not in _modes(carol, "#other")[0]
    isupport = " ".join(" ".join(m.params) for m in carol.seen if m.command == "005")
    assert "CHANMODES=beI,k,l,imnrst" in isupport
    for client in (carol, dave, stranger):
        client.close()


def test_a_registered_room_keeps_its_state_across_emptying_and_a_restart(
    make_server, tmp_path: Path, store_place: str
) -> None:
    _accounts(store_place)
    stores = server_options(store_place, tmp_path)
    first = make_server(flood_rate=0, autojoin=[], reserve_nicks=False, **stores)
    carol = _client(first, "carol", "carol", FULL)
    carol.send("JOIN #team")
    carol.expect("366")
    assert _cs(carol, "REGISTER #team") == ["Channel #team successfully registered"]
    carol.send(
        "MODE #team +iks hush",
        "MODE #team +l 10",
        "MODE #team +b bad!*@*",
        "MODE #team +e good!*@*",
        "TOPIC #team :team plans",
        "PRIVMSG #team :said before it emptied",
    )
    carol.sync()
    assert _cs(carol, "ACCESS #team ADD dave voice") == [
        "Successfully set persistent mode +v on dave"
    ]
    carol.send("PART #team")
    carol.expect("PART")
    # Emptied: a stranger gets in only as the room's modes allow, and is nobody there.
    mallory = _client(first, "mallory")
    mallory.send("JOIN #team")
    assert mallory.expect("473").params[1] == "#team"
    mallory.send("JOIN #team hush")
    assert mallory.expect("473").params[1] == "#team"
    assert _join_status(carol, "#team") == [["+o", "carol"]]
    assert _modes(carol, "#team") == ["+inrstkl", "hush", "10"]
    carol.sync()
    carol.send("CHATHISTORY LATEST #team * 10")
    texts = [
        m.params[1]
        for m in carol.until("BATCH", "-" + carol.expect("BATCH").params[0][1:])
        if m.command == "PRIVMSG"
    ]
    assert "said before it emptied" in texts  # a registered room's history continues
    port = first.port
    first.stop()
    for client in (carol, mallory):
        client.close()

    second = make_server(flood_rate=0, autojoin=[], reserve_nicks=False, port=port, **stores)
    dave = _client(second, "dave", "dave")
    dave.send("JOIN #team hush")
    assert dave.expect("473").params[1] == "#team"  # +i kept; voice passes nothing
    carol = _client(second, "carol", "carol")
    assert _join_status(carol, "#team") == [["+o", "carol"]]
    carol.send("TOPIC #team")
    assert carol.expect("332").params[1:] == ["#team", "team plans"]
    assert _modes(carol, "#team") == ["+inrstkl", "hush", "10"]
    carol.send("MODE #team +b")
    assert [m.params[2] for m in carol.until("368") if m.command == "367"] == ["bad!*@*"]
    carol.send("MODE #team +e")
    assert [m.params[2] for m in carol.until("349") if m.command == "348"] == ["good!*@*"]
    carol.send("INVITE dave #team")
    dave.expect("INVITE")
    assert _join_status(dave, "#team", "hush") == [["+v", "dave"]]
    # Mode changes by ops persist.
    carol.send("MODE #team -i")
    carol.expect("MODE", "#team", "-i")
    assert second.rooms.find("#team").state.modes == "nst"
    for client in (carol, dave):
        client.close()


def test_op_deop_voice_access_and_topic(cserver) -> None:
    carol = _client(cserver, "carol", "carol")
    dave = _client(cserver, "dave", "dave")
    carol.send("JOIN #team")
    carol.expect("366")
    _cs(carol, "REGISTER #team")
    dave.send("JOIN #team")
    dave.expect("366")
    carol.sync()
    assert _cs(dave, "OP #team") == ["You don't have any stored privileges on that channel"]
    assert _cs(dave, "ACCESS #team ADD dave op") == ["Insufficient privileges"]
    assert _cs(carol, "ACCESS #team ADD nobody op") == ["Account does not exist"]
    assert _cs(carol, "ACCESS #team ADD dave owner") == ["Invalid mode change"]
    assert _cs(carol, "ACCESS #team ADD dave") == [
        "Syntax: ACCESS #channel ADD|DEL|LIST [account] [op|voice]"
    ]
    # Given at once to a member signed in to the account, as it would be on join.
    assert _cs(carol, "ACCESS #team ADD dave voice") == [
        "Successfully set persistent mode +v on dave"
    ]
    assert dave.expect("MODE", "#team").params[1:] == ["+v", "dave"]
    assert _cs(carol, "ACCESS #team ADD dave voice") == ["No changes were made"]
    assert _cs(carol, "ACCESS #team LIST") == [
        "Channel #team has 1 persistent modes set",
        "Account dave receives mode +v",
    ]
    assert _cs(dave, "OP #team") == ["You don't have any stored privileges on that channel"]
    assert _cs(carol, "OP #team dave") == ["Successfully granted operator privileges"]
    op = dave.expect("MODE", "#team")
    assert op.source.startswith("ChanServ!") and op.params[1:] == ["+o", "dave"]
    assert _cs(carol, "DEOP #team dave") == ["Successfully removed operator privileges"]
    assert dave.expect("MODE", "#team").params[1:] == ["-o", "dave"]
    assert _cs(carol, "DEOP #team dave") == ["Target has no privileges to remove"]
    assert _cs(dave, "OP #team carol") == ["Only the channel founder can do this"]
    assert _cs(carol, "VOICE #team nobody") == ["Could not find given client"]
    assert _cs(carol, "ACCESS #team DEL dave") == ["Successfully set persistent mode -v on dave"]
    assert _cs(carol, "ACCESS #team LIST") == ["Channel #team has 0 persistent modes set"]
    assert _cs(dave, "TOPIC #team hijacked") == ["Insufficient privileges"]
    assert _cs(carol, "TOPIC #team set by the founder") == ["Topic of #team changed"]
    topic = dave.expect("TOPIC", "#team")
    assert topic.source.startswith("ChanServ!") and topic.params[1] == "set by the founder"
    assert cserver.rooms.find("#team").state.topic == "set by the founder"
    assert _cs(carol, "OP #elsewhere") == ["Channel #elsewhere is not registered"]
    for client in (carol, dave):
        client.close()


def test_a_dropped_room_goes_when_it_empties(cserver) -> None:
    carol = _client(cserver, "carol", "carol")
    dave = _client(cserver, "dave", "dave")
    carol.send("JOIN #team", "MODE #team +i")
    carol.expect("MODE", "#team")
    _cs(carol, "REGISTER #team")
    assert _cs(carol, "DROP #team") == ["Channel #team is now unregistered"]
    assert ["#team", "-r"] in [m.params for m in carol.consumed if m.command == "MODE"]
    assert cserver.rooms.find("#team") is None
    carol.send("PART #team")
    carol.expect("PART")
    dave.send("JOIN #team")  # gone with its modes: made anew, dave is its op
    dave.expect("366", "dave", "#team")
    assert _modes(dave, "#team") == ["+nt"]
    for client in (carol, dave):
        client.close()


def test_without_a_data_dir_there_is_no_registration(make_server) -> None:
    server = make_server(autojoin=[])
    alice = _client(server, "alice")
    assert _cs(alice, "REGISTER #x") == ["Channel registration is not enabled"]
    assert _cs(alice, "HELP")[0] == "ChanServ lets you register and manage channels."
    alice.close()


def test_a_change_the_sqlite_file_cannot_store_is_refused_and_undone(
    make_server, tmp_path: Path, mocker, caplog
) -> None:
    _accounts(tmp_path)
    server = make_server(
        data_dir=str(tmp_path),
        flood_rate=0,
        autojoin=[],
        reserve_nicks=False,
        max_list_entries_per_ip=2,
    )
    carol = _client(server, "carol", "carol")
    dave = _client(server, "dave", "dave")
    carol.send("JOIN #team", "MODE #team +b a!*@*", "TOPIC #team :kept")
    carol.expect("TOPIC")
    _cs(carol, "REGISTER #team")
    dave.send("JOIN #team")
    dave.expect("366")
    carol.sync()
    # A disk that is full cannot be filled for a test: the store's write fails instead.
    save = mocker.patch.object(
        server.rooms, "save", side_effect=sqlite3.OperationalError("database or disk is full")
    )
    carol.send("MODE #team +i-b+bb a!*@* b!*@* c!*@*", "MODE #team +mo dave")
    for _ in range(2):
        assert carol.expect("FAIL").params == [
            "MODE",
            "TEMPORARILY_UNAVAILABLE",
            "#team",
            UNSAVED,
        ]
    carol.send("TOPIC #team :lost")
    assert carol.expect("FAIL").params == ["TOPIC", "TEMPORARILY_UNAVAILABLE", "#team", UNSAVED]
    assert _cs(carol, "TOPIC #team lost again") == [UNSAVED]
    assert save.call_count == 4
    assert [m.format() for m in dave.sync()] == []
    assert _modes(carol, "#team") == ["+nrt"]
    carol.send("NAMES #team")  # the +o that came with a refused change is undone too
    assert carol.expect("353").params[3].split() == ["@carol", "dave"]
    carol.send("TOPIC #team")
    assert carol.expect("332").params[2] == "kept"
    carol.send("MODE #team +b")
    assert [m.params[2] for m in carol.until("368") if m.command == "367"] == ["a!*@*"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        warnings.count(
            "could not store the state of #team (database or disk is full): change refused"
        )
        == 4
    )

    # Undone to the entry: the address holds one of its two list entries again.
    mocker.stopall()
    carol.send("MODE #team +b b!*@*", "MODE #team +b c!*@*")
    assert carol.expect("MODE", "#team").params[1:] == ["+b", "b!*@*"]
    assert carol.expect("478").params[1:3] == ["#team", "b"]
    stored = server.rooms.find("#team").state
    assert [mask for mask, _by, _at in stored.lists["b"]] == ["a!*@*", "b!*@*"]
    assert (stored.modes, stored.topic) == ("nt", "kept")
    for client in (carol, dave):
        client.close()
