"""The transcript on the virtual display: following the end, the new-messages button,
the columns."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.settings import Settings
from app.text import Line
from app.view.columns import GAP, NICK_SHARE, TIME_HIDDEN_BELOW
from app.view.window import MEMBERS_HIDDEN_BELOW
from tests.app.helpers import pump


def transcript(view) -> str:
    return view.chat_area.get("1.0", "end-1c")


def shows_the_end(view) -> bool:
    """The last line is on screen and nothing is below the view."""
    view.root.update()
    text = view.chat_area.text
    return text.dlineinfo("end-2c") is not None and text.yview()[1] == 1.0


def fill(view, key: str = "#a", count: int = 80) -> None:
    view.add_conversation(key, key)
    for i in range(count):
        view.append(key, Line("message", "10:00", "bob", f"line {i} " + "filler " * 20))
    view.root.update()


def wheel_up(view, notches: int = 3) -> None:
    """The user turns the mouse wheel up over the transcript (X11 buttons 4/5)."""
    text = view.chat_area.text
    for _ in range(notches):
        text.event_generate("<Button-4>")
    view.root.update()


def test_following_holds_when_the_window_gets_narrower(chat, connect):
    bob = connect("bob")
    _controller, view = chat("alice")
    view.root.geometry("1040x880")
    for i in range(20):  # each wraps to a few lines: more than a screenful
        bob.send(f"PRIVMSG #general :filling the screen, line {i} " + "and more words " * 20)
    pump(view, lambda: "line 19" in transcript(view), what="a screenful")
    assert view.chat_area.yview()[0] > 0.0
    pump(view, lambda: shows_the_end(view), what="the end in view")
    text = view.chat_area.text
    wide = text.winfo_width()
    view.root.geometry("700x880")  # as `xdotool windowsize WID 700 880` does
    pump(view, lambda: text.winfo_width() < wide, what="the narrower window")
    view.root.update()
    bob.send("PRIVMSG #general :said after the resize")
    pump(view, lambda: "said after the resize" in transcript(view), what="the new line")
    pump(view, lambda: shows_the_end(view), what="the view following the new line")
    assert not view.transcript.follow.button.winfo_ismapped()


def test_following_holds_through_a_theme_change_and_a_conversation_switch(make_view):
    view = make_view(size=(1040, 700))
    fill(view, "#a")
    fill(view, "#b")
    view.show_conversation("#a")
    view.toggle_theme()
    pump(view, lambda: shows_the_end(view), what="the end after the theme change")
    view.show_conversation("#b")
    view.show_conversation("#a")
    view.root.geometry("640x700")
    view.root.update()
    view.append("#a", Line("message", "10:01", "bob", "the latest word"))
    pump(view, lambda: shows_the_end(view), what="the end after the switch and resize")


def test_scrolled_up_new_messages_are_counted_and_the_button_jumps(make_view):
    view = make_view(size=(1040, 700))
    fill(view)
    text = view.chat_area.text
    button = view.transcript.follow.button
    assert not button.winfo_ismapped()
    wheel_up(view)
    top = text.index("@0,0")
    assert not view.transcript.follow.following
    for i in range(3):
        view.append("#a", Line("message", "10:02", "carol", f"news {i}"))
    view.append("#a", Line("event", "10:02", "→", "dave joined #a"))  # not a message
    view.root.update()
    assert text.index("@0,0") == top  # reading older lines: the view did not move
    assert button.winfo_ismapped()
    assert button.cget("text") == "↓ 3 new messages"
    view.append("#a", Line("server", "10:02", "irc.test", "restart at noon"))  # counts
    assert button.cget("text") == "↓ 4 new messages"
    # Over the transcript's bottom edge, inside it.
    assert button.winfo_rooty() + button.winfo_height() <= text.winfo_rooty() + text.winfo_height()
    assert button.winfo_rooty() > text.winfo_rooty() + text.winfo_height() // 2
    button.invoke()
    assert shows_the_end(view)
    assert not button.winfo_ismapped()
    # Following again: the next message moves the view.
    view.append("#a", Line("message", "10:03", "carol", "and one more"))
    assert shows_the_end(view)


def test_end_and_scrolling_down_to_the_end_hide_the_button(make_view):
    view = make_view(size=(1040, 700))
    fill(view)
    button = view.transcript.follow.button
    wheel_up(view)
    view.append("#a", Line("message", "10:02", "carol", "one"))
    view.root.update()
    assert button.cget("text") == "↓ 1 new message" and button.winfo_ismapped()
    text = view.chat_area.text
    text.focus_force()
    view.root.update()
    text.event_generate("<End>")
    assert shows_the_end(view) and not button.winfo_ismapped()
    wheel_up(view)
    view.append("#a", Line("message", "10:02", "carol", "two"))
    view.root.update()
    assert button.winfo_ismapped()
    for _ in range(20):
        text.event_generate("<Button-5>")  # the wheel down, back to the end
    view.root.update()
    assert view.transcript.follow.following and not button.winfo_ismapped()
    view.append("#a", Line("message", "10:02", "carol", "three"))
    assert shows_the_end(view)


def stops(view) -> tuple[int, int]:
    """The transcript's tab stops: where the nick column ends, where the text starts."""
    tabs = [str(item) for item in view.chat_area.text.cget("tabs")]
    assert tabs[1::2] == ["right", "left"]
    return int(tabs[0]), int(tabs[2])


def time_hidden(view) -> bool:
    return str(view.chat_area.text.tag_cget("time", "elide")) in ("1", "true")


def test_the_columns_adapt_to_the_width_and_the_longest_nick(make_view):
    view = make_view(size=(1040, 700))
    view.add_conversation("#a", "#a")
    bold, time_width = view.fonts.bold, view.fonts.normal.measure("00:00")
    view.append("#a", Line("message", "10:00", "bob", "a short name " * 10))
    view.root.update()
    text = view.chat_area.text
    assert text.winfo_width() >= TIME_HIDDEN_BELOW + 40
    # Wide: the time is shown, and the nick column is as wide as "bob", not nine m's.
    want = time_width + GAP + bold.measure("bob")
    pump(view, lambda: stops(view)[0] == want, what=f"the nick column ending at {want}")
    assert not time_hidden(view)
    assert stops(view)[1] == want + GAP
    assert int(str(text.tag_cget("line", "lmargin2"))) == want + GAP  # wrapped lines hang
    # A longer nick appears: the column grows to it.
    view.append("#a", Line("message", "10:01", "bartholomew", "a longer one"))
    want = time_width + GAP + bold.measure("bartholomew")
    pump(view, lambda: stops(view)[0] == want, what="the column sized to the longer nick")
    # Narrow: no time, and the nick column takes at most a quarter of the width.
    view.root.geometry("600x700")
    pump(view, lambda: text.winfo_width() < TIME_HIDDEN_BELOW, what="the narrow window")
    pump(view, lambda: time_hidden(view), what="the time hidden")
    nick_end, text_start = stops(view)
    room = text.winfo_width() - 2 * int(str(text.cget("padx")))
    assert nick_end == min(bold.measure("bartholomew"), int(room * NICK_SHARE))
    assert text_start == nick_end + GAP < room // 3
    # The time is still in the transcript's text, only not drawn.
    assert transcript(view).splitlines()[1].startswith("10:01\t")
    # Wide again: the time comes back.
    view.root.geometry("1040x700")
    pump(view, lambda: not time_hidden(view), what="the time shown again")


# --- joins, parts and quits fold ------------------------------------------------------
def change(kind: str, nick: str, day: str = "2026-12-01", time: str = "10:00") -> Line:
    text = {"join": f"{nick} joined #a", "part": f"{nick} left #a", "quit": f"{nick} quit"}
    glyph = "→" if kind == "join" else "←"
    return Line("event", time, glyph, text[kind], day=day, change=kind, who=nick)


def said(text: str, day: str = "2026-12-01", time: str = "10:05") -> Line:
    return Line("message", time, "bob", text, day=day)


def redrawn(view, key: str = "#a") -> str:
    """The transcript drawn again from the conversation's lines (as when switching back)."""
    view.transcript.show(view.conversations[key])
    return transcript(view)


def test_joins_and_quits_from_real_peers_fold_into_one_muted_line(chat, connect):
    _controller, view = chat("alice")
    connect("carol")
    connect("dave")
    erin = connect("erin")
    erin.send("QUIT :off")
    folded = "carol, dave joined · erin joined and left"
    pump(view, lambda: folded in transcript(view), what="the folded line")
    last = transcript(view).splitlines()[-1]
    assert last.endswith(f"\t•\t{folded}")
    assert "carol joined #general" not in transcript(view)
    start = view.chat_area.text.search(folded, "1.0")
    assert "muted" in view.chat_area.text.tag_names(start)
    assert redrawn(view, "#general") == transcript(view)
    assert transcript(view).splitlines()[-1] == last


def test_a_run_is_cut_by_a_message_and_by_a_new_day(make_view):
    view = make_view()
    view.add_conversation("#a", "#a")
    for line in (
        change("join", "carol"),
        change("join", "dave"),
        said("hello"),
        change("quit", "erin"),
        change("part", "frank", day="2026-12-02"),
        change("join", "gina", day="2026-12-02"),
        change("part", "gina", day="2026-12-02"),
    ):
        view.append("#a", line)
    lines = transcript(view).splitlines()
    assert lines == [
        "10:00\t→\tcarol, dave joined",
        "10:05\tbob\thello",
        "10:00\t←\terin quit",
        "— Wednesday, 2 December 2026 —",
        "10:00\t•\tgina joined and left · frank left",
    ]
    assert redrawn(view) == transcript(view)


def test_folding_survives_chathistory_inserted_where_the_connection_was_lost(make_view):
    view = make_view()
    view.add_conversation("#a", "#a")
    view.append("#a", said("before the drop"))
    view.mark_missed("#a")
    for nick in ("carol", "dave"):
        view.append("#a", change("join", nick, time="10:10"))
    missed = [said("missed one", time="10:06"), said("missed two", time="10:07")]
    view.insert_chathistory("#a", missed, "missed")
    view.append("#a", change("quit", "erin", time="10:11"))  # the run at the end goes on
    assert transcript(view).splitlines() == [
        "10:05\tbob\tbefore the drop",
        "10:06\tbob\tmissed one",
        "10:07\tbob\tmissed two",
        "10:11\t•\tcarol, dave joined · erin quit",
    ]
    assert redrawn(view) == transcript(view)
    # Older history on top, across a day: the run and its divider stay as they were.
    older = [said("yesterday", day="2026-11-30", time="23:59")]
    view.insert_chathistory("#a", older, "older")
    lines = transcript(view).splitlines()
    assert lines[:2] == ["23:59\tbob\tyesterday", "— Tuesday, 1 December 2026 —"]
    assert lines[-1] == "10:11\t•\tcarol, dave joined · erin quit"
    assert redrawn(view) == transcript(view)


def test_hiding_joins_and_parts_is_a_menu_toggle_remembered_in_settings(chat, connect):
    _controller, view = chat("alice")
    menu = view.transcript.menu
    assert menu.entrycget(0, "label") == "Show joins and parts"
    assert view.transcript.changes_shown.get() is True
    connect("carol")
    pump(view, lambda: "carol joined #general" in transcript(view), what="carol's join")
    menu.invoke(0)  # untick
    assert "carol joined" not in transcript(view)
    assert Settings.load().show_joins is False
    bob = connect("bob")
    bob.send("PRIVMSG #general :still here")
    pump(view, lambda: "still here" in transcript(view), what="bob's message")
    assert "bob joined" not in transcript(view)
    assert "bob" in [nick for _prefix, nick in view.conversations["#general"].members]
    menu.invoke(0)  # tick again: the changes come back, folded
    assert Settings.load().show_joins is True
    last_two = [line.split("\t", 1)[1] for line in transcript(view).splitlines()[-2:]]
    assert last_two == ["→\tcarol, bob joined", "bob\tstill here"]


def test_a_window_opened_with_joins_hidden_draws_none(make_view):
    view = make_view(show_joins=False)
    view.add_conversation("#a", "#a")
    view.append("#a", change("join", "carol"))
    view.append("#a", said("hello", day="2026-12-01"))
    assert transcript(view).splitlines() == ["10:05\tbob\thello"]
    assert view.transcript.changes_shown.get() is False


def test_a_narrow_window_leaves_the_member_list_out_and_a_wide_one_brings_it_back(make_view):
    view = make_view(size=(1040, 700))
    view.add_conversation("#a", "#a", select=True)
    view.root.update()
    assert view.members_shown()
    wide = view.chat_area.text.winfo_width()
    view.root.geometry(f"{MEMBERS_HIDDEN_BELOW - 60}x700")
    pump(view, lambda: not view.members_shown(), what="the member list left out")
    view.root.update()
    # The transcript has the window but for the conversation list.
    window, sidebar = view.root.winfo_width(), view.sidebar.winfo_width()
    assert view.transcript.winfo_width() >= window - sidebar - 20
    view.root.geometry("1040x700")
    pump(view, lambda: view.members_shown(), what="the member list back")
    # Back in its place, right of the transcript, and the transcript as wide as before.
    assert [str(p) for p in view.panes.panes()][-1] == str(view.members)
    pump(view, lambda: view.chat_area.text.winfo_width() == wide, what="the old width")


def test_the_new_line_moved_by_another_window_leaves_a_reader_scrolled_up_where_they_were(
    make_view,
):
    view = make_view(size=(1040, 700))
    view.add_conversation("#a", "#a", select=True)
    start = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    for i in range(80):
        at = start + timedelta(seconds=i)
        view.append("#a", Line("message", "10:00", "bob", f"line {i} " + "filler " * 20, at=at))
    view.root.update()
    pump(view, lambda: shows_the_end(view), what="the end shown")
    wheel_up(view, 10)
    top = view.chat_area.text.yview()[0]
    assert top < 0.9 and not view.transcript.follow.following
    # Another window of the account read up to line 70: the "— new —" line moves there.
    view.read_until("#a", start + timedelta(seconds=70), here=False)
    view.root.update()
    assert "— new —" in transcript(view)
    assert abs(view.chat_area.text.yview()[0] - top) < 0.02  # not thrown to the end
    assert not shows_the_end(view)
