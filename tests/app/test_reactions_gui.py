"""Reactions and replies in the real window on the virtual display, with a real server
(keeping history) and raw peers: reacting from the picker and by clicking a reaction,
taking ours back, a peer's reactions counted, a reply quoted and sent with its tag, a
reply drawn under its quote, and a click on the quote going to the message it answers
(fetched with CHATHISTORY AROUND when it is not loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.caps import WANTED_CAPS
from app.view.annotations import UNLOADED_QUOTE
from tests.app.helpers import press_return, pump
from tests.support.ircclient import IRCClient

TAGS = ("message-tags", "echo-message", "server-time")


@pytest.fixture
def server(make_server, tmp_path: Path):
    """The test server, keeping history (5 messages a CHATHISTORY page at most)."""
    return make_server(data_dir=str(tmp_path), flood_rate=0, chathistory_max=5)


def _said(client: IRCClient, text: str, target: str = "#general") -> str:
    client.send(f"PRIVMSG {target} :{text}")
    return client.expect("PRIVMSG", target, text).tags["msgid"]


def _shown(view, text: str) -> None:
    pump(view, lambda: text in view.transcript_text(), what=repr(text))


def _range(view, tag: str) -> tuple[str, str]:
    text = view.chat_area.text
    ranges = text.tag_ranges(tag)
    assert ranges, f"nothing drawn with {tag}"
    return str(ranges[0]), str(ranges[-1])


def _point(view, index: str) -> tuple[int, int]:
    """Where ``index`` is on screen (scrolled into view), in the Text's coordinates."""
    text = view.chat_area.text
    text.see(index)
    view.root.update()
    box = text.bbox(index)
    assert box is not None
    return box[0] + 2, box[1] + box[3] // 2


def _click(view, index: str, button: int = 1) -> None:
    """A click at ``index`` of the transcript, as the pointer makes it."""
    text = view.chat_area.text
    x, y = _point(view, index)
    text.event_generate("<Motion>", x=x, y=y)  # the tag under the pointer is "current"
    text.event_generate(f"<Button-{button}>", x=x, y=y)
    view.root.update()


def _menu_labels(view, msgid: str) -> list[str]:
    """The menu opened on the message ``msgid`` (by where it is drawn): its labels."""
    transcript = view.transcript
    first, _ = _range(view, transcript.lines.tag_of(msgid))
    x, y = _point(view, first)
    transcript.prepare_menu(transcript.line_at(f"@{x},{y}"))
    menu = transcript.menu
    labels = []
    for index in range(int(menu.index("end")) + 1):
        if menu.type(index) != "separator":
            labels.append(menu.entrycget(index, "label"))
    return labels


def _choose(view, label: str) -> None:
    menu = view.transcript.menu
    for index in range(int(menu.index("end")) + 1):
        if menu.type(index) != "separator" and menu.entrycget(index, "label") == label:
            menu.invoke(index)
            view.root.update()
            return
    raise AssertionError(f"no {label!r} in the menu")


def _chips(view, msgid: str) -> str:
    tag = view.transcript.lines.tag_of(msgid)
    ranges = view.chat_area.text.tag_ranges(f"chips@{tag}") if tag else ()
    return view.chat_area.text.get(ranges[0], ranges[-1]).strip() if ranges else ""


def _own_chips(view) -> list[str]:
    text = view.chat_area.text
    ranges = text.tag_ranges("chip_own")
    return [text.get(a, b).strip() for a, b in zip(ranges[::2], ranges[1::2], strict=True)]


def _reaction(client: IRCClient) -> dict[str, str]:
    return client.expect("TAGMSG", "#general").tags


def test_react_from_the_picker_and_take_it_back(chat, connect) -> None:
    bob = connect("bob", caps=TAGS)
    _controller, view = chat("alice")
    msgid = _said(bob, "hello all")
    _shown(view, "hello all")
    assert _menu_labels(view, msgid)[:2] == ["Reply", "React…"]
    _choose(view, "React…")
    picker = view.picker
    assert picker is not None and picker.winfo_exists()
    picker.buttons["❤"].invoke()
    tags = _reaction(bob)
    assert tags["+draft/reply"] == msgid and tags["+draft/react"] == "❤"
    pump(view, lambda: _chips(view, msgid) == "❤ 1", what="our reaction shown")
    assert _own_chips(view) == ["❤ 1"]
    assert "hello all\n\t\t ❤ 1 \n" in view.transcript_text()  # under the message
    # A click on our own reaction takes it back (+draft/unreact).
    first, _ = _range(view, "chip_own")
    _click(view, first)
    tags = _reaction(bob)
    assert tags["+draft/reply"] == msgid and tags["+draft/unreact"] == "❤"
    pump(view, lambda: _chips(view, msgid) == "", what="our reaction gone")
    # A reaction typed into the picker.
    _menu_labels(view, msgid)
    _choose(view, "React…")
    picker = view.picker
    assert picker is not None
    picker.entry.insert(0, "  lol  ")
    picker.react_button.invoke()
    assert _reaction(bob)["+draft/react"] == "lol"
    pump(view, lambda: _chips(view, msgid) == "lol 1", what="typed reaction")


def test_a_peers_reactions_are_counted_and_joined(chat, connect) -> None:
    bob, carol = connect("bob", caps=TAGS), connect("carol", caps=TAGS)
    _controller, view = chat("alice")
    msgid = _said(bob, "ship it?")
    _shown(view, "ship it?")
    for peer in (bob, carol):
        peer.send(f"@+draft/reply={msgid};+draft/react=✅ TAGMSG #general")
    pump(view, lambda: _chips(view, msgid) == "✅ 2", what="two reactions")
    assert _own_chips(view) == []
    bob.send(f"@+draft/reply={msgid};+draft/react=✅ TAGMSG #general")  # again: no more
    carol.send(f"@+draft/reply={msgid};+draft/react=❤ TAGMSG #general")
    pump(view, lambda: _chips(view, msgid) == "✅ 2   ❤ 1", what="a second emoji")
    # Clicking someone else's reaction adds ours to it.
    first, _ = _range(view, f"chip@{view.transcript.lines.tag_of(msgid)}#0")
    _click(view, first)
    assert _reaction(bob)["+draft/react"] == "✅"
    pump(view, lambda: _own_chips(view) == ["✅ 3"], what="ours added")
    carol.send(f"@+draft/reply={msgid};+draft/unreact=✅ TAGMSG #general")
    pump(view, lambda: _chips(view, msgid) == "✅ 2   ❤ 1", what="carol took hers back")


def test_reactions_come_back_with_history(chat, connect) -> None:
    bob = connect("bob", caps=TAGS)
    msgid = _said(bob, "from before")
    bob.send(f"@+draft/reply={msgid};+draft/react=❤ TAGMSG #general")
    bob.expect("TAGMSG")
    _controller, view = chat("alice")
    _shown(view, "from before")
    pump(view, lambda: _chips(view, msgid) == "❤ 1", what="the reaction from history")


REDACTING = (*TAGS, "draft/message-redaction")


def _react(client: IRCClient, nick: str, msgid: str, emoji: str) -> str:
    """``client`` reacts to ``msgid``: the msgid of its TAGMSG, as the server echoed it."""
    client.send(f"@+draft/reply={msgid};+draft/react={emoji} TAGMSG #general")
    echo = client.expect(
        "TAGMSG", "#general", where=lambda m: m.tags.get("+draft/react") == emoji and m.nick == nick
    )
    return echo.tags["msgid"]


def test_deleting_a_reactions_tagmsg_takes_the_reaction_back(chat, connect) -> None:
    bob, carol = connect("bob", caps=REDACTING), connect("carol", caps=REDACTING)
    msgid = _said(bob, "from before")
    old = _react(carol, "carol", msgid, "❤")  # in the history the window loads
    _controller, view = chat("alice")
    _shown(view, "from before")
    pump(view, lambda: _chips(view, msgid) == "❤ 1", what="the reaction from history")
    mine = _react(bob, "bob", msgid, "✅")
    _react(carol, "carol", msgid, "✅")
    pump(view, lambda: _chips(view, msgid) == "❤ 1   ✅ 2", what="live reactions")
    bob.send(f"REDACT #general {mine}")  # bob takes his back by deleting it
    bob.expect("REDACT")
    pump(view, lambda: _chips(view, msgid) == "❤ 1   ✅ 1", what="counted down")
    carol.send(f"REDACT #general {old}")
    carol.expect("REDACT")
    pump(view, lambda: _chips(view, msgid) == "✅ 1", what="the loaded one gone")
    assert "from before" in view.transcript_text()  # the message itself stays


def test_reply_is_quoted_sent_with_its_tag_and_drawn_under_its_quote(chat, connect) -> None:
    bob = connect("bob", caps=TAGS)
    plain = connect("plain")
    _controller, view = chat("alice")
    msgid = _said(bob, "who has the keys?")
    _shown(view, "who has the keys?")
    _menu_labels(view, msgid)
    _choose(view, "Reply")
    pump(view, lambda: view.reply_bar.winfo_ismapped(), what="the reply bar")
    assert view.reply_bar.quote == "bob: who has the keys?"
    press_return(view, "I do")
    got = bob.expect("PRIVMSG", "#general", "I do")
    assert got.tags["+draft/reply"] == msgid
    assert "+draft/reply" not in plain.expect("PRIVMSG", "#general", "I do").tags
    pump(view, lambda: not view.reply_bar.winfo_ismapped(), what="the bar gone")
    _shown(view, "\t\t↪ bob: who has the keys?\n")
    shown = view.transcript_text()
    assert shown.index("↪ bob: who has the keys?") < shown.index("I do")
    # The next message answers nothing; nor does one after the bar's close button.
    press_return(view, "plain again")
    assert "+draft/reply" not in bob.expect("PRIVMSG", "#general", "plain again").tags
    _menu_labels(view, msgid)
    _choose(view, "Reply")
    view.reply_bar.cancel_button.invoke()
    view.root.update()
    assert not view.reply_bar.winfo_ismapped()
    press_return(view, "after cancelling")
    assert "+draft/reply" not in bob.expect("PRIVMSG", "#general", "after cancelling").tags

    # A peer's reply to us is drawn under its quote too (once our line is the echo, with
    # its msgid: the line before it already has one).
    def last():
        return view.conversations["#general"].lines[-1]

    pump(view, lambda: last().text == "after cancelling" and last().msgid, what="the echo")
    ours = last()
    bob.send(f"@+draft/reply={ours.msgid} PRIVMSG #general :noted")
    _shown(view, "\t\t↪ alice: after cancelling\n")


def test_clicking_a_quote_goes_to_the_message_loaded_or_not(chat, connect) -> None:
    bob = connect("bob", caps=TAGS)
    original = _said(bob, "the original question")
    for n in range(80):  # many more than fill the window, pages of 5 at a time
        _said(bob, f"filler {n}")
    controller, view = chat("alice")
    _shown(view, "filler 79")
    assert "the original question" not in view.transcript_text()
    bob.send(f"@+draft/reply={original} PRIVMSG #general :the answer")
    _shown(view, f"\t\t↪ {UNLOADED_QUOTE}\n")
    assert "the original question" not in view.transcript_text()
    first, _ = _range(view, "quote")
    _click(view, first)
    # Not loaded: asked for around it (CHATHISTORY AROUND), drawn on top, and shown.
    assert controller.reacting.wanted == {"#general": original}
    pump(view, lambda: "the original question" in view.transcript.flashed(), what="jumped")
    shown = view.transcript_text()
    assert shown.index("the original question") < shown.index("filler 79")
    assert shown.index("filler 2") < shown.index("— later messages not loaded —")
    assert not view.transcript.follow.following
    # Loaded now: a click goes straight there.
    view.transcript.follow.jump()
    view.transcript._unflash()
    first, _ = _range(view, "quote")
    _click(view, first)
    assert "the original question" in view.transcript.flashed()


def test_nothing_is_offered_without_message_tags(server, make_chat, connect) -> None:
    bob = connect("bob", caps=TAGS)
    caps = tuple(cap for cap in WANTED_CAPS if cap != "message-tags")
    _controller, view = make_chat(server.port, "alice", wanted_caps=caps)
    pump(view, lambda: "#general" in view.conversations, what="joined")
    _said(bob, "no tags here")
    _shown(view, "no tags here")
    line = view.conversations["#general"].lines[-1]
    view.transcript.prepare_menu(line)
    assert "Reply" not in _labels(view) and "React…" not in _labels(view)


def _labels(view) -> list[str]:
    menu = view.transcript.menu
    return [
        menu.entrycget(i, "label")
        for i in range(int(menu.index("end")) + 1)
        if menu.type(i) != "separator"
    ]
