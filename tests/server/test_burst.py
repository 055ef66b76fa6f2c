"""The welcome burst's lines that read the same for everyone: built once, nick put in."""

from __future__ import annotations

from server.commands.burst import split_lines
from server.protocol.codec import MAX_LINE
from server.protocol.numerics import RPL_MOTD, RPL_YOURHOST
from tests.support.ircclient import IRCClient


def _burst(client: IRCClient, nick: str) -> list[bytes]:
    """The raw lines of the burst from 002 on, up to LUSERS and from the MOTD on."""
    client.register(nick)
    codes = {b"002", b"003", b"004", b"005", b"375", b"372", b"376"}
    return [line for line in client.raw if line.split(b" ")[1] in codes]


def test_clients_get_the_same_burst_but_for_their_nick_and_long_lines_still_fit(
    make_server,
) -> None:
    # A MOTD line that fits beside a short nick, but must be cut beside a 30-byte one.
    long_line = "x" * 470
    server = make_server(autojoin="", motd=["Welcome", "", long_line])
    short, long_nick = "al", "n" * server.config.nicklen
    first = _burst(IRCClient(server.port), short)
    second = _burst(IRCClient(server.port), long_nick)
    assert len(first) == len(second) >= 10
    for mine, theirs in zip(first, second, strict=True):
        assert len(theirs) + 2 <= MAX_LINE
        if long_line.encode() not in mine:
            assert mine.replace(b" al ", f" {long_nick} ".encode(), 1) == theirs
    motd = [line for line in second if line.split(b" ")[1] == b"372"]
    assert motd[-1].endswith(b"x") and len(motd[-1]) + 2 == MAX_LINE


def test_a_line_a_long_nick_could_push_over_the_limit_is_built_per_client() -> None:
    fits = (RPL_YOURHOST, ("Your host is kibitz.test",))
    too_long = (RPL_MOTD, ("- " + "x" * (MAX_LINE - 40),))
    parts = split_lines("kibitz.test", (fits, too_long), 30)
    assert parts[0] == (b":kibitz.test 002 ", b" :Your host is kibitz.test\r\n")
    assert parts[1] is None
