"""Every limit the server advertises in RPL_ISUPPORT is the limit it enforces.

Each test reads the number from the server's own 005 lines, then probes just inside
and just past it, so a change to a default can never leave the advertisement stale.
"""

from __future__ import annotations

import pytest

from tests.support.ircclient import IRCClient


@pytest.fixture
def isupport(server) -> dict[str, str]:
    client = IRCClient(server.port)
    client.send("NICK probe", "USER probe 0 * :Probe")
    tokens: dict[str, str] = {}
    for message in client.until("422"):
        if message.command == "005":
            for token in message.params[1:-1]:
                key, _, value = token.partition("=")
                tokens[key] = value
    # Gone before the test starts: still in #general, it would be the channel's operator.
    client.send("QUIT")
    client.wait_closed()
    client.close()
    return tokens


def test_every_token_is_well_formed(isupport) -> None:
    for key in isupport:
        assert key.isupper() and key.isalnum() and len(key) <= 20


def test_awaylen(isupport, connect) -> None:
    limit = int(isupport["AWAYLEN"])
    alice = connect("alice", caps=("away-notify",))
    bob = connect("bob")
    bob.send("AWAY :" + "a" * (limit + 50))
    assert alice.expect("AWAY").params == ["a" * limit]


def test_maxlist(isupport, connect) -> None:
    modes, _, limit = isupport["MAXLIST"].partition(":")
    assert modes == "beI"
    alice = connect("alice")
    masks = [f"m{i}!*@*" for i in range(int(limit))]
    for start in range(0, len(masks), 4):
        alice.send("MODE #general +bbbb " + " ".join(masks[start : start + 4]))
    alice.sync()
    alice.send("MODE #general +b onetoomany")
    assert alice.expect("478").params[:3] == ["alice", "#general", "b"]
    alice.send("MODE #general b")
    entries = [m for m in alice.until("368") if m.command == "367"]
    assert len(entries) == int(limit)


def test_userlen(isupport, connect) -> None:
    limit = int(isupport["USERLEN"])
    client = connect()
    client.send("NICK longuser", "USER " + "u" * (limit + 10) + " 0 * :Long")
    welcome = client.expect("001").params[1]
    user = welcome.rsplit("!", 1)[1].split("@")[0]
    assert len(user) == limit and user.startswith("~")


def test_targmax_for_privmsg(isupport, connect) -> None:
    targmax = dict(item.split(":") for item in isupport["TARGMAX"].split(","))
    limit = int(targmax["PRIVMSG"])
    alice = connect("alice")
    peers = [connect(f"peer{i}") for i in range(limit + 1)]
    alice.send("PRIVMSG " + ",".join(p.nick for p in peers[:limit]) + " :all of you")
    for peer in peers[:limit]:
        assert peer.expect("PRIVMSG").params[1] == "all of you"
    alice.send("PRIVMSG " + ",".join(p.nick for p in peers) + " :one too many")
    assert alice.expect("407").params[1] == peers[limit].nick


def test_chanlimit(isupport, make_server) -> None:
    prefix, _, limit = isupport["CHANLIMIT"].partition(":")
    assert prefix == "#" and limit.isdigit()
    server = make_server(autojoin=[])
    client = IRCClient(server.port)
    client.register("joiner")
    names = [f"#c{i}" for i in range(int(limit) + 1)]
    client.send("JOIN " + ",".join(names))
    assert client.expect("405").params[1] == names[-1]
    client.close()


def test_nicklen_and_channellen(isupport, connect) -> None:
    nicklen, channellen = int(isupport["NICKLEN"]), int(isupport["CHANNELLEN"])
    alice = connect("alice")
    alice.send("NICK " + "n" * nicklen)
    assert alice.expect("NICK").params == ["n" * nicklen]
    alice.send("NICK " + "n" * (nicklen + 1))
    assert alice.expect("432")
    alice.send("JOIN #" + "c" * (channellen - 1), "JOIN #" + "c" * channellen)
    alice.expect("JOIN")
    assert alice.expect("403").params[1] == "#" + "c" * channellen


def test_topiclen_and_kicklen(isupport, connect) -> None:
    topiclen, kicklen = int(isupport["TOPICLEN"]), int(isupport["KICKLEN"])
    alice, bob = connect("alice"), connect("bob")
    alice.send("TOPIC #general :" + "t" * (topiclen + 5))
    assert bob.expect("TOPIC").params[1] == "t" * topiclen
    alice.send("KICK #general bob :" + "k" * (kicklen + 5))
    assert bob.expect("KICK").params[2] == "k" * kicklen


def test_monitor_limit(isupport, connect) -> None:
    limit = int(isupport["MONITOR"])
    alice = connect("alice")
    alice.send("MONITOR + " + ",".join(f"w{i}" for i in range(limit)))
    alice.sync()
    alice.send("MONITOR + extra")
    assert alice.expect("734").params[1] == str(limit)


def test_modes_per_command(isupport, connect) -> None:
    limit = int(isupport["MODES"])
    alice = connect("alice")
    masks = [f"x{i}" for i in range(limit + 2)]
    alice.send("MODE #general +" + "b" * len(masks) + " " + " ".join(masks))
    change = alice.expect("MODE")
    assert change.params[1] == "+" + "b" * limit


def test_prefix_statusmsg_chanmodes_agree(isupport) -> None:
    letters, symbols = isupport["PREFIX"][1:].split(")")
    assert set(isupport["STATUSMSG"]) <= set(symbols)
    chanmodes = isupport["CHANMODES"].split(",")
    assert len(chanmodes) == 4
    assert not set(letters) & set("".join(chanmodes))
    assert isupport["EXCEPTS"] in chanmodes[0] and isupport["INVEX"] in chanmodes[0]
    assert isupport["BOT"] == "B"
