"""``python -m server --gui``: a window to run and watch the server in this process.

With its panels' modules (``gui_log``), the only server code that imports tkinter; its
logic without widgets is in ``gui_model``. The fonts, theme, status bar and table and
text styling are the chat app's (``app.ui``). The server is the same :class:`ChatServer`
the command line runs, on its own background threads; this window only reads snapshots
(``server.admin``) on a timer and calls the admin functions, always from the Tk thread.
The server's log records reach the window through a queue that the timer drains.
"""

from __future__ import annotations

import gc
import logging
import logging.handlers
import queue
import signal
import ssl
import sys
import threading
import time
import tkinter
from collections.abc import Callable
from typing import Any

import platformdirs
import ttkbootstrap as ttk

from app import ui
from app.settings import DEFAULT_THEME
from app.text import sanitize
from app.ui import (
    NoDisplayError,
    StatusBar,
    headed_tree,
    heading_label,
    is_dark,
    make_fonts,
    open_root,
    saved_theme,
    style_trees,
    use_theme,
)

from . import __version__, admin
from .accounts import AccountError
from .config import Config
from .datalock import DataDirInUse
from .gui_log import LOG_BATCH, LogPanel
from .gui_model import RateMeter, bind_error, config_from_form, format_duration, format_uptime
from .history import HistoryError
from .protocol.names import casefold
from .server import ChatServer

log = logging.getLogger("server.gui")


# --- the window ---------------------------------------------------------------------------
class ServerWindow:
    """The server window: settings and Start/Stop, status, users, channels, log, actions."""

    def __init__(
        self,
        config: Config | None = None,
        theme: str = DEFAULT_THEME,
        tick_ms: int = 250,
        size: tuple[int, int] = (1180, 760),
    ) -> None:
        self.base = config or Config()
        self.config = self.base
        self.tick_ms = tick_ms
        self.server: ChatServer | None = None
        self.closed = False
        self._stopper: threading.Thread | None = None
        self._job: str | None = None
        self._rate = RateMeter()
        self._users: dict[str, admin.UserInfo] = {}
        self._user_rows: dict[str, tuple] = {}
        self._channel_rows: dict[str, tuple] = {}
        #: SIGHUPs not yet acted on: the signal handler only adds to it (see :func:`run`).
        self.hangups: list[int] = []
        self.records: queue.Queue[logging.LogRecord] = queue.Queue()
        self.log_handler = logging.handlers.QueueHandler(self.records)
        self.root = open_root("Kibitz server", size, (900, 560))
        use_theme(self.root, theme)  # a theme this ttkbootstrap does not know: the default
        self.fonts = make_fonts(self.root)
        self._build()
        self._restyle()
        self.root.style.on_theme_change(lambda *_: self._restyle())
        self.root.on_close(self._on_close)
        logging.getLogger("server").addHandler(self.log_handler)
        self._show_stopped()
        # The form is ready to type a port into: Enter starts the server from any field.
        self.port_entry.focus_set()
        self._job = self.root.after(self.tick_ms, self._tick)

    # --- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        root = self.root
        # Bottom bars first, so a small window squeezes the lists, never the controls.
        bar = self.status_bar = StatusBar(
            root, self.fonts.small, "", "secondary", self.toggle_theme
        )
        self.status_dot, self.status_label = bar.dot, bar.label
        self.theme_button = bar.theme_button

        cast = ttk.Frame(root, padding=(12, 8))
        cast.pack(side=tkinter.BOTTOM, fill=tkinter.X)
        ttk.Label(cast, text="Broadcast").pack(side=tkinter.LEFT)
        self.broadcast_button = ttk.Button(
            cast, text="Notify everyone", bootstyle="primary", command=self.broadcast
        )
        self.broadcast_button.pack(side=tkinter.RIGHT)
        self.broadcast_entry = ttk.Entry(cast)
        self.broadcast_entry.pack(side=tkinter.LEFT, fill=tkinter.X, expand=True, padx=(8, 8))
        self.broadcast_entry.bind("<Return>", lambda e: self.broadcast() or "break")
        ttk.Separator(root).pack(side=tkinter.BOTTOM, fill=tkinter.X)

        header = ttk.Frame(root, padding=(12, 8, 12, 6))
        header.pack(side=tkinter.TOP, fill=tkinter.X)
        ttk.Label(header, text="Kibitz server", font=self.fonts.title).pack(side=tkinter.LEFT)
        ttk.Label(header, text=f"v{__version__}", bootstyle="secondary").pack(
            side=tkinter.LEFT, padx=(8, 0), pady=(4, 0)
        )
        self.start_button = ttk.Button(
            header, text="Start", bootstyle="success", width=10, command=self.toggle
        )
        self.start_button.pack(side=tkinter.RIGHT)
        self.listen_label = ttk.Label(header, text="", bootstyle="secondary")
        self.listen_label.pack(side=tkinter.RIGHT, padx=(0, 12))
        ttk.Separator(root).pack(side=tkinter.TOP, fill=tkinter.X)

        panes = ttk.Panedwindow(root, orient=tkinter.HORIZONTAL)
        panes.pack(fill=tkinter.BOTH, expand=True)
        left = ttk.Frame(panes, padding=(12, 10, 6, 10))
        self._build_settings(left)
        self._build_counters(left)
        right = ttk.Panedwindow(panes, orient=tkinter.VERTICAL)
        right.add(self._build_users(right), weight=3)
        right.add(self._build_channels(right), weight=1)
        self.log_panel = LogPanel(right, self.fonts)
        self.log_view = self.log_panel.view
        right.add(self.log_panel.frame, weight=2)
        panes.add(left, weight=0)
        panes.add(right, weight=1)

    def _build_settings(self, parent: tkinter.Misc) -> None:
        heading_label(parent, "SETTINGS", self.fonts.small)
        form = ttk.Frame(parent)
        form.pack(side=tkinter.TOP, fill=tkinter.X)
        form.columnconfigure(1, weight=1)
        base = self.base
        data_dir = base.data_dir or platformdirs.user_data_dir("kibitz")
        self.history_var = tkinter.BooleanVar(
            master=self.root, value=base.data_dir is not None and base.history
        )
        rows: list[tuple[str, str, str, dict[str, Any]]] = [
            ("host", "Host", base.host, {}),
            ("port", "Port", str(base.port), {"width": 8}),
            ("password", "Password", base.password or "", {"show": "•"}),
            ("tls_port", "TLS port", "" if base.tls_port is None else str(base.tls_port), {}),
            ("cert", "Certificate", base.cert or "", {}),
            ("key", "Key", base.key or "", {}),
            ("data_dir", "History in", data_dir, {}),
        ]
        self.fields: dict[str, ttk.Entry] = {}
        for row, (name, label, value, options) in enumerate(rows):
            ttk.Label(form, text=label).grid(row=row, column=0, sticky="w", pady=3, padx=(0, 8))
            entry = ttk.Entry(form, width=options.get("width", 22), show=options.get("show", ""))
            entry.insert(0, value)
            entry.grid(row=row, column=1, sticky="we" if name != "port" else "w", pady=3)
            entry.bind("<Return>", lambda e: self.start() or "break")
            self.fields[name] = entry
        self.history_check = ttk.Checkbutton(
            form,
            text="Keep history",
            variable=self.history_var,
            bootstyle="round-toggle",
            command=self._sync_form_state,
        )
        self.history_check.grid(row=len(rows), column=1, sticky="w", pady=(4, 0))
        self.port_entry = self.fields["port"]
        self.host_entry = self.fields["host"]
        self.error_label = ttk.Label(
            parent, text="", bootstyle="danger", wraplength=270, justify="left"
        )
        self.error_label.pack(side=tkinter.TOP, fill=tkinter.X, pady=(8, 0))

    def _build_counters(self, parent: tkinter.Misc) -> None:
        ttk.Separator(parent).pack(side=tkinter.TOP, fill=tkinter.X, pady=(10, 10))
        heading_label(parent, "ACTIVITY", self.fonts.small)
        grid = ttk.Frame(parent)
        grid.pack(side=tkinter.TOP, fill=tkinter.X)
        self.counters: dict[str, ttk.Label] = {}
        names = [
            ("users", "users"),
            ("connections", "connections"),
            ("channels", "channels"),
            ("rate", "messages/s"),
            ("messages", "messages"),
            ("uptime", "uptime"),
            ("failed", "failed logins"),
        ]
        for index, (name, caption) in enumerate(names):
            cell = ttk.Frame(grid, padding=(0, 0, 12, 8))
            cell.grid(row=index // 2, column=index % 2, sticky="w")
            value = ttk.Label(cell, text="—", font=self.fonts.counter)
            value.pack(anchor="w")
            ttk.Label(cell, text=caption, font=self.fonts.small, bootstyle="secondary").pack(
                anchor="w"
            )
            self.counters[name] = value
        grid.columnconfigure(0, minsize=130)

    def _build_users(self, parent: tkinter.Misc) -> ttk.Frame:
        frame = ttk.Frame(parent, padding=(6, 10, 12, 6))
        self.users_label = heading_label(frame, "USERS", self.fonts.small)
        actions = ttk.Frame(frame)
        actions.pack(side=tkinter.BOTTOM, fill=tkinter.X, pady=(6, 0))
        self.action_status = ttk.Label(frame, text="", font=self.fonts.small, bootstyle="secondary")
        self.action_status.pack(side=tkinter.BOTTOM, fill=tkinter.X, pady=(4, 0))
        self.user_list = headed_tree(
            frame,
            [
                ("nick", "Nick", 130, False),
                ("address", "Address", 150, False),
                ("channels", "Channels", 220, True),
                ("idle", "Idle", 80, False),
                ("signon", "Connected", 90, False),
            ],
            height=7,
        )
        self.user_list.bind("<<TreeviewSelect>>", lambda e: self._sync_actions())
        ttk.Label(actions, text="Text or reason").pack(side=tkinter.LEFT, padx=(0, 6))
        self.action_entry = ttk.Entry(actions)
        self.action_entry.pack(side=tkinter.LEFT, fill=tkinter.X, expand=True, padx=(0, 6))
        self.action_entry.bind("<Return>", lambda e: self.send_notice() or "break")
        self.notice_button = ttk.Button(
            actions, text="Send notice", bootstyle="primary-outline", command=self.send_notice
        )
        self.notice_button.pack(side=tkinter.LEFT, padx=(0, 6))
        self.kick_channel = ttk.Combobox(actions, width=14, state="readonly")
        self.kick_channel.pack(side=tkinter.LEFT, padx=(0, 4))
        self.kick_button = ttk.Button(
            actions, text="Kick", bootstyle="primary-outline", command=self.kick_selected
        )
        self.kick_button.pack(side=tkinter.LEFT, padx=(0, 6))
        self.kill_button = ttk.Button(
            actions, text="Disconnect", bootstyle="danger", command=self.kill_selected
        )
        self.kill_button.pack(side=tkinter.LEFT)
        return frame

    def _build_channels(self, parent: tkinter.Misc) -> ttk.Frame:
        frame = ttk.Frame(parent, padding=(6, 6, 12, 6))
        heading_label(frame, "CHANNELS", self.fonts.small)
        self.channel_list = headed_tree(
            frame,
            [
                ("name", "Channel", 150, False),
                ("members", "Members", 80, False),
                ("modes", "Modes", 70, False),
                ("topic", "Topic", 300, True),
            ],
            height=3,
        )
        return frame

    def _restyle(self) -> None:
        colors = self.root.style.colors
        dark = is_dark(self.root)
        self.log_panel.restyle(colors, dark)
        style_trees(self.root.style, (self.user_list, self.channel_list))
        self.status_bar.restyle(dark)

    # --- lifecycle -------------------------------------------------------------------------
    def run(self) -> None:
        """Run the Tk main loop until the window closes."""
        self.root.mainloop()

    def close(self) -> None:
        """Stop the server (clients are told), stop the timer and destroy the window."""
        self._on_close()
        try:
            self.root.destroy()
        except tkinter.TclError:
            pass

    def _on_close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._job is not None:
            try:
                self.root.after_cancel(self._job)
            except tkinter.TclError:
                pass
            self._job = None
        server, self.server = self.server, None
        if server is not None:
            log.info("shutting down")
            server.stop()
        if self._stopper is not None:
            self._stopper.join(timeout=5)
        logging.getLogger("server").removeHandler(self.log_handler)
        try:
            # Tk's pending idle work (style redraws) must run while the window exists:
            # left queued, it would run, and fail, in the next window of this thread.
            self.root.update_idletasks()
        except tkinter.TclError:
            pass

    @property
    def running(self) -> bool:
        """Whether a server is listening (and not on its way down)."""
        return self.server is not None

    def toggle(self) -> None:
        """The Start/Stop button."""
        if self.server is not None:
            self.stop()
        else:
            self.start()

    def form(self) -> dict[str, str | bool]:
        """What the settings form holds now."""
        values: dict[str, str | bool] = {k: e.get() for k, e in self.fields.items()}
        values["history"] = bool(self.history_var.get())
        return values

    def start(self) -> bool:
        """Start a server with the form's settings; show why not and return False if it can't."""
        if self.server is not None or self._stopper is not None or self.closed:
            return False
        try:
            config = config_from_form(self.base, self.form())
        except ValueError as exc:
            return self._refuse(str(exc))
        try:
            server = ChatServer(config)
        except OSError as exc:
            return self._refuse(bind_error(exc, config))
        except ssl.SSLError as exc:
            return self._refuse(f"Cannot use the certificate or key: {exc}")
        except (ValueError, HistoryError, AccountError, DataDirInUse) as exc:
            return self._refuse(str(exc))
        server.start()
        self.server, self.config = server, config
        self._rate.reset()
        self.error_label.configure(text="")
        self.start_button.configure(text="Stop", bootstyle="danger")
        log.info("Kibitz %s listening on %s:%d", __version__, config.host, server.port)
        if server.tls_port is not None:
            log.info("TLS on %s:%d", config.host, server.tls_port)
        if server.history is not None:
            log.info("history in %s", server.history.where)
        self._sync_form_state()
        self._refresh()
        return True

    def _refuse(self, message: str) -> bool:
        self.error_label.configure(text=message)
        log.warning("not started: %s", message)
        return False

    def stop(self) -> None:
        """Stop the server in the background (clients are told); the timer notices the end."""
        server, self.server = self.server, None
        if server is None:
            return
        log.info("shutting down")
        # The thread knows only the server: no Tk object may end its life on it.
        self._stopper = threading.Thread(target=server.stop, name="kibitz-gui-stop", daemon=True)
        self._stopper.start()
        self.start_button.configure(text="Stopping…", state="disabled")
        self.status_label.configure(text="Stopping: telling every client…")
        self.status_dot.configure(bootstyle="warning")
        self._sync_actions()

    def _show_stopped(self) -> None:
        self.start_button.configure(text="Start", bootstyle="success", state="normal")
        self.status_dot.configure(bootstyle="secondary")
        self.status_label.configure(text="Stopped. Set the port and press Start.")
        self.listen_label.configure(text="")
        self._clear_lists()
        for name, label in self.counters.items():
            label.configure(text="0" if name != "uptime" else "—")
        self._sync_form_state()

    def _sync_form_state(self) -> None:
        editable = self.server is None and self._stopper is None
        for name, entry in self.fields.items():
            enabled = editable and (name != "data_dir" or bool(self.history_var.get()))
            entry.configure(state="normal" if enabled else "disabled")
        self.history_check.configure(state="normal" if editable else "disabled")
        self._sync_actions()

    def _sync_actions(self) -> None:
        user = self.selected_user()
        running = self.server is not None
        for button in (self.notice_button, self.kill_button):
            button.configure(state="normal" if running and user else "disabled")
        channels = list(user.channels) if user else []
        if list(self.kick_channel.cget("values") or ()) != channels:
            self.kick_channel.configure(values=channels)
        if self.kick_channel.get() not in channels:
            self.kick_channel.set(channels[0] if channels else "")
        self.kick_channel.configure(state="readonly" if running and channels else "disabled")
        self.kick_button.configure(state="normal" if running and channels else "disabled")
        self.broadcast_button.configure(state="normal" if running else "disabled")

    # --- the timer -------------------------------------------------------------------------
    def rehash(self) -> None:
        """What SIGHUP does: the running server reads its configuration again, as the
        console server's does (``ChatServer.rehash``, which logs what it changed)."""
        if self.server is None:
            log.info("SIGHUP: no server is running, nothing to read again")
            return
        log.info("SIGHUP: reading the configuration again")
        self.server.rehash()

    def _tick(self) -> None:
        self._job = None
        try:
            if self.hangups:
                self.hangups.clear()  # one arriving from here on still finds a reading after it
                self.rehash()
            self.drain_logs()
            if self._stopper is not None and not self._stopper.is_alive():
                self._stopper = None
                log.info("stopped")
                self._show_stopped()
            self._refresh()
        finally:
            if not self.closed:
                self._job = self.root.after(self.tick_ms, self._tick)

    def drain_logs(self, limit: int = LOG_BATCH) -> int:
        """Show up to ``limit`` queued log records; return how many were shown."""
        return self.log_panel.drain(self.records, limit)

    def note(self, text: str) -> None:
        """Add a line of the window's own to the log view (who came and went)."""
        self.log_panel.note(text)

    def log_text(self) -> str:
        """Everything the log view shows now."""
        return self.log_panel.text()

    def _refresh(self) -> None:
        server = self.server
        if server is None:
            return
        users = admin.users(server)
        self._update_users(users)
        self._update_channels(admin.channels(server))
        stats = admin.stats(server)
        rate = self._rate.add(time.monotonic(), stats.messages)
        values = {
            "users": str(stats.users),
            "connections": str(stats.connections),
            "channels": str(stats.channels),
            "rate": f"{rate:.1f}",
            "messages": str(stats.messages),
            "uptime": format_uptime(stats.uptime),
            "failed": str(stats.failed_logins),
        }
        for name, value in values.items():
            if self.counters[name].cget("text") != value:
                self.counters[name].configure(text=value)
        where = f"{self.config.host}:{server.port}"
        if server.tls_port is not None:
            where += f" (TLS {server.tls_port})"
        self.listen_label.configure(text=f"Listening on {where}")
        self.status_dot.configure(bootstyle="success")
        self.status_label.configure(
            text=f"Listening on {where} · up {format_uptime(stats.uptime)} · "
            f"{stats.users} users, {stats.channels} channels"
        )
        self.users_label.configure(text=f"USERS ({stats.users})")
        self._sync_actions()

    def _update_users(self, users: list[admin.UserInfo]) -> None:
        tree = self.user_list
        old = self._users
        fresh = {u.key: u for u in users}
        for key in old.keys() - fresh.keys():
            user = old[key]
            if user.registered:
                self.note(f"{user.nick} ({user.address}) left")
            tree.delete(key)
            self._user_rows.pop(key, None)
        for user in users:
            before = old.get(user.key)
            if user.registered and (before is None or not before.registered):
                self.note(f"{user.nick} ({user.address}) signed on")
            elif before is not None and before.registered and before.nick != user.nick:
                self.note(f"{before.nick} is now known as {user.nick}")
            row = (
                sanitize(user.nick) if user.registered else "(registering)",
                user.address + (" (TLS)" if user.secure else ""),
                sanitize(" ".join(user.channels)),
                format_duration(user.idle),
                time.strftime("%H:%M", time.localtime(user.signon)),
            )
            if user.key not in self._user_rows:
                tree.insert("", "end", iid=user.key, values=row)
            elif self._user_rows[user.key] != row:
                tree.item(user.key, values=row)
            self._user_rows[user.key] = row
        _reorder(tree, [u.key for u in users])
        self._users = fresh

    def _update_channels(self, channels: list[admin.ChannelInfo]) -> None:
        tree = self.channel_list
        fresh = {"ch:" + casefold(c.name): c for c in channels}
        for key in self._channel_rows.keys() - fresh.keys():
            tree.delete(key)
            del self._channel_rows[key]
        for key, channel in fresh.items():
            row = (
                sanitize(channel.name),
                str(channel.members),
                channel.modes,
                sanitize(channel.topic),
            )
            if key not in self._channel_rows:
                tree.insert("", "end", iid=key, values=row)
            elif self._channel_rows[key] != row:
                tree.item(key, values=row)
            self._channel_rows[key] = row
        _reorder(tree, list(fresh))

    def _clear_lists(self) -> None:
        for tree in (self.user_list, self.channel_list):
            tree.delete(*tree.get_children())
        self._users, self._user_rows, self._channel_rows = {}, {}, {}
        self.users_label.configure(text="USERS")

    # --- reading the lists (also for tests) ------------------------------------------------
    def user_rows(self) -> list[tuple[str, ...]]:
        """The user list as shown: (nick, address, channels, idle, connected) per row."""
        return [tuple(self.user_list.item(i, "values")) for i in self.user_list.get_children()]

    def channel_rows(self) -> list[tuple[str, ...]]:
        """The channel list as shown: (name, members, modes, topic) per row."""
        tree = self.channel_list
        return [tuple(tree.item(i, "values")) for i in tree.get_children()]

    def select_user(self, nick: str) -> bool:
        """Select the row of ``nick``; False when it is not listed."""
        for key, user in self._users.items():
            if user.nick == nick and self.user_list.exists(key):
                self.user_list.selection_set(key)
                self.user_list.see(key)
                self._sync_actions()
                return True
        return False

    def selected_user(self) -> admin.UserInfo | None:
        """The user selected in the list, if any."""
        selection = self.user_list.selection()
        return self._users.get(selection[0]) if selection else None

    # --- admin actions ---------------------------------------------------------------------
    def _report(self, text: str, error: bool = False) -> None:
        self.action_status.configure(text=text, bootstyle="danger" if error else "secondary")

    def send_notice(self) -> bool:
        """Send the action box's text as a server notice to the selected user."""
        user, server = self.selected_user(), self.server
        if user is None or server is None:
            return False
        text = self.action_entry.get()
        try:
            sent = admin.notice(server, user.client, text)
        except ValueError:
            self._report("Type the notice in the box first.", error=True)
            return False
        if not sent:
            self._report(f"{user.nick} has left.", error=True)
            return False
        log.info("notice to %s: %s", user.nick, admin.clean_text(text))
        self._report(f"Notice sent to {user.nick}.")
        self.action_entry.delete(0, "end")
        return True

    def kick_selected(self) -> bool:
        """Kick the selected user from the chosen channel (the box's text is the reason)."""
        user, server = self.selected_user(), self.server
        channel = self.kick_channel.get()
        if user is None or server is None or not channel:
            return False
        reason = self.action_entry.get()
        if not admin.kick(server, user.client, channel, reason):
            self._report(f"{user.nick} is not in {channel} any more.", error=True)
            return False
        log.info("kicked %s from %s: %s", user.nick, channel, admin.clean_text(reason) or "-")
        self._report(f"Kicked {user.nick} from {channel}.")
        self.action_entry.delete(0, "end")
        self._refresh()
        return True

    def kill_selected(self) -> bool:
        """Disconnect the selected user (the box's text is the reason)."""
        user, server = self.selected_user(), self.server
        if user is None or server is None:
            return False
        reason = self.action_entry.get()
        if not admin.kill(server, user.client, reason):
            self._report(f"{user.nick} has already left.", error=True)
            return False
        log.info("disconnected %s: %s", user.nick, admin.clean_text(reason) or "-")
        self._report(f"Disconnected {user.nick}.")
        self.action_entry.delete(0, "end")
        return True

    def broadcast(self) -> int:
        """Send the broadcast box's text as a server notice to everyone; return how many."""
        server = self.server
        if server is None:
            return 0
        text = self.broadcast_entry.get()
        try:
            count = admin.broadcast(server, text)
        except ValueError:
            self._report("Type the broadcast in the box first.", error=True)
            return 0
        log.info("broadcast to %d users: %s", count, admin.clean_text(text))
        self._report(f"Broadcast sent to {count} users.")
        self.broadcast_entry.delete(0, "end")
        return count

    def toggle_theme(self) -> str:
        """Switch between the light and dark variant; return the new theme's name."""
        return ui.toggle_theme(self.root)


def _reorder(tree: ttk.Treeview, keys: list[str]) -> None:
    """Put the rows in ``keys`` order; nothing to do (the usual case) costs one call."""
    if list(tree.get_children()) != keys:
        for index, key in enumerate(keys):
            tree.move(key, "", index)


def run(config: Config, theme: str | None = None) -> int:
    """Open the server window and run until it is closed; return the exit status."""
    # The only reference to the window, emptied at the end: Tk objects must then be
    # collected on this (the Tk) thread, never on a worker thread.
    windows: list[ServerWindow] = []
    try:
        windows.append(ServerWindow(config, theme=theme or saved_theme()))
    except NoDisplayError as exc:
        print(f"error: {exc} (without --gui the server needs no window)", file=sys.stderr)
        return 1

    def shut_down(_signum: int, _frame: object) -> None:
        # Runs on the Tk thread between callbacks: close the way the close button does.
        for window in windows:
            window.root.after(0, window.close)

    def hang_up(signum: int, _frame: object) -> None:
        # Without a handler SIGHUP ends the process. This one only leaves a note: it runs
        # between two bytecodes of the Tk thread, which may hold a lock the reading takes;
        # the window's timer does the reading, as the console server's loop does.
        for window in windows:
            window.hangups.append(signum)

    handlers: dict[int, Callable[[int, Any], None]] = {
        signal.SIGTERM: shut_down,
        signal.SIGINT: shut_down,
    }
    if hasattr(signal, "SIGHUP"):  # not on Windows
        handlers[signal.SIGHUP] = hang_up
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        windows[0].run()
    finally:
        windows[0].close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        windows.clear()
        gc.collect()
    return 0
