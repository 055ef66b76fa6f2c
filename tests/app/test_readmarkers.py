"""Read markers in the app without a window: the session's part (MARKREAD in and out), the
counters that follow a marker, and when the controller's part sends (clock injected)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.caps import WANTED_CAPS
from app.conversations import Conversations, first_new, last_said
from app.events import Kind, ReadMarker
from app.reading import SEND_INTERVAL, Reading
from app.session import Session
from app.text import Line
from tests.app.helpers import Fed
from tests.support.fake_time import FakeTime

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def said(seconds: float, text: str = "", own: bool = False, mention: bool = False) -> Line:
    return Line("message", "12:00", "bob", text or f"m{seconds}", mention, own, at=at(seconds))


@pytest.fixture
def fed() -> Fed:
    session = Session(nick="me")
    feed = Fed(session)
    feed(
        ":srv CAP * LS :server-time draft/read-marker",
        ":srv CAP me ACK :server-time draft/read-marker",
        ":srv 001 me :Welcome",
        ":srv 005 me CASEMAPPING=ascii CHANTYPES=# :are supported",
    )
    feed.take()
    return feed


# --- the session's part ---------------------------------------------------------------
def test_the_capability_is_asked_for() -> None:
    assert "draft/read-marker" in WANTED_CAPS
    feed = Fed(Session(nick="me"))
    feed(":srv CAP * LS :draft/read-marker server-time")
    assert "CAP REQ :server-time draft/read-marker" in feed.sent


def test_a_marker_from_the_server_is_an_event_once(fed: Fed) -> None:
    fed(":srv MARKREAD #Chan timestamp=2026-12-01T12:00:05.123Z")
    event = fed.log.expect(Kind.READ_MARKER, conversation="#Chan")
    assert event.time == datetime(2026, 12, 1, 12, 0, 5, 123000, tzinfo=timezone.utc)
    fed(
        ":srv MARKREAD #chan timestamp=2026-12-01T12:00:05.123Z",  # the same: nothing moved
        ":srv MARKREAD #chan timestamp=2026-12-01T12:00:01.000Z",  # older: never back
        ":srv MARKREAD #other *",  # none yet
        ":srv MARKREAD #other timestamp=garbage",
    )
    fed.log.pump()
    assert [e for e in fed.log.seen if e.kind == Kind.READ_MARKER] == [event]


def test_marking_sends_markread_never_backwards(fed: Fed) -> None:
    session = fed.session
    assert session.markers.mark("#chan", at(5.1234)) is True
    assert fed.take() == ["MARKREAD #chan timestamp=2026-12-01T12:00:05.123Z"]
    assert session.markers.mark("#CHAN", at(4)) is False
    assert session.markers.mark("#chan", at(5.123)) is False
    assert fed.take() == []
    # The server's answer to our own MARKREAD is no news.
    fed(":srv MARKREAD #chan timestamp=2026-12-01T12:00:05.123Z")
    fed.log.pump()
    assert fed.log.of(Kind.READ_MARKER) == []
    # Another window read further: that is news, and we do not send what is older.
    fed(":srv MARKREAD #chan timestamp=2026-12-01T12:00:09.000Z")
    assert fed.log.expect(Kind.READ_MARKER).time == at(9)
    assert session.markers.mark("#chan", at(8)) is False
    assert fed.take() == []


def test_without_the_capability_nothing_is_sent() -> None:
    feed = Fed(Session(nick="me"))
    feed(":srv CAP * LS :server-time", ":srv CAP me ACK :server-time", ":srv 001 me :Welcome")
    feed.take()
    assert feed.session.markers.mark("#chan", at(1)) is False
    feed.session.open_direct("bob")
    assert [line for line in feed.take() if line.startswith("MARKREAD")] == []


def test_a_direct_conversation_asks_for_its_marker(fed: Fed) -> None:
    fed.session.open_direct("Bob")
    assert fed.take() == ["MARKREAD Bob"]
    fed.session.open_direct("bob")  # open already: asked once
    assert fed.take() == []
    fed(":me!u@h JOIN #chan")  # a channel's marker comes after its JOIN, unasked
    assert not [line for line in fed.take() if line.startswith("MARKREAD")]
    fed(":srv MARKREAD Bob timestamp=2026-12-01T12:00:02.000Z")
    assert fed.log.expect(Kind.READ_MARKER).conversation == "Bob"


# --- the counters ---------------------------------------------------------------------
def test_counters_follow_a_marker_read_elsewhere() -> None:
    conversations = Conversations()
    conversations.add("#chan", "#chan")
    conversations.add("bob", "bob")
    conversations.current = "bob"
    for line in (said(1), said(2, own=True), said(3, mention=True), said(4)):
        conversations.add_line("#chan", line, count=not line.own, focused=True)
    chan = conversations["#chan"]
    assert (chan.unread, chan.mentions) == (3, 1)
    assert conversations.read_until("#chan", at(3), here=False, focused=True) is True
    assert (chan.unread, chan.mentions, chan.read_at) == (1, 0, at(3))
    # A marker never goes back, and an older one changes nothing.
    assert conversations.read_until("#chan", at(1), here=False, focused=True) is False
    assert chan.read_at == at(3)
    assert conversations.read_until("#chan", at(9), here=False, focused=True) is True
    assert (chan.unread, chan.mentions) == (0, 0)
    # Read here: the marker moves; the counters are the window's own business.
    conversations.add_line("bob", said(10), count=True, focused=False)
    assert conversations.read_until("bob", at(10), here=True, focused=False) is False
    assert conversations["bob"].read_at == at(10)
    assert conversations["bob"].mentions == 1


def test_the_new_line_goes_before_the_first_message_after_the_marker() -> None:
    conversations = Conversations()
    conversations.add("#chan", "#chan")
    conversations.add("", "")
    conversations.current = ""
    for line in (said(1), said(2), said(3, own=True), said(4), said(5)):
        conversations.add_line("#chan", line, count=True, focused=True)
    chan = conversations["#chan"]
    assert first_new(chan) is None  # no marker: no line
    assert last_said(chan) == at(5)
    conversations.read_until("#chan", at(2), here=False, focused=True)
    conversations.open("#chan")  # opening puts the line at the marker
    new = first_new(chan)
    assert new is not None and new.text == "m4"
    conversations.read_until("#chan", at(5), here=True, focused=True)
    assert first_new(chan) is new  # reading on does not move it while open
    conversations.open("")
    conversations.open("#chan")
    assert first_new(chan) is None


# --- when the controller's part sends -------------------------------------------------
@pytest.fixture
def reading(mocker):
    fake = FakeTime()
    view = mocker.Mock()
    view.conversations = Conversations()
    view.conversations.add("#chan", "#chan")
    view.conversations.current = "#chan"
    view.is_reading.return_value = True
    view.read_until.side_effect = lambda key, when, here=True: view.conversations.read_until(
        key, when, here, True
    )
    model = mocker.Mock()
    model.fold.side_effect = str.lower
    return Reading(model, view, clock=fake.clock), view, model, fake


def test_reading_sends_at_most_every_few_seconds(reading) -> None:
    tracker, view, model, fake = reading
    lines = view.conversations["#chan"].lines
    lines.append(said(1))
    tracker.seen()
    model.mark_read.assert_called_once_with("#chan", at(1))
    lines.append(said(2))
    tracker.seen()
    lines.append(said(3))
    tracker.seen()
    assert model.mark_read.call_count == 1  # held back, one round later
    delay, later = view.schedule.call_args.args
    assert view.schedule.call_count == 1
    assert delay == SEND_INTERVAL * 1000
    fake.now += SEND_INTERVAL
    later()
    model.mark_read.assert_called_with("#chan", at(3))
    assert model.mark_read.call_count == 2
    tracker.seen()  # nothing newer read: nothing sent
    assert model.mark_read.call_count == 2


def test_nothing_is_read_unless_the_window_shows_the_end(reading) -> None:
    tracker, view, model, _fake = reading
    view.conversations["#chan"].lines.append(said(1))
    view.is_reading.return_value = False
    tracker.seen()
    model.mark_read.assert_not_called()
    assert view.conversations["#chan"].read_at is None


def test_a_marker_from_the_server_reaches_the_view(reading) -> None:
    tracker, view, _model, _fake = reading
    tracker.on_marker(ReadMarker("#CHAN", at(4)))
    view.read_until.assert_called_once_with("#chan", at(4), here=False)
    tracker.on_marker(ReadMarker("#closed", at(4)))  # not open: nothing to follow
    assert view.read_until.call_count == 1


def test_reading_takes_its_event_and_its_view_callback(mocker) -> None:
    view, model = mocker.Mock(), mocker.Mock()
    handlers: dict = {}
    tracker = Reading(model, view, handlers)
    assert handlers == {Kind.READ_MARKER: tracker.on_marker}
    view.set_handlers.assert_called_once_with(reading=tracker.seen)


def test_closing_cancels_the_round_held_back(reading) -> None:
    tracker, view, _model, _fake = reading
    view.schedule.return_value = "job"
    for second in (1, 2):
        view.conversations["#chan"].lines.append(said(second))
        tracker.seen()
    tracker.close()
    view.cancel.assert_called_once_with("job")
