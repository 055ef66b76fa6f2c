"""ChatView: the chat window, made of panels; the controller drives it (see
:class:`app.interface.ChatWindow`) from the Tk thread only and hears about the user's
actions through the callbacks given to :meth:`ChatView.set_handlers`.

The conversations themselves (lines, members, topic, counters, the current one) are kept
in :attr:`ChatView.conversations`; the panels only draw them.
"""

from __future__ import annotations

import tkinter
import webbrowser
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import ttkbootstrap as ttk

from app.conversations import SCROLLBACK, Conversation, Conversations
from app.interface import AccountAnswer, ConfirmAnswer, PasswordAnswer
from app.reactions import Chip
from app.search import Row
from app.text import Line, sanitize
from app.ui import (
    StatusBar,
    is_dark,
    make_fonts,
    open_root,
    then_break,
    toggle_theme,
    use_theme,
)
from app.view.dialogs import ConfirmDialog, PasswordDialog, SignInDialog
from app.view.header import Header
from app.view.input_row import InputRow
from app.view.members import MembersPanel
from app.view.react_picker import ReactPicker
from app.view.reply_bar import ReplyBar
from app.view.search_panel import SearchPanel
from app.view.sidebar import Sidebar
from app.view.transcript import CHATHISTORY_SEPARATOR, Transcript, day_after, day_before
from app.view.typing_line import TypingLine
from app.view.urgency import UrgencyHint

Callback = Callable[..., Any]
#: Below this window width the member list steps aside (as Slack's and Element's do), so the
#: transcript keeps most of a narrow window; it comes back when the window is widened.
MEMBERS_HIDDEN_BELOW = 760


def _noop(*_args: object) -> None:
    return None


class ChatView:
    """The chat window: sidebar, header, transcript, members, input row and status bar."""

    def __init__(
        self,
        theme: str = "bootstrap-light",
        title: str = "Kibitz",
        scrollback: int = SCROLLBACK,
        size: tuple[int, int] = (1040, 660),
        show_joins: bool = True,
        send_typing: bool = True,
        notifications: bool = True,
    ) -> None:
        self.app_title = title
        #: Who we are and where, for the title: our nick and the server's host:port.
        self.own_nick = ""
        self.server_address = ""
        self.root = open_root(title, size, (560, 360))
        #: Set when the requested theme does not exist (the default is used instead).
        self.theme_error = use_theme(self.root, theme)
        self.handlers: dict[str, Callback] = {}
        #: Whether the window had the focus when last looked at (:meth:`took_focus`).
        self._focus_noted = False
        self.conversations = Conversations(scrollback)
        self.open_url: Callable[[str], object] = lambda url: webbrowser.open(url, new=2)
        self.password_dialog: PasswordDialog | None = None
        self.confirm_dialog: ConfirmDialog | None = None
        self.sign_in_dialog: SignInDialog | None = None
        self.fonts = make_fonts(self.root)
        self.show_joins = show_joins
        self.send_typing = send_typing
        self.urgency = UrgencyHint(self.root)
        self.create_panels()
        self.add_notifications_toggle(notifications)
        self.bind_keys()
        self.root.style.on_theme_change(self.on_theme_change)
        self.on_theme_change(self.root.style)
        self.message_entry.focus_set()

    # --- construction --------------------------------------------------------------------
    def create_panels(self) -> None:
        """Every panel, packed; the widgets the product names kept as attributes."""
        root, fire = self.root, self._fire
        # Bottom bars first, so a small window squeezes the transcript, never the input.
        self.status_bar = StatusBar(
            root, self.fonts.small, "Starting…", "warning", lambda: fire("theme")
        )
        self.status_bar.wrap()
        self.status_label = self.status_bar.label
        self.theme_button = self.status_bar.theme_button
        # Who we are signed in as is said in the status text; this opens the dialog.
        self.account_button = ttk.Button(
            self.status_bar.frame,
            text="Sign in…",
            bootstyle="link",
            command=lambda: fire("account"),
        )
        self.account_button.pack(side=tkinter.RIGHT)
        self.input_row = InputRow(root, fire)
        self.input_row.pack(side=tkinter.BOTTOM, fill=tkinter.X)
        self.name_label = self.input_row.name_label
        self.name_entry = self.input_row.name_entry
        self.message_entry = self.input_row.message_entry
        self.send_button = self.input_row.send_button
        self.header = Header(root, self.fonts)
        self.header.pack(side=tkinter.TOP, fill=tkinter.X)
        self.title_label, self.topic_label = self.header.title_label, self.header.topic_label
        ttk.Separator(root).pack(side=tkinter.TOP, fill=tkinter.X)
        panes = ttk.Panedwindow(root, orient=tkinter.HORIZONTAL)
        panes.pack(fill=tkinter.BOTH, expand=True)
        self.sidebar = Sidebar(panes, self.fonts, self.conversations, fire)
        self.conversation_list = self.sidebar.conversation_list
        self.transcript = Transcript(
            panes,
            self.fonts,
            self.conversations,
            self.conversations.scrollback,
            fire,
            lambda url: self.open_url(url),
            self.show_joins,
        )
        self.chat_area = self.transcript.chat_area
        # Under the transcript, and packed before it so a small window never hides it.
        self.typing_line = TypingLine(self.transcript, self.fonts.small)
        self.typing_line.pack(side=tkinter.BOTTOM, fill=tkinter.X, before=self.chat_area)
        self.typing_line.add_choice(self.transcript.menu, self.send_typing, fire)
        self.input_row.astral = self.transcript.astral
        self.reply_bar = ReplyBar(root, self.fonts.small, lambda: fire("cancel_reply"))
        self.reply_bar.below = self.input_row
        self.picker: ReactPicker | None = None
        #: Whether the server relays client tags (else no reply or reaction is offered).
        self.tags_usable = False
        said = ("message", "action", "notice")

        def on_message(line: Line) -> bool:
            return self.tags_usable and bool(line.msgid) and line.kind in said and not line.deleted

        current = self.conversations
        self.transcript.add_line_action(
            "Reply", on_message, lambda line: fire("reply", current.current, line)
        )
        self.transcript.add_line_action(
            "React…", on_message, lambda line: fire("pick_reaction", current.current, line)
        )
        self.search_panel = SearchPanel(self.transcript, self.fonts, fire)  # Ctrl+F
        # The controller knows who may delete what (the capability, ours, an operator's).
        self.transcript.add_line_action(
            "Delete…", lambda line: bool(self._ask("deletable", line)), partial(fire, "delete")
        )
        self.members = MembersPanel(panes, self.fonts, fire)
        self.member_list = self.members.member_list
        panes.add(self.sidebar, weight=0)
        panes.add(self.transcript, weight=1)
        panes.add(self.members, weight=0)
        self.panes = panes
        root.bind("<Configure>", self.on_root_configure, add="+")

    def add_notifications_toggle(self, on: bool) -> None:
        """Put "Desktop notifications" in the transcript's menu, by "Show joins and parts"."""
        self.notifications_on = tkinter.BooleanVar(self.root, value=on)
        self.transcript.menu.add_checkbutton(
            label="Desktop notifications",
            variable=self.notifications_on,
            command=lambda: self._fire("notifications", bool(self.notifications_on.get())),
        )

    def on_root_configure(self, event: tkinter.Event) -> None:
        """The window was resized: fit the panels to its new width."""
        if event.widget is self.root:
            self.fit_panels(event.width)

    def fit_panels(self, width: int) -> None:
        """Show the member list in a window at least :data:`MEMBERS_HIDDEN_BELOW` wide only."""
        shown = self.members_shown()
        if width < MEMBERS_HIDDEN_BELOW and shown:
            self.panes.forget(self.members)
        elif width >= MEMBERS_HIDDEN_BELOW and not shown:
            self.panes.add(self.members, weight=0)

    def members_shown(self) -> bool:
        """Whether the member list is on screen (a narrow window leaves it out)."""
        return str(self.members) in (str(pane) for pane in self.panes.panes())

    def bind_keys(self) -> None:
        """The keys that cross panels: paging the transcript, moving between conversations."""
        entry, text = self.message_entry, self.chat_area.text
        entry.bind("<Prior>", lambda e: self.chat_area.yview_scroll(-1, "pages") or "break")
        entry.bind("<Next>", lambda e: self.chat_area.yview_scroll(1, "pages") or "break")
        entry.bind("<Control-End>", then_break(self.transcript.follow.jump))
        for widget in (entry, self.name_entry, text, self.conversation_list, self.member_list):
            widget.bind("<Control-f>", then_break(self.open_search))
        for widget in (entry, self.name_entry, text):
            widget.bind("<Alt-Up>", then_break(lambda: self.cycle_conversation(-1)))
            widget.bind("<Alt-Down>", then_break(lambda: self.cycle_conversation(1)))
            widget.bind("<Control-Prior>", then_break(lambda: self.cycle_conversation(-1)))
            widget.bind("<Control-Next>", then_break(lambda: self.cycle_conversation(1)))
        # Typing while the transcript has focus goes to the message entry.
        text.bind("<Key>", self.on_transcript_key)
        self.root.bind("<FocusIn>", self.on_focus_in, add="+")
        self.root.bind("<FocusOut>", lambda e: self.root.after_idle(self._note_focus), add="+")

    def on_focus_in(self, _event: tkinter.Event) -> None:
        """The window got the focus: it stops asking for attention; the controller hears."""
        self.set_urgent(False)
        self._fire("focus")

    def on_transcript_key(self, event: tkinter.Event) -> str | None:
        """A printable key pressed in the transcript is typed into the message entry."""
        control = isinstance(event.state, int) and event.state & 0x4  # a str on odd events
        if control or not event.char or not event.char.isprintable():
            return None  # Ctrl+C and friends keep working in the transcript
        self.input_row.type_char(event.char)
        return "break"

    def on_theme_change(self, style: Any) -> None:
        """Restyle every panel for the theme now in use."""
        dark = is_dark(self.root)
        self.transcript.restyle(style, dark)
        self.sidebar.restyle(style)
        self.members.restyle(style)
        self.input_row.restyle(style)
        self.status_bar.restyle(dark)

    # --- wiring ----------------------------------------------------------------------------
    def set_handlers(self, **handlers: Callback) -> None:
        """Set the callbacks: send, nick, select, theme, close, recall, complete, member,
        focus, older, account, search (a query), search_jump (a result chosen),
        search_closed, joins (shown or hidden: remember it), typed (the message
        box changed), send_typing (our typing notifications on or off), notifications (desktop
        notifications on or off: remember it), reading (the user may be reading: a
        conversation shown, a line added to it, or its end in view again), reply and
        pick_reaction (the menu on a message: key and line), react (a reaction clicked:
        key, msgid, emoji), cancel_reply (the reply bar's close button), quote (a reply's
        quote clicked: key and the msgid it answers), deletable (asked: may the user
        delete this line?), delete (the user chose "Delete…" on one)."""
        self.handlers.update(handlers)
        if "close" in handlers:
            self.root.on_close(handlers["close"])

    def _fire(self, name: str, *args: object) -> None:
        self.handlers.get(name, _noop)(*args)

    def _ask(self, name: str, *args: object) -> Any:
        """The answer of the handler ``name`` (None when there is none)."""
        return self.handlers.get(name, _noop)(*args)

    def schedule(self, ms: int, func: Callable[[], object]) -> str:
        """Run ``func`` on the Tk thread after ``ms`` milliseconds."""
        return self.root.after(ms, func)

    def cancel(self, job: str) -> None:
        """Cancel a job from :meth:`schedule`."""
        try:
            self.root.after_cancel(job)
        except tkinter.TclError:
            pass

    def run(self) -> None:
        """Enter the Tk main loop until the window closes."""
        self.root.mainloop()

    def destroy(self) -> None:
        """Close the window (idempotent)."""
        self.urgency.close()
        try:
            self.root.destroy()
        except tkinter.TclError:
            pass

    def toggle_theme(self) -> str:
        """Switch between the light and dark variant; return the new theme's name."""
        return toggle_theme(self.root)

    def theme_name(self) -> str:
        """The theme in use."""
        return str(self.root.theme_use())

    # --- input row and status bar ----------------------------------------------------------
    def get_message(self) -> str:
        """What is typed in the message entry."""
        return self.input_row.get_message()

    def set_message(self, text: str, cursor: int | None = None) -> None:
        """Replace the message entry's text and put the cursor at ``cursor`` (default: end)."""
        self.input_row.set_message(text, cursor)

    def get_cursor(self) -> int:
        """The cursor position in the message entry."""
        return self.input_row.get_cursor()

    def focus_message(self) -> None:
        """Give the message entry the keyboard focus."""
        self.message_entry.focus_set()

    def get_name(self) -> str:
        """What is typed in the name entry."""
        return self.input_row.get_name()

    def set_nick(self, nick: str) -> None:
        """Show our current nick in the name entry and the window title."""
        self.input_row.set_nick(nick)
        self.own_nick = nick
        self._update_title()

    def set_server(self, address: str) -> None:
        """Name the server (``host:port``) in the window title."""
        self.server_address = address
        self._update_title()

    def set_status(self, state: str, text: str) -> None:
        """Show the connection state and a sentence about it in the status bar."""
        self.status_bar.show(state, sanitize(text, 300))

    def bell(self) -> None:
        """Ring the bell (nothing to complete, ...)."""
        self.root.bell()

    def ask_password(self, prompt: str, note: str, on_answer: PasswordAnswer) -> None:
        """Open the password dialog (replacing one still open); ``on_answer`` gets the reply."""
        old = self.password_dialog
        if old is not None and old.open:
            old.supersede()
        self.password_dialog = PasswordDialog(self.root, prompt, note, on_answer)

    def ask_account(
        self, account: str, note: str, error: str, can_remember: bool, on_answer: AccountAnswer
    ) -> None:
        """Open the "Sign in / Create account" dialog (replacing one still open)."""
        old = self.sign_in_dialog
        if old is not None and old.open:
            old.supersede()
        self.sign_in_dialog = SignInDialog(self.root, account, note, error, can_remember, on_answer)

    def confirm(
        self,
        question: str,
        on_answer: ConfirmAnswer,
        title: str = "Send a long paste?",
        yes: str = "Send",
    ) -> None:
        """Ask a yes-or-no question (replacing one still open)."""
        old = self.confirm_dialog
        if old is not None and old.open:
            old.supersede()
        self.confirm_dialog = ConfirmDialog(self.root, question, on_answer, title, yes)

    def set_account(self, account: str) -> None:
        """The account button says whether we are signed in (the status text says as whom)."""
        self.account_button.configure(text="Account…" if account else "Sign in…")

    # --- conversations ---------------------------------------------------------------------
    def add_conversation(self, key: str, name: str, select: bool = False) -> None:
        """Open a conversation in the sidebar (if it is not there yet)."""
        conversation = self.conversations.add(key, name)
        if conversation is not None:
            self.sidebar.add(conversation)
        if select or self.conversations.current is None:
            self.show_conversation(key)

    def set_typing(self, key: str, text: str) -> None:
        """Who is typing in ``key``, shown under the transcript while it is open."""
        self.typing_line.set(key, sanitize(text))

    def remove_conversation(self, key: str) -> None:
        """Close a conversation; show a neighbour if it was open."""
        if key not in self.conversations:
            return
        neighbour = self.conversations.remove(key)
        self.sidebar.remove(key)
        if neighbour is not None:
            self.show_conversation(neighbour)
        self._update_title()

    def rename_conversation(self, key: str, new_key: str, name: str) -> None:
        """Rename a conversation (a peer changed nick), keeping its lines."""
        conversation = self.conversations.rename(key, new_key, name)
        if conversation is None:
            return
        if new_key != key:
            self.sidebar.rename(key, new_key)
        self.sidebar.refresh(conversation)
        if self.conversations.current == new_key:
            self.header.show(conversation)

    def show_conversation(self, key: str) -> None:
        """Open a conversation: its transcript, topic and members."""
        opened = self.conversations.open(key)
        if opened is None:
            return
        conversation, changed = opened
        if changed:
            self.transcript.show(conversation)
        self.sidebar.select(key)
        self.sidebar.refresh(conversation)
        self.header.show(conversation)
        self.members.show(conversation)
        self.typing_line.show(key)
        self.reply_bar.show(key)
        self._update_title()
        self._fire("reading")

    # --- search ---------------------------------------------------------------------------
    def open_search(self) -> None:
        """Show the search panel above the transcript, the cursor in its query."""
        self.search_panel.open(self.chat_area)

    def show_search_results(self, rows: Sequence[tuple[Row, object]], status: str) -> None:
        """List a search's results (their texts, each standing for its item)."""
        self.search_panel.show_results(rows, status)

    def cycle_conversation(self, step: int) -> None:
        """Open the previous (-1) or next (+1) conversation in the sidebar."""
        keys = self.conversations.ordered_keys()
        if not keys:
            return
        current = self.conversations.current
        index = keys.index(current) if current in keys else 0
        self._fire("select", keys[(index + step) % len(keys)])

    def _update_title(self) -> None:
        mentions = self.conversations.mentions()
        current = self.conversations.get(self.conversations.current)
        name = (current.name or "Server") if current is not None else ""
        # "#general — alice @ 127.0.0.1:5000 — Kibitz": what is open, who we are, where.
        who = " @ ".join(part for part in (self.own_nick, self.server_address) if part)
        title = " — ".join(part for part in (name, who, self.app_title) if part)
        if mentions:
            title = f"({mentions}) {title}"
        self.root.title(sanitize(title, 200))

    def _is_current(self, key: str) -> Conversation | None:
        return self.conversations.get(key) if key == self.conversations.current else None

    def set_topic(self, key: str, topic: str) -> None:
        """Remember and (if open) show a conversation's topic."""
        conversation = self.conversations.get(key)
        if conversation is not None:
            conversation.topic = topic
            if self._is_current(key):
                self.header.show(conversation)

    def set_members(
        self,
        key: str,
        members: tuple[tuple[str, str], ...],
        signed_in: frozenset[str] = frozenset(),
        topic_settable: bool = False,
        away: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Remember and (if open) show a channel's members (marking those signed in,
        greying those away), and whether the header may invite us to set its topic."""
        conversation = self.conversations.get(key)
        if conversation is not None:
            conversation.members = tuple(members)
            conversation.signed_in = frozenset(signed_in)
            conversation.topic_settable = topic_settable
            conversation.away = dict(away)
            if self._is_current(key):
                self.members.show(conversation)
                self.header.show(conversation)

    def clear_conversation(self, key: str) -> None:
        """Forget a conversation's transcript."""
        conversation = self.conversations.get(key)
        if conversation is None:
            return
        conversation.lines.clear()
        if self._is_current(key):
            self.transcript.clear()

    # --- the transcript --------------------------------------------------------------------
    def append(self, key: str, line: Line, count: bool = True) -> None:
        """Add a line to a conversation; shown now when it is open, counted as unread if not."""
        conversation = self.conversations.get(key)
        if conversation is None:
            return
        changed = self.conversations.add_line(key, line, count, self._has_focus())
        if self._is_current(key):
            self.transcript.append(line)
        if changed:
            self.sidebar.refresh(conversation)
            self._update_title()
        if self._is_current(key):
            self._fire("reading")  # a line at the end: read if the end is in view

    def replace_line(self, key: str, old: Line, new: Line) -> None:
        """Show ``new`` in place of the line ``old`` of ``key`` (at the end if it is gone)."""
        if not self.conversations.replace_line(key, old, new):
            self.append(key, new, count=False)
            return
        conversation = self._is_current(key)
        if conversation is None:
            return
        self._redraw(conversation)

    def _redraw(self, conversation: Conversation) -> None:
        """Draw the open conversation again, leaving a reader scrolled up where they were."""
        text = self.transcript.chat_area.text
        following, top = self.transcript.follow.following, text.yview()[0]
        self.transcript.show(conversation)  # redrawn: Text indices are not ours to compute
        if not following:  # back where the user was reading (a scroll: no longer following)
            text.yview_moveto(top)

    def clear_mentions(self) -> None:
        """The user is looking at the open conversation: its mentions are read."""
        if self.conversations.read():
            current = self.conversations.get(self.conversations.current)
            if current is not None:
                self.sidebar.refresh(current)
            self._update_title()

    def has_focus(self) -> bool:
        """Whether the window has the keyboard focus."""
        return self._has_focus()

    def set_urgent(self, urgent: bool) -> None:
        """Set or clear the window's urgency hint (a taskbar shows it wants attention)."""
        self.urgency.set(urgent)

    def present(self) -> None:
        """Bring the window forward: de-iconified, raised, with the keyboard focus."""
        self.root.deiconify()
        self.root.lift()
        self.root.focus_force()
        self.message_entry.focus_set()

    def is_reading(self) -> bool:
        """Whether the user sees the open conversation's newest lines: the window has the
        focus and the transcript is at its end."""
        return self._has_focus() and self.transcript.follow.following

    def read_until(self, key: str, when: datetime, here: bool = True) -> None:
        """``key`` is read up to ``when``: here, or in another window (then its counters
        follow, and on screen the "— new —" line moves there)."""
        if self.conversations.read_until(key, when, here, self._has_focus()):
            conversation = self.conversations[key]
            self.sidebar.refresh(conversation)
            self._update_title()
        if not here:
            self.place_new_line(key, renew=True)

    def place_new_line(self, key: str, renew: bool = False) -> None:
        """Draw ``key``'s "— new —" line again if it is on screen and its place changed
        (``renew``: it goes to the read marker, as when the conversation is opened)."""
        conversation = self._is_current(key)
        if conversation is None:
            return
        if renew:
            conversation.new_after = conversation.read_at
        if self.transcript.new_line_moved(conversation):
            self._redraw(conversation)

    def took_focus(self) -> bool:
        """Whether the window came into focus since this was last asked (focus moving
        between its own widgets does not count)."""
        now = self._has_focus()
        gained = now and not self._focus_noted
        self._focus_noted = now
        return gained

    def _note_focus(self) -> None:
        # After a FocusOut settles: still focused when only a widget of ours lost it.
        self._focus_noted = self._has_focus()

    def _has_focus(self) -> bool:
        try:
            return self.root.focus_displayof() is not None
        except (tkinter.TclError, KeyError):
            return False

    def mark_missed(self, key: str) -> None:
        """Remember the end of ``key`` as the place for messages missed while offline."""
        conversation = self.conversations.get(key)
        if conversation is None:
            return
        kept = [line for line in conversation.lines if line.kind != "mark"]
        conversation.lines = deque(kept, maxlen=conversation.lines.maxlen)
        conversation.lines.append(Line("mark", ""))
        if self._is_current(key):
            self.transcript.mark_missed()

    def insert_chathistory(self, key: str, lines: Sequence[Line], place: str) -> None:
        """Show a page of chathistory in ``key`` at ``place``: older, latest or missed."""
        # ``older`` goes on top; ``latest`` (the first page) on top above "— history —";
        # ``missed`` where the connection was lost. The user's view does not move.
        conversation = self.conversations.get(key)
        if conversation is None or not lines:
            return
        lines = list(lines)
        kinds = [line.kind for line in conversation.lines]
        if place == "latest" and "separator" in kinds:
            place = "missed"  # the first page is shown already: these come after it
        if place == "missed":
            index = kinds.index("mark") if "mark" in kinds else len(kinds)
        else:
            index = 0
            if place == "latest":
                lines.append(Line("separator", "", text=CHATHISTORY_SEPARATOR))
            room = (conversation.lines.maxlen or len(kinds) + len(lines)) - len(kinds)
            if room <= 0:
                return  # the scrollback is full: nothing older fits
            lines = lines[-room:]
        shows = self.transcript.shows  # hidden joins and parts decide no divider
        previous = day_before(conversation.lines, index, shows)
        following = day_after(conversation.lines, index, shows)
        items = list(conversation.lines)
        items[index:index] = lines
        conversation.lines = deque(items, maxlen=conversation.lines.maxlen)
        if self._is_current(key):
            self.transcript.insert_run(place, lines, previous, following)

    # --- replies and reactions --------------------------------------------------------
    def set_tags_usable(self, on: bool) -> None:
        """Whether replies and reactions are offered (the server relays client tags)."""
        self.tags_usable = on

    def set_reactions(self, key: str, msgid: str, chips: Sequence[Chip]) -> None:
        """The reactions under the message ``msgid`` of ``key``."""
        conversation = self.conversations.get(key)
        if conversation is None:
            return
        if chips:
            conversation.reactions[msgid] = tuple(chips)
        else:
            conversation.reactions.pop(msgid, None)
        if self._is_current(key):
            self.transcript.set_chips(msgid)

    def open_picker(self, on_pick: Callable[[str], object]) -> None:
        """Open the reaction picker by the pointer; ``on_pick`` gets the emoji chosen."""
        if self.picker is not None and self.picker.winfo_exists():
            self.picker.destroy()
        at = (self.root.winfo_pointerx() + 8, self.root.winfo_pointery() + 8)
        self.picker = ReactPicker(self.root, on_pick, self.transcript.astral, at)

    def set_reply(self, key: str, quote: str) -> None:
        """The reply under way in ``key``, quoted above the message box ("" for none)."""
        self.reply_bar.set(key, quote)

    def jump_to(self, key: str, msgid: str) -> bool:
        """Show the message ``msgid`` of ``key`` (the open one), lit up; False if not drawn."""
        return bool(self._is_current(key)) and self.transcript.jump_to(msgid)

    def show_raw(self, on: bool) -> None:
        """Show the server's raw lines in place of their sentences (``on``), or the sentences."""
        self.transcript.raw = on
        current = self.conversations.get(self.conversations.current)
        if current is not None:
            self.transcript.show(current)

    def transcript_text(self) -> str:
        """Everything the transcript shows now (for tests and copy-all)."""
        return self.transcript.transcript_text()
