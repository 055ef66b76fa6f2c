"""Search in the session and the finder, without a window: the SEARCH line asked, the
soju.im/search batch turned into one record, FAIL SEARCH, what is loaded searched."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.events import Kind
from app.search import attributes, find_loaded
from app.session import Session
from app.text import Line
from server.protocol.codec import parse, parse_tags
from tests.app.helpers import Fed


@pytest.fixture
def fed() -> Fed:
    session = Session(nick="me")
    session.registered = True
    session.caps = {"batch", "soju.im/search", "server-time", "message-tags"}
    feed = Fed(session)
    feed(":me!u@h JOIN #Chan")
    return feed


def _ask(fed: Fed, text: str) -> dict[str, str]:
    line = fed.session.searches.request(text)
    assert line is not None
    message = parse(line)
    assert message.command == "SEARCH"
    return parse_tags(message.params[0])


def test_the_request_escapes_its_attributes(fed) -> None:
    assert _ask(fed, "  semi;colon and\\back  ") == {"text": "semi;colon and\\back", "limit": "100"}
    assert parse_tags(attributes("x y", "#chan", 5)) == {"text": "x y", "in": "#chan", "limit": "5"}
    assert fed.session.searches.request("   ") is None  # no words: nothing to ask


def test_the_batch_becomes_one_record_of_hits(fed) -> None:
    _ask(fed, "fast")
    fed(
        ":srv BATCH +s1 soju.im/search",
        "@batch=s1;msgid=a;time=2026-01-04T14:33:26.123Z :bill!b@h PRIVMSG #chan"
        " :That was \x02fast\x02!",
        "@batch=s1;msgid=b;time=2026-01-04T14:35:26.123Z :me!u@h PRIVMSG bob :fast reply",
        "@batch=s1;msgid=c :bob!b@h PRIVMSG me :\x01ACTION fasts\x01",
        "@batch=s1;msgid=d :bob!b@h NOTICE #chan :a fast notice",
        "@batch=s1 :bob!b@h PRIVMSG me :\x01VERSION\x01",
        ":srv BATCH -s1",
    )
    (results,) = fed.log.of(Kind.SEARCH_RESULTS)
    assert results.query == "fast" and not results.error
    assert [(h.conversation, h.nick, h.text, h.msgid) for h in results.hits] == [
        ("#Chan", "bill", "That was fast!", "a"),
        ("bob", "me", "fast reply", "b"),
        ("bob", "bob", "fasts", "c"),
        ("#Chan", "bob", "a fast notice", "d"),
    ]
    first = results.hits[0]
    assert first.time == datetime(2026, 1, 4, 14, 33, 26, 123000, tzinfo=timezone.utc)
    assert results.hits[1].own and results.hits[2].action and results.hits[3].notice
    # None of it was shown as live traffic.
    assert not fed.log.of(Kind.MESSAGE)


def test_a_failed_search_says_so_and_an_unasked_batch_is_ignored(fed) -> None:
    fed(":srv BATCH +x soju.im/search", "@batch=x :bob!b@h PRIVMSG #chan :hi", ":srv BATCH -x")
    assert not fed.log.of(Kind.SEARCH_RESULTS)
    _ask(fed, "hi")
    fed(":srv FAIL SEARCH INVALID_PARAMS text :Invalid parameters")
    (results,) = fed.log.of(Kind.SEARCH_RESULTS)
    assert results.error == "INVALID_PARAMS" and results.hits == ()
    fed(":srv FAIL SEARCH INTERNAL_ERROR :The search could not be run")  # nothing waits
    assert len(fed.log.of(Kind.SEARCH_RESULTS)) == 1


def test_a_multiline_result_is_one_hit(fed) -> None:
    fed.session.caps = fed.session.caps | {"draft/multiline"}
    _ask(fed, "needle")
    fed(
        ":srv BATCH +s soju.im/search",
        "@batch=s;msgid=m1;time=2026-01-04T14:33:26.123Z :srv BATCH +m draft/multiline #chan",
        "@batch=m :bob!b@h PRIVMSG #chan :first line",
        "@batch=m :bob!b@h PRIVMSG #chan :the needle",
        ":srv BATCH -m",
        ":srv BATCH -s",
    )
    (results,) = fed.log.of(Kind.SEARCH_RESULTS)
    assert [(h.text, h.msgid) for h in results.hits] == [("first line\nthe needle", "m1")]


def test_searches_are_answered_in_order_and_forgotten_with_the_connection(fed) -> None:
    _ask(fed, "one")
    _ask(fed, "two")
    fed(":srv BATCH +a soju.im/search", ":srv BATCH +b soju.im/search", ":srv BATCH -b")
    fed(":srv BATCH -a")
    assert [r.query for r in fed.log.of(Kind.SEARCH_RESULTS)] == ["two", "one"]
    _ask(fed, "three")
    fed.session.connection_lost()
    fed(":srv BATCH +c soju.im/search", ":srv BATCH -c")
    assert len(fed.log.of(Kind.SEARCH_RESULTS)) == 2


def test_the_search_capability_is_asked_for() -> None:
    session = Session(nick="me")
    fed = Fed(session)
    session.connection_made()
    fed.take()
    fed(":srv CAP * LS :batch soju.im/search")
    assert any("soju.im/search" in line for line in fed.sent if line.startswith("CAP REQ"))


def test_loaded_lines_are_searched_word_by_word() -> None:
    when = datetime(2026, 1, 4, 12, 0, tzinfo=timezone.utc)
    lines = [
        Line("message", "12:00", "bob", "The Cake is a lie", at=when),
        Line("event", "12:01", "→", "cake joined"),  # not a message
        Line("action", "12:02", "amy", "bakes a cake", at=when.replace(minute=2)),
        Line("message", "12:03", "bob", "lie down", at=when.replace(minute=3)),
    ]
    found = find_loaded([("#c", "#c", lines)], "cake")
    assert [hit.line.text for hit in found] == ["The Cake is a lie", "bakes a cake"]
    assert [hit.line.text for hit in find_loaded([("#c", "#c", lines)], "LIE cake")] == [
        "The Cake is a lie"
    ]
    assert find_loaded([("#c", "#c", lines)], "  ") == []
