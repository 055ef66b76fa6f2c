"""Reactions and replies without a window: reading the tags, who reacted with what, and
the session's events for live reactions, replies and chathistory pages holding them."""

from __future__ import annotations

import pytest

from app.events import Kind
from app.reactions import Chip, ReactionBook, reaction_of, reaction_tags, usable_reaction
from app.session import Session
from tests.app.helpers import Fed


@pytest.mark.parametrize(
    ("tags", "found"),
    [
        ({"+draft/reply": "m1", "+draft/react": "👍"}, ("m1", "👍", False)),
        ({"+draft/reply": "m1", "+draft/unreact": "👍"}, ("m1", "👍", True)),
        ({"+draft/reply": "m1", "+draft/react": " lol "}, ("m1", "lol", False)),
        ({"+draft/react": "👍"}, None),  # a reaction to nothing
        ({"+draft/reply": "", "+draft/react": "👍"}, None),
        ({"+draft/reply": "m1", "+draft/react": ""}, None),
        ({"+draft/reply": "m1", "+draft/react": "x" * 33}, None),  # too long: not cut
        ({"+draft/reply": "m1", "+draft/react": "a\x07b"}, None),
        ({"+draft/reply": "m1", "+draft/react": "👍", "+draft/unreact": "👍"}, None),
        ({"+draft/reply": "m1"}, None),  # a reply, no reaction
    ],
)
def test_reaction_of_reads_the_tags(tags: dict[str, str], found) -> None:
    assert reaction_of(tags) == found


def test_reaction_tags_and_usable_values() -> None:
    assert reaction_tags("m1", "🎉") == {"+draft/reply": "m1", "+draft/react": "🎉"}
    assert reaction_tags("m1", "🎉", remove=True) == {"+draft/reply": "m1", "+draft/unreact": "🎉"}
    assert usable_reaction("  ") == "" and usable_reaction(" ok ") == "ok"


def test_the_book_counts_each_nick_once_and_takes_back_exactly_one() -> None:
    book = ReactionBook()
    assert book.apply("#c", "m1", "Bob", "👍", False)
    assert not book.apply("#c", "m1", "bob", "👍", False)  # the same person, casefolded
    assert book.apply("#c", "m1", "me", "👍", False)
    assert book.apply("#c", "m1", "carol", "🎉", False)
    assert book.chips("#c", "m1", "ME") == (Chip("👍", 2, True), Chip("🎉", 1, False))
    assert not book.apply("#c", "m1", "carol", "👍", True)  # she never sent that one
    assert book.apply("#c", "m1", "carol", "🎉", True)
    assert book.chips("#c", "m1", "me") == (Chip("👍", 2, True),)
    assert book.reacted("#c", "m1", "bob", "👍") and not book.reacted("#c", "m2", "bob", "👍")
    book.renamed("bob", "robert")
    assert book.reacted("#c", "m1", "Robert", "👍") and not book.reacted("#c", "m1", "bob", "👍")
    book.move("#c", "#d")
    assert book.chips("#c", "m1", "me") == () and len(book.chips("#d", "m1", "me")) == 1
    book.forget("#d")
    assert book.chips("#d", "m1", "me") == ()


@pytest.fixture
def fed() -> Fed:
    session = Session(nick="me")
    session.registered = True
    feed = Fed(session)
    feed(":me!u@h JOIN #chan", ":srv 366 me #chan :End")
    return feed


def test_live_reactions_and_replies_become_events(fed) -> None:
    fed(
        "@msgid=r1;+draft/reply=m1;+draft/react=👍 :bob!b@h TAGMSG #chan",
        "@msgid=r2;+draft/reply=m1;+draft/unreact=👍 :me!u@h TAGMSG #chan",  # our echo
        "@msgid=r3;+draft/reply=m9;+draft/react=🎉 :bob!b@h TAGMSG me",  # direct
        "@msgid=r4;+draft/react=👍 :bob!b@h TAGMSG #chan",  # to nothing: ignored
        "@msgid=r5;+typing=active :bob!b@h TAGMSG #chan",
        "@msgid=m2;+draft/reply=m1 :bob!b@h PRIVMSG #chan :me too",
    )
    reactions = fed.log.of(Kind.REACTION)
    assert [(r.conversation, r.nick, r.msgid, r.emoji, r.removed, r.own) for r in reactions] == [
        ("#chan", "bob", "m1", "👍", False, False),
        ("#chan", "me", "m1", "👍", True, True),
        ("bob", "bob", "m9", "🎉", False, False),
    ]
    assert [t.nick for t in fed.log.of(Kind.TYPING)] == ["bob"]
    (message,) = fed.log.of(Kind.MESSAGE)
    assert message.reply == "m1" and message.text == "me too"


def test_a_page_carries_its_reactions_and_replies_none_twice(fed) -> None:
    fed("@msgid=r1;+draft/reply=m1;+draft/react=👍 :bob!b@h TAGMSG #chan")  # seen live
    fed.session.caps.update({"batch", "draft/chathistory", "message-tags"})
    fed(
        ":srv BATCH +b chathistory #chan",
        "@batch=b;msgid=m1 :bob!b@h PRIVMSG #chan :hello",
        "@batch=b;msgid=r1;+draft/reply=m1;+draft/react=👍 :bob!b@h TAGMSG #chan",
        "@batch=b;msgid=r2;+draft/reply=m1;+draft/react=❤ :carol!c@h TAGMSG #chan",
        "@batch=b;msgid=m2;+draft/reply=m1 :me!u@h PRIVMSG #chan :hi bob",
        ":srv BATCH -b",
    )
    (page,) = fed.log.of(Kind.CHATHISTORY)
    assert [(m.text, m.reply) for m in page.messages] == [("hello", ""), ("hi bob", "m1")]
    assert [(r.nick, r.emoji) for r in page.reactions] == [("carol", "❤")]


def test_around_asks_for_the_messages_around_one_and_says_when_a_gap_is_left(fed) -> None:
    fed.session.caps.update({"batch", "draft/chathistory", "message-tags"})
    fed("@msgid=m50 :bob!b@h PRIVMSG #chan :shown")
    assert fed.session.load_around("#chan", "m1")
    assert fed.take() == ["CHATHISTORY AROUND #chan msgid=m1 100"]
    fed(
        ":srv BATCH +b chathistory #chan",
        "@batch=b;msgid=m1 :bob!b@h PRIVMSG #chan :the original",
        "@batch=b;msgid=m2 :bob!b@h PRIVMSG #chan :after it",
        ":srv BATCH -b",
    )
    (page,) = fed.log.of(Kind.CHATHISTORY)
    assert (page.place, page.around, page.gap) == ("around", "m1", True)
    assert [m.text for m in page.messages] == ["the original", "after it"]
    # Older pages go on from the top of that page.
    assert fed.session.load_older("#chan")
    assert fed.take() == ["CHATHISTORY BEFORE #chan msgid=m1 100"]
