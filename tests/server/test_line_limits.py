"""Every line the server sends fits IRC's 512 bytes (plus tags), whatever a client sends.

A relayed message gains the sender's ``nick!user@host`` prefix, and numerics echo what a
client sent next to the server name and the client's nick: a client line of 510 bytes
can come back longer than 512. The server refuses a relayed text that would not fit
(417 to the sender, nothing to anyone else) and cuts an echoed parameter at a character
boundary instead of sending a line other software may truncate or refuse.
"""

from __future__ import annotations

import pytest

from server.protocol.codec import MAX_LINE
from tests.support.ircclient import IRCClient

#: As long as a host name may be: every numeric starts with it.
LONG_NAME = "irc." + "s" * 55 + ".lan"
NICK = "n" * 30


def _body_size(raw: bytes) -> int:
    """A received line's size without its tags, CRLF included (what 512 bounds)."""
    if raw.startswith(b"@"):
        raw = raw.split(b" ", 1)[1]
    return len(raw) + 2


def _assert_all_fit(client: IRCClient) -> None:
    too_long = [raw for raw in client.raw if _body_size(raw) > MAX_LINE]
    assert not too_long, [(len(raw), raw[:80]) for raw in too_long]


def _fill(prefix: str, piece: str = "x") -> str:
    """``prefix`` followed by ``piece`` repeated to make a 510-byte line (512 with CRLF)."""
    room = MAX_LINE - 2 - len(prefix.encode())
    count = room // len(piece.encode())
    return prefix + piece * count + "x" * (room - count * len(piece.encode()))


@pytest.fixture
def long_server(make_server):
    return make_server(name=LONG_NAME)


@pytest.fixture
def open_client(long_server):
    clients: list[IRCClient] = []

    def open_one(nick: str, caps: tuple[str, ...] = ()) -> IRCClient:
        client = IRCClient(long_server.port)
        clients.append(client)
        client.register(nick, caps)
        return client

    yield open_one
    for client in clients:
        client.close()


def test_a_relayed_message_that_would_not_fit_is_refused_with_417(open_client):
    alice = open_client(NICK, caps=("echo-message",))
    bob = open_client("bob")
    # 510 bytes from alice, ending in multi-byte characters: relayed with her prefix it
    # would be 30 + 1 + 16 + 1 + 9 bytes longer than the line limit.
    line = _fill("PRIVMSG #general :", "é")
    assert len(line.encode()) == MAX_LINE - 2
    alice.send(line)
    alice.expect("417", NICK)
    alice.send(f"PRIVMSG bob :{'é' * 200}")  # a direct message that fits still goes
    alice.send("PRIVMSG #general :short and fine")
    bob.expect("PRIVMSG", "bob", "é" * 200)
    got = bob.expect("PRIVMSG", "#general")
    assert got.params[1] == "short and fine", "the refused line must not have been relayed"
    alice.expect("PRIVMSG", "#general", "short and fine")  # the echo of the one that fit
    _assert_all_fit(alice)
    _assert_all_fit(bob)


def test_the_longest_text_that_fits_is_relayed_whole(open_client):
    alice = open_client(NICK, caps=("echo-message",))
    bob = open_client("bob")
    prefix = f":{NICK}!{NICK}@127.0.0.1 PRIVMSG #general :"
    text = "é" * ((MAX_LINE - 2 - len(prefix.encode())) // 2)
    alice.send(f"PRIVMSG #general :{text}")
    assert bob.expect("PRIVMSG", "#general").params[1] == text
    assert alice.expect("PRIVMSG", "#general").params[1] == text
    _assert_all_fit(bob)


def test_a_too_long_direct_message_and_notice_are_refused_too(open_client):
    alice = open_client(NICK)
    bob = open_client("bob")
    alice.send(_fill("PRIVMSG bob :", "ü"))
    alice.expect("417")
    alice.send(_fill("NOTICE bob :"))  # NOTICE: never answered, and not relayed either
    alice.send("PRIVMSG bob :after")
    assert bob.expect("PRIVMSG", "bob").params[1] == "after"
    _assert_all_fit(bob)


@pytest.mark.parametrize(
    "line",
    [
        _fill("FOO"),  # 421 echoes the command
        _fill("PRIVMSG "),  # 401 echoes the target
        _fill("PRIVMSG #", "é"),  # 403 / 404 echo a channel name
        _fill("JOIN #"),  # 479 / 403 echo the channel name
        _fill("WHOIS "),  # 401 and 318 echo the nick
        _fill("WHOWAS "),  # 406 and 369
        _fill("MODE "),  # 401
        _fill("MODE #general +b "),  # a ban mask as long as the line
        _fill("TOPIC #"),
        _fill("NAMES #"),
        _fill("WHO "),
        _fill("LIST "),
        _fill("KICK #general "),
        _fill("INVITE "),
        _fill("PART #"),
        _fill("ISON ", "ab "),
        _fill("USERHOST "),
        _fill("MONITOR + "),
        _fill("CAP REQ :", "é"),
        _fill("NICK "),
        _fill("AWAY :", "é"),
        _fill("SETNAME :", "é"),
        _fill("CHATHISTORY LATEST "),
        _fill("VERSION "),
        _fill("MOTD "),
        _fill("HELP "),
    ],
    ids=lambda line: line.split(" ")[0] + "-" + str(len(line.split(" ")[:2][-1])),
)
def test_no_reply_to_a_full_length_line_is_longer_than_512_bytes(open_client, line):
    alice = open_client(NICK, caps=("message-tags", "server-time", "labeled-response"))
    alice.send(line)
    alice.sync()
    alice.send(f"@label=x {line[:400]}")  # and labeled: the tag is outside the 512
    alice.sync()
    _assert_all_fit(alice)
