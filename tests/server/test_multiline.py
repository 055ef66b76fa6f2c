"""Multi-line messages (IRCv3 draft/multiline) over real sockets: one batch to clients
with the capability, the lines to the rest, every FAIL the spec names, the echo and its
label, history and the join replay, flood tokens, and batches that never end."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.protocol.codec import Message
from tests.support.fake_time import FakeTime
from tests.support.ircclient import IRCClient
from tests.support.services import server_options

BASE = ("message-tags", "batch", "echo-message", "server-time", "labeled-response")
ML = (*BASE, "draft/multiline")
CONCAT = "draft/multiline-concat"
HISTORY = ("batch", "server-time", "message-tags", "draft/chathistory")


@pytest.fixture
def server(make_server):
    """No flood control: these tests send whole batches at once (the flood test below
    has its own server, on the default limits)."""
    return make_server(flood_rate=0)


def _from(client: IRCClient, sender: IRCClient) -> list[Message]:
    """What ``client`` got from ``sender`` once all ``sender`` sent has been handled."""
    sender.sync()
    return [m for m in client.sync() if (m.source or "").startswith(sender.nick + "!")]


def _send_batch(client: IRCClient, target: str, *lines: str, head: str = "") -> None:
    client.send(
        f"{head}BATCH +b1 draft/multiline {target}",
        *(f"@batch=b1{line}" if line.startswith(";") else f"@batch=b1 {line}" for line in lines),
        "BATCH -b1",
    )


def _fail(client: IRCClient) -> Message:
    return client.expect("FAIL")


def test_the_capability_announces_its_limits(server, connect) -> None:
    client = connect()
    client.send("CAP LS 302")
    listed = " ".join(m.params[-1] for m in client.until("CAP", "*", "LS"))
    assert "draft/multiline=max-bytes=4096,max-lines=100" in listed.split()


def test_a_batch_reaches_each_member_as_one_message_or_as_its_lines(server, connect) -> None:
    # irctest's testBasic: the echo carries the label, one msgid and time on the BATCH.
    alice, bob, carol = connect("alice", ML), connect("bob", ML), connect("carol", BASE)
    for client in (alice, bob, carol):
        client.sync()
    _send_batch(
        alice,
        "#general",
        "PRIVMSG #general hello",
        "PRIVMSG #general :#how is ",
        f";{CONCAT} PRIVMSG #general :everyone?",
        head="@label=xyz ",
    )
    echo = alice.until("BATCH", "-" + alice.expect("BATCH").params[0][1:])
    opening = alice.consumed[-len(echo) - 1]
    assert opening.params[1:] == ["draft/multiline", "#general"]
    assert opening.tags["label"] == "xyz" and opening.tags["msgid"] and opening.tags["time"]
    lines = echo[:-1]
    assert [m.params for m in lines] == [
        ["#general", "hello"],
        ["#general", "#how is "],
        ["#general", "everyone?"],
    ]
    assert all("msgid" not in m.tags and "time" not in m.tags for m in lines)
    assert CONCAT in lines[2].tags and CONCAT not in lines[1].tags
    assert not [m for m in alice.sync() if m.command == "ACK"]  # the echo answers the label

    got = _from(bob, alice)
    start, inner, end = got[0], got[1:-1], got[-1]
    ref = start.params[0][1:]
    assert start.command == "BATCH" and start.params == ["+" + ref, "draft/multiline", "#general"]
    assert ref != "b1" and end.params == ["-" + ref]  # the server's own batch reference
    assert (
        start.tags["msgid"] == opening.tags["msgid"] and start.tags["time"] == opening.tags["time"]
    )
    assert "label" not in start.tags
    assert [m.params[1] for m in inner] == ["hello", "#how is ", "everyone?"]
    assert all(m.tags.get("batch") == ref and "msgid" not in m.tags for m in inner)
    assert CONCAT in inner[2].tags

    plain = _from(carol, alice)
    assert [(m.command, m.params[1]) for m in plain] == [
        ("PRIVMSG", "hello"),
        ("PRIVMSG", "#how is "),
        ("PRIVMSG", "everyone?"),
    ]
    assert [m.tags.get("msgid") for m in plain] == [opening.tags["msgid"], None, None]
    assert all(m.tags["time"] == opening.tags["time"] and CONCAT not in m.tags for m in plain)


def test_blank_lines_reach_batches_only_and_client_tags_every_line(server, connect) -> None:
    # irctest's testBlankLines.
    alice, bob, carol = connect("alice", ML), connect("bob", ML), connect("carol", BASE)
    for client in (alice, bob, carol):
        client.sync()
    _send_batch(
        alice,
        "#general",
        "PRIVMSG #general :",
        "PRIVMSG #general :#how is ",
        f";{CONCAT} PRIVMSG #general :everyone?",
        head="@label=xyz;+client-only-tag ",
    )
    got = _from(bob, alice)
    assert [m.params for m in got[1:-1]] == [
        ["#general", ""],
        ["#general", "#how is "],
        ["#general", "everyone?"],
    ]
    assert "+client-only-tag" in got[0].tags
    plain = _from(carol, alice)
    assert [m.params[1] for m in plain] == ["#how is ", "everyone?"]
    assert all("+client-only-tag" in m.tags for m in plain)
    assert plain[0].tags["msgid"] == got[0].tags["msgid"]


def test_a_line_of_another_batch_is_refused(server, connect) -> None:
    # irctest's testInvalidBatchTag: the FAIL comes at once, and nothing is delivered.
    alice, bob = connect("alice", ML), connect("bob", ML)
    alice.sync()
    alice.send("BATCH +123 draft/multiline #general", "@batch=231 PRIVMSG #general :hi")
    fail = _fail(alice)
    assert fail.params[:2] == ["BATCH", "MULTILINE_INVALID"]
    alice.send("@batch=123 PRIVMSG #general :more", "BATCH -123")
    assert [m.command for m in alice.sync()] == []  # one FAIL per batch
    assert _from(bob, alice) == []


def test_a_blank_concatenated_line_is_refused(server, connect) -> None:
    # irctest's testInvalidBlankConcatTag.
    alice, bob = connect("alice", ML), connect("bob", ML)
    alice.sync()
    _send_batch(alice, "#general", "PRIVMSG #general :hi", f";{CONCAT} PRIVMSG #general :")
    assert _fail(alice).params == ["BATCH", "MULTILINE_INVALID", "Invalid multiline batch"]
    assert _from(bob, alice) == []


def test_the_line_limit(server, connect) -> None:
    alice, bob = connect("alice", ML), connect("bob", ML)
    alice.sync()
    alice.send("BATCH +123 draft/multiline #general")
    alice.send(*["@batch=123 PRIVMSG #general hi"] * 100, "PING ok")
    assert [m.command for m in alice.until("PONG")] == ["PONG"]  # 100 lines are fine
    alice.send("@batch=123 PRIVMSG #general hi", "BATCH -123")
    fail = _fail(alice)
    assert fail.params == [
        "BATCH",
        "MULTILINE_MAX_LINES",
        "100",
        "Multiline batch max-lines exceeded",
    ]
    assert _from(bob, alice) == []


def test_the_byte_limit_counts_the_joining_line_feeds(server, connect) -> None:
    alice, bob = connect("alice", ML), connect("bob", ML)
    alice.sync()
    # Ten lines of 400 bytes and nine line feeds are 4,009 bytes; 87 more reach 4,096.
    _send_batch(
        alice, "#general", *["PRIVMSG #general " + "x" * 400] * 10, "PRIVMSG #general " + "y" * 86
    )
    assert len(_from(bob, alice)) == 13
    alice.sync()
    alice.send("BATCH +234 draft/multiline #general")
    alice.send(*["@batch=234 PRIVMSG #general " + "x" * 400] * 11)
    fail = _fail(alice)
    assert fail.params == [
        "BATCH",
        "MULTILINE_MAX_BYTES",
        "4096",
        "Multiline batch max-bytes exceeded",
    ]
    alice.send("BATCH -234")
    assert _from(bob, alice) == []


def test_a_line_to_another_target_is_refused(server, connect) -> None:
    alice, bob = connect("alice", ML), connect("bob", ML)
    alice.sync()
    _send_batch(alice, "#general", "PRIVMSG #general hello", "PRIVMSG #other hello")
    assert _fail(alice).params == [
        "BATCH",
        "MULTILINE_INVALID_TARGET",
        "#general",
        "#other",
        "Invalid multiline target",
    ]
    assert _from(bob, alice) == []


def test_other_malformed_batches_are_refused(server, connect) -> None:
    alice, bob = connect("alice", ML), connect("bob", ML)
    alice.sync()
    cases = [
        ["BATCH +a draft/multiline #general", "BATCH -a"],  # no line at all
        ["BATCH +a draft/multiline #general", "@batch=a PRIVMSG #general :", "BATCH -a"],
        ["BATCH +a draft/multiline #general", "@batch=a NOTICE #general :hi", "BATCH -a"],
        ["BATCH +a draft/multiline #general", "@batch=a TAGMSG #general", "BATCH -a"],
        ["BATCH +a other/type #general"],
        ["BATCH -nothing-open"],
        ["@batch=none PRIVMSG #general :hi"],
    ]
    for lines in cases:
        alice.send(*lines)
        fail = _fail(alice)
        assert fail.params[:2] == ["BATCH", "MULTILINE_INVALID"], lines
        assert [m.command for m in alice.sync()] == [], lines
    assert _from(bob, alice) == []


def test_a_batch_needs_the_capability(server, connect) -> None:
    carol, bob = connect("carol", BASE), connect("bob", ML)
    carol.sync()
    _send_batch(carol, "#general", "PRIVMSG #general hi")
    assert _fail(carol).params[:2] == ["BATCH", "MULTILINE_INVALID"]
    assert _from(bob, carol) == []


def test_a_missing_target_gets_the_privmsg_numerics(server, connect) -> None:
    alice = connect("alice", ML)
    _send_batch(alice, "#nowhere", "PRIVMSG #nowhere hi", head="@label=l1 ")
    refusal = alice.expect("403")
    assert refusal.params[1] == "#nowhere" and refusal.tags["label"] == "l1"
    _send_batch(alice, "nobody", "PRIVMSG nobody hi")
    assert alice.expect("401").params[1] == "nobody"


def test_a_direct_batch_and_its_label_without_echo(server, connect) -> None:
    alice = connect("alice", ("batch", "labeled-response", "draft/multiline", "message-tags"))
    bob, carol = connect("bob", ML), connect("carol", BASE)
    alice.sync()
    _send_batch(alice, "bob", "PRIVMSG bob :one", "PRIVMSG bob :two", head="@label=d1 ")
    assert alice.expect("ACK").tags["label"] == "d1"  # no echo-message: an ACK
    got = _from(bob, alice)
    assert got[0].params[1:] == ["draft/multiline", "bob"]
    assert [m.params for m in got[1:-1]] == [["bob", "one"], ["bob", "two"]]
    _send_batch(alice, "carol", "PRIVMSG carol :one", "PRIVMSG carol :two")
    assert [m.params for m in _from(carol, alice)] == [["carol", "one"], ["carol", "two"]]


def test_other_commands_may_come_between_the_lines(server, connect) -> None:
    alice, bob = connect("alice", ML), connect("bob", ML)
    alice.sync()
    alice.send("BATCH +x draft/multiline #general", "@batch=x PRIVMSG #general :one")
    assert alice.sync() == []
    alice.send("PRIVMSG bob :aside", "@batch=x PRIVMSG #general :two", "BATCH -x")
    got = _from(bob, alice)
    assert got[0].command == "PRIVMSG" and got[0].params == ["bob", "aside"]
    assert [m.params[1] for m in got[2:-1]] == ["one", "two"]


def test_a_batch_left_open_is_never_delivered(server, connect) -> None:
    alice, bob = connect("alice", ML), connect("bob", BASE)
    alice.sync()
    alice.send("BATCH +x draft/multiline #general", "@batch=x PRIVMSG #general :never")
    alice.sync()
    alice.send("QUIT :bye")
    alice.wait_closed()
    bob.expect("QUIT")  # after it, alice can send nothing more
    assert [m.command for m in bob.seen if (m.source or "").startswith("alice!")] == ["QUIT"]


def test_a_batch_open_too_long_is_discarded(make_server) -> None:
    fake = FakeTime()
    server = make_server(
        clock=fake.clock, sleep=fake.sleep, ping_interval=100_000, ping_timeout=100_000
    )
    alice, bob = IRCClient(server.port), IRCClient(server.port)
    alice.register("alice", ML)
    bob.register("bob", ML)
    alice.sync()
    alice.send("BATCH +x draft/multiline #general", "@batch=x PRIVMSG #general :late")
    alice.sync()
    fake.now += 31.0
    alice.send("BATCH -x")
    assert _fail(alice).params[:2] == ["BATCH", "MULTILINE_INVALID"]
    assert _from(bob, alice) == []
    # Within the time, a batch goes through.
    _send_batch(alice, "#general", "PRIVMSG #general :on time")
    assert [m.params[1] for m in _from(bob, alice)[1:-1]] == ["on time"]
    alice.close()
    bob.close()


def test_a_full_batch_costs_its_lines_in_flood_tokens(make_server) -> None:
    # The default limits: 20 lines at once, 5 a second, dropped past 100 owed. A client
    # with its tokens back sends a 100-line batch at once: held back (fake lag), never
    # dropped, delivered whole. A second one straight after it is past the excess.
    fake = FakeTime()
    server = make_server(
        clock=fake.clock, sleep=fake.sleep, ping_interval=100_000, ping_timeout=100_000
    )
    alice, bob = IRCClient(server.port), IRCClient(server.port)
    alice.register("alice", ML)
    bob.register("bob", ML)
    fake.now += 10.0
    fake.slept.clear()
    _send_batch(alice, "#general", *[f"PRIVMSG #general :line {n}" for n in range(100)])
    got = _from(bob, alice)
    assert len(got) == 102 and got[-2].params[1] == "line 99"
    assert sum(fake.slept) > 15  # 82 lines owed at 5 a second: held, as 100 PRIVMSGs are
    assert not alice.closed
    fake.now += 30.0
    batch = [f"@batch=b2 PRIVMSG #general :again {n}" for n in range(100)]
    alice.send(
        "BATCH +b2 draft/multiline #general",
        *batch,
        "BATCH -b2",
        "BATCH +b3 draft/multiline #general",
        *[b.replace("b2", "b3") for b in batch],
        "BATCH -b3",
    )
    assert "Excess Flood" in " ".join(m.params[-1] for m in alice.wait_closed())
    alice.close()
    bob.close()


def test_history_keeps_one_message_and_replays_it_both_ways(
    store_place, make_server, tmp_path: Path
) -> None:
    server = make_server(**server_options(store_place, tmp_path), flood_rate=0)
    alice, bob = IRCClient(server.port), IRCClient(server.port)
    alice.register("alice", ML)
    bob.register("bob", (*HISTORY, "draft/multiline"))
    alice.send("PRIVMSG #general :before")
    _send_batch(
        alice,
        "#general",
        "PRIVMSG #general :first",
        "PRIVMSG #general :",
        "PRIVMSG #general :long ",
        f";{CONCAT} PRIVMSG #general :tail",
        head="@+draft/reply=abc ",
    )
    _send_batch(alice, "bob", "PRIVMSG bob :private", "PRIVMSG bob :two")
    alice.send("PRIVMSG #general :after")
    bob.expect("PRIVMSG", "#general", "after")
    live = [m for m in bob.seen if m.command == "BATCH" and m.params[1:2] == ["draft/multiline"]]
    bob.send("CHATHISTORY LATEST #general * 10")
    outer = bob.expect("BATCH").params[0][1:]
    replayed = bob.until("BATCH", "-" + outer)[:-1]
    assert [m.command for m in replayed] == [
        "PRIVMSG",
        "BATCH",
        *["PRIVMSG"] * 4,
        "BATCH",
        "PRIVMSG",
    ]
    opening = replayed[1]
    assert opening.tags["batch"] == outer and opening.params[1:] == ["draft/multiline", "#general"]
    assert opening.tags["msgid"] == live[0].tags["msgid"] and opening.tags["+draft/reply"] == "abc"
    assert opening.tags["time"] == live[0].tags["time"]
    inner = replayed[2:6]
    ref = opening.params[0][1:]
    assert [m.params[1] for m in inner] == ["first", "", "long ", "tail"]
    assert all(m.tags["batch"] == ref for m in inner)
    assert [CONCAT in m.tags for m in inner] == [False, False, False, True]
    assert replayed[6].params == ["-" + ref] and replayed[6].tags["batch"] == outer
    assert not [m for m in replayed if "kibitz/multiline" in m.tags]
    # The direct one, in the conversation's history, is one message too.
    bob.send("CHATHISTORY LATEST alice * 10")
    outer = bob.expect("BATCH").params[0][1:]
    replayed = bob.until("BATCH", "-" + outer)[:-1]
    assert [m.command for m in replayed] == ["BATCH", "PRIVMSG", "PRIVMSG", "BATCH"]
    # Without the capability: the lines, blank ones left out, the msgid on the first.
    carol = IRCClient(server.port)
    carol.register("carol", HISTORY)
    carol.send("CHATHISTORY LATEST #general * 10")
    outer = carol.expect("BATCH").params[0][1:]
    plain = carol.until("BATCH", "-" + outer)[:-1]
    assert [m.params[1] for m in plain] == ["before", "first", "long ", "tail", "after"]
    assert [bool(m.tags.get("msgid")) for m in plain] == [True, True, False, False, True]
    assert plain[1].tags["msgid"] == live[0].tags["msgid"]
    assert all(m.tags["+draft/reply"] == "abc" for m in plain[1:4])
    # The join replay (a client without chathistory), with and without the capability.
    dave = IRCClient(server.port)
    dave.register("dave", ("batch", "server-time", "message-tags", "draft/multiline"))
    replay = [m for m in dave.consumed if m.command in ("PRIVMSG", "BATCH")]
    assert [m.params[1] for m in replay if m.command == "PRIVMSG"] == [
        "before",
        "first",
        "",
        "long ",
        "tail",
        "after",
    ]
    assert [m.params[1] for m in replay if m.command == "BATCH" and m.params[0][0] == "+"] == [
        "chathistory",
        "draft/multiline",
    ]
    erin = IRCClient(server.port)
    erin.register("erin", ())
    texts = [m.params[1] for m in erin.consumed if m.command == "PRIVMSG"]
    assert texts == ["before", "first", "long ", "tail", "after"]
    for client in (alice, bob, carol, dave, erin):
        client.close()
