"""Multi-line messages in the app: the batch one is sent as, a received batch turned back
into one message (live and inside a chathistory page), pacing it as one unit, and, in the
real window with a real server and raw peers, one batch out and one block on screen; a
server without draft/multiline (ngircd) gets the lines as before."""

from __future__ import annotations

from app.events import Kind
from app.model import ChatModel
from app.multiline import MultilineBatches, batch_lines, limits
from app.pacing import Pacer
from app.session import Session
from server.protocol.codec import parse
from tests.app.helpers import EventLog, Fed, pump
from tests.app.test_interop import ngircd  # noqa: F401  (the fixture)
from tests.support.ircclient import IRCClient

ML = ("message-tags", "batch", "server-time", "draft/multiline")


def press(view, key: str) -> None:
    entry = view.message_entry
    view.root.focus_force()
    entry.focus_force()
    view.root.update()
    entry.event_generate(key)
    view.root.update()


# --- pure ------------------------------------------------------------------------------
def test_the_limits_of_the_capability() -> None:
    assert limits("max-bytes=4096,max-lines=100") == (4096, 100)
    assert limits("max-lines=5,future=1,max-bytes=40000") == (40000, 5)
    assert limits("max-bytes=512") == (512, None)
    assert limits("max-lines=5") is None  # max-bytes is required: not used without it
    assert limits("") is None


def test_a_message_as_batch_lines() -> None:
    lines, shown = batch_lines("#c", "\nhello\n\n" + "x" * 30 + "\n\n", "r1", 16, 4096, 100)
    assert lines == [
        "BATCH +r1 draft/multiline #c",
        "@batch=r1 PRIVMSG #c hello",
        "@batch=r1 PRIVMSG #c :",
        "@batch=r1 PRIVMSG #c " + "x" * 16,
        "@batch=r1;draft/multiline-concat PRIVMSG #c " + "x" * 14,
        "BATCH -r1",
    ]
    assert shown == "hello\n\n" + "x" * 30
    assert batch_lines("#c", "one line\n\n", "r1", 400, 4096, 100) is None
    # The limits: bytes count the joining line feeds, lines count the pieces.
    assert batch_lines("#c", "aaaa\nbbbb", "r", 400, 9, None) is not None
    assert batch_lines("#c", "aaaa\nbbbbb", "r", 400, 9, None) is None
    assert batch_lines("#c", "a\nb\nc", "r", 400, 4096, 2) is None
    assert batch_lines("#c", "xxxxxxxx\nb", "r", 4, 4096, 2) is None
    # A reply's client tag goes on the opening BATCH only.
    found = batch_lines("#c", "a\nb", "r", 400, 4096, None, {"+draft/reply": "m1"})
    assert found is not None
    assert found[0] == [
        "@+draft/reply=m1 BATCH +r draft/multiline #c",
        "@batch=r PRIVMSG #c a",
        "@batch=r PRIVMSG #c b",
        "BATCH -r",
    ]


def test_a_received_batch_is_one_message() -> None:
    batches = MultilineBatches()
    feed = [
        "@msgid=m1;time=2026-12-01T10:00:00.000Z :bob!b@h BATCH +x draft/multiline #c",
        "@batch=x :bob!b@h PRIVMSG #c :how is ",
        "@batch=x;draft/multiline-concat :bob!b@h PRIVMSG #c :everyone?",
        "@batch=x :bob!b@h PRIVMSG #c :",
        "@batch=x :bob!b@h PRIVMSG #c :bye",
    ]
    for line in feed:
        assert batches.feed(parse(line)) == (True, None)
    taken, whole = batches.feed(parse(":bob!b@h BATCH -x"))
    assert taken and whole is not None
    assert whole.params == ["#c", "how is everyone?\n\nbye"]
    assert whole.tags["msgid"] == "m1" and whole.source == "bob!b@h"
    assert batches.feed(parse("@batch=other :bob!b@h PRIVMSG #c :hi")) == (False, None)
    assert batches.feed(parse(":srv BATCH +y chathistory #c")) == (False, None)


def test_the_session_shows_a_batch_as_one_message_live_and_in_history() -> None:
    session = Session(nick="me")
    session.registered = True
    session.caps = {"batch", "draft/chathistory", "draft/multiline", "message-tags"}
    fed = Fed(session)
    fed(
        ":me!u@h JOIN #c",
        "@msgid=m1 :bob!b@h BATCH +x draft/multiline #c",
        "@batch=x :bob!b@h PRIVMSG #c :one",
        "@batch=x :bob!b@h PRIVMSG #c :two",
    )
    assert not fed.log.of(Kind.MESSAGE)  # nothing before the batch ends
    fed(":bob!b@h BATCH -x")
    (message,) = fed.log.of(Kind.MESSAGE)
    assert message.text == "one\ntwo" and message.nick == "bob" and message.msgid == "m1"
    # Inside a chathistory page (as the join's LATEST brings it): one line of the page.
    fed(
        ":srv BATCH +h chathistory #c",
        "@batch=h;msgid=m0 :carol!c@h PRIVMSG #c :older",
        "@batch=h;msgid=m2 :bob!b@h BATCH +y draft/multiline #c",
        "@batch=y :bob!b@h PRIVMSG #c :three",
        "@batch=y :bob!b@h PRIVMSG #c :four",
        "@batch=h :bob!b@h BATCH -y",
        ":srv BATCH -h",
    )
    assert len(fed.log.of(Kind.MESSAGE)) == 1  # no line of the page came as live traffic
    (page,) = fed.log.of(Kind.CHATHISTORY)
    assert [(m.nick, m.text) for m in page.messages] == [("carol", "older"), ("bob", "three\nfour")]


def test_a_multiline_message_is_paced_as_one_unit_counting_its_lines() -> None:
    now = [0.0]
    pacer = Pacer(rate=4.0, burst=10, clock=lambda: now[0])
    pacer.spend(5)
    assert pacer.delay() == 0.0
    assert pacer.delay(8) == 0.75  # three more tokens at 4 a second
    assert pacer.delay(50) == 1.25  # no more than a full bucket is waited for
    now[0] += 1.25
    assert pacer.delay(50) == 0.0
    pacer.spend(50)  # the rest is owed: what follows waits until it is paid
    assert pacer.delay() == 10.25


# --- the real window ---------------------------------------------------------------
def test_a_multiline_message_goes_as_one_batch_and_shows_as_one_block(chat, connect):
    bob, carol = connect("bob", ML), connect("carol")
    _controller, view = chat("alice")
    entry = view.message_entry
    entry.insert("end", "first line")
    press(view, "<Shift-Return>")
    entry.insert("end", "second line")
    press(view, "<Return>")
    opening = bob.expect("BATCH")
    assert opening.params[1:] == ["draft/multiline", "#general"]
    lines = bob.until("BATCH", "-" + opening.params[0][1:])[:-1]
    assert [m.params for m in lines] == [["#general", "first line"], ["#general", "second line"]]
    assert all(m.tags["batch"] == opening.params[0][1:] for m in lines)
    # Without the capability: the lines, as before.
    assert carol.expect("PRIVMSG").params == ["#general", "first line"]
    assert carol.expect("PRIVMSG").params == ["#general", "second line"]
    # Our own message (the server's echo) is one block: one nick, its lines under it.
    pump(view, lambda: "first line" in view.transcript_text(), what="our message shown")
    shown = view.transcript_text()
    assert "alice\tfirst line\n\t\tsecond line\n" in shown
    assert shown.count("alice\t") == 1
    # A peer's batch shows the same way.
    bob.send(
        "BATCH +p draft/multiline #general",
        "@batch=p PRIVMSG #general :from bob",
        "@batch=p PRIVMSG #general :",
        "@batch=p PRIVMSG #general :after a blank ",
        "@batch=p;draft/multiline-concat PRIVMSG #general :line",
        "BATCH -p",
    )
    pump(view, lambda: "after a blank line" in view.transcript_text(), what="bob's block")
    assert "bob\tfrom bob\n\t\t\n\t\tafter a blank line\n" in view.transcript_text()


def test_a_server_without_multiline_gets_the_lines(ngircd: int) -> None:  # noqa: F811
    model = ChatModel("127.0.0.1", ngircd, "kibitzer", channels=("#interop",))
    model.start()
    log = EventLog(model.events)
    try:
        log.expect(Kind.JOIN, target="#interop", own=True, timeout=15)
        peer = IRCClient(ngircd)
        peer.register("peer")
        peer.send("JOIN #interop")
        peer.expect("366", timeout=15)
        log.expect(Kind.JOIN, target="#interop", nick="peer", timeout=15)
        assert "draft/multiline" not in model.caps
        assert model.say("#interop", "one\ntwo")
        assert peer.expect("PRIVMSG", "#interop", timeout=15).params[1] == "one"
        assert peer.expect("PRIVMSG", "#interop", timeout=15).params[1] == "two"
        own = [log.expect(Kind.MESSAGE, own=True, timeout=15).text for _ in range(2)]
        assert own == ["one", "two"]
        assert not [m for m in peer.sync() if m.command == "BATCH"]
        peer.close()
    finally:
        model.stop()


def quoted_block(view, quote: str, block: str) -> bool:
    """Whether the transcript shows ``block`` (nick and lines) right under ``quote``."""
    shown = view.transcript_text()
    at = shown.find(f"\t\t↪ {quote}\n")
    if at < 0:
        return False
    under = shown[at:].split("\n", 1)[1]  # the next line: the time, then the block
    return under.partition("\t")[2].startswith(block)


def test_a_reply_of_several_lines_is_one_batch_tagged_on_its_opening(chat, connect):
    from tests.app.test_reactions_gui import _choose, _menu_labels, _said

    bob, plain = connect("bob", (*ML, "echo-message")), connect("plain")
    _controller, view = chat("alice")
    msgid = _said(bob, "who has the keys?")
    pump(view, lambda: "who has the keys?" in view.transcript_text(), what="bob's question")
    _menu_labels(view, msgid)
    _choose(view, "Reply")
    entry = view.message_entry
    entry.insert("end", "I do")
    press(view, "<Shift-Return>")
    entry.insert("end", "and a spare")
    press(view, "<Return>")
    opening = bob.expect("BATCH", where=lambda m: m.nick == "alice")
    assert opening.params[1:] == ["draft/multiline", "#general"]
    assert opening.tags["+draft/reply"] == msgid  # the client tag, on the BATCH (the spec)
    lines = bob.until("BATCH", "-" + opening.params[0][1:])[:-1]
    assert [m.params[1] for m in lines] == ["I do", "and a spare"]
    assert not any("+draft/reply" in m.tags for m in lines)
    assert plain.expect("PRIVMSG", "#general", "I do").nick == "alice"  # the lines, as before
    assert plain.expect("PRIVMSG").params[1] == "and a spare"
    # Ours shows as one block under its quote.
    pump(
        view, lambda: quoted_block(view, "bob: who has the keys?", "alice\tI do\n\t\tand a spare\n")
    )
    pump(view, lambda: view.conversations["#general"].lines[-1].msgid, what="our msgid")
    ours = view.conversations["#general"].lines[-1]
    assert ours.reply == msgid
    # A peer's multi-line reply shows its quote above its block too.
    bob.send(
        f"@+draft/reply={ours.msgid} BATCH +r draft/multiline #general",
        "@batch=r PRIVMSG #general :great",
        "@batch=r PRIVMSG #general :thanks",
        "BATCH -r",
    )
    pump(view, lambda: quoted_block(view, "alice: I do and a spare", "bob\tgreat\n\t\tthanks\n"))
