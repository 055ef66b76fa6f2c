"""The transcript: the open conversation's lines, with day dividers, links and mentions.

Tk counts a character outside the BMP as two index positions, so nothing here computes
Text indices from Python string offsets: inserts go at marks, found again by tags.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import ttkbootstrap as ttk

from app.conversations import Conversation, Conversations, first_new
from app.folding import Drawn, Folder, fold, folds
from app.text import Line, day_label, find_urls, nick_colour_index, sanitize, url_target
from app.ui import (
    DARK_NICKS,
    LIGHT_NICKS,
    SIGNED_IN_MARK,
    Fonts,
    style_text,
    then_break,
    trim_lines,
)
from app.view.annotations import Annotations
from app.view.columns import Columns, columns_for
from app.view.follow import Follower
from app.view.rawtip import RawTip

CHATHISTORY_SEPARATOR = "— history —"
#: The line before the first message not read yet (the read marker's place).
NEW_LINE = "— new —"
# Tk marks in the transcript: where missed messages go, and scratch marks for inserts.
_MISSED_MARK = "kibitz_missed"
_INSERT_MARK = "kibitz_insert"
_ANCHOR_MARK = "kibitz_anchor"
_LAST_MARK = "kibitz_last"  # the start of the last line drawn at the end
#: Lines the new-messages button counts (``server``: a notice from the server itself).
_COUNTED = ("message", "action", "notice", "server")
#: How long a resize settles before the columns are sized again (ms).
RELAYOUT_DELAY = 80
#: How long a message jumped to stays highlighted (ms).
FLASH_MS = 1500
#: A line's menu entry: its label, whether it applies to a line, what it does with it.
LineAction = tuple[str, Callable[[Line], bool], Callable[[Line], None]]


def _drawn(_line: Line) -> bool:
    return True


def day_before(lines: Sequence[Line], index: int, shown: Callable[[Line], bool] = _drawn) -> str:
    """The day of the last dated line before ``index`` (of those ``shown``)."""
    for position in range(index - 1, -1, -1):
        if lines[position].day and shown(lines[position]):
            return lines[position].day
    return ""


def day_after(lines: Sequence[Line], index: int, shown: Callable[[Line], bool] = _drawn) -> str:
    """The day of the first dated line at or after ``index`` (of those ``shown``)."""
    for position in range(index, len(lines)):
        if lines[position].day and shown(lines[position]):
            return lines[position].day
    return ""


class Transcript(ttk.Frame):
    """The read-only ``chat_area``; at the top of the scroll it fires ``older``."""

    def __init__(
        self,
        master: tkinter.Misc,
        fonts: Fonts,
        conversations: Conversations,
        scrollback: int,
        fire: Callable[..., None],
        open_url: Callable[[str], object],
        show_changes: bool = True,
    ) -> None:
        super().__init__(master, padding=(4, 4, 4, 4))
        self.fonts = fonts
        self.conversations = conversations
        self.scrollback = scrollback
        self.fire = fire
        self.open_url = open_url
        #: Show the server's raw lines in place of their sentences (``/raw on``).
        self.raw = False
        #: Joins, parts, quits and renames are drawn (folded), or hidden.
        self.show_changes = show_changes
        self.folder = Folder(show_changes)
        #: The widest thing in the nick column of the lines shown (pixels), and the
        #: columns in use; sized again on resize and when a wider nick appears.
        self.widest = 0
        self.columns: Columns | None = None
        self._widths: dict[str, int] = {}
        self._layout_job: str | None = None
        self._flash_job: str | None = None
        self.closed = False
        #: The line the "— new —" line is drawn before (None: not drawn).
        self.new_before: Line | None = None
        self.create_text()
        #: Whether the view follows the end: the user's scrolling decides, not a reflow.
        self.follow = Follower(self.chat_area.text, self, lambda: self.fire("reading"))
        self.relayout()
        self.astral = self._probe_astral()
        self.bind("<Destroy>", self.on_destroy, add="+")

    def on_destroy(self, event: tkinter.Event) -> None:
        """The window closes: no job may outlive it (it would keep the old root alive)."""
        if event.widget is self:
            self.closed = True
            for job in (self._layout_job, self._flash_job):
                if job is not None:
                    self.winfo_toplevel().after_cancel(job)
            self._layout_job = self._flash_job = None
            self.follow.cancel()

    def create_text(self) -> None:
        """The Text, its columns, and the link tags."""
        self.chat_area = ttk.ScrolledText(
            self,
            wrap="word",
            font=self.fonts.normal,
            padx=10,
            pady=6,
            spacing1=2,
            spacing3=2,
            cursor="arrow",
            undo=False,
            height=10,
            width=50,
        )
        self.chat_area.pack(fill=tkinter.BOTH, expand=True)
        self.chat_area.text.configure(yscrollcommand=self.on_scroll)
        self.chat_area.configure(state="disabled")
        text = self.chat_area.text
        text.bind("<Configure>", lambda e: self.relayout_soon(), add="+")
        text.tag_bind("url", "<Button-1>", self.on_url_click)
        text.tag_bind("url", "<Enter>", lambda e: text.configure(cursor="hand2"))
        text.tag_bind("url", "<Leave>", lambda e: text.configure(cursor="arrow"))
        self.rawtip = RawTip(text, self.fonts.small)
        for key in ("<End>", "<Control-End>"):
            text.bind(key, then_break(lambda: self.follow.jump()))
        self.changes_shown = tkinter.BooleanVar(self, value=self.show_changes)
        #: Which line is where, the quotes above replies and the reactions under messages.
        self.notes = Annotations(text, lambda: self.conversations.get(self.conversations.current))
        self.lines = self.notes.lines
        text.tag_bind("chip", "<Button-1>", self.on_chip_click)
        text.tag_bind("quote", "<Button-1>", self.on_quote_click)
        for clickable in ("chip", "quote"):
            text.tag_bind(clickable, "<Enter>", lambda e: text.configure(cursor="hand2"))
            text.tag_bind(clickable, "<Leave>", lambda e: text.configure(cursor="arrow"))
        #: The per-line entries of the menu (:meth:`add_line_action`), and how many of
        #: them (with their separator) head the menu now.
        self.line_actions: list[LineAction] = []
        self._line_entries = 0
        #: The line the menu was opened on (None: not on a line).
        self.menu_line: Line | None = None
        self.menu = tkinter.Menu(self, tearoff=False)
        self.menu.add_checkbutton(
            label="Show joins and parts",
            variable=self.changes_shown,
            command=self.on_toggle_changes,
        )
        text.bind("<Button-3>", self.on_menu)

    def on_scroll(self, first: str, last: str) -> None:
        """The view moved: back to the end if it follows it; at the top ask for older."""
        self.follow.reflowed(float(last))
        scrollbar = self.chat_area.vbar
        if scrollbar is not None:
            scrollbar.set(first, last)
        # At the top: older chathistory is wanted (the controller asks only when there is).
        shown = self.conversations.get(self.conversations.current)
        if float(first) <= 0.0 and shown is not None and shown.lines:
            self.fire("older", shown.key)

    # --- the columns ------------------------------------------------------------------
    def relayout_soon(self) -> None:
        """Size the columns again once a resize settles (it sends many events)."""
        if self.closed:
            return
        # Jobs go on the root, whose after_cancel also forgets their Tcl command.
        root = self.winfo_toplevel()
        if self._layout_job is not None:
            root.after_cancel(self._layout_job)
        self._layout_job = root.after(RELAYOUT_DELAY, self.relayout)

    def relayout(self) -> None:
        """Size the columns for the transcript's width and the widest nick shown."""
        if self._layout_job is not None:
            self.winfo_toplevel().after_cancel(self._layout_job)
            self._layout_job = None
        text = self.chat_area.text
        width = text.winfo_width() - 2 * int(text.cget("padx"))
        if width <= 1:  # not laid out yet: as if wide
            width = 10_000
        fonts = self.fonts
        layout = columns_for(
            width, fonts.normal.measure("00:00"), self.widest, fonts.bold.measure("m" * 9)
        )
        if layout == self.columns:
            return
        self.columns = layout
        # time | nick | text. A right tab aligns the text *after* it, so the nick ends at
        # the stop; wrapped lines hang under the text column; a hidden time is elided.
        text.configure(tabs=f"{layout.nick_end} right {layout.text_start} left")
        text.tag_configure("line", lmargin2=layout.text_start)
        text.tag_configure("time", elide=not layout.time_shown)

    def _measure(self, line: Line) -> None:
        """Note the width of ``line``'s nick column; a wider one resizes the column."""
        label = self._nick_label(line)
        if line.kind == "message" and line.account:
            label = f"{SIGNED_IN_MARK} {label}"
        width = self._widths.get(label)
        if width is None:
            if len(self._widths) > 2000:
                self._widths.clear()
            width = self._widths[label] = self.fonts.bold.measure(label)
        if width > self.widest:
            self.widest = width
            self.relayout_soon()

    def _nick_label(self, line: Line) -> str:
        """What ``line`` shows in the nick column."""
        if line.kind in ("message", "action"):
            return sanitize(line.nick, 60, self.astral) if line.kind == "message" else "*"
        if line.kind in ("notice", "server"):
            return f"-{sanitize(line.nick, 60, self.astral)}-"
        if line.kind == "event":
            return line.nick or "—"
        return {"error": "!", "info": "•"}.get(line.kind, "")

    def _probe_astral(self) -> bool:
        text = self.chat_area.text
        try:
            text.configure(state="normal")
            text.insert("end", "\U0001f600")
            text.delete("1.0", "end")
            return True
        except tkinter.TclError:
            return False
        finally:
            text.configure(state="disabled")

    def restyle(self, style: Any, dark: bool) -> None:
        """Colours and fonts of every tag for the theme in use."""
        colors = style.colors
        fonts = self.fonts
        text = self.chat_area.text
        muted = colors.secondary
        palette = DARK_NICKS if dark else LIGHT_NICKS
        for index, colour in enumerate(palette):
            text.tag_configure(f"nick{index}", foreground=colour, font=fonts.bold)
        style_text(text, colors)
        text.tag_configure("time", foreground=muted, font=fonts.small)
        text.tag_configure("muted", foreground=muted, font=fonts.small)
        text.tag_configure("info", foreground=muted)
        text.tag_configure("error", foreground=colors.danger)
        text.tag_configure("notice", foreground=colors.info if dark else colors.primary)
        text.tag_configure("action", font=fonts.italic)
        text.tag_configure("deleted", foreground=muted, font=fonts.italic)
        text.tag_configure("divider", justify="center", spacing1=8, spacing3=4)
        text.tag_configure("new_line", foreground=colors.danger, font=fonts.small)
        text.tag_configure(
            "url", foreground=colors.info if dark else colors.primary, underline=True
        )
        text.tag_configure("mention", background="#4a3b12" if dark else "#fff3cd")
        text.tag_configure("quote", foreground=muted, font=fonts.small)
        text.tag_configure("chips", font=fonts.small, spacing1=0)
        text.tag_configure("chip", background="#343a40" if dark else "#eceff3")
        own = "#1d4f7a" if dark else "#cfe2ff"
        text.tag_configure(
            "chip_own", background=own, foreground=colors.info if dark else colors.primary
        )
        text.tag_configure("flash", background="#5c4a14" if dark else "#fde9a8")
        # A notice from the server itself stands out in any conversation, in either theme.
        text.tag_configure("server_notice", background="#12344d" if dark else "#dcebfb")
        text.tag_raise("url")
        text.tag_raise("sel")

    # --- showing ----------------------------------------------------------------------
    def show(self, conversation: Conversation) -> None:
        """Draw every line of ``conversation`` (changes folded) and follow its end."""
        text = self.chat_area.text
        text.configure(state="normal")
        text.delete("1.0", "end")
        self.rawtip.reset()
        self._forget_lines()
        self.widest = 0
        self.folder = Folder(self.show_changes)
        self.new_before = first_new(conversation)
        for step in fold(conversation.lines, self.folder):
            if step.item is self.new_before:
                text.insert("end", NEW_LINE + "\n", ("line", "divider", "new_line"))
            if step.item.kind == "mark":
                text.mark_set(_MISSED_MARK, "end-1c")
                text.mark_gravity(_MISSED_MARK, "left")
            else:
                self._draw(step)
        text.configure(state="disabled")
        self.relayout()
        self.follow.reset()

    def new_line_moved(self, conversation: Conversation) -> bool:
        """Whether the "— new —" line drawn is not where ``conversation`` wants it now."""
        return first_new(conversation) is not self.new_before

    def shows(self, line: Line) -> bool:
        """True when ``line`` is drawn (a join, part or quit is not while they are hidden)."""
        return self.show_changes or not folds(line)

    def show_changes_in(self, conversation: Conversation | None, shown: bool) -> None:
        """Show or hide joins, parts, quits and renames, and draw ``conversation`` again."""
        self.show_changes = shown
        self.changes_shown.set(shown)
        self.folder = Folder(shown)
        if conversation is not None:
            self.show(conversation)

    def on_toggle_changes(self) -> None:
        """The menu's "Show joins and parts" was ticked or unticked."""
        shown = bool(self.changes_shown.get())
        self.show_changes_in(self.conversations.get(self.conversations.current), shown)
        self.fire("joins", shown)

    def on_menu(self, event: tkinter.Event) -> str:
        """Right-click: the transcript's menu, headed by the entries for the line under
        the pointer."""
        self.prepare_menu(self.line_at(f"@{event.x},{event.y}"))
        self.menu.tk_popup(event.x_root, event.y_root)
        return "break"

    def add_line_action(
        self, label: str, applies: Callable[[Line], bool], action: Callable[[Line], None]
    ) -> None:
        """Offer ``label`` in the menu opened on a line ``applies`` to; ``action`` gets it."""
        self.line_actions.append((label, applies, action))

    def prepare_menu(self, line: Line | None) -> None:
        """Put the entries that apply to ``line`` at the head of the menu."""
        if self._line_entries:
            self.menu.delete(0, self._line_entries - 1)
        self.menu_line = line
        position = 0
        if line is not None:
            for label, applies, action in self.line_actions:
                if applies(line):
                    self.menu.insert_command(position, label=label, command=partial(action, line))
                    position += 1
        if position:
            self.menu.insert_separator(position)
            position += 1
        self._line_entries = position

    def line_at(self, index: str) -> Line | None:
        """The line drawn at ``index`` (a Text index such as ``@x,y``), if any."""
        return self.lines.line_at(index)

    def clear(self) -> None:
        """Empty the Text."""
        text = self.chat_area.text
        text.configure(state="normal")
        text.delete("1.0", "end")
        text.configure(state="disabled")
        self.rawtip.reset()
        self._forget_lines()
        self.folder = Folder(self.show_changes)
        self.new_before = None
        self.widest = 0
        self.relayout()
        self.follow.reset()

    def append(self, line: Line) -> None:
        """Add ``line`` at the end: a change joins the run of changes drawn last."""
        step = self.folder.add(line)
        if step is None:
            return
        text = self.chat_area.text
        text.configure(state="normal")
        if step.grows and _LAST_MARK in text.mark_names():
            text.delete(_LAST_MARK, "end-1c")
        self._draw(step)
        trim_lines(text, self.scrollback)
        text.configure(state="disabled")
        self.follow.arrived(line.kind in _COUNTED)

    def _draw(self, step: Drawn, where: str = "end") -> None:
        """Draw one step at ``where`` (its divider first); the last line drawn at the end
        is marked, for a run that grows."""
        text = self.chat_area.text
        if step.divider:
            text.insert(where, *self._divider_parts(step.divider))
        start = text.index("end-1c")
        parts = self._parts(step.line)
        if parts:
            text.insert(where, *parts)
        if where == "end":
            # Right gravity: lines put in at its place (missed history) go before it.
            text.mark_set(_LAST_MARK, start)
            text.mark_gravity(_LAST_MARK, "right")

    def mark_missed(self) -> None:
        """Remember the end as the place for messages missed while offline."""
        text = self.chat_area.text
        text.mark_set(_MISSED_MARK, "end-1c")
        text.mark_gravity(_MISSED_MARK, "left")
        self.folder.cut()

    def insert_run(self, place: str, lines: list[Line], previous: str, following: str) -> None:
        """Insert ``lines`` at ``place`` (``missed``: where the connection was lost; else
        the top) with the day dividers they need, keeping the top visible line where it
        is unless the view follows the end."""
        text = self.chat_area.text
        moves = place == "missed"
        where = "1.0"
        if moves:
            where = _MISSED_MARK if _MISSED_MARK in text.mark_names() else "end-1c"
        at_bottom = self.follow.following
        top_y = None
        if not at_bottom:
            # The first visible line and where it is on screen, to put it back there.
            text.mark_set(_ANCHOR_MARK, "@0,0 linestart")
            text.mark_gravity(_ANCHOR_MARK, "right")
            info = text.dlineinfo(_ANCHOR_MARK)
            top_y = info[1] if info else None
        text.configure(state="normal")
        text.mark_set(_INSERT_MARK, where)
        text.mark_gravity(_INSERT_MARK, "right")  # moves along: the lines keep their order
        # The run folds on its own: history holds no joins or parts to fold across its
        # edges with the lines around it.
        folder = Folder(self.show_changes, previous)
        for step in fold(lines, folder):
            self._draw(step, _INSERT_MARK)
        day = folder.day
        # The divider before the next line: needed when the days differ, and only once.
        span = text.tag_nextrange("divider", _INSERT_MARK)
        divider = span if len(span) == 2 else None
        if divider is not None and (
            not text.compare(divider[0], "==", _INSERT_MARK)
            or "separator" in text.tag_names(divider[0])
        ):
            divider = None
        needed = bool(following and day and following != day)
        if needed and divider is None:
            text.insert(_INSERT_MARK, *self._divider_parts(following))
        elif divider is not None and not needed:
            text.delete(divider[0], divider[1])
        if text.compare(_INSERT_MARK, "==", "end-1c"):  # at the end: it is what ends it
            self.folder.cut()
            self.folder.day = day or self.folder.day
        if moves:
            text.mark_set(_MISSED_MARK, _INSERT_MARK)
            text.mark_gravity(_MISSED_MARK, "left")
        text.configure(state="disabled")
        if at_bottom:
            self.follow.to_end()
        else:
            self.follow.quietly(lambda: self._back_to(top_y))

    def _back_to(self, top_y: int | None) -> None:
        """Put the anchored line back where it was on screen."""
        text = self.chat_area.text
        text.yview(_ANCHOR_MARK)
        info = text.dlineinfo(_ANCHOR_MARK)
        if info and top_y is not None and info[1] != top_y:
            text.yview_scroll(info[1] - top_y, "pixels")

    # --- one line ---------------------------------------------------------------------
    def _divider_parts(self, day: str) -> list[Any]:
        return [day_label(day) + "\n", ("line", "divider", "muted")]

    def _parts(self, line: Line) -> list[Any]:
        """The text and tags of one line, for ``Text.insert``."""
        if line.kind == "separator":
            return [sanitize(line.text) + "\n", ("line", "divider", "muted", "separator")]
        if line.kind == "mark":
            return []
        self._measure(line)
        tag = self.lines.tag(line)  # on every part: the quote and reactions are the line's
        base: tuple[str, ...] = ("line", tag, "mention") if line.mention else ("line", tag)
        if line.kind == "server":
            base = (*base, "server_notice")
        if line.raw:
            base = (*base, *self.rawtip.tags(line.raw))
        astral = self.astral
        parts: list[Any] = [line.time, (*base, "time"), "\t", base]
        body_tags = base
        if line.kind == "message":
            if line.account:  # the server vouches for this sender; a nick alone is no proof
                parts += [f"{SIGNED_IN_MARK} ", (*base, "signed", "muted")]
            parts += [
                sanitize(line.nick, 60, astral),
                (*base, self._nick_tag(line.nick)),
                "\t",
                base,
            ]
        elif line.kind == "action":
            body_tags = (*base, "action")
            parts += ["*", (*base, "muted"), "\t", base]
            parts += [
                sanitize(line.nick, 60, astral) + " ",
                (*body_tags, self._nick_tag(line.nick)),
            ]
        elif line.kind == "notice":
            body_tags = (*base, "notice")
            parts += [f"-{sanitize(line.nick, 60, astral)}-", (*base, "notice"), "\t", base]
        elif line.kind == "server":
            parts += [f"-{sanitize(line.nick, 60, astral)}-", (*base, "notice"), "\t", base]
        elif line.kind == "event":
            body_tags = (*base, "muted")
            parts += [line.nick or "—", (*base, "muted"), "\t", base]
        elif line.kind == "error":
            body_tags = (*base, "error")
            parts += ["!", (*base, "error"), "\t", base]
        else:
            body_tags = (*base, "info")
            parts += ["•", (*base, "muted"), "\t", base]
        if line.deleted:  # muted, and no link or raw line of what it said
            parts += [sanitize(line.text, astral=astral) + "\n", (*base, "deleted")]
            return parts
        # A multi-line message is one block: its later lines under the first, in the
        # text column (one nick, one time).
        body = "\n\t\t".join(sanitize(text, astral=astral) for text in line.text.split("\n"))
        if self.raw and line.raw:  # each raw line of its own, under the text column
            body = "\n\t\t".join(sanitize(raw, astral=astral) for raw in line.raw.split("\n"))
        start = 0
        for url_start, url_end in find_urls(body):
            if url_start > start:
                parts += [body[start:url_start], body_tags]
            parts += [body[url_start:url_end], (*body_tags, "url")]
            start = url_end
        parts += [body[start:] + "\n", body_tags]
        notes = self.notes
        quote = notes.quote_parts(line, ("line", tag), astral) if line.reply else []
        return quote + parts + notes.chip_parts(line.msgid, tag, astral)

    # --- replies and reactions ----------------------------------------------------------
    def set_chips(self, msgid: str) -> None:
        """Draw the reactions under ``msgid`` again (the shown conversation's, if drawn)."""
        tag = self.lines.tag_of(msgid)
        if not tag:
            return
        text = self.chat_area.text
        text.configure(state="normal")
        old = text.tag_ranges(f"chips@{tag}")
        if old:
            text.delete(old[0], old[-1])
        self.notes.forget_chips(tag)
        where = text.index(text.tag_ranges(tag)[-1])
        # Where missed lines go, when it is this line's end, stays after its reactions.
        held = _MISSED_MARK in text.mark_names() and text.compare(_MISSED_MARK, "==", where)
        parts = self.notes.chip_parts(msgid, tag, self.astral)
        if parts:
            text.insert(where, *parts)
        if held:
            text.mark_set(_MISSED_MARK, text.tag_ranges(tag)[-1])
        text.configure(state="disabled")
        if self.follow.following:
            self.follow.to_end()

    def on_chip_click(self, event: tkinter.Event) -> str:
        """A reaction under a message was clicked: ours goes, anyone else's is joined."""
        found = self.notes.chip_at(f"@{event.x},{event.y}")
        if found is not None:
            self.fire("react", self.conversations.current, *found)
        return "break"

    def on_quote_click(self, event: tkinter.Event) -> str:
        """A reply's quote was clicked: go to the message it answers."""
        line = self.line_at(f"@{event.x},{event.y}")
        if line is not None and line.reply:
            self.fire("quote", self.conversations.current, line.reply)
        return "break"

    def jump_to(self, msgid: str) -> bool:
        """Scroll to the message ``msgid`` and light it up; False when it is not drawn."""
        tag = self.lines.tag_of(msgid)
        if not tag:
            return False
        text = self.chat_area.text
        first, last = text.tag_ranges(tag)[0], text.tag_ranges(tag)[-1]
        text.see(first)  # the user's move: the view stops following the end
        text.tag_remove("flash", "1.0", "end")
        text.tag_add("flash", first, last)
        root = self.winfo_toplevel()
        if self._flash_job is not None:
            root.after_cancel(self._flash_job)
        self._flash_job = root.after(FLASH_MS, self._unflash)
        return True

    def _unflash(self) -> None:
        self._flash_job = None
        self.chat_area.text.tag_remove("flash", "1.0", "end")

    def flashed(self) -> str:
        """The text lit up by the last jump ("" when none is)."""
        ranges = self.chat_area.text.tag_ranges("flash")
        return self.chat_area.text.get(ranges[0], ranges[-1]) if ranges else ""

    def _forget_lines(self) -> None:
        self.notes.reset()

    def _nick_tag(self, nick: str) -> str:
        return f"nick{nick_colour_index(nick, len(LIGHT_NICKS))}"

    def on_url_click(self, event: tkinter.Event) -> str:
        """Open the web address under the pointer."""
        text = self.chat_area.text
        index = text.index(f"@{event.x},{event.y}")
        span = text.tag_prevrange("url", f"{index}+1c")
        if span:
            self.open_url(url_target(text.get(*span)))
        return "break"

    def raw_at(self, index: str) -> str:
        """The raw server line behind the transcript line at ``index`` ("" when none)."""
        return self.rawtip.raw_at(index)

    def transcript_text(self) -> str:
        """Everything the transcript shows now."""
        return self.chat_area.get("1.0", "end-1c")
