"""Parsing what the user types: plain text, slash commands, help and completion."""

from __future__ import annotations

import pytest

from app.commands import HELP, Command, CommandError, complete, help_lines, parse_input


@pytest.mark.parametrize(
    ("line", "current", "expected"),
    [
        ("hello", "#general", Command("say", "#general", "hello")),
        ("  spaced  ", "bob", Command("say", "bob", "  spaced  ")),
        ("//not a command", "#general", Command("say", "#general", "/not a command")),
        ("/me waves", "#general", Command("me", "#general", "waves")),
        ("/ME waves", "#general", Command("me", "#general", "waves")),
        ("/join #dev", "", Command("join", "#dev")),
        ("/join dev secret", "", Command("join", "#dev", key="secret")),
        ("/j #dev", "", Command("join", "#dev")),
        ("/part", "#dev", Command("part", "#dev", "")),
        ("/part see you", "#dev", Command("part", "#dev", "see you")),
        ("/part #other bye", "#dev", Command("part", "#other", "bye")),
        ("/msg bob hi there", "#dev", Command("msg", "bob", "hi there")),
        ("/query bob", "", Command("query", "bob", "")),
        ("/query bob hello", "", Command("query", "bob", "hello")),
        ("/nick alice2", "", Command("nick", "alice2")),
        ("/topic", "#dev", Command("topic", "#dev", "")),
        ("/topic New topic here", "#dev", Command("topic", "#dev", "New topic here")),
        ("/topic #x New", "#dev", Command("topic", "#x", "New")),
        ("/away lunch", "#dev", Command("away", "#dev", "lunch")),
        ("/away", "#dev", Command("away", "#dev", "Away")),
        ("/back", "#dev", Command("back", "#dev", "")),
        ("/whois bob", "", Command("whois", "bob")),
        ("/names", "#dev", Command("names", "#dev")),
        ("/names #x", "", Command("names", "#x")),
        ("/clear", "#dev", Command("clear", "#dev", "")),
        ("/quit", "#dev", Command("quit", "#dev", "Leaving")),
        ("/quit bye all", "#dev", Command("quit", "#dev", "bye all")),
        ("/help", "", Command("help", text="")),
        ("/help /join", "", Command("help", text="join")),
        ("/raw PRIVMSG #x :hi", "", Command("raw", text="PRIVMSG #x :hi")),
        ("/quote WHO #x", "", Command("raw", text="WHO #x")),
        ("/notice bob hey", "", Command("notice", "bob", "hey")),
        ("/close", "bob", Command("close", "bob", "")),
    ],
)
def test_parse(line: str, current: str, expected: Command) -> None:
    assert parse_input(line, current) == expected


@pytest.mark.parametrize(
    ("line", "current", "fragment"),
    [
        ("/frobnicate", "#x", "Unknown command /frobnicate"),
        ("/join", "#x", "Usage: /join"),
        ("/msg bob", "#x", "Usage: /msg"),
        ("/msg", "#x", "Usage: /msg"),
        ("/me", "#x", "Usage: /me"),
        ("/me waves", "", "needs an open channel"),
        ("/nick", "#x", "Usage: /nick"),
        ("/nick two words", "#x", "Usage: /nick"),
        ("/nick #chan", "#x", "cannot be a name"),
        ("/nick 9lives", "#x", "cannot be a name"),
        ("/part", "bob", "not in a channel"),
        ("/topic hi", "", "not in a channel"),
        ("/whois", "#x", "Usage: /whois"),
        ("/names", "bob", "Usage: /names"),
        ("/raw", "#x", "Usage: /raw"),
        ("hello", "", "server window"),
        ("/join #a,b", "", "not a valid channel"),
    ],
)
def test_errors_explain(line: str, current: str, fragment: str) -> None:
    with pytest.raises(CommandError) as info:
        parse_input(line, current)
    assert fragment in str(info.value)


def test_blank_input_is_a_silent_error() -> None:
    with pytest.raises(CommandError) as info:
        parse_input("   ", "#x")
    assert str(info.value) == ""


def test_help_lists_every_command() -> None:
    text = "\n".join(help_lines())
    for name in HELP:
        assert f"/{name}" in text
    assert help_lines("join") == ["Usage: /join #channel [key] — join a channel (and open it)"]
    assert help_lines("j")[0].startswith("Usage: /join")
    assert "No command /zzz" in help_lines("zzz")[0]


def test_channel_types_come_from_the_server() -> None:
    assert parse_input("/join dev", "", chantypes="&") == Command("join", "&dev")
    assert parse_input("/part", "&dev", chantypes="&") == Command("part", "&dev", "")


def test_complete() -> None:
    names = ["bob", "Bobby", "alice", "bob"]
    assert complete("bo", names) == ["bob", "Bobby"]
    assert complete("B", names) == ["bob", "Bobby"]
    assert complete("z", names) == []
    assert complete("", names) == []


def test_raw_on_and_off_switch_the_raw_view_and_anything_else_is_sent():
    assert parse_input("/raw on") == Command("raw", "on")
    assert parse_input("/quote OFF") == Command("raw", "off")
    assert parse_input("/raw on the line") == Command("raw", text="on the line")
    assert parse_input("/raw VERSION") == Command("raw", text="VERSION")
