"""The window and its member list against a real server on the virtual display: the
header's topic hint, private conversations counted and marked, away members greyed."""

from __future__ import annotations

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
