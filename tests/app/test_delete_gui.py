"""Deleting messages in the real window on the virtual display, with a real server that
keeps history (so it offers draft/message-redaction) and raw peers: right-click on your
own message → "Delete…" → a question → REDACT; Cancel sends nothing; an operator may
delete anyone's channel message; a deletion by anyone shows "message deleted" with its
time and nick; a refusal is a line saying why; nothing is offered without the capability."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.text import DELETED
from tests.app.helpers import pump
from tests.support.ircclient import IRCClient

CAP = "draft/message-redaction"
PEER = ("message-tags", "echo-message", CAP)


@pytest.fixture
def server(make_server, tmp_path: Path):
    """The test server, keeping history (the capability needs it)."""
    return make_server(data_dir=str(tmp_path), flood_rate=0)


def _say(controller, view, text: str):
    """Send ``text`` from the window; its line once the echo gave it a msgid."""
    view.set_message(text)
    controller.send()
    return pump(view, lambda: _line(view, text), what=f"{text!r} echoed")


def _line(view, text: str):
    """The line of the open conversation saying ``text`` with a msgid, if shown."""
    conversation = view.conversations[view.conversations.current]
    return next((ln for ln in conversation.lines if ln.text == text and ln.msgid), None)


def _right_click(view, text: str) -> list[str]:
    """Right-click on the transcript where ``text`` is drawn; the menu's labels."""
    chat = view.transcript.chat_area.text
    view.root.update()
    index = chat.search(text, "1.0", "end")
    assert index, f"{text!r} not drawn"
    chat.see(index)
    view.root.update()
    x, y, _, _ = chat.bbox(index)
    chat.event_generate("<Button-3>", x=x + 2, y=y + 2)
    view.root.update()
    menu = view.transcript.menu
    # Dismissed as a click elsewhere would: unposted, and the popup's grab let go.
    menu.unpost()
    menu.grab_release()
    return [
        str(menu.entrycget(i, "label"))
        for i in range(int(menu.index("end")) + 1)
        if menu.type(i) != "separator"
    ]


def _choose_delete(view) -> None:
    menu = view.transcript.menu
    labels = [
        menu.entrycget(i, "label") if menu.type(i) != "separator" else ""
        for i in range(int(menu.index("end")) + 1)
    ]
    menu.invoke(labels.index("Delete…"))
    pump(view, lambda: view.confirm_dialog is not None and view.confirm_dialog.open)


def _redacts(peer: IRCClient) -> list[list[str]]:
    return [m.params for m in peer.sync() if m.command == "REDACT"]


def test_delete_your_own_message_after_confirming(chat, connect) -> None:
    controller, view = chat("alice")
    bob = connect("bob", PEER)
    line = _say(controller, view, "oops, wrong window")
    assert bob.expect("PRIVMSG").tags["msgid"] == line.msgid
    assert "Delete…" in _right_click(view, "oops, wrong window")
    _choose_delete(view)
    dialog = view.confirm_dialog
    assert "oops, wrong window" in str(dialog.question_label.cget("text"))
    assert str(dialog.ok_button.cget("text")) == "Delete"
    dialog.ok_button.invoke()
    assert bob.expect("REDACT").params == ["#general", line.msgid]  # no reason made up
    pump(view, lambda: DELETED in view.transcript_text(), what="message deleted shown")
    shown = view.transcript_text()
    assert "oops, wrong window" not in shown
    # The line keeps its time and nick; only its text is gone.
    assert f"{line.time}\talice\t{DELETED}" in shown


def test_cancel_deletes_nothing(chat, connect) -> None:
    controller, view = chat("alice")
    bob = connect("bob", PEER)
    _say(controller, view, "keep me")
    bob.expect("PRIVMSG")
    _right_click(view, "keep me")
    _choose_delete(view)
    view.confirm_dialog.cancel_button.invoke()
    view.root.update()
    assert _redacts(bob) == []
    assert "keep me" in view.transcript_text()


def test_someone_elses_message_is_not_offered_to_a_member(connect, chat) -> None:
    bob = connect("bob", PEER)  # first in #general: bob is its operator, not alice
    _controller, view = chat("alice")
    bob.send("PRIVMSG #general :bob's words")
    pump(view, lambda: "bob's words" in view.transcript_text(), what="bob's message")
    assert "Delete…" not in _right_click(view, "bob's words")


def test_an_operator_may_delete_anyones(chat, connect) -> None:
    controller, view = chat("alice")  # first in #general: its operator
    bob = connect("bob", PEER)
    pump(view, lambda: controller.model.is_op("#general"), what="alice is op")
    bob.send("PRIVMSG #general :spam spam")
    msgid = bob.expect("PRIVMSG").tags["msgid"]
    pump(view, lambda: "spam spam" in view.transcript_text(), what="bob's message")
    assert "Delete…" in _right_click(view, "spam spam")
    _choose_delete(view)
    assert "bob" in str(view.confirm_dialog.question_label.cget("text"))
    view.confirm_dialog.ok_button.invoke()
    redact = bob.expect("REDACT")
    assert redact.source.startswith("alice!") and redact.params == ["#general", msgid]
    pump(view, lambda: "spam spam" not in view.transcript_text(), what="deleted here too")
    assert f"\tbob\t{DELETED} by alice\n" in view.transcript_text()  # who did it, said


def test_a_peers_deletion_shows_message_deleted(chat, connect) -> None:
    _controller, view = chat("alice")
    bob = connect("bob", PEER)
    bob.send("PRIVMSG #general :regret this")
    msgid = bob.expect("PRIVMSG").tags["msgid"]
    pump(view, lambda: "regret this" in view.transcript_text(), what="bob's message")
    assert "Reply" in _right_click(view, "regret this")
    bob.send(f"REDACT #general {msgid} :typo")
    pump(view, lambda: "regret this" not in view.transcript_text(), what="deleted")
    shown = view.transcript_text()
    assert f"\tbob\t{DELETED} (typo)\n" in shown  # his own: no "by", his reason kept
    line = view.conversations["#general"].lines[-1]
    assert line.deleted and line.msgid == msgid
    offered = _right_click(view, DELETED)
    # Nothing left to delete, to answer or to react to.
    assert not {"Delete…", "Reply", "React…"} & set(offered), offered


def test_a_refusal_is_shown(connect, chat) -> None:
    bob = connect("bob", PEER)  # the operator
    controller, view = chat("alice")
    line = _say(controller, view, "about to go")
    bob.expect("PRIVMSG")
    _right_click(view, "about to go")
    _choose_delete(view)
    # Meanwhile the operator deletes it: alice's REDACT finds nothing to delete.
    bob.send(f"REDACT #general {line.msgid}")
    pump(view, lambda: "about to go" not in view.transcript_text(), what="deleted by bob")
    view.confirm_dialog.ok_button.invoke()
    pump(
        view,
        lambda: "could not be deleted: the server no longer has it" in view.transcript_text(),
        what="the refusal shown",
    )


def test_nothing_is_offered_without_the_capability(make_server, make_chat) -> None:
    plain = make_server(flood_rate=0)  # no history: no draft/message-redaction
    controller, view = make_chat(plain.port, "alice")
    pump(view, lambda: controller.model.registered and controller.model.joined())
    _say(controller, view, "stays forever")
    assert CAP not in controller.model.caps
    assert "Delete…" not in _right_click(view, "stays forever")


def test_a_hostile_reason_is_shown_harmless(chat, connect) -> None:
    _controller, view = chat("alice")
    bob = connect("bob", PEER)
    bob.send("PRIVMSG #general :fine words")
    msgid = bob.expect("PRIVMSG").tags["msgid"]
    pump(view, lambda: "fine words" in view.transcript_text(), what="bob's message")
    bob.send(f"REDACT #general {msgid} :\u202eevil\x07 reason")
    pump(view, lambda: "fine words" not in view.transcript_text(), what="deleted")
    assert f"{DELETED} (\ufffdevil\ufffd reason)" in view.transcript_text()


def test_delete_your_own_private_message(chat, connect) -> None:
    controller, view = chat("alice")
    bob = connect("bob", PEER)
    bob.send("PRIVMSG alice :psst")
    pump(view, lambda: "bob" in view.conversations, what="bob's conversation")
    controller.select("bob")
    line = _say(controller, view, "meant for carol")
    assert bob.expect("PRIVMSG", "bob", "meant for carol").tags["msgid"] == line.msgid
    assert "Delete…" in _right_click(view, "meant for carol")
    assert "Delete…" not in _right_click(view, "psst")  # only its sender may delete one
    _right_click(view, "meant for carol")
    _choose_delete(view)
    view.confirm_dialog.ok_button.invoke()
    assert bob.expect("REDACT").params == ["bob", line.msgid]
    pump(view, lambda: "meant for carol" not in view.transcript_text(), what="deleted")
    assert f"\talice\t{DELETED}\n" in view.transcript_text()


def test_a_reply_to_a_deleted_message_quotes_only_that_it_was_deleted(chat, connect) -> None:
    _controller, view = chat("alice")
    bob = connect("bob", PEER)
    bob.send("PRIVMSG #general :regret this")
    msgid = bob.expect("PRIVMSG").tags["msgid"]
    bob.send(f"@+draft/reply={msgid} PRIVMSG #general :and this answers it")
    pump(view, lambda: "\t\t↪ bob: regret this\n" in view.transcript_text(), what="quoted")
    bob.send(f"REDACT #general {msgid} :typo")
    pump(view, lambda: "regret this" not in view.transcript_text(), what="deleted")
    shown = view.transcript_text()
    assert f"\t\t↪ bob: {DELETED}\n" in shown  # the quote: no reason repeated
    assert f"\tbob\t{DELETED} (typo)\n" in shown  # the deleted line keeps it
