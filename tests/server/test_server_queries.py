"""Server queries over real sockets: VERSION, TIME, ADMIN, INFO, LINKS, STATS, HELP/HELPOP."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest

from server.commands import COMMANDS, Command
from server.commands.registration import isupport_tokens
from server.commands.server_queries import HELP_TOPICS
from tests.support.ircclient import IRCClient

SERVER = "kibitz.test"


def reply(client: IRCClient, line: str) -> list:
    """Send ``line``; return every message the server answered before a PING round-trip."""
    client.send(line)
    return client.sync()


def commands_of(messages: list) -> list[str]:
    return [m.command for m in messages]


def assert_valid_help(messages: list, nick: str, subject: str) -> None:
    """704, an empty 705 first, 705s, one 706; every one addressed to ``subject``."""
    assert len(messages) >= 3, [m.format() for m in messages]
    assert commands_of(messages) == ["704"] + ["705"] * (len(messages) - 2) + ["706"]
    for message in messages:
        assert message.params[:2] == [nick, subject]
        assert len(message.params) == 3
    assert messages[1].params[2] == ""


# --- VERSION ---------------------------------------------------------------------------
def test_version_is_351_then_every_isupport_token(server, connect) -> None:
    alice = connect("alice")
    messages = reply(alice, "VERSION")
    assert messages[0].command == "351"
    nick, version, name, comments = messages[0].params
    assert (nick, version, name) == ("alice", server.version, SERVER)
    assert comments
    rest = messages[1:]
    assert rest and set(commands_of(rest)) == {"005"}
    tokens: list[str] = []
    for line in rest:
        assert line.params[0] == "alice"
        assert line.params[-1] == "are supported by this server"
        assert 1 <= len(line.params) - 2 <= 13
        tokens += line.params[1:-1]
    assert tokens == isupport_tokens(server)


@pytest.mark.parametrize("target", [SERVER, "KIBITZ.Test", "*.test", "kib*", "alice", "Bob"])
def test_version_for_this_server_by_name_glob_or_nick(server, connect, target) -> None:
    alice = connect("alice")
    connect("bob")
    alice.sync()  # bob's autojoin JOIN arrives first
    messages = reply(alice, f"VERSION {target}")
    assert messages[0].command == "351"
    assert messages[0].params[2] == SERVER


# --- another server: 402 -----------------------------------------------------------------
@pytest.mark.parametrize(
    "line, target",
    [
        ("VERSION other.server", "other.server"),
        ("VERSION *.example", "*.example"),
        ("TIME other.server", "other.server"),
        ("ADMIN nobody", "nobody"),
        ("INFO invalid.server.example", "invalid.server.example"),
        ("STATS u other.server", "other.server"),
    ],
)
def test_query_for_another_server_gets_402_and_nothing_else(server, connect, line, target):
    alice = connect("alice")
    messages = reply(alice, line)
    assert [m.params for m in messages] == [["alice", target, "No such server"]]
    assert commands_of(messages) == ["402"]


def test_queries_need_registration(server, connect) -> None:
    client = connect()
    client.send("VERSION", "HELP")
    assert client.expect("451").params == ["*", "You have not registered"]
    assert client.expect("451").params == ["*", "You have not registered"]


# --- TIME -----------------------------------------------------------------------------------
def test_time_is_391_with_the_server_and_its_local_time(server, connect) -> None:
    alice = connect("alice")
    messages = reply(alice, "TIME")
    assert commands_of(messages) == ["391"]
    nick, name, text = messages[0].params
    assert (nick, name) == ("alice", SERVER)
    shown = datetime.strptime(text, "%A, %d %B %Y %H:%M:%S %z")
    assert abs(shown.timestamp() - time.time()) < 60


def test_time_for_this_server_by_name(server, connect) -> None:
    alice = connect("alice")
    assert commands_of(reply(alice, f"TIME {SERVER}")) == ["391"]


# --- ADMIN ----------------------------------------------------------------------------------
def test_admin_replies_in_order_with_configured_details(make_server) -> None:
    server = make_server(admin_location="Room 101, Oslo", admin_email="ops@example.org")
    alice = IRCClient(server.port)
    try:
        alice.register("alice")
        messages = reply(alice, "ADMIN")
        assert commands_of(messages) == ["256", "257", "258", "259"]
        assert messages[0].params == ["alice", SERVER, "Administrative info"]
        assert messages[1].params == ["alice", "Room 101, Oslo"]
        assert messages[2].params[0] == "alice" and len(messages[2].params) == 2
        assert messages[3].params == ["alice", "ops@example.org"]
    finally:
        alice.close()


def test_admin_defaults(server, connect) -> None:
    alice = connect("alice")
    messages = reply(alice, f"ADMIN {SERVER}")
    assert commands_of(messages) == ["256", "257", "258", "259"]
    assert messages[1].params[1] == server.config.admin_location
    assert "@" in messages[3].params[1]


# --- INFO -----------------------------------------------------------------------------------
@pytest.mark.parametrize("line", ["INFO", f"INFO {SERVER}", "INFO alice"])
def test_info_is_371_lines_then_374(server, connect, line) -> None:
    alice = connect("alice")
    messages = reply(alice, line)
    assert commands_of(messages) == ["371"] * (len(messages) - 1) + ["374"]
    assert len(messages) >= 2
    assert messages[-1].params == ["alice", "End of INFO list"]
    for message in messages[:-1]:
        assert len(message.params) == 2 and message.params[0] == "alice"
    assert server.version in messages[0].params[1]


# --- LINKS ----------------------------------------------------------------------------------
def test_links_lists_only_this_server(server, connect) -> None:
    alice = connect("alice")
    messages = reply(alice, "LINKS")
    assert commands_of(messages) == ["364", "365"]
    nick, mask, name, text = messages[0].params
    assert (nick, mask, name) == ("alice", SERVER, SERVER)
    assert re.fullmatch(r"0 \S.*", text)
    assert messages[1].params == ["alice", "*", "End of /LINKS list"]


# --- STATS ----------------------------------------------------------------------------------
def test_stats_u_gives_the_uptime(server, connect) -> None:
    alice = connect("alice")
    server.started = time.time() - (2 * 86400 + 3 * 3600 + 4 * 60 + 5)
    messages = reply(alice, "STATS u")
    assert commands_of(messages) == ["242", "219"]
    assert messages[0].params[0] == "alice" and len(messages[0].params) == 2
    assert re.fullmatch(r"Server Up 2 days 3:04:0[5-9]", messages[0].params[1])
    assert messages[1].params == ["alice", "u", "End of /STATS report"]


def test_stats_u_right_after_start(server, connect) -> None:
    alice = connect("alice")
    messages = reply(alice, f"STATS u {SERVER}")
    assert re.fullmatch(r"Server Up 0 days 0:\d\d:\d\d", messages[0].params[1])


@pytest.mark.parametrize("letter", ["c", "h", "i", "k", "l", "m", "o", "y", "U", "x"])
def test_stats_other_letters_end_at_once(server, connect, letter) -> None:
    alice = connect("alice")
    messages = reply(alice, f"STATS {letter}")
    assert [m.params for m in messages] == [["alice", letter, "End of /STATS report"]]
    assert commands_of(messages) == ["219"]


@pytest.mark.parametrize("line", ["STATS", "STATS :"])
def test_stats_needs_a_letter(server, connect, line) -> None:
    alice = connect("alice")
    messages = reply(alice, line)
    assert [(m.command, m.params) for m in messages] == [
        ("461", ["alice", "STATS", "Not enough parameters"])
    ]


# --- HELP / HELPOP --------------------------------------------------------------------------
def test_every_command_has_a_help_topic() -> None:
    """A command added to COMMANDS without a help topic fails here."""
    missing = sorted(set(COMMANDS) - set(HELP_TOPICS))
    assert not missing, f"commands without a HELP topic: {missing}"
    for name, lines in HELP_TOPICS.items():
        assert lines and lines[0].split()[0] == name, name
        assert all(0 < len(line) <= 100 for line in lines), name


@pytest.mark.parametrize("verb", ["HELP", "HELPOP"])
def test_help_without_subject_is_an_index_of_every_command(server, connect, verb) -> None:
    alice = connect("alice")
    messages = reply(alice, verb)
    assert_valid_help(messages, "alice", "*")
    assert messages[0].params[2] == "** Help System **"
    words = {word for m in messages for word in m.params[2].split()}
    assert set(COMMANDS) <= words


@pytest.mark.parametrize("verb", ["HELP", "HELPOP"])
@pytest.mark.parametrize("subject", ["PRIVMSG", "privmsg", "Join"])
def test_help_on_a_command_echoes_the_subject(server, connect, verb, subject) -> None:
    alice = connect("alice")
    messages = reply(alice, f"{verb} {subject}")
    assert_valid_help(messages, "alice", subject)
    assert subject.upper() in messages[0].params[2]
    assert messages[2].params[2].startswith(f"Syntax: {subject.upper()}")


def test_help_answers_every_command_in_the_table(make_server) -> None:
    server = make_server(flood_rate=0)  # some 80 lines in a row: no fake lag wanted here
    alice = IRCClient(server.port)
    alice.register("alice")
    for name in sorted(COMMANDS):
        messages = reply(alice, f"HELP {name}")
        assert_valid_help(messages, "alice", name)
        expected = [f"Syntax: {HELP_TOPICS[name][0]}", *HELP_TOPICS[name][1:]]
        assert [m.params[2] for m in messages[2:]] == expected


@pytest.mark.parametrize("verb", ["HELP", "HELPOP"])
@pytest.mark.parametrize(
    "line, subject",
    [("THISISNOTACOMMAND", "THISISNOTACOMMAND"), (":unknown subject", "*"), (":", "*")],
)
def test_help_on_an_unknown_subject_is_524(server, connect, verb, line, subject) -> None:
    alice = connect("alice")
    messages = reply(alice, f"{verb} {line}")
    if line == ":":
        # An empty subject is no subject: the index.
        assert_valid_help(messages, "alice", "*")
        return
    assert [(m.command, m.params) for m in messages] == [
        ("524", ["alice", subject, "No help available on this topic"])
    ]


def test_help_reads_the_command_table_at_call_time(server, connect, monkeypatch) -> None:
    alice = connect("alice")
    monkeypatch.setitem(COMMANDS, "FROBNICATE", Command(lambda server, client, msg, reply: None))
    messages = reply(alice, "HELP")
    assert "FROBNICATE" in {word for m in messages for word in m.params[2].split()}
    # A command without a topic is not given a made-up one (and the suite test fails).
    assert commands_of(reply(alice, "HELP FROBNICATE")) == ["524"]
