"""The window and its member list against a real server on the virtual display: the
header's topic hint, private conversations counted and marked, away members greyed."""

from __future__ import annotations

from app.view.sidebar import PERSON_GLYPHS, person_glyph
from tests.app.helpers import pump

INVITE = "No topic — set one with /topic"


def _hint(view) -> str:
    return str(view.topic_label.cget("text"))


def test_the_header_invites_to_set_the_topic_only_who_may(chat, connect):
    bob = connect("bob")  # first in #general: its op
    _controller, view = chat("alice")
    pump(view, lambda: _hint(view) == "No topic", what="no invitation for a member")
    bob.send("MODE #general -t")
    pump(view, lambda: _hint(view) == INVITE, what="anyone may set it on a -t channel")
    bob.send("MODE #general +t")
    pump(view, lambda: _hint(view) == "No topic", what="+t again")
    bob.send("QUIT")  # the server makes alice, present longest, op
    pump(view, lambda: ("@", "alice") in view.conversations["#general"].members, what="op")
    pump(view, lambda: _hint(view) == INVITE, what="an op is invited")


def test_an_unseen_private_message_counts_in_the_title_and_the_sidebar(chat, connect):
    bob = connect("bob")
    _controller, view = chat("alice")
    assert view.root.title().startswith("#general")
    bob.send("PRIVMSG alice :a private word")
    pump(view, lambda: "bob" in view.conversations, what="the private conversation")
    pump(view, lambda: view.root.title().startswith("(1) #general"), what="counted")
    row = "conversation:bob"
    assert view.conversation_list.item(row, "values")[0] in (1, "1")
    assert "mention" in view.conversation_list.item(row, "tags")  # red, as a mention is
    label = view.conversation_list.item(row, "text")
    assert label == f"  {view.sidebar.person} bob" and "@" not in label
    assert view.sidebar.person in PERSON_GLYPHS
    view.conversation_list.selection_set(row)
    pump(view, lambda: view.conversations.current == "bob")
    assert not view.root.title().startswith("(")


class _Font:
    """A font stand-in that draws only the characters it is given widths for."""

    def __init__(self, widths: dict[str, int]) -> None:
        self.widths = widths

    def measure(self, text: str) -> int:
        return self.widths.get(text, 8)


def test_the_person_glyph_falls_back_when_no_font_draws_it():
    assert person_glyph(_Font({"\U0001f464": 15})) == "\U0001f464"  # type: ignore[arg-type]
    assert person_glyph(_Font({"\u263a": 14})) == "\u263a"  # type: ignore[arg-type]
    assert person_glyph(_Font({})) == "~"  # type: ignore[arg-type]


def _row_of(view, nick: str) -> str:
    tree = view.member_list
    return next(i for i in tree.get_children() if tree.item(i, "values")[0] == nick)


def test_away_members_are_greyed_with_their_away_text_on_hover(chat, connect):
    carol = connect("carol")
    carol.send("AWAY :back at two")  # before alice comes: the WHO on join tells
    carol.sync()
    bob = connect("bob")
    _controller, view = chat("alice")
    members = view.members
    pump(view, lambda: "away" in view.member_list.item(_row_of(view, "carol"), "tags"))
    assert "away" not in view.member_list.item(_row_of(view, "bob"), "tags")
    bob.send("AWAY :lunch")  # away-notify
    pump(view, lambda: "away" in view.member_list.item(_row_of(view, "bob"), "tags"))
    grey = view.member_list.tag_configure("away", "foreground")
    assert str(grey) == view.root.style.colors.secondary
    tree = view.member_list
    view.root.update()
    x, y, _w, h = tree.bbox(_row_of(view, "bob"))
    tree.event_generate("<Motion>", x=x + 5, y=y + h // 2)
    tip = members.away_tip
    assert tip.text == "bob is away: lunch"
    pump(view, lambda: tip.toplevel is not None, what="the tooltip shown")
    x, y, _w, h = tree.bbox(_row_of(view, "carol"))
    tree.event_generate("<Motion>", x=x + 5, y=y + h // 2)
    assert tip.text == "carol is away" and tip.id is not None  # shown after its delay
    x, y, _w, h = tree.bbox(_row_of(view, "alice"))
    tree.event_generate("<Motion>", x=x + 5, y=y + h // 2)
    assert tip.toplevel is None and tip.id is None  # alice is here: no tooltip
    tree.event_generate("<Leave>")
    tree.event_generate("<Enter>", x=x + 5, y=y + h // 2)
    assert tip.id is None  # entering the list over someone here shows nothing either
    bob.send("AWAY")
    pump(view, lambda: "away" not in view.member_list.item(_row_of(view, "bob"), "tags"))
