"""Messages that reach a channel while another reader is still handing one to every
member join that delivery: every member still gets every message once, in the one
relay order, with the sender's echo (or not) as it asked, and nothing else said in the
channel overtakes a message relayed before it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from server.delivery import Delivery, Part, SendLock
from server.sendq import Flusher, Outgoing, SendQueue
from tests.support.ircclient import IRCClient

MEMBERS = 120
SENDERS = 3
PER_SENDER = 100
PER_WRITE = 10


@pytest.fixture
def hserver(make_server, tmp_path: Path):
    return make_server(data_dir=str(tmp_path), flood_rate=0, autojoin=[])


def _client(server, nick: str, caps: tuple[str, ...] = ()) -> IRCClient:
    client = IRCClient(server.port)
    client.register(nick, caps)
    client.send("JOIN #big")
    client.expect("366")
    return client


def _events(client: IRCClient, until: str) -> list[str]:
    """What ``client`` saw in #big (messages and topics) up to the topic ``until``."""
    seen = []
    while True:
        message = client.next()
        assert message is not None, f"{client} saw only {len(seen)}"
        if message.command == "PRIVMSG" and message.params[0] == "#big":
            seen.append(message.params[1])
        elif message.command == "TOPIC":
            seen.append("topic " + message.params[1])
            if message.params[1] == until:
                return seen


def test_messages_joining_a_delivery_keep_one_order_for_everyone(hserver, mocker) -> None:
    joins = mocker.spy(Delivery, "join")
    chair = _client(hserver, "chair")  # the first in: an operator, who sets the topic
    senders = [
        _client(hserver, f"s{i}", ("echo-message",) if i == 1 else ()) for i in range(SENDERS)
    ]
    members = [
        _client(hserver, f"m{i}", ("server-time", "message-tags") if i % 2 else ())
        for i in range(MEMBERS)
    ]
    everyone = [chair, *senders, *members]
    for client in everyone:
        client.sync()
    for client in everyone:
        client.sync()  # every join announced to every member has arrived

    def talk(index: int) -> None:
        for start in range(0, PER_SENDER, PER_WRITE):
            lines = [f"PRIVMSG #big :{index}-{n}" for n in range(start, start + PER_WRITE)]
            senders[index].send(*lines)

    def set_topics() -> None:
        for n in range(5):
            chair.send(f"TOPIC #big :t{n}")

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(SENDERS)]
    threads.append(threading.Thread(target=set_topics))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    chair.send("TOPIC #big :end")

    order = _events(members[0], "end")
    texts = [event for event in order if not event.startswith("topic ")]
    assert len(texts) == SENDERS * PER_SENDER
    for index in range(SENDERS):
        assert [t for t in texts if t.startswith(f"{index}-")] == [
            f"{index}-{n}" for n in range(PER_SENDER)
        ]
    for member in members[1:]:
        assert _events(member, "end") == order
    assert _events(chair, "end") == order
    # Without echo-message a sender gets the others' messages only; with it, its own too.
    assert _events(senders[0], "end") == [e for e in order if not e.startswith("0-")]
    assert _events(senders[1], "end") == order
    hserver.history.flush()
    stored = [r.params[1] for r in hserver.history.latest("#big", len(texts) + 10)]
    assert stored == texts
    assert True in [call for call in joins.spy_return_list], "no message joined a delivery"


class _Socket:
    """What a queue needs of a socket, keeping what is written."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def send(self, data: bytes, flags: int = 0) -> int:
        self.written.append(bytes(data))
        return len(data)


class _Member:
    """What a delivery needs of a member."""

    def __init__(self, nick: str, flusher: Flusher) -> None:
        self.nick = nick
        self.tag_key = 0
        self.caps: frozenset[str] = frozenset()
        self.sock = _Socket()
        self.queue = SendQueue(self.sock, flusher, 1 << 20)  # type: ignore[arg-type]


def _member(name: str, flusher: Flusher) -> _Member:
    return _Member(name, flusher)


def _part(sender, echo: bool, *texts: str) -> Part:
    messages = []
    for text in texts:
        out = Outgoing("PRIVMSG", "#c", text, source=f"{sender.nick}!u@h", valid=True)
        messages.append(out)
    return Part(sender, echo, messages)


@pytest.fixture
def flusher():
    flusher = Flusher()
    yield flusher
    flusher.close()


def test_parts_joined_before_a_member_is_reached_go_in_one_write(flusher) -> None:
    a, b, c = (_member(name, flusher) for name in "abc")
    lock = SendLock()
    with lock.raw:
        delivery = lock.deliver([a, b, c], _part(a, False, "one"))
        assert delivery is not None
        assert lock.deliver([a, b, c], _part(b, True, "two", "three")) is None  # joined
    delivery.run()
    lines = [b":a!u@h PRIVMSG #c one\r\n", b":b!u@h PRIVMSG #c two\r\n"]
    three = b":b!u@h PRIVMSG #c three\r\n"
    assert c.sock.written == [lines[0] + lines[1] + three]
    assert a.sock.written == [lines[1] + three]  # its own without echo: not sent
    assert b.sock.written == [lines[0] + lines[1] + three]  # echoed
    # Ended: nothing joins it now, and the lock has no delivery in progress.
    assert not delivery.join([a, b, c], _part(c, False, "late"))
    assert lock.delivery is None


def test_a_delivery_to_other_members_is_not_joined(flusher) -> None:
    a, b, c = (_member(name, flusher) for name in "abc")
    lock = SendLock()
    with lock.raw:
        first = lock.deliver([a, b], _part(a, False, "one"))
    assert first is not None
    assert not first.join([a, b, c], _part(b, False, "two"))  # c joined meanwhile
    first.run()
    assert b.sock.written == [b":a!u@h PRIVMSG #c one\r\n"]


def test_the_send_lock_waits_for_the_delivery_in_progress(flusher) -> None:
    a, b = (_member(name, flusher) for name in "ab")
    lock = SendLock()
    with lock.raw:
        delivery = lock.deliver([a, b], _part(a, False, "one"))
    assert delivery is not None
    entered = threading.Event()

    def other() -> None:
        with lock:
            entered.set()

    thread = threading.Thread(target=other)
    thread.start()
    assert not entered.wait(0.2)  # a JOIN or a MODE waits: the message goes first
    delivery.run()
    thread.join(timeout=5)
    assert entered.is_set()
    assert b.sock.written == [b":a!u@h PRIVMSG #c one\r\n"]
