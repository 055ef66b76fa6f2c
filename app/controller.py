"""ChatController: user actions to the model, model events to the view.

Only the Tk thread runs this code: the model's events are drained from its queue with
``after()`` in bounded batches, so a flood of lines never freezes the window. Passwords
and accounts (their dialogs, the keyring, what the server answers) are the job of its
part :class:`app.account_dialogs.AccountDialogs`.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from app import events as ev
from app.account_dialogs import AccountDialogs
from app.commands import (
    ALIASES,
    HELP,
    Command,
    CommandError,
    Completion,
    complete_step,
    parse_input,
)
from app.conversations import SERVER
from app.deleting import Deleting
from app.events import Kind
from app.finder import Finder
from app.interface import ChatWindow
from app.model import ChatModel
from app.notifications import Alerts
from app.passwords import PasswordStore
from app.pending import PendingLines
from app.reacting import GAP_LINE, Reacting
from app.reading import Reading
from app.recall import Recall
from app.restore import Reopen, place_of, remember
from app.settings import Settings
from app.slash import SlashCommands
from app.text import (
    Line,
    address_text,
    chathistory_line,
    clock,
    day_of,
    failure_text,
    invite_text,
    join_line,
    mentions,
    message_text,
    names_text,
    nick_line,
    nick_refused_text,
    part_line,
    paste_question,
    quit_line,
    reply_text,
    sending_text,
    status_text,
    tls_text,
    unsent_question,
)
from app.typing_notices import TypingNotices
from server.protocol.names import valid_nick

#: Events handled per tick, and the pause between ticks when the queue is empty.
BATCH = 300
POLL_MS = 40
#: A paste of more lines than this (about a screenful of the transcript) is confirmed first.
SCREENFUL = 20
_SAYING = ("say", "me", "msg", "notice", "query")  # their text is sent line by line


class ChatController:
    """Wires a :class:`ChatModel` to a :class:`ChatWindow` (tests pass a mock of the view)."""

    def __init__(
        self,
        model: ChatModel,
        view: ChatWindow,
        settings: Settings | None = None,
        passwords: PasswordStore | None = None,
        account: str = "",
        reopen: Reopen | None = None,
    ) -> None:
        self.model = model
        #: What to open at start (default: the model's channels, the last one shown).
        self.reopen = reopen
        self.view = view
        self.conversations = view.conversations
        self.settings = settings
        self.accounts = AccountDialogs(
            self,
            model,
            view,
            settings,
            passwords if passwords is not None else PasswordStore(),
            account,
        )
        self.alerts = Alerts(view, settings, self.select)  # its notifier: the caller's to set
        self.recall_lines = Recall()
        self.pending = PendingLines(view)  # said while not connected, shown until sent
        self._completion: Completion | None = None
        self._job: Any = None
        self._tick_job: Any = None
        self._retry_at: float | None = None
        self._status: ev.Status | None = None
        self._online = False
        self.select_on_join: set[str] = set()
        self.closed = False
        self.handlers: dict[str, Callable[[Any], None]] = {
            Kind.STATUS: self._on_status,
            Kind.TLS: self._on_tls,
            Kind.TLS_REFUSED: self._on_tls_refused,
            Kind.REGISTERED: self._on_registered,
            Kind.MESSAGE: self._on_message,
            Kind.JOIN: self._on_join,
            Kind.PART: self._on_part,
            Kind.KICK: self._on_kick,
            Kind.QUIT: self._on_quit,
            Kind.NICK: self._on_nick,
            Kind.OWN_NICK: self._on_own_nick,
            Kind.NICK_REFUSED: self._on_nick_refused,
            Kind.TOPIC: self._on_topic,
            Kind.MEMBERS: self._on_members,
            Kind.MODE: self._on_mode,
            Kind.REPLY: self._on_reply,
            Kind.SERVER_ERROR: self._on_server_error,
            Kind.INVITE: self._on_invite,
            Kind.NAMES: self._on_names,
            Kind.PASSWORD: self.accounts.on_password,
            Kind.CHATHISTORY: self._on_chathistory,
            Kind.SIGNED_IN: self.accounts.on_signed_in,
            Kind.SIGNED_OUT: self.accounts.on_signed_out,
            Kind.ACCOUNT_REFUSED: self.accounts.on_account_refused,
            Kind.SENDING: self._on_sending,
            Kind.PENDING: self._on_pending,
            Kind.NOTIFICATION_CLICKED: self.alerts.clicked,
        }
        # Its event and view callback; what is read withdraws its notifications.
        self.reading = Reading(
            model, view, self.handlers, looked=self.alerts.looked, read=self.alerts.read
        )
        self.deleting = Deleting(model, view, self.handlers)  # its events and callbacks
        #: The slash commands, by name (app/slash.py).
        self.commands: dict[str, Callable[[Command], None]] = SlashCommands(self).table
        view.set_handlers(
            send=self.send,
            nick=self.change_nick,
            select=self.select,
            theme=self.toggle_theme,
            close=self.request_close,
            recall=self.recall,
            complete=self.complete,
            member=self.open_direct,
            focus=self.on_focus,
            older=self.load_older,
            account=self.accounts.ask_account,
            joins=self.remember_joins,
        )
        self.typing = TypingNotices(model, view, settings)  # sets its own view handlers
        self.reacting = Reacting(model, view)  # so does this
        # Ctrl+F: the search panel's part, with its own view callbacks too.
        self.finder = Finder(
            model, view, self.handlers, self.select, self.open_direct, self.reacting.jump
        )

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Show the first conversations, start connecting and start draining events."""
        self.view.set_server(address_text(self.model.host, self.model.port))
        self.view.set_nick(self.model.nick)
        self.view.add_conversation(SERVER, "")
        wanted = self.model.wanted_channels()
        reopen = self.reopen or Reopen(tuple(wanted), wanted[-1] if wanted else "")
        for name in reopen.names:  # in the order they had; shown: the one shown then
            self.view.add_conversation(self.key(name), name, select=name == reopen.selected)
        theme_error = getattr(self.view, "theme_error", "")
        if theme_error:
            self.note(theme_error, error=True)
        self.model.start()
        self._job = self.view.schedule(POLL_MS, self.poll)
        self.accounts.start()

    def run(self) -> None:
        """Start and run the window until it closes."""
        self.start()
        self.view.run()

    def close(self, reason: str = "Leaving") -> None:
        """The window is closing: say goodbye to the server, save settings, stop polling."""
        if self.closed:
            return
        self.closed = True
        for job in (self._job, self._tick_job):
            if job is not None:
                self.view.cancel(job)
        self._job = self._tick_job = None
        self.typing.close()
        self.reading.close()
        self.model.quit(reason)
        self.save_settings()

    def request_close(self) -> bool | None:
        """The window's close button: close, but first ask when lines wait to be sent
        (False keeps the window open meanwhile)."""
        if unsent := self.model.unsent:
            question, title = unsent_question(unsent), "Close Kibitz?"
            self.view.confirm(question, self._close_answered, title, "Close")
            return False
        self.close()
        return None

    def _close_answered(self, close: bool) -> None:
        if close:
            self.close()
            self.view.destroy()

    def save_settings(self) -> None:
        """Remember nick, server, theme and the open conversations for the next run."""
        settings, model = self.settings, self.model
        if settings is None:
            return
        settings.nick, settings.host, settings.port = model.wanted_nick, model.host, model.port
        settings.tls = model.tls
        place = place_of(model.host, model.port, settings.account, model.wanted_nick)
        remember(settings, place, self.conversations.names(), self.current_name())
        try:
            settings.theme = self.view.theme_name()
        except Exception:  # a view already torn down keeps the last known theme
            pass
        settings.save()

    # --- the event pump ------------------------------------------------------------------
    def poll(self) -> int:
        """Handle up to :data:`BATCH` queued events; schedule the next tick. Returns the count."""
        handled = 0
        while handled < BATCH:
            try:
                event = self.model.events.get_nowait()
            except queue.Empty:
                break
            handled += 1
            self.typing.observe(event)
            self.reacting.observe(event)
            handler = self.handlers.get(event.kind)
            if handler is not None:
                handler(event)
        if not self.closed:
            self._job = self.view.schedule(1 if handled == BATCH else POLL_MS, self.poll)
        return handled

    def key(self, name: str | None) -> str:
        """The key of a conversation name (casefolded as the server does)."""
        return self.model.fold(name) if name else SERVER

    def _is_open(self, key: str) -> bool:
        return key in self.conversations

    def _conversation_for(self, name: str | None) -> str:
        if name is None:
            current = self.conversations.current
            return current if current is not None else SERVER
        key = self.key(name)
        if not self._is_open(key):
            self.view.add_conversation(key, name)
        return key

    def _line(
        self,
        when: datetime | None,
        kind: str,
        text: str,
        nick: str = "",
        *,
        mention: bool = False,
        own: bool = False,
    ) -> Line:
        return Line(kind, clock(when), nick, text, mention, own, day=day_of(when), at=when)

    def note(self, text: str, error: bool = False, key: str | None = None) -> None:
        """Show a line of local feedback in the open conversation (or ``key``)."""
        if key is None:
            key = self.conversations.current if self.conversations.current is not None else SERVER
        kind = "error" if error else "info"
        self.view.append(key, Line(kind, clock(None), "", text, day=day_of(None)))

    # --- model events ------------------------------------------------------------------
    def _on_status(self, event: ev.Status) -> None:
        self._status = event
        self._retry_at = None
        if event.state == "reconnecting":
            self._retry_at = time.monotonic() + event.delay
            self._tick()
        else:
            self.view.set_status(event.state, status_text(event))
        if event.state == "disconnected" and self._online:
            self._online = False
            line = self._line(None, "error", status_text(event))
            for key in self.conversations.ordered_keys():
                self.view.append(key, line, count=False)

    def _on_sending(self, event: ev.Sending) -> None:
        if event.waiting:  # a note, since the status bar goes on to count the reconnect
            self.note(sending_text(event))
        elif event.sent < event.total:
            state = self._status.state if self._status is not None else "connected"
            self.view.set_status(state, sending_text(event))
        elif self._status is not None:  # done: the status bar says what it said before
            self.view.set_status(self._status.state, status_text(self._status))

    def _tick(self) -> None:
        self._tick_job = None
        if self._retry_at is None or self.closed:
            return
        left = max(0, round(self._retry_at - time.monotonic()))
        if self._status is not None:
            self.view.set_status("reconnecting", status_text(self._status, left))
        if left > 0:
            self._tick_job = self.view.schedule(1000, self._tick)

    def _on_registered(self, event: ev.Registered) -> None:
        self._online = True
        self.view.set_nick(event.nick)
        text = f"Connected to {self.model.host}:{self.model.port} as {event.nick}"
        for key in self.conversations.ordered_keys():
            self.view.append(key, self._line(None, "event", text, "→"), count=False)
            self.view.mark_missed(key)  # what was missed while offline is shown here

    def _on_message(self, event: ev.Message) -> None:
        if event.server:  # the server's own notice: where the user looks, and in its tab
            line = self._line(event.time, "server", event.text, event.nick)
            for key in dict.fromkeys((self._conversation_for(None), SERVER)):
                self.view.append(key, line, count=False)
            return
        key = self._conversation_for(event.conversation)
        kind = "action" if event.action else "notice" if event.notice else "message"
        text = message_text(event)
        mention = not event.own and mentions(text, self.model.nick)
        line = self._line(event.time, kind, text, event.nick, mention=mention, own=event.own)
        if event.msgid or event.account or event.reply:
            line = replace(line, msgid=event.msgid, account=event.account, reply=event.reply)
        if not (event.own and self.pending.settle(key, event, line)):
            self.view.append(key, line, count=not event.own)
        self.alerts.message(key, line)

    def _on_pending(self, event: ev.Pending) -> None:
        said = event.message
        kind = "action" if said.action else "notice" if said.notice else "message"
        line = replace(
            self._line(said.time, kind, said.text, said.nick, own=True), reply=said.reply
        )
        self.pending.show(self._conversation_for(said.conversation), said, line)

    def _on_chathistory(self, event: ev.Chathistory) -> None:
        key = self.key(event.conversation)
        if not self._is_open(key):
            return
        if event.messages:
            lines = [chathistory_line(message, self.model.nick) for message in event.messages]
            if event.gap:  # newer messages than these are not loaded: say so under them
                lines.append(Line("separator", "", text=GAP_LINE))
            place = {"before": "older", "around": "older", "after": "missed"}
            self.view.insert_chathistory(key, lines, place.get(event.place, "latest"))
            self.reading.history_shown(key, event.place)
        self.reacting.history_shown(event)

    def load_older(self, key: str | None = None) -> bool:
        """Ask for the chathistory page before the oldest shown of ``key`` (default: the open
        one)."""
        key = self.conversations.current if key is None else key
        if not key:
            return False  # the server conversation has no chathistory
        return self.model.load_older(key)

    def _on_join(self, event: ev.Join) -> None:
        key = self.key(event.conversation)
        if event.own:
            existed = self._is_open(key)
            # One we did not ask for (the server's autojoin) is shown only if nothing is.
            select = key in self.select_on_join or (not existed and not self.current_name())
            self.select_on_join.discard(key)
            self.view.add_conversation(key, event.conversation or "", select=select)
        if self._is_open(key):
            self.view.append(key, join_line(event), count=False)

    def _on_part(self, event: ev.Part) -> None:
        key = self.key(event.conversation)
        if event.own:
            self.view.remove_conversation(key)
            return
        self.view.append(key, part_line(event), count=False)

    def _on_kick(self, event: ev.Kick) -> None:
        key = self.key(event.conversation)
        how = f"by {event.by}" + (f": {event.reason}" if event.reason else "")
        if event.own:
            text = f"You were kicked from {event.conversation} {how}"
            line = self._line(event.time, "error", text)
        else:
            text = f"{event.nick} was kicked from {event.conversation} {how}"
            line = self._line(event.time, "event", text, "←")
        self.view.append(key, line, count=False)

    def _on_quit(self, event: ev.Quit) -> None:
        self.view.append(self.key(event.conversation), quit_line(event), count=False)

    def _on_nick(self, event: ev.Nick) -> None:
        old_key, new_key = self.key(event.old), self.key(event.nick)
        key_shown = self.key(event.conversation)
        if key_shown == old_key and not event.own:  # a direct conversation follows the peer
            self.view.rename_conversation(old_key, new_key, event.nick)
            key_shown = new_key
        self.view.append(key_shown, nick_line(event), count=False)

    def _on_own_nick(self, event: ev.OwnNick) -> None:
        self.view.set_nick(event.nick)
        if self.settings is not None and event.old:
            self.save_settings()

    def _on_nick_refused(self, event: ev.NickRefused) -> None:
        # Before registration the server conversation says so; after, the open one.
        conversation = SERVER if event.instead else None
        self.show(conversation, "error", nick_refused_text(event))

    def _on_topic(self, event: ev.Topic) -> None:
        key = self.key(event.conversation)
        self.view.set_topic(key, event.text)
        if event.nick:
            text = f"{event.nick} set the topic: {event.text}" if event.text else ""
            text = text or f"{event.nick} cleared the topic"
            self.view.append(key, self._line(event.time, "event", text, "•"), count=False)

    def _on_members(self, event: ev.MembersChanged) -> None:
        key = self.key(event.conversation)
        self.view.set_members(key, event.members, event.signed_in, event.topic_settable, event.away)

    def _on_mode(self, event: ev.Mode) -> None:
        key = self.key(event.conversation)
        if self._is_open(key):
            who = event.nick or "The server"
            line = self._line(event.time, "event", f"{who} sets mode {event.modes}", "•")
            self.view.append(key, line, count=False)

    def show(
        self, conversation: str | None, kind: str, text: str, when: datetime | None = None
    ) -> None:
        """A line in ``conversation`` (None: the open conversation), opened if need be."""
        key = self._conversation_for(conversation)
        self.view.append(key, self._line(when, kind, text), count=False)

    def _on_reply(self, event: ev.Reply) -> None:
        key = self._conversation_for(event.conversation)
        line = self._line(event.time, "error" if event.error else "info", reply_text(event))
        self.view.append(key, replace(line, raw=event.raw), count=False)

    def _on_server_error(self, event: ev.ServerError) -> None:
        self.show(SERVER, "error", event.text)

    def _on_invite(self, event: ev.Invite) -> None:
        self.show(None, "info", invite_text(event))

    def _on_names(self, event: ev.Names) -> None:
        self.show(None, "info", names_text(event))

    def _on_tls(self, event: ev.TLSUp) -> None:
        kind = "info" if event.verified else "error"
        self.view.append(SERVER, self._line(None, kind, tls_text(event)), count=False)

    def _on_tls_refused(self, event: ev.TLSRefused) -> None:
        self.show(SERVER, "error", failure_text(event.failure))

    # --- user actions ------------------------------------------------------------------
    def current_name(self) -> str:
        """The name of the open conversation ("" for the server window)."""
        return self.conversations.current_name()

    def send(self) -> None:
        """Send what is in the message entry: text to the open conversation, or a command."""
        text = self.view.get_message()
        self._completion = None
        if not text.strip():
            return
        try:
            command = parse_input(text, self.current_name(), self.model.chantypes)
        except CommandError as exc:
            self._sent(text)
            if str(exc):
                self.note(str(exc), error=True)
            return
        lines = len([line for line in command.text.splitlines() if line.strip()])
        if command.name in _SAYING and lines > SCREENFUL:
            # The controller decides, the view asks; the text stays in the box until then.
            self.view.confirm(paste_question(lines), lambda yes: self._paste(yes, text, command))
            return
        self._sent(text)
        self._run(command)

    def _run(self, command: Command) -> None:
        sent = self.reacting.say(command)  # a reply under way goes with its tag
        if sent is None:
            self.commands[command.name](command)
        elif not sent:
            self.offline()

    def _paste(self, yes: bool, text: str, command: Command) -> None:
        """The answer about a long paste: send it, or leave it in the message entry."""
        if yes and not self.closed:
            if self.view.get_message() == text:  # else typed on meanwhile: keep that
                self._sent(text)
            self._run(command)

    def _sent(self, text: str) -> None:
        self.recall_lines.remember(text)
        self.view.set_message("")
        self.view.focus_message()

    def offline(self, what: str = "Message") -> None:
        """Say that ``what`` was not sent: no connection."""
        self.note(f"Not connected — {what} not sent. Waiting for the server…", error=True)

    def open_direct(self, nick: str) -> None:
        """Open (and show) a direct conversation with ``nick``."""
        if not nick or self.model.is_me(nick):
            return
        if self.model.is_channel(nick):
            if self._is_open(self.key(nick)):
                self.select(self.key(nick))
            return
        self.model.open_direct(nick)
        self.view.add_conversation(self.key(nick), nick, select=True)
        self.view.focus_message()

    def set_nick(self, nick: str) -> None:
        """Ask for ``nick`` (or say why it cannot be one; offline, when it will be)."""
        if not valid_nick(nick):
            self.note(
                f"{nick!r} cannot be a name: use letters, digits and - _ [ ] {{ }} | ^ `, "
                "starting with a letter.",
                error=True,
            )
            self.view.set_nick(self.model.nick)
            return
        if nick == self.model.nick:
            return
        self.model.set_nick(nick)
        if not self.model.connected:
            self.view.set_nick(nick)
            self.note(f"You will be {nick} when connected.")

    def change_nick(self) -> None:
        """The name entry was confirmed: ask the server for that nick."""
        name = self.view.get_name()
        if name and name != self.model.nick:
            self.set_nick(name)
        self.view.focus_message()

    def select(self, key: str) -> None:
        """Open the conversation ``key``."""
        self.view.show_conversation(key)
        self.view.focus_message()

    def toggle_theme(self) -> None:
        """Switch light/dark and remember the choice."""
        theme = self.view.toggle_theme()
        if self.settings is not None:
            self.settings.theme = theme
            self.settings.save()
        self.view.focus_message()

    def remember_joins(self, shown: bool) -> None:
        """Joins and parts were shown or hidden: remember it."""
        if self.settings is not None:
            self.settings.show_joins = shown
            self.settings.save()

    def on_focus(self) -> None:
        """The window got focus: mentions in the open conversation count as read."""
        self.reading.focused()

    # --- recall and completion -------------------------------------------------------
    def recall(self, step: int) -> None:
        """Up (-1) / Down (+1): walk through sent lines; past the newest is the draft."""
        text = self.recall_lines.step(step, self.view.get_message())
        if text is not None:
            self.view.set_message(text)

    def complete(self) -> None:
        """Tab: complete the word before the cursor (nicks, channels, commands); again cycles."""
        text, cursor = self.view.get_message(), self.view.get_cursor()
        state = complete_step(text, cursor, self._completion, self._candidates)
        if state is not None and not state.matches:
            self.view.bell()
        elif state is not None:
            self._completion = state
            self.view.set_message(*state.shown)

    def _candidates(self, word: str, line_start: bool) -> tuple[list[str], str]:
        if line_start and word.startswith("/"):
            return [f"/{name}" for name in [*HELP, *ALIASES]], " "
        if self.model.is_channel(word):
            names = [*self.model.joined(), *self.conversations.names()]
            return [n for n in names if self.model.is_channel(n)], " "
        current = self.current_name()
        nicks = [nick for _, nick in self.model.members(current)] if current else []
        if current and not self.model.is_channel(current):
            nicks.append(current)
        nicks = [n for n in nicks if not self.model.is_me(n)] + [self.model.nick]
        return nicks, ": " if line_start else " "
