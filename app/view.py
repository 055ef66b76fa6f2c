"""ChatView: the ttkbootstrap window. The only module that imports tkinter; no sockets here.

The controller calls the public methods from the Tk thread only, and hears about the
user's actions through the callbacks given to :meth:`ChatView.set_handlers`.
"""

from __future__ import annotations

import tkinter
import tkinter.font as tkfont
import webbrowser
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ttkbootstrap as ttk

from app.text import Line, day_label, find_urls, nick_colour_index, sanitize, url_target

SCROLLBACK = 5000
HISTORY_SEPARATOR = "— history —"
# Tk marks in the history text: where missed messages go, and scratch marks for inserts.
_MISSED_MARK = "kibitz_missed"
_INSERT_MARK = "kibitz_insert"
_ANCHOR_MARK = "kibitz_anchor"
DEFAULT_THEME = "bootstrap-light"
#: Nick colours that read well on a light and on a dark background.
LIGHT_NICKS = (
    "#c92a2a", "#2b8a3e", "#1864ab", "#862e9c", "#d9480f", "#0b7285", "#a61e4d", "#5c940d",
    "#5f3dc4", "#b35c00", "#087f5b", "#364fc7", "#9c36b5", "#8a5a00", "#c2255c", "#3b5bdb",
)  # fmt: skip
DARK_NICKS = (
    "#ff8787", "#8ce99a", "#74c0fc", "#e599f7", "#ffa94d", "#66d9e8", "#f783ac", "#c0eb75",
    "#b197fc", "#ffd43b", "#63e6be", "#91a7ff", "#da77f2", "#d8a657", "#faa2c1", "#a5d8ff",
)  # fmt: skip
_PREFIX_COLOURS = {"~": "danger", "&": "danger", "@": "success", "%": "warning", "+": "info"}
_STATE_STYLE = {
    "connected": "success",
    "connecting": "warning",
    "reconnecting": "warning",
    "disconnected": "danger",
    "closed": "secondary",
}


@dataclass
class Buffer:
    """One conversation as the window keeps it: its lines, members, topic and counters."""

    key: str
    name: str
    lines: deque[Line] = field(default_factory=lambda: deque(maxlen=SCROLLBACK))
    members: tuple[tuple[str, str], ...] = ()
    topic: str = ""
    unread: int = 0
    mentions: int = 0


Callback = Callable[..., Any]
#: Called with the password (None when cancelled) and whether to remember it.
PasswordAnswer = Callable[[str | None, bool], object]


class PasswordDialog:
    """A small window asking for the server password; it never blocks the chat window.

    Not modal on purpose: the chat keeps running (and tests fill it in and ``invoke()``
    its buttons) while it is open.
    """

    def __init__(self, root: Any, prompt: str, note: str, on_answer: PasswordAnswer) -> None:
        self.on_answer = on_answer
        self.window = ttk.Toplevel(
            title="Server password", master=root, transient=root, resizable=(False, False)
        )
        self.window.protocol("WM_DELETE_WINDOW", self.cancel)
        self.window.geometry(f"+{root.winfo_rootx() + 80}+{root.winfo_rooty() + 80}")
        body = ttk.Frame(self.window, padding=16)
        body.pack(fill=tkinter.BOTH, expand=True)
        self.prompt_label = ttk.Label(body, text=sanitize(prompt, 300), wraplength=360)
        self.prompt_label.pack(anchor="w")
        self.entry = ttk.Entry(body, show="•", width=32)
        self.entry.pack(fill=tkinter.X, pady=(10, 8))
        self.remember = ttk.BooleanVar(master=self.window, value=False)
        self.remember_check = ttk.Checkbutton(
            body, text="Remember password", variable=self.remember
        )
        self.remember_check.pack(anchor="w")
        self.note_label = ttk.Label(
            body, text=sanitize(note, 300), wraplength=360, bootstyle="secondary"
        )
        self.note_label.pack(anchor="w", pady=(4, 12))
        buttons = ttk.Frame(body)
        buttons.pack(fill=tkinter.X)
        self.ok_button = ttk.Button(
            buttons, text="Connect", bootstyle="primary", command=self.confirm
        )
        self.ok_button.pack(side=tkinter.RIGHT)
        self.cancel_button = ttk.Button(
            buttons, text="Cancel", bootstyle="secondary", command=self.cancel
        )
        self.cancel_button.pack(side=tkinter.RIGHT, padx=(0, 8))
        self.entry.bind("<Return>", lambda e: self.confirm() or "break")
        self.entry.bind("<KP_Enter>", lambda e: self.confirm() or "break")
        self.window.bind("<Escape>", lambda e: self.cancel() or "break")
        self.entry.focus_set()

    @property
    def open(self) -> bool:
        """True until the dialog is answered or cancelled."""
        try:
            return bool(self.window.winfo_exists())
        except tkinter.TclError:
            return False

    def confirm(self) -> None:
        """Connect with the typed password (an empty entry only rings the bell)."""
        password = self.entry.get()
        if not password:
            self.window.bell()
            return
        remember = bool(self.remember.get())
        self._close()
        self.on_answer(password, remember)

    def cancel(self) -> None:
        """Close without a password."""
        self._close()
        self.on_answer(None, False)

    def _close(self) -> None:
        try:
            self.window.destroy()
        except tkinter.TclError:
            pass


def _noop(*_args: object) -> None:
    return None


class NoDisplayError(RuntimeError):
    """There is no screen to open a window on (no X display, say)."""


def open_root(title: str, size: tuple[int, int], minsize: tuple[int, int]) -> ttk.App:
    """The one ttkbootstrap root of this process; :class:`NoDisplayError`, with what to
    do instead, when no window can be opened."""
    try:
        return ttk.App(title=title, theme=DEFAULT_THEME, size=size, minsize=minsize)
    except tkinter.TclError as exc:
        raise NoDisplayError(
            f"cannot open a window ({exc}); run it in a desktop session, where DISPLAY "
            "names the screen"
        ) from None


class StatusBar:
    """The bar along the bottom of a window (the chat window and the server window): a
    coloured dot, a line of text, and the light/dark switch. Packed first, so a small
    window squeezes its middle, never this bar."""

    def __init__(
        self,
        root: tkinter.Misc,
        font: tkfont.Font,
        text: str,
        dot_style: str,
        on_theme: Callable[[], None],
    ) -> None:
        self.frame = ttk.Frame(root, padding=(10, 3))
        self.frame.pack(side=tkinter.BOTTOM, fill=tkinter.X)
        self.dot = ttk.Label(self.frame, text="●", bootstyle=dot_style)
        self.dot.pack(side=tkinter.LEFT)
        self.label = ttk.Label(self.frame, text=text, font=font)
        self.label.pack(side=tkinter.LEFT, padx=(4, 0))
        self.theme_button = ttk.Button(
            self.frame, text="Dark mode", bootstyle="link", command=on_theme
        )
        self.theme_button.pack(side=tkinter.RIGHT)
        ttk.Separator(root).pack(side=tkinter.BOTTOM, fill=tkinter.X)


class ChatView:
    """The chat window: sidebar, history, members, topic, input row and status bar."""

    def __init__(
        self,
        theme: str = "bootstrap-light",
        title: str = "Kibitz",
        scrollback: int = SCROLLBACK,
        size: tuple[int, int] = (1040, 660),
    ) -> None:
        self.app_title = title
        self.scrollback = scrollback
        self.root = open_root(title, size, (560, 360))
        #: Set when the requested theme does not exist (the default is used instead).
        self.theme_error = ""
        wanted = _known_theme(theme)
        if wanted != DEFAULT_THEME:
            try:
                self.root.theme_use(wanted)
            except tkinter.TclError:
                self.theme_error = f"Unknown theme {theme!r}; try one of: " + ", ".join(
                    self.root.theme_names()
                )
        self.handlers: dict[str, Callback] = {}
        self.buffers: dict[str, Buffer] = {}
        self.current: str | None = None
        self.own_nick = ""
        self.open_url: Callable[[str], object] = lambda url: webbrowser.open(url, new=2)
        self.password_dialog: PasswordDialog | None = None
        self._build_fonts()
        self._build()
        self._bind_keys()
        self.astral = self._probe_astral()
        self.root.style.on_theme_change(self._restyle)
        self.message_entry.focus_set()

    # --- construction --------------------------------------------------------------------
    def _build_fonts(self) -> None:
        base = tkfont.nametofont("TkDefaultFont").actual()
        size = max(10, int(base["size"]))
        family = base["family"]
        self.font = tkfont.Font(root=self.root, family=family, size=size)
        self.font_bold = tkfont.Font(root=self.root, family=family, size=size, weight="bold")
        self.font_italic = tkfont.Font(root=self.root, family=family, size=size, slant="italic")
        self.font_small = tkfont.Font(root=self.root, family=family, size=size - 1)
        self.font_title = tkfont.Font(root=self.root, family=family, size=size + 3, weight="bold")

    def _build(self) -> None:
        root = self.root
        # Bottom bars first, so a small window squeezes the history, never the input.
        bar = StatusBar(root, self.font_small, "Starting…", "warning", lambda: self._fire("theme"))
        self.status_dot, self.status_label = bar.dot, bar.label
        self.theme_button = bar.theme_button
        # A long status (a certificate fingerprint) wraps instead of running under the button.
        bar.frame.bind("<Configure>", self._wrap_status, add="+")

        entry_row = ttk.Frame(root, padding=(10, 8))
        entry_row.pack(side=tkinter.BOTTOM, fill=tkinter.X)
        self.name_label = ttk.Label(entry_row, text="Name")
        self.name_label.pack(side=tkinter.LEFT)
        self.name_entry = ttk.Entry(entry_row, width=14)
        self.name_entry.pack(side=tkinter.LEFT, padx=(6, 10))
        self.send_button = ttk.Button(
            entry_row, text="Send", bootstyle="primary", command=lambda: self._fire("send")
        )
        self.send_button.pack(side=tkinter.RIGHT)
        self.message_entry = ttk.Entry(entry_row)
        self.message_entry.pack(side=tkinter.LEFT, fill=tkinter.X, expand=True, padx=(0, 8))

        header = ttk.Frame(root, padding=(12, 8, 12, 6))
        header.pack(side=tkinter.TOP, fill=tkinter.X)
        self.title_label = ttk.Label(header, text="", font=self.font_title)
        self.title_label.pack(side=tkinter.LEFT)
        self.topic_label = ttk.Label(header, text="", bootstyle="secondary", anchor="w")
        self.topic_label.pack(side=tkinter.LEFT, fill=tkinter.X, expand=True, padx=(12, 0))
        ttk.Separator(root).pack(side=tkinter.TOP, fill=tkinter.X)

        panes = ttk.Panedwindow(root, orient=tkinter.HORIZONTAL)
        panes.pack(fill=tkinter.BOTH, expand=True)

        side = ttk.Frame(panes, padding=(8, 8, 4, 8))
        ttk.Label(side, text="CONVERSATIONS", font=self.font_small, bootstyle="secondary").pack(
            anchor="w", pady=(0, 4)
        )
        self.buffer_list = ttk.Treeview(
            side,
            show="tree",
            columns=("unread",),
            selectmode="browse",
            height=8,
            bootstyle="primary",
        )
        self.buffer_list.column("#0", width=150, stretch=True)
        self.buffer_list.column("unread", width=36, anchor="e", stretch=False)
        self.buffer_list.pack(fill=tkinter.BOTH, expand=True)
        self.buffer_list.bind("<<TreeviewSelect>>", self._on_buffer_select)

        middle = ttk.Frame(panes, padding=(4, 4, 4, 4))
        self.chat_area = ttk.ScrolledText(
            middle,
            wrap="word",
            font=self.font,
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
        # Tk reports the visible fraction after each layout: "at the bottom" is known
        # exactly, even in the middle of a batch of inserts.
        self._at_bottom = True
        scrollbar = self.chat_area.vbar

        def on_scroll(first: str, last: str) -> None:
            self._at_bottom = float(last) >= 0.999
            if scrollbar is not None:
                scrollbar.set(first, last)
            # At the top: older history is wanted (the controller asks only when there is some).
            current = self.current
            if float(first) <= 0.0 and current in self.buffers and self.buffers[current].lines:
                self._fire("older", current)

        self.chat_area.text.configure(yscrollcommand=on_scroll)
        self._configure_columns()
        self.chat_area.configure(state="disabled")

        members = ttk.Frame(panes, padding=(4, 8, 8, 8))
        self.members_label = ttk.Label(
            members, text="MEMBERS", font=self.font_small, bootstyle="secondary"
        )
        self.members_label.pack(anchor="w", pady=(0, 4))
        self.member_list = ttk.Treeview(members, show="tree", selectmode="browse", height=8)
        self.member_list.column("#0", width=140, stretch=True)
        self.member_list.pack(fill=tkinter.BOTH, expand=True)
        self.member_list.bind("<Double-1>", self._on_member_activate)
        self.member_list.bind("<Return>", self._on_member_activate)

        panes.add(side, weight=0)
        panes.add(middle, weight=1)
        panes.add(members, weight=0)
        self._restyle(self.root.style)

    def _wrap_status(self, event: tkinter.Event) -> None:
        room = event.width - self.theme_button.winfo_reqwidth() - 60
        self.status_label.configure(wraplength=max(200, room))

    def _configure_columns(self) -> None:
        # time | nick (right-aligned) | text; wrapped lines hang under the text column.
        time_w = self.font.measure("00:00") + 12
        nick_w = time_w + self.font_bold.measure("m" * 9)
        text_x = nick_w + 12
        # A right tab aligns the text *after* it, so the nick ends at nick_w.
        self.chat_area.configure(tabs=(nick_w, "right", text_x, "left"))
        self.chat_area.tag_configure("line", lmargin2=text_x)

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

    def _restyle(self, style: Any) -> None:
        colors = style.colors
        dark = self.root.theme_mode == "dark"
        text = self.chat_area.text
        muted = colors.secondary
        palette = DARK_NICKS if dark else LIGHT_NICKS
        for index, colour in enumerate(palette):
            text.tag_configure(f"nick{index}", foreground=colour, font=self.font_bold)
        text.configure(
            background=colors.inputbg,
            foreground=colors.inputfg,
            selectbackground=colors.selectbg,
            selectforeground=colors.selectfg,
            insertbackground=colors.inputfg,
        )
        text.tag_configure("time", foreground=muted, font=self.font_small)
        text.tag_configure("muted", foreground=muted, font=self.font_small)
        text.tag_configure("info", foreground=muted)
        text.tag_configure("error", foreground=colors.danger)
        text.tag_configure("notice", foreground=colors.info if dark else colors.primary)
        text.tag_configure("action", font=self.font_italic)
        text.tag_configure("divider", justify="center", spacing1=8, spacing3=4)
        text.tag_configure(
            "url", foreground=colors.info if dark else colors.primary, underline=True
        )
        mention_bg = "#4a3b12" if dark else "#fff3cd"
        text.tag_configure("mention", background=mention_bg)
        text.tag_raise("url")
        text.tag_raise("sel")
        # The selected conversation in the accent colour, readable in light and dark.
        for tree in (self.buffer_list, self.member_list):
            style.map(
                tree.cget("style") or "Treeview",
                background=[("selected", colors.primary)],
                foreground=[("selected", "#ffffff")],
            )
        for tree in (self.buffer_list, self.member_list):
            tree.tag_configure("mention", foreground=colors.danger)
            tree.tag_configure("unread", font=self.font_bold)
            tree.tag_configure("read", font=self.font)
        for prefix, name in _PREFIX_COLOURS.items():
            self.member_list.tag_configure(f"prefix{prefix}", foreground=getattr(colors, name))
        self.theme_button.configure(text="Light mode" if dark else "Dark mode")

    def _bind_keys(self) -> None:
        entry = self.message_entry
        entry.bind("<Return>", lambda e: self._fire("send") or "break")
        entry.bind("<KP_Enter>", lambda e: self._fire("send") or "break")
        entry.bind("<Up>", lambda e: self._fire("history", -1) or "break")
        entry.bind("<Down>", lambda e: self._fire("history", 1) or "break")
        entry.bind("<Tab>", lambda e: self._fire("complete") or "break")
        entry.bind("<Prior>", lambda e: self.chat_area.yview_scroll(-1, "pages") or "break")
        entry.bind("<Next>", lambda e: self.chat_area.yview_scroll(1, "pages") or "break")
        for widget in (entry, self.name_entry, self.chat_area.text):
            widget.bind("<Alt-Up>", lambda e: self.cycle_buffer(-1) or "break")
            widget.bind("<Alt-Down>", lambda e: self.cycle_buffer(1) or "break")
            widget.bind("<Control-Prior>", lambda e: self.cycle_buffer(-1) or "break")
            widget.bind("<Control-Next>", lambda e: self.cycle_buffer(1) or "break")
        self.name_entry.bind("<Return>", lambda e: self._fire("nick") or "break")
        self.name_entry.bind("<KP_Enter>", lambda e: self._fire("nick") or "break")
        self.name_entry.bind("<Escape>", lambda e: self.set_nick(self.own_nick))
        self.name_entry.bind("<FocusOut>", lambda e: self.set_nick(self.own_nick))
        text = self.chat_area.text
        text.tag_bind("url", "<Button-1>", self._on_url_click)
        text.tag_bind("url", "<Enter>", lambda e: text.configure(cursor="hand2"))
        text.tag_bind("url", "<Leave>", lambda e: text.configure(cursor="arrow"))
        # Typing while the history has focus goes to the message entry.
        text.bind("<Key>", self._redirect_key)
        self.root.bind("<FocusIn>", lambda e: self._fire("focus"), add="+")

    def _redirect_key(self, event: tkinter.Event) -> str | None:
        if event.state & 0x4 or not event.char or not event.char.isprintable():
            return None  # Ctrl+C and friends keep working in the history
        self.message_entry.focus_set()
        self.message_entry.insert("end", event.char)
        return "break"

    # --- wiring ----------------------------------------------------------------------------
    def set_handlers(self, **handlers: Callback) -> None:
        """Set the callbacks: send, nick, select, theme, close, history, complete, member,
        focus, older."""
        self.handlers.update(handlers)
        if "close" in handlers:
            self.root.on_close(handlers["close"])

    def _fire(self, name: str, *args: object) -> None:
        self.handlers.get(name, _noop)(*args)

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
        try:
            self.root.destroy()
        except tkinter.TclError:
            pass

    def toggle_theme(self) -> str:
        """Switch between the light and dark variant; return the new theme's name."""
        self.root.toggle_theme()
        return str(self.root.theme_use())

    def theme_name(self) -> str:
        """The theme in use."""
        return str(self.root.theme_use())

    # --- input row -------------------------------------------------------------------------
    def get_message(self) -> str:
        """What is typed in the message entry."""
        return self.message_entry.get()

    def set_message(self, text: str, cursor: int | None = None) -> None:
        """Replace the message entry's text and put the cursor at ``cursor`` (default: end)."""
        self.message_entry.delete(0, "end")
        self.message_entry.insert(0, sanitize(text, astral=self.astral))
        self.message_entry.icursor("end" if cursor is None else cursor)
        self.message_entry.xview("end")

    def get_cursor(self) -> int:
        """The cursor position in the message entry."""
        return int(self.message_entry.index("insert"))

    def focus_message(self) -> None:
        """Give the message entry the keyboard focus."""
        self.message_entry.focus_set()

    def get_name(self) -> str:
        """What is typed in the name entry."""
        return self.name_entry.get().strip()

    def set_nick(self, nick: str) -> None:
        """Show our current nick in the name entry."""
        self.own_nick = nick
        self.name_entry.delete(0, "end")
        self.name_entry.insert(0, sanitize(nick))

    # --- status ------------------------------------------------------------------------
    def set_status(self, state: str, text: str) -> None:
        """Show the connection state and a sentence about it in the status bar."""
        self.status_dot.configure(bootstyle=_STATE_STYLE.get(state, "secondary"))
        self.status_label.configure(text=sanitize(text, 300))

    def bell(self) -> None:
        """Ring the bell (nothing to complete, ...)."""
        self.root.bell()

    def ask_password(self, prompt: str, note: str, on_answer: PasswordAnswer) -> None:
        """Open the password dialog (replacing one still open); ``on_answer`` gets the reply."""
        old = self.password_dialog
        if old is not None and old.open:
            old.on_answer = _noop  # superseded: its answer no longer counts
            old.cancel()
        self.password_dialog = PasswordDialog(self.root, prompt, note, on_answer)

    # --- buffers -------------------------------------------------------------------------
    def has_buffer(self, key: str) -> bool:
        """True when the conversation ``key`` is in the sidebar."""
        return key in self.buffers

    def buffer_keys(self) -> list[str]:
        """Keys of every conversation, in sidebar order."""
        return list(self.buffers)

    def buffer_names(self) -> list[str]:
        """Display names of every conversation."""
        return [b.name for b in self.buffers.values() if b.name]

    def current_name(self) -> str:
        """The open conversation's name ("" for the server window or none)."""
        if self.current is None or self.current not in self.buffers:
            return ""
        return self.buffers[self.current].name

    def add_buffer(self, key: str, name: str, select: bool = False) -> None:
        """Add a conversation to the sidebar (if it is not there yet)."""
        if key not in self.buffers:
            self.buffers[key] = Buffer(key, name, deque(maxlen=self.scrollback))
            label = self._sidebar_label(name)
            self.buffer_list.insert("", "end", iid=_iid(key), text=label, values=("",))
        if select or self.current is None:
            self.show_buffer(key)

    def _sidebar_label(self, name: str) -> str:
        if not name:
            return "  Server"
        if name[0] in "#&":
            return "  " + sanitize(name, 60)
        return "  @ " + sanitize(name, 60)

    def remove_buffer(self, key: str) -> None:
        """Remove a conversation; show a neighbour if it was open."""
        if key not in self.buffers:
            return
        keys = list(self.buffers)
        index = keys.index(key)
        del self.buffers[key]
        self.buffer_list.delete(_iid(key))
        if self.current == key:
            self.current = None
            rest = list(self.buffers)
            if rest:
                self.show_buffer(rest[max(0, index - 1)])
        self._update_title()

    def rename_buffer(self, key: str, new_key: str, name: str) -> None:
        """Rename a conversation (a peer changed nick), keeping its history."""
        buffer = self.buffers.get(key)
        if buffer is None or (new_key != key and new_key in self.buffers):
            return
        buffer.name = name
        if new_key != key:
            index = self.buffer_list.index(_iid(key))
            self.buffer_list.delete(_iid(key))
            self.buffers = {(new_key if k == key else k): v for k, v in self.buffers.items()}
            buffer.key = new_key
            self.buffer_list.insert("", index, iid=_iid(new_key), text="", values=("",))
            if self.current == key:
                self.current = new_key
                self.buffer_list.selection_set(_iid(new_key))
        self._update_sidebar(new_key)
        if self.current == new_key:
            self._show_header(buffer)

    def show_buffer(self, key: str) -> None:
        """Open a conversation: its history, topic and members."""
        buffer = self.buffers.get(key)
        if buffer is None:
            return
        changed = self.current != key
        self.current = key
        buffer.unread = buffer.mentions = 0
        if changed:
            text = self.chat_area.text
            text.configure(state="normal")
            text.delete("1.0", "end")
            day = ""
            for line in buffer.lines:
                if line.kind == "mark":
                    text.mark_set(_MISSED_MARK, "end-1c")
                    text.mark_gravity(_MISSED_MARK, "left")
                    continue
                if line.day and day and line.day != day:
                    text.insert("end", *self._divider_parts(line.day))
                day = line.day or day
                self._insert(line)
            text.configure(state="disabled")
            text.see("end")
            self._at_bottom = True
        if self.buffer_list.selection() != (_iid(key),):
            self.buffer_list.selection_set(_iid(key))
        self.buffer_list.see(_iid(key))
        self._update_sidebar(key)
        self._show_header(buffer)
        self._show_members(buffer)
        self._update_title()

    def cycle_buffer(self, step: int) -> None:
        """Open the previous (-1) or next (+1) conversation in the sidebar."""
        keys = list(self.buffers)
        if not keys:
            return
        index = keys.index(self.current) if self.current in keys else 0
        self._fire("select", keys[(index + step) % len(keys)])

    def _on_buffer_select(self, _event: object) -> None:
        selected = self.buffer_list.selection()
        if selected:
            key = _key(selected[0])
            if key != self.current:
                self._fire("select", key)

    def _on_member_activate(self, _event: object) -> str:
        selected = self.member_list.selection()
        if selected:
            self._fire("member", self.member_list.item(selected[0], "values")[0])
        return "break"

    def _show_header(self, buffer: Buffer) -> None:
        name = buffer.name or "Server"
        self.title_label.configure(text=sanitize(name, 80))
        topic = buffer.topic
        if not topic and name[:1] in "#&":
            topic = "No topic — set one with /topic"
        self.topic_label.configure(text=sanitize(topic, 300))

    def _show_members(self, buffer: Buffer) -> None:
        tree = self.member_list
        tree.delete(*tree.get_children())
        for prefix, nick in buffer.members:
            tags = (f"prefix{prefix}",) if prefix else ()
            label = f"{prefix or ' '} {sanitize(nick, 60)}"
            tree.insert("", "end", text=label, values=(nick,), tags=tags)
        count = len(buffer.members)
        self.members_label.configure(text=f"MEMBERS · {count}" if count else "MEMBERS")

    def _update_sidebar(self, key: str) -> None:
        buffer = self.buffers.get(key)
        if buffer is None:
            return
        count = str(buffer.unread) if buffer.unread else ""
        tags = ("mention",) if buffer.mentions else ("unread",) if buffer.unread else ("read",)
        self.buffer_list.item(
            _iid(key), text=self._sidebar_label(buffer.name), values=(count,), tags=tags
        )

    def _update_title(self) -> None:
        mentions = sum(b.mentions for b in self.buffers.values())
        name = ""
        if self.current is not None and self.current in self.buffers:
            name = self.buffers[self.current].name or "Server"
        title = f"{name} — {self.app_title}" if name else self.app_title
        if mentions:
            title = f"({mentions}) {title}"
        self.root.title(sanitize(title, 200))

    def set_topic(self, key: str, topic: str) -> None:
        """Remember and (if open) show a conversation's topic."""
        buffer = self.buffers.get(key)
        if buffer is not None:
            buffer.topic = topic
            if key == self.current:
                self._show_header(buffer)

    def set_members(self, key: str, members: tuple[tuple[str, str], ...]) -> None:
        """Remember and (if open) show a channel's members."""
        buffer = self.buffers.get(key)
        if buffer is not None:
            buffer.members = tuple(members)
            if key == self.current:
                self._show_members(buffer)

    def clear_buffer(self, key: str) -> None:
        """Forget a conversation's history."""
        buffer = self.buffers.get(key)
        if buffer is None:
            return
        buffer.lines.clear()
        if key == self.current:
            text = self.chat_area.text
            text.configure(state="normal")
            text.delete("1.0", "end")
            text.configure(state="disabled")

    # --- history ---------------------------------------------------------------------------
    def append(self, key: str, line: Line, count: bool = True) -> None:
        """Add a line to a conversation; shown now when it is open, counted as unread if not."""
        buffer = self.buffers.get(key)
        if buffer is None:
            return
        previous = _day_before(buffer.lines, len(buffer.lines))
        buffer.lines.append(line)
        focused = self._has_focus()
        if key == self.current:
            self._append_visible(line, previous)
            if line.mention and not focused:
                buffer.mentions += 1
                self._update_sidebar(key)
                self._update_title()
            return
        if count and line.kind in ("message", "action", "notice"):
            buffer.unread += 1
            if line.mention:
                buffer.mentions += 1
                self._update_title()
            self._update_sidebar(key)

    def clear_mentions(self) -> None:
        """The user is looking at the open conversation: its mentions are read."""
        if self.current in self.buffers:
            buffer = self.buffers[self.current]
            if buffer.mentions or buffer.unread:
                buffer.mentions = buffer.unread = 0
                self._update_sidebar(self.current)
                self._update_title()

    def _has_focus(self) -> bool:
        try:
            return self.root.focus_displayof() is not None
        except (tkinter.TclError, KeyError):
            return False

    def _append_visible(self, line: Line, previous: str = "") -> None:
        text = self.chat_area.text
        at_bottom = self._at_bottom
        text.configure(state="normal")
        if line.day and previous and line.day != previous:
            text.insert("end", *self._divider_parts(line.day))
        self._insert(line)
        lines = int(text.index("end-1c").split(".")[0])
        if lines > self.scrollback + 100:  # trim in chunks: one delete per hundred lines
            text.delete("1.0", f"{lines - self.scrollback + 1}.0")
        text.configure(state="disabled")
        if at_bottom:
            text.see("end")

    def _insert(self, line: Line, where: str = "end") -> None:
        self.chat_area.text.insert(where, *self._parts(line))

    def _divider_parts(self, day: str) -> list[Any]:
        return [day_label(day) + "\n", ("line", "divider", "muted")]

    def _parts(self, line: Line) -> list[Any]:
        """The text and tags of one line, for ``Text.insert``."""
        if line.kind == "separator":
            return [sanitize(line.text) + "\n", ("line", "divider", "muted", "separator")]
        if line.kind == "mark":
            return []
        base: tuple[str, ...] = ("line", "mention") if line.mention else ("line",)
        astral = self.astral
        parts: list[Any] = [line.time, (*base, "time"), "\t", base]
        body_tags = base
        if line.kind == "message":
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
        elif line.kind == "event":
            body_tags = (*base, "muted")
            parts += [line.nick or "—", (*base, "muted"), "\t", base]
        elif line.kind == "error":
            body_tags = (*base, "error")
            parts += ["!", (*base, "error"), "\t", base]
        else:
            body_tags = (*base, "info")
            parts += ["•", (*base, "muted"), "\t", base]
        body = sanitize(line.text, astral=astral)
        start = 0
        for url_start, url_end in find_urls(body):
            if url_start > start:
                parts += [body[start:url_start], body_tags]
            parts += [body[url_start:url_end], (*body_tags, "url")]
            start = url_end
        parts += [body[start:] + "\n", body_tags]
        return parts

    # --- history pages -------------------------------------------------------------------
    def mark_missed(self, key: str) -> None:
        """Remember the end of ``key`` as the place for messages missed while offline."""
        buffer = self.buffers.get(key)
        if buffer is None:
            return
        kept = [line for line in buffer.lines if line.kind != "mark"]
        buffer.lines = deque(kept, maxlen=buffer.lines.maxlen)
        buffer.lines.append(Line("mark", ""))
        if key == self.current:
            text = self.chat_area.text
            text.mark_set(_MISSED_MARK, "end-1c")
            text.mark_gravity(_MISSED_MARK, "left")

    def insert_history(self, key: str, lines: Sequence[Line], place: str) -> None:
        """Show a page of history in ``key`` at ``place``: older, latest or missed."""
        # ``older`` goes on top; ``latest`` (the first page) on top above "— history —";
        # ``missed`` where the connection was lost. The user's view does not move.
        buffer = self.buffers.get(key)
        if buffer is None or not lines:
            return
        lines = list(lines)
        kinds = [line.kind for line in buffer.lines]
        if place == "latest" and "separator" in kinds:
            place = "missed"  # the first page is shown already: these come after it
        if place == "missed":
            index = kinds.index("mark") if "mark" in kinds else len(kinds)
        else:
            index = 0
            if place == "latest":
                lines.append(Line("separator", "", text=HISTORY_SEPARATOR))
            room = (buffer.lines.maxlen or len(kinds) + len(lines)) - len(kinds)
            if room <= 0:
                return  # the scrollback is full: nothing older fits
            lines = lines[-room:]
        previous = _day_before(buffer.lines, index)
        following = _day_after(buffer.lines, index)
        items = list(buffer.lines)
        items[index:index] = lines
        buffer.lines = deque(items, maxlen=buffer.lines.maxlen)
        if key != self.current:
            return
        text = self.chat_area.text
        where = "1.0"
        if place == "missed":
            where = _MISSED_MARK if _MISSED_MARK in text.mark_names() else "end-1c"
        self._insert_run(where, lines, previous, following, moves=place == "missed")

    def _insert_run(
        self, where: str, lines: list[Line], previous: str, following: str, moves: bool
    ) -> None:
        """Insert ``lines`` at the index or mark ``where`` with the day dividers they need,
        keeping the top visible line where it is unless the view follows the end."""
        text = self.chat_area.text
        at_bottom = self._at_bottom
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
        day = previous
        for line in lines:
            if line.day and day and line.day != day:
                text.insert(_INSERT_MARK, *self._divider_parts(line.day))
            day = line.day or day
            parts = self._parts(line)
            if parts:
                text.insert(_INSERT_MARK, *parts)
        # The divider before the next line: needed when the days differ, and only once.
        span = text.tag_nextrange("divider", _INSERT_MARK)
        has_divider = bool(span) and text.compare(span[0], "==", _INSERT_MARK)
        if has_divider and "separator" in text.tag_names(span[0]):
            has_divider = False
        needed = bool(following and day and following != day)
        if needed and not has_divider:
            text.insert(_INSERT_MARK, *self._divider_parts(following))
        elif has_divider and not needed:
            text.delete(span[0], span[1])
        if moves:
            text.mark_set(_MISSED_MARK, _INSERT_MARK)
            text.mark_gravity(_MISSED_MARK, "left")
        text.configure(state="disabled")
        if at_bottom:
            text.see("end")
        else:
            text.yview(_ANCHOR_MARK)
            info = text.dlineinfo(_ANCHOR_MARK)
            if info and top_y is not None and info[1] != top_y:
                text.yview_scroll(info[1] - top_y, "pixels")

    def _nick_tag(self, nick: str) -> str:
        return f"nick{nick_colour_index(nick, len(LIGHT_NICKS))}"

    def _on_url_click(self, event: tkinter.Event) -> str:
        text = self.chat_area.text
        index = text.index(f"@{event.x},{event.y}")
        span = text.tag_prevrange("url", f"{index}+1c")
        if span:
            self.open_url(url_target(text.get(*span)))
        return "break"

    def history_text(self) -> str:
        """Everything the history shows now (for tests and copy-all)."""
        return self.chat_area.get("1.0", "end-1c")


def _day_before(lines: Sequence[Line], index: int) -> str:
    """The day of the last dated line before ``index``."""
    for position in range(index - 1, -1, -1):
        if lines[position].day:
            return lines[position].day
    return ""


def _day_after(lines: Sequence[Line], index: int) -> str:
    """The day of the first dated line at or after ``index``."""
    for position in range(index, len(lines)):
        if lines[position].day:
            return lines[position].day
    return ""


def _iid(key: str) -> str:
    return "buffer:" + key


def _key(iid: str) -> str:
    return iid.removeprefix("buffer:")


def _known_theme(theme: str) -> str:
    """A theme name ttkbootstrap knows: ``light``/``dark`` pick the default family's pair."""
    if theme in ("light", "dark"):
        return f"bootstrap-{theme}"
    return theme
