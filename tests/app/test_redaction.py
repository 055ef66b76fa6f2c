"""Deleting messages in the app without a window: the session's part (REDACT out, REDACT
and FAIL REDACT in, malformed lines ignored) and the sentences a person reads."""

from __future__ import annotations

import pytest

from app.caps import WANTED_CAPS
from app.events import Kind, RedactRefused
from app.session import Session
from app.text import DELETED, Line, delete_question, deleted_line, duration_text
from app.text import redact_refused_text as refused
from tests.app.helpers import Fed

CAP = "draft/message-redaction"


def _fed(caps: str) -> Fed:
    feed = Fed(Session(nick="me"))
    feed(
        f":srv CAP * LS :{caps}",
        f":srv CAP me ACK :{caps}",
        ":srv 001 me :Welcome",
        ":srv 005 me CASEMAPPING=ascii CHANTYPES=# :are supported",
    )
    feed.take()
    return feed


@pytest.fixture
def fed() -> Fed:
    return _fed(f"message-tags echo-message {CAP}")


def test_the_capability_is_asked_for() -> None:
    assert CAP in WANTED_CAPS


def test_redact_is_sent_with_no_reason(fed) -> None:
    assert fed.session.redactions.redact("#general", "m1")
    assert fed.take() == ["REDACT #general m1"]


def test_nothing_is_sent_without_the_capability() -> None:
    feed = _fed("message-tags echo-message")
    assert not feed.session.redactions.available
    assert not feed.session.redactions.redact("#general", "m1")
    assert feed.take() == []


def test_a_channel_redaction_is_an_event(fed) -> None:
    fed(":bob!b@h REDACT #general m1 :typo")
    fed.log.expect(Kind.REDACTED, conversation="#general", msgid="m1", nick="bob", reason="typo")


def test_in_a_direct_conversation_it_belongs_to_the_other_party(fed) -> None:
    fed(":bob!b@h REDACT me m2")  # bob deleted what he said to us
    fed.log.expect(Kind.REDACTED, conversation="bob", msgid="m2", own=False)
    fed(":me!m@h REDACT bob m3")  # our echo: we deleted what we said to bob
    fed.log.expect(Kind.REDACTED, conversation="bob", msgid="m3", own=True)


def test_fail_redact_is_an_event_with_its_window(fed) -> None:
    fed(":srv FAIL REDACT REDACT_WINDOW_EXPIRED #general m1 86400 :You can no longer delete it")
    event = fed.log.expect(Kind.REDACT_REFUSED, code="REDACT_WINDOW_EXPIRED")
    assert (event.conversation, event.msgid, event.window) == ("#general", "m1", 86400)
    fed(":srv FAIL REDACT INVALID_TARGET #x :You cannot delete messages from #x")
    event = fed.log.expect(Kind.REDACT_REFUSED, code="INVALID_TARGET")
    assert (event.conversation, event.msgid) == ("#x", "")


@pytest.mark.parametrize(
    "line",
    [
        ":bob!b@h REDACT #general",  # no msgid
        ":bob!b@h REDACT",
        ":srv FAIL REDACT",
        ":srv FAIL REDACT REDACT_WINDOW_EXPIRED #general m1 soon :text",  # no number
    ],
)
def test_malformed_lines_harm_nothing(fed, line) -> None:
    fed(line)
    fed.log.pump()
    assert all(e.kind != Kind.REDACTED for e in fed.log.seen)
    fed(":bob!b@h REDACT #general m9")  # the session goes on
    fed.log.expect(Kind.REDACTED, msgid="m9")


def test_a_deleted_line_keeps_time_and_nick() -> None:
    line = Line("message", "10:00", "bob", "see https://x.example", mention=True, msgid="m1")
    gone = deleted_line(line)
    assert (gone.time, gone.nick, gone.msgid, gone.text) == ("10:00", "bob", "m1", DELETED)
    assert gone.deleted and not gone.mention
    by_op = deleted_line(line, "chanop", "spam")
    assert by_op.text == f"{DELETED} by chanop (spam)"


def test_the_question_names_whose_message() -> None:
    own = Line("message", "10:00", "me", "hi", own=True)
    assert delete_question(own).startswith("Delete your message for everyone?")
    theirs = Line("message", "10:00", "bob", "x" * 200)
    question = delete_question(theirs)
    assert "from bob" in question and "…" in question and len(question) < 150


@pytest.mark.parametrize(
    "seconds, text",
    [
        (86400, "24 hours"),
        (172800, "2 days"),
        (3600, "1 hour"),
        (120, "2 minutes"),
        (90, "90 seconds"),
    ],
)
def test_durations(seconds, text) -> None:
    assert duration_text(seconds) == text


def test_refusals_say_why() -> None:
    assert (
        refused(RedactRefused("#a", "m", "REDACT_FORBIDDEN")) == "You may not delete that message."
    )
    assert "24 hours" in refused(RedactRefused("#a", "m", "REDACT_WINDOW_EXPIRED", window=86400))
    assert "no longer has it" in refused(RedactRefused("#a", "m", "UNKNOWN_MSGID"))
    assert refused(RedactRefused("#a", "", "INVALID_TARGET")) == "Messages cannot be deleted in #a."
    assert refused(RedactRefused("#a", "m", "ODD", "odd thing")).endswith("odd thing")
