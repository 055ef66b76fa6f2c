"""Folding joins, parts, quits and renames: the rules, on lines alone."""

from __future__ import annotations

from app import events as ev
from app.folding import MOST_NAMES, Folder, fold, folded, summary
from app.text import Line, join_line, nick_line, part_line, quit_line


def join(nick: str, day: str = "2026-12-01") -> Line:
    return Line("event", "10:00", "→", f"{nick} joined #a", day=day, change="join", who=nick)


def part(nick: str, day: str = "2026-12-01") -> Line:
    return Line("event", "10:01", "←", f"{nick} left #a (bye)", day=day, change="part", who=nick)


def quit_(nick: str) -> Line:
    return Line("event", "10:02", "←", f"{nick} quit", day="2026-12-01", change="quit", who=nick)


def rename(old: str, new: str) -> Line:
    text = f"{old} is now known as {new}"
    return Line("event", "10:03", "•", text, day="2026-12-01", change="nick", who=old, to=new)


def said(text: str, day: str = "2026-12-01") -> Line:
    return Line("message", "10:05", "bob", text, day=day)


def shown(lines: list[Line], show_changes: bool = True) -> list[str]:
    return [step.line.text for step in fold(lines, Folder(show_changes))]


def test_the_event_lines_say_who_changed_how():
    line = join_line(ev.Join("#a", "carol"))
    assert (line.text, line.change, line.who) == ("carol joined #a", "join", "carol")
    assert join_line(ev.Join("#a", "me", own=True)).change == ""  # our own join stays
    assert part_line(ev.Part("#a", "erin", "bye")).text == "erin left #a (bye)"
    assert quit_line(ev.Quit("#a", "dave", "gone")).change == "quit"
    renamed = nick_line(ev.Nick("#a", "bob", old="bobby"))
    assert (renamed.who, renamed.to, renamed.change) == ("bobby", "bob", "nick")
    assert nick_line(ev.Nick("#a", "me", old="you", own=True)).change == ""


def test_joins_and_parts_read_as_one_sentence():
    assert summary([join("carol"), join("dave"), part("erin")]) == "carol, dave joined · erin left"
    assert summary([quit_("erin"), join("carol")]) == "carol joined · erin quit"


def test_someone_who_comes_and_goes_is_said_once():
    assert summary([join("frank"), join("gina"), quit_("frank")]) == (
        "gina joined · frank joined and left"
    )
    assert summary([part("hal"), join("hal")]) == "hal left and came back"


def test_renames_follow_the_person():
    assert summary([join("carol"), rename("carol", "caz")]) == "carol (now caz) joined"
    assert summary([rename("bob", "rob"), join("dave")]) == "dave joined · bob is now rob"
    assert summary([rename("bob", "rob"), part("rob")]) == "bob (now rob) left"


def test_a_long_group_says_how_many_more():
    names = [f"user{i}" for i in range(MOST_NAMES + 4)]
    text = summary([join(name) for name in names])
    assert text.startswith("user0, user1, ")
    assert text.endswith(" and 5 more joined")


def test_a_single_change_keeps_its_own_line():
    assert folded([part("erin")]).text == "erin left #a (bye)"
    line = folded([join("carol"), part("erin")])
    assert (line.kind, line.nick, line.time) == ("event", "•", "10:01")
    assert folded([join("a"), join("b")]).nick == "→"
    assert folded([part("a"), quit_("b")]).nick == "←"


def test_runs_break_at_other_lines_marks_and_day_changes():
    lines = [
        join("carol"),
        join("dave"),
        said("hello"),
        join("erin"),
        Line("mark", ""),
        join("frank"),
        join("gina", day="2026-12-02"),
        join("hal", day="2026-12-02"),
    ]
    steps = fold(lines, Folder())
    assert [step.line.text for step in steps] == [
        "carol, dave joined",
        "hello",
        "erin joined #a",
        "",
        "frank joined #a",
        "gina, hal joined",
    ]
    assert [step.divider for step in steps] == ["", "", "", "", "", "2026-12-02"]


def test_hidden_changes_are_not_drawn_and_decide_no_divider():
    lines = [said("late"), join("carol", "2026-12-02"), said("same day")]
    steps = fold(lines, Folder(show_changes=False))
    assert [step.line.text for step in steps] == ["late", "same day"]
    assert [step.divider for step in steps] == ["", ""]


def test_the_folder_grows_the_run_at_the_end_one_line_at_a_time():
    folder = Folder()
    first = folder.add(join("carol"))
    assert first is not None and not first.grows and first.line.text == "carol joined #a"
    grown = folder.add(part("erin"))
    assert grown is not None and grown.grows and grown.line.text == "carol joined · erin left"
    folder.cut()  # something else ends the transcript now
    after = folder.add(join("dave"))
    assert after is not None and not after.grows
    assert Folder(show_changes=False).add(join("x")) is None
