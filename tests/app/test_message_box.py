"""The message box in the real window: Shift+Enter starts a new line, Enter sends every
line, Up/Down move between lines before they recall, and the box grows with its lines."""

from __future__ import annotations

from app.view.message_box import MAX_LINES
from tests.app.helpers import pump


def press(view, key: str) -> None:
    entry = view.message_entry
    view.root.focus_force()
    entry.focus_force()
    view.root.update()
    entry.event_generate(key)
    view.root.update()


def test_shift_enter_starts_a_line_and_enter_sends_them_all(chat, connect):
    bob = connect("bob")
    _controller, view = chat("alice")
    entry = view.message_entry
    assert int(entry.cget("height")) == 1
    entry.insert("end", "first line")
    press(view, "<Shift-Return>")
    entry.insert("end", "second line")
    view.root.update()
    assert entry.get() == "first line\nsecond line"
    assert int(entry.cget("height")) == 2
    assert not [m for m in bob.sync() if m.command == "PRIVMSG"]  # nothing sent yet
    press(view, "<Return>")
    assert bob.expect("PRIVMSG").params == ["#general", "first line"]
    assert bob.expect("PRIVMSG").params == ["#general", "second line"]
    assert entry.get() == ""
    pump(view, lambda: int(entry.cget("height")) == 1, what="back to one line")


def test_up_and_down_move_between_lines_then_recall(chat, connect):
    bob = connect("bob")
    _controller, view = chat("alice")
    entry = view.message_entry
    entry.insert("end", "sent before")
    press(view, "<Return>")
    bob.expect("PRIVMSG", "#general", "sent before")
    entry.insert("end", "one")
    press(view, "<Shift-Return>")
    entry.insert("end", "two")
    view.root.update()
    press(view, "<Up>")  # on the second line: the cursor goes up a line
    assert entry.get() == "one\ntwo" and entry.cursor() <= len("one")
    press(view, "<Up>")  # on the first line: recall
    assert entry.get() == "sent before"
    press(view, "<Down>")
    assert entry.get() == "one\ntwo"  # the draft, with its lines


def test_the_box_grows_up_to_its_limit_and_a_paste_keeps_its_lines(chat):
    _controller, view = chat("alice")
    entry = view.message_entry
    view.set_message("\n".join(f"line {i}" for i in range(12)))
    view.root.update()
    assert entry.get().splitlines() == [f"line {i}" for i in range(12)]
    assert int(entry.cget("height")) == MAX_LINES
    view.set_message("")
    view.root.update()
    assert int(entry.cget("height")) == 1
