"""Typing notifications as pure state: what we send and when, who is typing and until when;
the session's TAGMSGs to typing events, and where a notification may go."""

from __future__ import annotations

from app.session import Session
from app.text import typing_text
from app.typing_state import Typing, Typists, is_typing
from tests.app.helpers import Fed


def test_text_and_commands() -> None:
    assert is_typing("hello") and is_typing("//slash")
    assert not is_typing("") and not is_typing("   ") and not is_typing("/me waves")


def test_active_at_once_then_at_most_every_three_seconds() -> None:
    typing = Typing()
    assert typing.edited("#c", "h", 100.0) == [("#c", "active")]
    assert typing.edited("#c", "he", 100.5) == []
    assert typing.edited("#c", "hel", 102.9) == []
    assert typing.due(102.99) == []
    # Edits went on: the next one may go 3 s after the last.
    assert typing.due(103.0) == [("#c", "active")]
    assert typing.edited("#c", "hell", 104.0) == []
    assert typing.edited("#c", "hello", 106.0) == [("#c", "active")]


def test_paused_once_after_a_pause_then_active_again() -> None:
    typing = Typing()
    typing.edited("#c", "h", 100.0)
    assert typing.due(102.9) == []
    assert typing.due(103.0) == [("#c", "paused")]
    assert typing.due(120.0) == []  # once
    assert not typing.busy
    assert typing.edited("#c", "hi", 121.0) == [("#c", "active")]


def test_done_when_cleared_or_sent_but_never_within_three_seconds() -> None:
    typing = Typing()
    typing.edited("#c", "hi", 100.0)
    assert typing.edited("#c", "", 101.0) == []  # sent (or cleared): done must wait
    assert typing.due(102.9) == []
    assert typing.due(103.0) == [("#c", "done")]
    assert typing.due(200.0) == [] and not typing.busy
    # Cleared long after: at once. A box emptied before anything was sent: nothing.
    typing.edited("#c", "x", 300.0)
    assert typing.edited("#c", "", 310.0) == [("#c", "done")]
    assert typing.edited("#c", "", 320.0) == []


def test_typing_again_before_the_done_went_out_sends_active_only() -> None:
    typing = Typing()
    typing.edited("#c", "one", 100.0)
    typing.edited("#c", "", 101.0)
    typing.edited("#c", "t", 102.0)
    assert typing.due(103.0) == [("#c", "active")]


def test_slash_commands_and_the_server_tab_send_nothing() -> None:
    typing = Typing()
    assert typing.edited("#c", "/join #x", 100.0) == []
    assert typing.edited("", "hello", 100.0) == []
    assert typing.edited("#c", "hi", 101.0) == [("#c", "active")]
    assert typing.edited("#c", "/me", 200.0) == [("#c", "done")]  # a command now


def test_another_conversation_gets_done() -> None:
    typing = Typing()
    typing.edited("#a", "hi", 100.0)
    assert typing.edited("bob", "hi there", 104.0) == [("#a", "done"), ("bob", "active")]


def test_disabled_sends_nothing_and_ends_what_was_told() -> None:
    typing = Typing()
    typing.edited("#c", "hi", 100.0)
    assert typing.disable(101.0) == []
    assert typing.edited("#c", "hi!", 101.5) == []
    assert typing.due(103.0) == [("#c", "done")]
    assert typing.edited("#c", "more", 110.0) == []
    typing.enabled = True
    assert typing.edited("#c", "more!", 111.0) == [("#c", "active")]


def test_forget_starts_over() -> None:
    typing = Typing()
    typing.edited("#c", "hi", 100.0)
    typing.forget()
    assert typing.edited("#c", "hi!", 100.5) == [("#c", "active")]


def test_typists_expire_after_six_seconds_active_thirty_paused() -> None:
    typists = Typists()
    assert typists.notified("#c", "bob", "bob", "active", 100.0)
    assert typists.notified("#c", "carol", "Carol", "paused", 101.0)
    assert typists.names("#c") == ["bob", "Carol"]
    assert typists.expire(105.9) == set()
    assert typists.expire(106.0) == {"#c"}
    assert typists.names("#c") == ["Carol"]
    assert typists.expire(130.9) == set()
    assert typists.expire(131.0) == {"#c"} and not typists


def test_a_fresh_active_keeps_a_typist_and_done_removes_them() -> None:
    typists = Typists()
    typists.notified("#c", "bob", "bob", "active", 100.0)
    assert not typists.notified("#c", "bob", "bob", "active", 104.0)  # nothing new to show
    assert typists.expire(109.0) == set()
    assert typists.notified("#c", "bob", "bob", "done", 109.5)
    assert typists.names("#c") == [] and not typists


def test_typists_stop_rename_and_clear() -> None:
    typists = Typists()
    typists.notified("#c", "bob", "bob", "active", 100.0)
    typists.notified("bob", "bob", "bob", "active", 100.0)  # a direct conversation
    typists.notified("#d", "erin", "erin", "active", 100.0)
    assert typists.stopped("#c", "bob") and not typists.stopped("#c", "bob")
    assert typists.renamed("bob", "rob", "rob") == {"bob", "rob"}
    assert typists.names("rob") == ["rob"] and typists.names("bob") == []
    assert typists.clear("#d") == {"#d"}
    assert typists.clear() == {"rob"} and not typists


def test_typing_sentences() -> None:
    assert typing_text([]) == ""
    assert typing_text(["bob"]) == "bob is typing…"
    assert typing_text(["bob", "carol"]) == "bob and carol are typing…"
    assert typing_text(["bob", "carol", "dave"]) == "several people are typing…"


def _fed() -> Fed:
    session = Session(nick="me")
    session.registered = True
    feed = Fed(session)
    feed(
        ":srv 005 me PREFIX=(ov)@+ CHANTYPES=#& CASEMAPPING=rfc1459 :are supported",
        ":me!u@h JOIN #Chan",
        ":srv 353 me = #chan :me @bob carol",
        ":srv 366 me #chan :End",
    )
    return feed


def test_the_session_turns_typing_tagmsgs_into_events() -> None:
    feed = _fed()
    feed(
        "@+typing=active :bob!b@h TAGMSG #CHAN",
        "@+typing=paused :carol!c@h TAGMSG @#chan",  # to the channel's operators
        "@+typing=done :dave!d@h TAGMSG me",
        "@+typing=active :me!u@h TAGMSG #chan",  # our own echo
        "@+draft/react=x :bob!b@h TAGMSG #chan",  # another tag
        "@+typing=bogus :bob!b@h TAGMSG #chan",
    )
    got = [(e.conversation, e.nick, e.state) for e in feed.log.of("typing")]
    assert got == [
        ("#Chan", "bob", "active"),
        ("#Chan", "carol", "paused"),
        ("dave", "dave", "done"),
    ]


def test_typing_goes_only_where_a_tagmsg_is_taken_without_an_error() -> None:
    feed = _fed()
    roster = feed.session.roster
    assert roster.reaches("#chan") and roster.reaches("Carol")
    assert not roster.reaches("#elsewhere") and not roster.reaches("stranger")
    feed(":srv MODE #chan +m")
    assert not roster.reaches("#chan")  # moderated, and we hold no voice
    feed(":bob!b@h MODE #chan +v me")
    assert roster.reaches("#chan")
    feed(":carol!c@h PART #chan")
    assert not roster.reaches("carol")
