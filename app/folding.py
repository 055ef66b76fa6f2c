"""Folding joins, parts, quits and renames: consecutive ones read as one muted line,
"carol, dave joined · erin left". Pure: lines in, what to draw out; no Tk.

A run is broken by any other line, by a day divider and by the place missed messages go;
a run of one shows its own line (with the channel and the reason). When changes are
hidden they are not drawn at all, and do not count for the day dividers either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.text import Line

#: The changes that fold (``Line.change``).
FOLDED = frozenset({"join", "part", "quit", "nick"})
#: Names one group of a folded line lists before "and N more".
MOST_NAMES = 8
#: Changes in one folded line; a longer run goes on in a new one.
LONGEST_RUN = 100
#: The groups of a folded line, in the order they are told.
_GROUPS = ("joined", "joined and left", "left and came back", "left", "quit")


def folds(line: Line) -> bool:
    """True for someone else's join, part, quit or rename."""
    return line.kind == "event" and line.change in FOLDED


@dataclass
class _Person:
    """One person through a run: the name they had first and have now, and whether they
    were in the channel before it and are after it."""

    first: str
    name: str
    before: bool
    present: bool
    went: str = ""  # "part" or "quit": how they last left
    came_back: bool = False


def _people(run: list[Line]) -> list[_Person]:
    people: dict[str, _Person] = {}
    for line in run:
        key = line.who.lower()
        person = people.get(key)
        if person is None:
            present = line.change != "join"  # a first part, quit or rename: they were here
            person = people[key] = _Person(line.who, line.who, present, present)
        if line.change == "join":
            person.came_back = person.came_back or (person.before and not person.present)
            person.present = True
        elif line.change in ("part", "quit"):
            person.present, person.went = False, line.change
        elif line.to:
            del people[key]
            person.name = line.to
            people[line.to.lower()] = person
    return list(people.values())


def _names(names: list[str]) -> str:
    if len(names) > MOST_NAMES:
        shown = ", ".join(names[: MOST_NAMES - 1])
        return f"{shown} and {len(names) - MOST_NAMES + 1} more"
    return ", ".join(names)


def summary(run: list[Line]) -> str:
    """What a run of changes comes to: ``carol, dave joined · erin left · bob is now rob``."""
    groups: dict[str, list[str]] = {group: [] for group in _GROUPS}
    renamed: list[str] = []
    for person in _people(run):
        label = (
            person.first if person.name == person.first else f"{person.first} (now {person.name})"
        )
        if not person.before:
            groups["joined" if person.present else "joined and left"].append(label)
        elif not person.present:
            groups["quit" if person.went == "quit" else "left"].append(label)
        elif person.came_back:
            groups["left and came back"].append(label)
        elif person.name != person.first:
            renamed.append(f"{person.first} is now {person.name}")
    parts = [f"{_names(names)} {group}" for group, names in groups.items() if names]
    if renamed:
        parts.append(_names(renamed))
    return " · ".join(parts) or run[-1].text


def folded(run: list[Line]) -> Line:
    """The line a run shows: its own line for one change, else one muted summary."""
    if len(run) == 1:
        return run[0]
    changes = {line.change for line in run}
    glyph = "→" if changes == {"join"} else "←" if changes <= {"part", "quit"} else "•"
    last = run[-1]
    return Line("event", last.time, glyph, summary(run), day=last.day, change="fold")


@dataclass
class Drawn:
    """What the transcript draws for one line: ``line`` (a run's line when ``run``),
    after a day divider when ``divider`` names the new day; ``grows`` when it takes the
    place of the line drawn last (the run at the end grew)."""

    item: Line
    divider: str = ""
    grows: bool = False
    run: list[Line] = field(default_factory=list)

    @property
    def line(self) -> Line:
        """The line to draw (a run's summary is made when asked, once it is complete)."""
        return folded(self.run) if self.run else self.item


class Folder:
    """Folds lines one at a time, in transcript order, keeping the run at the end open so
    the next change joins it; also decides the day dividers, over the lines drawn."""

    def __init__(self, show_changes: bool = True, day: str = "") -> None:
        self.show_changes = show_changes
        #: The day of the last dated line drawn.
        self.day = day
        self.run: list[Line] = []

    def add(self, line: Line) -> Drawn | None:
        """What to draw for ``line``: None when it is a change and changes are hidden."""
        if folds(line) and not self.show_changes:
            return None
        divider = line.day if line.day and self.day and line.day != self.day else ""
        self.day = line.day or self.day
        if not folds(line):
            self.run = []
            return Drawn(line, divider)
        if self.run and not divider and len(self.run) < LONGEST_RUN:
            self.run.append(line)
            return Drawn(line, grows=True, run=self.run)
        self.run = [line]
        return Drawn(line, divider, run=self.run)

    def cut(self) -> None:
        """Something else now ends the transcript (a mark, an insert): no run goes on."""
        self.run = []


def fold(lines: Iterable[Line], folder: Folder) -> list[Drawn]:
    """Every line as ``folder`` draws it, runs folded; marks pass through and break runs."""
    drawn: list[Drawn] = []
    for line in lines:
        if line.kind == "mark":
            folder.cut()
            drawn.append(Drawn(line))
            continue
        step = folder.add(line)
        if step is None:
            continue
        if step.grows:
            drawn[-1] = Drawn(drawn[-1].item, drawn[-1].divider, run=step.run)
        else:
            drawn.append(step)
    return drawn
