"""The real window on the virtual X display: typed into, clicked, and talking to a raw peer."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from app.settings import Settings
from app.text import Line
from app.ui import ICON
from tests.app.helpers import pump


def transcript(view) -> str:
    return view.chat_area.get("1.0", "end-1c")


def type_into(view, widget, text: str) -> None:
    widget.delete(0, "end")
    widget.insert(0, text)
    view.root.update()


def press(view, widget, key: str) -> None:
    view.root.focus_force()
    widget.focus_force()
    view.root.update()
    widget.event_generate(key)
    view.root.update()


def test_the_spec_widgets_exist_with_their_names(make_view):
    view = make_view()
    view.root.update()
    assert view.name_label.cget("text") == "Name"
    assert view.send_button.cget("text") == "Send"
    assert view.chat_area.text.winfo_class() == "Text"
    assert view.name_entry.winfo_class() == "TEntry"
    assert view.message_entry.winfo_class() == "Text"  # a box that grows with Shift+Enter
    # The message entry holds the focus when the window opens.
    assert view.root.focus_lastfor() is view.message_entry
    # The transcript is read-only.
    assert str(view.chat_area.cget("state")) == "disabled"
    for widget in (view.chat_area, view.message_entry, view.send_button, view.name_entry):
        assert widget.winfo_ismapped()


def test_send_button_reaches_a_peer_and_the_reply_appears(chat, connect):
    bob = connect("bob")
    _controller, view = chat("alice")
    assert view.name_entry.get() == "alice"
    type_into(view, view.message_entry, "hello from the window")
    view.send_button.invoke()
    message = bob.expect("PRIVMSG", "#general", "hello from the window")
    assert message.nick == "alice"
    assert view.message_entry.get() == ""
    assert view.root.focus_lastfor() is view.message_entry
    pump(view, lambda: "hello from the window" in transcript(view), what="own echo")
    bob.send("PRIVMSG #general :hi alice, welcome 👋")
    pump(view, lambda: "hi alice, welcome 👋" in transcript(view), what="reply")
    line = next(ln for ln in transcript(view).splitlines() if "welcome" in ln)
    assert line[:5].replace(":", "").isdigit()  # HH:MM first
    assert "bob" in line
    # Mentions are highlighted.
    ranges = view.chat_area.tag_ranges("mention")
    assert ranges and "welcome" in view.chat_area.get(ranges[0], ranges[1])


def test_return_key_sends_and_up_recalls(chat, connect):
    bob = connect("bob")
    _controller, view = chat("alice")
    type_into(view, view.message_entry, "first line")
    press(view, view.message_entry, "<Return>")
    bob.expect("PRIVMSG", "#general", "first line")
    type_into(view, view.message_entry, "draft")
    press(view, view.message_entry, "<Up>")
    assert view.message_entry.get() == "first line"
    press(view, view.message_entry, "<Down>")
    assert view.message_entry.get() == "draft"


def test_slash_commands_from_the_entry(chat, connect):
    bob = connect("bob")
    _controller, view = chat("alice")
    type_into(view, view.message_entry, "/me waves")
    press(view, view.message_entry, "<Return>")
    bob.expect("PRIVMSG", "#general", "\x01ACTION waves\x01")
    pump(view, lambda: "waves" in transcript(view))
    assert view.chat_area.tag_ranges("action")
    type_into(view, view.message_entry, "/join #dev")
    press(view, view.message_entry, "<Return>")
    pump(view, lambda: view.conversations.current == "#dev", what="#dev opened")
    assert view.title_label.cget("text") == "#dev"
    assert "#dev" in view.root.title()
    type_into(view, view.message_entry, "/bogus")
    press(view, view.message_entry, "<Return>")
    pump(view, lambda: "Unknown command /bogus" in transcript(view))
    type_into(view, view.message_entry, "/topic Release day")
    press(view, view.message_entry, "<Return>")
    pump(view, lambda: view.topic_label.cget("text") == "Release day", what="topic line")


def test_name_entry_changes_the_nick(chat, connect):
    bob = connect("bob")
    controller, view = chat("alice")
    type_into(view, view.name_entry, "alicia")
    press(view, view.name_entry, "<Return>")
    bob.expect("NICK", "alicia")
    pump(view, lambda: controller.model.nick == "alicia")
    pump(view, lambda: "You are now known as alicia" in transcript(view))
    assert view.name_entry.get() == "alicia"
    assert Settings.load().nick == "alicia"


def test_tab_completes_a_member(chat, connect):
    connect("bobby_tables")
    _controller, view = chat("alice")
    pump(view, lambda: len(view.conversations["#general"].members) == 2)
    type_into(view, view.message_entry, "bob")
    view.message_entry.icursor("end")
    press(view, view.message_entry, "<Tab>")
    assert view.message_entry.get() == "bobby_tables: "
    assert view.root.focus_get() is view.message_entry  # Tab did not move the focus


def test_members_ops_first_and_direct_messages(chat, connect):
    bob = connect("bob")
    _controller, view = chat("alice")
    pump(view, lambda: len(view.conversations["#general"].members) == 2)
    labels = [view.member_list.item(i, "text") for i in view.member_list.get_children()]
    assert labels == ["@ bob", "  alice"]  # bob was first in #general: the op
    bob.send("PRIVMSG alice :a private word")
    pump(view, lambda: "bob" in view.conversations, what="DM conversation")
    assert view.conversation_list.item("conversation:bob", "values")[0] in (1, "1")
    assert "a private word" not in transcript(view)
    view.conversation_list.selection_set("conversation:bob")
    pump(view, lambda: view.conversations.current == "bob")
    assert "a private word" in transcript(view)
    assert view.conversation_list.item("conversation:bob", "values")[0] == ""


def test_unread_mentions_show_in_the_title(make_view):
    view = make_view()
    view.add_conversation("#a", "#a")
    view.add_conversation("#b", "#b")
    view.root.update()
    assert view.conversations.current == "#a"
    view.append("#b", Line("message", "10:00", "bob", "hey alice", mention=True))
    view.append("#b", Line("message", "10:01", "bob", "plain"))
    view.append("#b", Line("event", "10:01", "→", "carol joined"))
    assert view.root.title().startswith("(1) #a")
    assert view.conversation_list.item("conversation:#b", "values")[0] in (2, "2")
    assert "mention" in view.conversation_list.item("conversation:#b", "tags")
    view.show_conversation("#b")
    assert view.root.title() == "#b — Kibitz"
    assert "hey alice" in transcript(view) and "carol joined" in transcript(view)


def test_nasty_text_never_raises(make_view):
    view = make_view()
    view.add_conversation("#a", "#a")
    nasty = [
        "nul\0byte",
        "lone \ud800 surrogate",
        "emoji 😀🎉 and 👩‍👩‍👧",
        "bidi \u202eevil",
        "\x1b[31mansi",
        "x" * 20000,
        "",
        "tab\tand\r\nnewline",
    ]
    for text in nasty:
        view.append("#a", Line("message", "10:00", "b\0ob\ud800", text))
        view.set_topic("#a", text)
        view.set_message(text)
    view.root.title()
    view.root.update()
    shown = transcript(view)
    assert "emoji 😀🎉" in shown
    assert "nul\ufffdbyte" in shown
    # One transcript line each, but for the line feed: it starts a line of the same
    # message under its text column (a multi-line message), never a line of its own.
    assert len(shown.splitlines()) == len(nasty) + 1
    assert "\ttab    and\ufffd\n\t\tnewline\n" in shown


def test_scrollback_is_capped_and_autoscroll_only_at_the_bottom(make_view):
    view = make_view(scrollback=300)
    view.add_conversation("#a", "#a")
    for i in range(1000):
        view.append("#a", Line("message", "10:00", "bob", f"line {i}"))
    view.root.update()
    lines = int(view.chat_area.index("end-1c").split(".")[0])
    assert lines <= 300 + 101
    assert "line 999" in transcript(view) and "line 0\n" not in transcript(view)
    assert len(view.conversations["#a"].lines) == 300
    assert view.chat_area.yview()[1] == 1.0  # followed the new lines
    view.chat_area.yview_moveto(0.0)
    view.root.update()
    top = view.chat_area.yview()[0]
    view.append("#a", Line("message", "10:00", "bob", "while reading"))
    view.root.update()
    assert view.chat_area.yview()[0] == top  # reading older lines: no jump
    assert view.chat_area.yview()[1] < 1.0


def test_urls_are_clickable(make_view):
    view = make_view()
    opened: list[str] = []
    view.open_url = opened.append
    view.add_conversation("#a", "#a")
    view.append("#a", Line("message", "10:00", "bob", "docs at www.example.org/page, see"))
    pump(view, lambda: view.chat_area.text.winfo_viewable(), what="window shown")
    start, end = view.chat_area.tag_ranges("url")
    assert view.chat_area.get(start, end) == "www.example.org/page"
    text = view.chat_area.text  # (the scrolled frame's own bbox is the grid's)
    x, y, _width, height = text.bbox(f"{start}+3c")
    # Tk picks the tag under the pointer from where the pointer really is: move it there.
    text.event_generate("<Motion>", x=x + 1, y=y + height // 2, warp=True)
    view.root.update()
    assert "url" in text.tag_names("current")
    text.event_generate("<Button-1>", x=x + 1, y=y + height // 2)
    view.root.update()
    assert opened == ["https://www.example.org/page"]


def test_theme_toggle_is_remembered(chat):
    _controller, view = chat("alice")
    before = view.chat_area.cget("background")
    assert view.root.theme_mode == "light"
    view.theme_button.invoke()
    view.root.update()
    assert view.root.theme_mode == "dark"
    assert view.chat_area.cget("background") != before
    assert view.theme_button.cget("text") == "Light mode"
    assert Settings.load().theme == "bootstrap-dark"


def test_closing_the_window_sends_quit(chat, connect):
    bob = connect("bob")
    controller, view = chat("alice")
    bob.expect("JOIN", "#general", where=lambda m: m.nick == "alice")
    view.root.tk.call(view.root.protocol("WM_DELETE_WINDOW"))
    message = bob.expect("QUIT", where=lambda m: m.nick == "alice")
    assert "Leaving" in message.params[0]
    assert controller.closed
    assert not controller.model.connected


def test_status_bar_follows_the_connection(make_server, make_view):
    first = make_server()
    from app.controller import ChatController
    from app.model import ChatModel

    release = threading.Event()
    model = ChatModel(
        "127.0.0.1", first.port, "alice", sleep=lambda d: release.wait(5), rand=lambda: 1.0
    )
    view = make_view()
    controller = ChatController(model, view, None)
    controller.start()
    try:
        pump(view, lambda: "Connected to" in view.status_label.cget("text"))
        first.stop()
        pump(view, lambda: "reconnecting in" in view.status_label.cget("text"), what="status")
        assert "Disconnected" in transcript(view)
    finally:
        release.set()
        controller.close()


def test_shared_ui_pieces_on_the_window(make_view):
    from app.ui import headed_tree, toggle_theme, trim_lines, use_theme

    view = make_view()
    assert use_theme(view.root, "no-such-theme").startswith("Unknown theme 'no-such-theme'")
    assert use_theme(view.root, "light") == ""
    assert toggle_theme(view.root) == "bootstrap-dark"
    tree = headed_tree(view.sidebar, [("nick", "Nick", 80, True), ("idle", "Idle", 40, False)], 3)
    assert (tree.heading("nick", "text"), tree.heading("idle", "text")) == ("Nick", "Idle")
    text = view.chat_area.text
    text.configure(state="normal")
    text.insert("end", "".join(f"line {i}\n" for i in range(250)))
    trim_lines(text, 100)
    assert text.get("1.0", "1.end") == "line 151" and "line 249" in text.get("1.0", "end")


def xprop(view, name: str) -> str:
    """An X property of the window's toplevel, as xprop prints it."""
    view.root.update()
    # With no window manager, the X window holding the properties is Tk's wrapper: the
    # parent of the root widget's own window.
    tree = run(["xwininfo", "-children", "-id", str(view.root.winfo_id())])
    wrapper = tree.split("Parent window id:", 1)[1].split()[0]
    return run(["xprop", "-id", wrapper, name])


def run(command: list[str]) -> str:
    """A command's output (it must succeed)."""
    return subprocess.run(command, capture_output=True, text=True, timeout=10, check=True).stdout


def test_the_title_says_what_is_open_who_we_are_and_where(chat, server, connect):
    bob = connect("bob")
    controller, view = chat("alice")
    where = f"127.0.0.1:{server.port}"
    assert view.root.title() == f"#general — alice @ {where} — Kibitz"
    controller.open_direct("bob")
    pump(view, lambda: view.conversations.current == "bob")
    assert view.root.title() == f"bob — alice @ {where} — Kibitz"
    type_into(view, view.name_entry, "alicia")
    press(view, view.name_entry, "<Return>")
    bob.expect("NICK", "alicia")
    pump(view, lambda: view.root.title() == f"bob — alicia @ {where} — Kibitz", what="title")
    view.show_conversation("#general")
    assert view.root.title() == f"#general — alicia @ {where} — Kibitz"


def test_the_chat_window_has_the_kibitz_class_and_icon(make_view):
    view = make_view()
    assert view.root.winfo_class() == "Kibitz"
    assert 'WM_CLASS(STRING) = "kibitz", "Kibitz"' in xprop(view, "WM_CLASS")
    # iconphoto puts the image in _NET_WM_ICON: ours is 64 x 64 (ttkbootstrap's is 512).
    assert "Icon (64 x 64)" in xprop(view, "_NET_WM_ICON")
    # The packaged icon is the one assets/make_icon.py draws (a link, so a wheel copies it).
    assert ICON.resolve() == (Path(__file__).parents[2] / "assets" / "kibitz.png").resolve()
