"""The conversations model and input recall: pure, no window."""

from __future__ import annotations

from app.conversations import Conversations
from app.recall import Recall
from app.text import Line


def message(text: str, mention: bool = False) -> Line:
    return Line("message", "10:00", "bob", text, mention=mention)


def test_unread_and_mentions_count_only_away_from_the_current_one():
    conversations = Conversations(scrollback=3)
    for key in ("", "#a", "#b"):
        conversations.add(key, key)
    assert conversations.add("#a", "#a") is None  # already open
    conversations.open("#a")
    assert not conversations.add_line("#a", message("seen"), count=True, focused=True)
    assert conversations.add_line("#a", message("hey", True), count=True, focused=False)
    assert conversations["#a"].mentions == 1  # the window was not focused
    assert conversations.add_line("#b", message("one"), count=True, focused=True)
    assert conversations.add_line("#b", message("you", True), count=True, focused=True)
    assert not conversations.add_line(
        "#b", Line("event", "10:00", "→", "carol joined"), count=True, focused=True
    )
    assert (conversations["#b"].unread, conversations["#b"].mentions) == (2, 1)
    assert conversations.mentions() == 2
    assert len(conversations["#b"].lines) == 3  # the scrollback
    assert conversations.read() and conversations["#a"].mentions == 0
    conversation, changed = conversations.open("#b")
    assert changed and (conversation.unread, conversation.mentions) == (0, 0)


def test_remove_shows_a_neighbour_and_rename_keeps_the_lines():
    conversations = Conversations()
    for key in ("", "dave", "#c"):
        conversations.add(key, key)
    conversations.open("dave")
    conversations.add_line("dave", message("x"), count=True, focused=True)
    renamed = conversations.rename("dave", "david", "David")
    assert renamed is not None and renamed.name == "David" and len(renamed.lines) == 1
    assert conversations.ordered_keys() == ["", "david", "#c"]
    assert conversations.current == "david" and conversations.current_name() == "David"
    assert conversations.rename("david", "#c", "#c") is None  # taken
    assert conversations.remove("#c") is None  # not the current one
    assert conversations.remove("david") == ""  # the one before it
    assert conversations.current is None and conversations.names() == []


def test_recall_walks_back_and_returns_to_the_draft():
    recall = Recall(size=2)
    assert recall.step(-1, "draft") is None  # nothing sent yet
    for text in ("one", "two", "two", "three"):
        recall.remember(text)
    assert recall.lines == ["two", "three"]
    assert recall.step(1, "draft") is None  # Down before Up leaves the entry alone
    assert recall.step(-1, "draft") == "three"
    assert recall.step(-1, "three") == "two"
    assert recall.step(-1, "two") == "two"
    assert recall.step(1, "two") == "three"
    assert recall.step(1, "three") == "draft"


def test_a_private_message_counts_as_a_mention():
    conversations = Conversations()
    for key in ("", "#a", "bob"):
        conversations.add(key, key)
    conversations.open("#a")
    assert conversations.add_line("bob", message("psst"), count=True, focused=True)
    assert (conversations["bob"].unread, conversations["bob"].mentions) == (1, 1)
    assert not conversations.add_line(
        "bob", Line("event", "10:00", "•", "bob is now known as rob"), count=False, focused=True
    )
    assert not conversations.add_line("#a", message("in the channel"), count=True, focused=False)
    assert conversations.mentions() == 1  # a channel message is no mention
    conversations.open("bob")
    assert conversations.add_line("bob", message("still there?"), count=True, focused=False)
    assert conversations.mentions() == 1  # open but unseen: the window is not focused
    assert not conversations.add_line("bob", message("mine"), count=False, focused=False)
    assert not conversations.add_line("bob", message("seen"), count=True, focused=True)
    assert conversations.mentions() == 1
