"""Chathistory in the app: CHATHISTORY pages on join, older pages on scroll, catch-up after a
server restart, no duplicates, day dividers; real servers with a data dir, real windows."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta

from app.events import Kind
from app.session import Session
from app.text import day_label
from app.view import CHATHISTORY_SEPARATOR
from server.accounts import AccountStore
from server.history import dm_target
from server.history_records import Record
from server.msgids import new_msgid
from tests.app.fakeserver import FakeServer
from tests.app.helpers import Fed, pump, wait_for
from tests.support.ircclient import IRCClient

HISTORY_CAPS = "batch draft/chathistory server-time message-tags echo-message"


def transcript(view) -> str:
    return view.chat_area.get("1.0", "end-1c")


def said(view, nick: str = "bob") -> list[str]:
    """The texts of ``nick``'s message lines, top to bottom."""
    return [ln.split("\t")[2] for ln in transcript(view).splitlines() if f"\t{nick}\t" in ln]


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def store(server, rows: list[tuple[str, datetime]], target: str = "#general") -> None:
    """Write messages from bob straight into the server's history."""
    for text, when in rows:
        # A msgid as the server makes them: its number is the row's id.
        record = Record(new_msgid(), target, millis(when), "bob!b@h", "PRIVMSG", (target, text), {})
        server.history.add(record)
    assert server.history.flush()


def register(port: int, nick: str) -> IRCClient:
    client = IRCClient(port)
    client.register(nick, ("echo-message", "message-tags", "server-time"))
    return client


def test_history_appears_on_join_with_its_times_above_the_separator(
    make_server, make_chat, tmp_path
):
    server = make_server(data_dir=str(tmp_path))
    today = datetime.now().astimezone()
    store(
        server,
        [
            ("early bird", today.replace(hour=9, minute=15, second=0, microsecond=0)),
            ("second worm", today.replace(hour=9, minute=17, second=0, microsecond=0)),
        ],
    )
    _controller, view = make_chat(server.port, "alice")
    pump(view, lambda: CHATHISTORY_SEPARATOR in transcript(view), what="history separator")
    lines = transcript(view).splitlines()
    separator = lines.index(CHATHISTORY_SEPARATOR)
    assert "09:15\tbob\tearly bird" in lines[:separator]
    assert "09:17\tbob\tsecond worm" in lines[:separator]
    assert lines.index("09:15\tbob\tearly bird") < lines.index("09:17\tbob\tsecond worm")
    joined = next(i for i, ln in enumerate(lines) if "You joined #general" in ln)
    assert joined > separator
    assert view.chat_area.tag_ranges("separator")


def test_scrolling_to_the_top_loads_older_pages_in_order(make_server, make_chat, tmp_path):
    server = make_server(data_dir=str(tmp_path))
    start = datetime.now().astimezone() - timedelta(hours=5)
    store(server, [(f"m{i:03}", start + timedelta(seconds=i)) for i in range(250)])
    controller, view = make_chat(server.port, "alice")
    pump(view, lambda: "m249" in transcript(view), what="the latest page")
    assert said(view) == [f"m{i:03}" for i in range(150, 250)]
    text = view.chat_area.text
    text.yview_moveto(0.0)  # the user scrolls to the top
    pump(view, lambda: "m149" in transcript(view), what="the page before")
    assert said(view) == [f"m{i:03}" for i in range(50, 250)]
    # The view stayed where the user was reading: the old first line is still on top.
    view.root.update()
    assert "m150" in text.get("@0,0 linestart", "@0,0 lineend")
    text.yview_moveto(0.0)
    pump(view, lambda: "m000" in transcript(view), what="the oldest page")
    assert said(view) == [f"m{i:03}" for i in range(250)]
    # The beginning is reached: no more requests, and the same path says so.
    view.root.update()
    assert controller.load_older("#general") is False


def _seen_then_server_stopped(make_server, make_chat, data_dir, lines: tuple[str, ...]):
    """alice's window sees bob say ``lines``, then the server stops; the window waits to
    reconnect until the returned event is set. Returns (port, release, view)."""
    first = make_server(data_dir=str(data_dir))
    port = first.port
    release = threading.Event()
    controller, view = make_chat(port, "alice", sleep=lambda _d: release.wait(10))
    model = controller.model
    pump(view, lambda: model.joined(), what="joined")
    bob = register(port, "bob")
    bob.send(*(f"PRIVMSG #general :{line}" for line in lines))
    pump(view, lambda: lines[-1] in transcript(view), what="live lines")
    first.stop()
    bob.close()
    pump(view, lambda: not model.connected, what="disconnected")
    return port, release, view


def test_reconnect_after_a_restart_fetches_what_was_missed(make_server, make_chat, tmp_path):
    port, release, view = _seen_then_server_stopped(
        make_server, make_chat, tmp_path, ("before 1", "before 2")
    )
    second = make_server(data_dir=str(tmp_path), port=port)
    bob = register(second.port, "bob")
    for i in (1, 2, 3):
        bob.send(f"PRIVMSG #general :missed {i}")
        bob.expect("PRIVMSG", "#general", f"missed {i}")
    release.set()
    pump(view, lambda: "missed 3" in transcript(view), what="the missed messages")
    bob.send("PRIVMSG #general :after 1")
    pump(view, lambda: "after 1" in transcript(view), what="a live line after the catch-up")
    assert said(view) == ["before 1", "before 2", "missed 1", "missed 2", "missed 3", "after 1"]
    # The same again when the conversation is opened afresh: the whole story, once.
    view.show_conversation("")
    view.show_conversation("#general")
    view.root.update()
    assert said(view) == ["before 1", "before 2", "missed 1", "missed 2", "missed 3", "after 1"]
    bob.close()


def test_catch_up_falls_back_to_time_when_the_server_lost_the_newest_msgid(
    make_server, make_chat, tmp_path
):
    port, release, view = _seen_then_server_stopped(
        make_server, make_chat, tmp_path, ("kept", "lost in the crash")
    )
    # A crash loses the server's last moments: the newest message alice saw is gone.
    with sqlite3.connect(tmp_path / "history.sqlite3") as db:
        db.execute("DELETE FROM messages WHERE id = (SELECT MAX(id) FROM messages)")
    db.close()
    second = make_server(data_dir=str(tmp_path), port=port)
    bob = register(second.port, "bob")
    for i in (1, 2):
        bob.send(f"PRIVMSG #general :missed {i}")
        bob.expect("PRIVMSG", "#general", f"missed {i}")
    release.set()
    pump(view, lambda: "missed 2" in transcript(view), what="the missed messages")
    assert said(view) == ["kept", "lost in the crash", "missed 1", "missed 2"]
    bob.close()


def _overlapping_history(fake: FakeServer, msg) -> None:
    """Answer CHATHISTORY with a live line first, then a page that repeats it."""
    target = msg.params[1]
    fake.send(
        f"@msgid=x3;time=2026-01-05T10:03:00.000Z :bob!b@h PRIVMSG {target} :three",
        f":fake BATCH +h1 chathistory {target}",
        f"@batch=h1;msgid=x1;time=2026-01-05T10:01:00.000Z :bob!b@h PRIVMSG {target} :one",
        f"@batch=h1;msgid=x2;time=2026-01-05T10:02:00.000Z :bob!b@h PRIVMSG {target} :two",
        f"@batch=h1;msgid=x3;time=2026-01-05T10:03:00.000Z :bob!b@h PRIVMSG {target} :three",
        ":fake BATCH -h1",
        f"@msgid=x2;time=2026-01-05T10:02:00.000Z :bob!b@h PRIVMSG {target} :two",
        f"@msgid=x4;time=2026-01-05T10:04:00.000Z :bob!b@h PRIVMSG {target} :four",
    )


def test_live_and_replayed_overlap_shows_each_message_once(make_chat):
    fake = FakeServer(caps=HISTORY_CAPS)
    fake.rules["CHATHISTORY"] = _overlapping_history
    try:
        _controller, view = make_chat(fake.port, "alice")
        pump(view, lambda: "four" in transcript(view), what="the last live line")
        assert sorted(said(view)) == ["four", "one", "three", "two"]
        lines = transcript(view).splitlines()
        separator = lines.index(CHATHISTORY_SEPARATOR)
        assert [ln.split("\t")[2] for ln in lines[:separator] if "\tbob\t" in ln] == [
            "one",
            "two",
        ]
        [request] = fake.received("CHATHISTORY")
        assert request.params == ["LATEST", "#general", "*", "100"]
    finally:
        fake.close()


def test_a_day_divider_marks_each_change_of_date(make_server, make_chat, tmp_path):
    server = make_server(data_dir=str(tmp_path))
    now = datetime.now().astimezone()
    three_days = (now - timedelta(days=3)).replace(hour=23, minute=50, second=0, microsecond=0)
    two_days = three_days + timedelta(minutes=20)  # 00:10 the next day
    store(server, [("late night", three_days), ("after midnight", two_days)])
    _controller, view = make_chat(server.port, "alice")
    pump(view, lambda: "after midnight" in transcript(view), what="history")
    pump(view, lambda: "You joined #general" in transcript(view), what="join line")
    lines = transcript(view).splitlines()
    old_day, new_day, today = (day_label(d.date().isoformat()) for d in (three_days, two_days, now))
    assert old_day not in lines  # the first line has nothing before it to differ from
    at = lines.index(new_day)
    assert "late night" in lines[at - 1] and "after midnight" in lines[at + 1]
    assert lines.count(new_day) == 1
    # Between the history and today's lines, below the separator.
    separator = lines.index(CHATHISTORY_SEPARATOR)
    assert lines[separator + 1] == today
    assert lines.count(today) == 1
    assert view.chat_area.tag_ranges("divider")


def test_direct_conversation_history_opens_with_the_conversation(make_server, make_model, tmp_path):
    # A direct conversation's history belongs to the two accounts: alice signs in.
    accounts = AccountStore(tmp_path)
    for name in ("alice", "bob"):
        accounts.create(name, "secret")
    accounts.close()
    # The app registers as alice and is signed in after: no nick reservation here.
    server = make_server(data_dir=str(tmp_path), reserve_nicks=False)
    key = dm_target("alice", "bob")[0]
    when = millis(datetime.now().astimezone() - timedelta(minutes=5))
    server.history.add(
        Record("dm1", key, when, "bob!b@h", "PRIVMSG", ("alice", "psst"), {}, None, "bob", "alice")
    )
    assert server.history.flush()
    model, log = make_model(server.port, "alice")
    log.expect(Kind.CHATHISTORY, conversation="#general")
    server.sign_in(server.registry.find_nick("alice"), server.accounts.find("alice"))
    model.open_direct("bob")
    event = log.expect(Kind.CHATHISTORY, conversation="bob")
    assert [(m.nick, m.text, m.msgid) for m in event.messages] == [("bob", "psst", "dm1")]
    assert event.messages[0].time is not None
    assert millis(event.messages[0].time) == when


def test_no_chathistory_requests_to_a_server_without_the_cap(make_model):
    fake = FakeServer(caps="server-time message-tags echo-message")
    try:
        model, log = make_model(fake.port, "alice")
        log.expect(Kind.JOIN, conversation="#general", own=True)
        model.open_direct("bob")
        assert model.load_older("#general") is False
        model.send_raw("PING :done")  # the last line: everything before it has arrived
        wait_for(lambda: fake.received("PING"), what="the PING")
        assert fake.received("CHATHISTORY") == []
        assert not model.chathistory_available
    finally:
        fake.close()


def test_older_pages_wait_for_the_answer_and_stop_at_the_beginning(
    make_server, make_model, tmp_path
):
    server = make_server(data_dir=str(tmp_path))
    start = datetime.now().astimezone() - timedelta(hours=1)
    store(server, [(f"n{i}", start + timedelta(seconds=i)) for i in range(130)])
    model, log = make_model(server.port, "alice")
    first = log.expect(Kind.CHATHISTORY, conversation="#general", place="latest")
    assert [m.text for m in first.messages] == [f"n{i}" for i in range(30, 130)]
    assert model.load_older("#general") is True
    assert model.load_older("#general") is False  # one request at a time
    older = log.expect(Kind.CHATHISTORY, conversation="#general", place="before")
    assert [m.text for m in older.messages] == [f"n{i}" for i in range(30)]
    assert model.load_older("#general") is False  # the beginning: nothing more to ask


def test_batches_are_chathistory_not_live_traffic():
    model = Session(nick="me")
    model.registered = True
    model.caps = {"batch", "draft/chathistory", "message-tags", "server-time"}
    feed = Fed(model)
    sent, log = feed.sent, feed.log
    feed(":srv 005 me CHATHISTORY=4 :are supported")  # pages of four
    feed(":me!u@h JOIN #c")
    assert sent == ["MODE #c", "CHATHISTORY LATEST #c * 4"]
    feed("@msgid=a :bob!b@h PRIVMSG #c :live a")
    for line in (
        ":srv BATCH +r chathistory #c",
        "@batch=r;msgid=y :bob!b@h PRIVMSG #c :\x01VERSION\x01",
        "@batch=r;msgid=z;time=2026-01-05T10:00:00.000Z :bob!b@h PRIVMSG #c :\x01ACTION waves\x01",
        "@batch=r;msgid=t :bob!b@h TOPIC #c :old topic",
        "@batch=r;msgid=a :bob!b@h PRIVMSG #c :live a",
        ":srv BATCH -r",
    ):
        feed(line)
    page = log.expect(Kind.CHATHISTORY, conversation="#c", place="latest")
    assert [(m.msgid, m.text, m.action, m.topic) for m in page.messages] == [
        ("z", "waves", True, False),
        ("t", "old topic", False, True),
    ]
    assert page.messages[0].time is not None and page.messages[0].time.minute == 0
    assert len(log.of(Kind.MESSAGE)) == 1  # only the live one; the replay of it is dropped
    assert not [line for line in sent if line.startswith("NOTICE")]  # no CTCP answered
    assert model.topic("#c") == ""  # an old topic is history, not the topic now
    # Paging: one request at a time; a FAIL ends the wait.
    assert model.load_older("#c") and feed.take() == ["CHATHISTORY BEFORE #c msgid=y 4"]
    assert not model.load_older("#c")
    feed(":srv FAIL CHATHISTORY INVALID_TARGET BEFORE #c :Messages could not be retrieved")
    assert model.load_older("#c") and feed.take()
    # Rejoining after a kick asks for what came after the newest message seen, page by page.
    feed(":srv FAIL CHATHISTORY MESSAGE_ERROR BEFORE #c :x")
    feed(":op!o@h KICK #c me :out")
    feed(":me!u@h JOIN #c")
    assert sent[-1] == "CHATHISTORY AFTER #c msgid=a 4"
    feed(":srv BATCH +s chathistory #c")
    for i in range(4):
        feed(f"@batch=s;msgid=n{i} :bob!b@h PRIVMSG #c :new {i}")
    feed(":srv BATCH -s")
    missed = log.expect(Kind.CHATHISTORY, conversation="#c", place="after")
    assert len(missed.messages) == 4
    assert sent[-1] == "CHATHISTORY AFTER #c msgid=n3 4"  # a full page: there may be more
    feed("@msgid=n2 :bob!b@h PRIVMSG #c :new 2")
    assert len(log.of(Kind.MESSAGE)) == 1  # shown in the page already
