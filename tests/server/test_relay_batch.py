"""Channel messages read together are relayed together: the relay order still holds for
every member, every tag set, the sender's echo, its other replies and history."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.protocol.codec import Message, build, encode
from server.protocol.names import casefold
from server.sendq import Outgoing
from tests.support.ircclient import IRCClient

ECHO = ("echo-message", "server-time", "message-tags")


@pytest.fixture
def hserver(make_server, tmp_path: Path):
    """A server with history, no flood control and no autojoin."""
    return make_server(data_dir=str(tmp_path), flood_rate=0, autojoin=[])


def _member(server, nick: str, caps: tuple[str, ...], *channels: str) -> IRCClient:
    client = IRCClient(server.port)
    client.register(nick, caps)
    for channel in channels:
        client.send(f"JOIN {channel}")
        client.expect("366")
    return client


def _texts(messages: list[Message], channel: str, nick: str | None = None) -> list[str]:
    return [
        m.params[1]
        for m in messages
        if m.command in ("PRIVMSG", "NOTICE")
        and m.params[0] == channel
        and (nick is None or (m.source or "").split("!")[0] == nick)
    ]


def _read_until(client: IRCClient, channel: str, last: str) -> list[Message]:
    return client.until("PRIVMSG", channel, last) if last else []


def test_one_read_to_several_channels_keeps_every_order(hserver) -> None:
    alice = _member(hserver, "alice", ECHO, "#a", "#b")
    bob = _member(hserver, "bob", ("server-time",), "#a", "#b")
    carol = _member(hserver, "carol", (), "#a")
    for client in (alice, bob):
        client.sync()  # the others' joins are in
    alice.send(
        "PRIVMSG #a :1",
        "PRIVMSG #a :2",
        "PRIVMSG #b :3",
        "PRIVMSG #a :4",
        "NOTICE #a :5",
        "PING :mid",
        "PRIVMSG #a :6",
        "PRIVMSG #nowhere :x",
        "PRIVMSG #a,#b :7",
        "PRIVMSG #a :8",
    )
    mine = alice.until("PRIVMSG", "#a", "8")
    order = [
        (m.command, m.params[0], m.params[-1])
        for m in mine
        if m.command in ("PRIVMSG", "NOTICE", "PONG", "403")
    ]
    assert order == [
        ("PRIVMSG", "#a", "1"),
        ("PRIVMSG", "#a", "2"),
        ("PRIVMSG", "#b", "3"),
        ("PRIVMSG", "#a", "4"),
        ("NOTICE", "#a", "5"),
        ("PONG", "kibitz.test", "mid"),
        ("PRIVMSG", "#a", "6"),
        ("403", "alice", "No such channel"),
        ("PRIVMSG", "#a", "7"),
        ("PRIVMSG", "#b", "7"),
        ("PRIVMSG", "#a", "8"),
    ]
    seen_bob = bob.until("PRIVMSG", "#a", "8")
    seen_carol = carol.until("PRIVMSG", "#a", "8")
    assert _texts(seen_bob, "#a") == _texts(seen_carol, "#a") == ["1", "2", "4", "5", "6", "7", "8"]
    assert _texts(seen_bob, "#b") == ["3", "7"]
    relayed = [m for m in seen_bob if m.command in ("PRIVMSG", "NOTICE")]
    assert all("time" in m.tags and "msgid" not in m.tags for m in relayed)  # no message-tags
    assert all(not m.tags for m in seen_carol if m.command in ("PRIVMSG", "NOTICE"))
    echoed = [m for m in mine if m.command in ("PRIVMSG", "NOTICE")]
    assert all({"time", "msgid"} <= set(m.tags) for m in echoed)
    assert len({m.tags["msgid"] for m in echoed}) == len(echoed)  # one id per message
    times = [m.tags["time"] for m in relayed]
    assert times == sorted(times)


def test_refused_messages_in_one_read_are_answered_in_order(hserver) -> None:
    owner = _member(hserver, "owner", (), "#closed")
    outsider = _member(hserver, "outsider", ("echo-message",))
    outsider.send("PRIVMSG #closed :one", "PRIVMSG #closed :two", "PING :after")
    replies = outsider.until("PONG")
    assert [(m.command, m.params[-1]) for m in replies] == [
        ("404", "Cannot send to channel"),
        ("404", "Cannot send to channel"),
        ("PONG", "after"),
    ]
    assert [m.command for m in owner.sync()] == []  # nothing was relayed
    hserver.history.flush()
    assert hserver.history.latest("#closed", 10) == []


def test_concurrent_senders_one_order_for_every_member_and_history(hserver) -> None:
    senders = [_member(hserver, f"s{i}", ECHO if i % 2 else (), "#load") for i in range(3)]
    readers = [
        _member(hserver, "plain", (), "#load"),
        _member(hserver, "tagged", ("server-time", "message-tags"), "#load"),
    ]
    for client in senders + readers:
        client.sync()
    per_sender, per_write = 120, 20

    def talk(index: int) -> None:
        client = senders[index]
        for start in range(0, per_sender, per_write):
            lines = [f"PRIVMSG #load :{index}-{n}" for n in range(start, start + per_write)]
            client.send(*lines)

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(len(senders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = per_sender * len(senders)
    orders = []
    for reader in readers:
        seen: list[str] = []
        while len(seen) < total:
            message = reader.next()
            assert message is not None, f"only {len(seen)} of {total}"
            if message.command == "PRIVMSG":
                seen.append(message.params[1])
        orders.append(seen)
    assert orders[0] == orders[1]
    for index in range(len(senders)):  # each sender's own lines in the order it sent them
        own = [t for t in orders[0] if t.startswith(f"{index}-")]
        assert own == [f"{index}-{n}" for n in range(per_sender)]
    # An echoing sender sees the same order, its own lines (echoes) included.
    echoing = senders[1]
    seen = []
    while len(seen) < total:
        message = echoing.next()
        assert message is not None
        if message.command == "PRIVMSG":
            seen.append(message.params[1])
    assert seen == orders[0]
    hserver.history.flush()
    stored = [r.params[1] for r in hserver.history.latest("#load", total + 10)]
    assert stored == orders[0]


def test_stored_rows_read_back_as_sent(hserver) -> None:
    alice = _member(hserver, "alice", ("message-tags",), "#Ünï")
    texts = ['héllo "quoted" \\ back', "emoji 😀 and tab\tend", "plain"]
    alice.send(*(f"PRIVMSG #Ünï :{t}" for t in texts), "@+draft/reply=x PRIVMSG #Ünï :tagged")
    alice.sync()
    hserver.history.flush()
    stored = hserver.history.latest(casefold("#Ünï"), 10)
    assert [r.params for r in stored] == [("#Ünï", t) for t in [*texts, "tagged"]]
    assert [r.tags for r in stored] == [{}, {}, {}, {"+draft/reply": "x"}]
    assert [r.command for r in stored] == ["PRIVMSG"] * 4
    assert len({r.msgid for r in stored}) == 4


_TEXT = st.text(st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",)))


@given(
    text=_TEXT,
    tags=st.dictionaries(st.sampled_from(["+a", "+b/c"]), st.text(max_size=5)),
    account=st.sampled_from([None, "acc"]),
    msgid=st.sampled_from([None, "0a1b2c"]),
)
def test_a_relayed_line_is_what_the_codec_builds(
    text: str, tags: dict[str, str], account: str | None, msgid: str | None
) -> None:
    source = "nick!user@host"
    if msgid is not None:
        tags = {"msgid": msgid, **tags}
    for key in range(8):
        made = [
            Outgoing("PRIVMSG", "#c", text, source=source, tags=dict(tags), account=account, **how)
            for how in ({"valid": True}, {})
        ]
        for out in made:
            out.stamp(0, "1970-01-01T00:00:00.000Z")
        recipient = SimpleNamespace(tag_key=key)
        fast, slow = (out.for_client(recipient) for out in made)  # type: ignore[arg-type]
        assert fast == slow
    expected = encode(build("PRIVMSG", "#c", text, source=source))
    assert made[0].for_client(SimpleNamespace(tag_key=0)) == expected  # type: ignore[arg-type]
