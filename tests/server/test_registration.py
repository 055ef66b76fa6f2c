"""Registration over a real socket: CAP, PASS, NICK, USER and the welcome burst."""

from __future__ import annotations

import pytest

from tests.support.ircclient import IRCClient


def test_welcome_burst_has_the_numerics_in_order(server, connect) -> None:
    client = connect()
    client.send("NICK alice", "USER alice 0 * :Alice Liddell")
    burst = client.until("366")
    codes = [m.command for m in burst]
    order = ["001", "002", "003", "004", "005", "251", "255", "265", "266", "422", "JOIN", "353"]
    positions = [codes.index(code) for code in order]
    assert positions == sorted(positions), codes
    welcome = burst[codes.index("001")]
    assert welcome.source == "kibitz.test"
    assert welcome.params == ["alice", "Welcome to the Kibitz Network, alice!~alice@127.0.0.1"]
    assert burst[codes.index("422")].params == ["alice", "MOTD File is missing"]


def test_isupport_advertises_what_the_server_does(server, connect) -> None:
    client = connect()
    client.send("NICK alice", "USER alice 0 * :Alice")
    burst = client.until("422")
    tokens = {}
    for message in burst:
        if message.command == "005":
            assert message.params[-1] == "are supported by this server"
            assert len(message.params) - 2 <= 13
            for token in message.params[1:-1]:
                key, _, value = token.partition("=")
                tokens[key] = value
    assert tokens["CASEMAPPING"] == "ascii"
    assert tokens["CHANTYPES"] == "#"
    assert tokens["PREFIX"] == "(ov)@+"
    assert tokens["NICKLEN"] == "30" and tokens["CHANNELLEN"] == "64"
    assert tokens["TOPICLEN"] == "390"
    assert tokens["NETWORK"] == "Kibitz"
    assert "UTF8ONLY" in tokens
    assert tokens["CHANMODES"] == "beI,k,l,imnrst"  # r: a registered room (ChanServ)


def test_motd_is_sent_when_configured(make_server) -> None:
    server = make_server(motd=["Welcome to class", "", "Be nice"])
    client = IRCClient(server.port)
    client.send("NICK alice", "USER alice 0 * :Alice")
    assert client.expect("375").params[1] == "- kibitz.test Message of the day - "
    lines = [client.expect("372").params[1] for _ in range(3)]
    assert lines == ["- Welcome to class", "-", "- Be nice"]
    assert client.expect("376").params[1] == "End of /MOTD command."
    client.close()


def test_commands_before_registration_get_451(server, connect) -> None:
    client = connect()
    client.send("JOIN #x")
    assert client.expect("451").params == ["*", "You have not registered"]
    client.send("PRIVMSG #x :hi")
    assert client.expect("451")


def test_unknown_command_gets_421(server, connect) -> None:
    client = connect("alice")
    client.send("FROBNICATE now")
    assert client.expect("421").params == ["alice", "FROBNICATE", "Unknown command"]


def test_missing_parameters_get_461(server, connect) -> None:
    client = connect()
    client.send("USER onlyone")
    assert client.expect("461").params == ["*", "USER", "Not enough parameters"]
    client.send("NICK alice", "USER alice 0 * :Alice")
    client.expect("001")
    client.send("JOIN")
    assert client.expect("461").params == ["alice", "JOIN", "Not enough parameters"]


@pytest.mark.parametrize(
    ("line", "code", "params"),
    [
        ("NICK", "431", ["*", "No nickname given"]),
        ("NICK 9lives", "432", ["*", "9lives", "Erroneus nickname"]),
        ("NICK #chan", "432", ["*", "#chan", "Erroneus nickname"]),
        ("NICK a!b", "432", ["*", "a!b", "Erroneus nickname"]),
        ("NICK " + "n" * 31, "432", ["*", "n" * 31, "Erroneus nickname"]),
    ],
)
def test_bad_nicks_are_refused(server, connect, line, code, params) -> None:
    client = connect()
    client.send(line)
    assert client.expect(code).params == params


def test_nick_in_use_is_refused_case_insensitively(server, connect) -> None:
    connect("Alice")
    second = connect()
    second.send("NICK aLiCe", "USER x 0 * :X")
    assert second.expect("433").params == ["*", "aLiCe", "Nickname is already in use"]
    second.send("NICK alice2")
    assert second.expect("001").params[0] == "alice2"


def test_reregistration_is_refused(server, connect) -> None:
    client = connect("alice")
    client.send("USER again 0 * :Again")
    assert client.expect("462").params == ["alice", "You may not reregister"]


def test_cap_negotiation_holds_registration_until_end(server, connect) -> None:
    client = connect()
    client.send("CAP LS 302", "NICK alice", "USER alice 0 * :Alice")
    ls = client.expect("CAP")
    assert ls.params[:2] == ["*", "LS"]
    offered = set(ls.params[-1].split())
    assert {"echo-message", "server-time", "message-tags", "cap-notify"} <= offered
    client.send("CAP REQ :echo-message server-time")
    assert client.expect("CAP").params == ["alice", "ACK", "echo-message server-time"]
    before_end = client.sync()
    assert not [m for m in before_end if m.command == "001"]
    client.send("CAP LIST")
    listed = client.expect("CAP", "alice", "LIST").params[-1].split()
    assert set(listed) == {"cap-notify", "echo-message", "server-time"}
    client.send("CAP END")
    client.expect("001")


def test_cap_req_is_all_or_nothing(server, connect) -> None:
    client = connect()
    client.send("CAP LS", "CAP REQ :echo-message no-such-cap")
    client.expect("CAP", "*", "LS")
    assert client.expect("CAP").params == ["*", "NAK", "echo-message no-such-cap"]
    client.send("CAP LIST")
    assert client.expect("CAP", "*", "LIST").params[-1] == ""


def test_cap_can_remove_a_capability(server, connect) -> None:
    client = connect("alice", caps=("echo-message",))
    client.send("CAP REQ :-echo-message")
    assert client.expect("CAP").params == ["alice", "ACK", "-echo-message"]
    client.send("PRIVMSG #general :not echoed")
    assert not [m for m in client.sync() if m.command == "PRIVMSG"]


def test_invalid_cap_subcommand_gets_410(server, connect) -> None:
    client = connect()
    client.send("CAP FOO")
    assert client.expect("410").params == ["*", "FOO", "Invalid CAP command"]


def test_password_is_required_when_set(make_server) -> None:
    server = make_server(password="s3cret")
    wrong = IRCClient(server.port)
    wrong.send("PASS nope", "NICK mallory", "USER m 0 * :M")
    assert wrong.expect("464").params == ["mallory", "Password incorrect"]
    assert any(m.command == "ERROR" for m in wrong.wait_closed())
    missing = IRCClient(server.port)
    missing.send("NICK eve", "USER e 0 * :E")
    missing.expect("464")
    right = IRCClient(server.port)
    right.register("alice", password="s3cret")
    assert right.nick == "alice"
    for client in (wrong, missing, right):
        client.close()


def test_ping_is_answered_before_and_after_registration(server, connect) -> None:
    client = connect()
    client.send("PING :early token")
    assert client.expect("PONG").params == ["kibitz.test", "early token"]
    client.send("NICK alice", "USER alice 0 * :Alice")
    client.expect("001")
    client.send("PING")
    assert client.expect("461").params[1] == "PING"


def test_quit_sends_error_and_closes(server, connect) -> None:
    client = connect("alice")
    client.send("QUIT :see you")
    closing = client.wait_closed()
    assert closing[-1].command == "ERROR"
    assert "Quit: see you" in closing[-1].params[0]


def test_user_with_empty_realname_gets_461(server, connect) -> None:
    client = connect()
    client.send("NICK foo", "USER username * * :")
    assert client.expect("461").params == ["foo", "USER", "Not enough parameters"]


def test_user_with_an_unusable_username_still_registers(server, connect) -> None:
    client = connect()
    client.send("NICK foo", "USER \U0001f60a\U0001f60a\U0001f60a * * :Real Name")
    assert client.expect("001").params[1].endswith("foo!~user@127.0.0.1")


def test_a_quitter_is_gone_once_its_error_arrives(make_server) -> None:
    server = make_server(flood_rate=0)  # the watcher sends 60 lines in quick succession
    watcher = IRCClient(server.port)
    watcher.register("watcher")
    for attempt in range(20):
        quitter = IRCClient(server.port)
        quitter.register(f"q{attempt}")
        quitter.send("QUIT")
        quitter.wait_closed()
        watcher.send("LUSERS")
        assert watcher.expect("251").params[1].startswith("There are 1 users")
        watcher.send(f"NICK q{attempt}")  # the nick is free at once
        assert watcher.expect("NICK").params == [f"q{attempt}"]
        quitter.close()
    watcher.close()
