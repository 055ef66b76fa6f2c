"""The slash commands typed in the message box (``/join``, ``/msg``, ``/raw`` …): one method
per command, each given the parsed :class:`~app.commands.Command`; the controller looks them
up in :attr:`SlashCommands.table` by name (the parsing and the help live in app/commands.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.commands import Command, help_lines
from app.conversations import SERVER, Conversations
from app.interface import ChatWindow
from app.model import ChatModel
from app.text import raw_view_text
from server.protocol.codec import LineError, build, parse


class Controls(Protocol):
    """What the commands use of the controller (app/controller.py provides it)."""

    model: ChatModel
    view: ChatWindow
    conversations: Conversations
    select_on_join: set[str]

    def key(self, name: str | None) -> str:
        """The key of a conversation name."""
        ...

    def note(self, text: str, error: bool = False, key: str | None = None) -> None:
        """Show a line of local feedback."""
        ...

    def offline(self, what: str = "Message") -> None:
        """Say that ``what`` was not sent: no connection."""
        ...

    def select(self, key: str) -> None:
        """Open the conversation ``key``."""
        ...

    def open_direct(self, nick: str) -> None:
        """Open (and show) a private conversation."""
        ...

    def set_nick(self, nick: str) -> None:
        """Ask for ``nick``."""
        ...

    def close(self, reason: str = "Leaving") -> None:
        """Leave the server and stop."""
        ...


#: The commands, by the name app/commands.py parses them to.
NAMES = (
    "say", "me", "msg", "notice", "query", "join", "part", "close", "nick", "topic",
    "away", "back", "whois", "names", "clear", "raw", "quit", "help",
)  # fmt: skip


class SlashCommands:
    """What each command does, through the controller's model, view and notes."""

    def __init__(self, controller: Controls) -> None:
        self.c = controller
        self.table: dict[str, Callable[[Command], None]] = {
            name: getattr(self, name) for name in NAMES
        }

    def say(self, command: Command) -> None:
        """Say the text in the open conversation."""
        if not self.c.model.say(command.target, command.text):
            self.c.offline()

    def me(self, command: Command) -> None:
        """/me: an action in the open conversation."""
        if not self.c.model.say(command.target, command.text, action=True):
            self.c.offline("action")

    def msg(self, command: Command) -> None:
        """/msg NICK|#CHANNEL TEXT: a message without opening its conversation."""
        if not self.c.model.say(command.target, command.text):
            self.c.offline()

    def notice(self, command: Command) -> None:
        """/notice TARGET TEXT: a notice."""
        if not self.c.model.say(command.target, command.text, notice=True):
            self.c.offline("notice")

    def query(self, command: Command) -> None:
        """/query NICK [TEXT]: open a private conversation (and say TEXT there)."""
        self.c.open_direct(command.target)
        if command.text and not self.c.model.say(command.target, command.text):
            self.c.offline()

    def join(self, command: Command) -> None:
        """/join #CHANNEL [KEY]: join (or show, when already in it); offline, once connected."""
        key = self.c.key(command.target)
        if command.target in self.c.model.joined() or key in map(self.c.key, self.c.model.joined()):
            self.c.select(key)
            return
        self.c.select_on_join.add(key)
        if not self.c.model.join(command.target, command.key or None):
            self.c.note(f"Not connected — you join {command.target} once connected.")

    def part(self, command: Command) -> None:
        """/part [#CHANNEL] [REASON]: leave; a channel we are not in only closes its tab."""
        key = self.c.key(command.target)
        joined = key in map(self.c.key, self.c.model.joined())
        if joined and self.c.model.part(command.target, command.text):
            return  # closed when the server says we left
        self.c.model.forget_channel(command.target)  # not in it: only the tab to close
        self.c.view.remove_conversation(key)
        if not self.c.model.connected:
            self.c.note(f"Not connected — {command.target} is closed and not joined again.")

    def close(self, command: Command) -> None:
        """/close: leave the channel or close the private conversation shown."""
        target = command.target
        if not target:
            self.c.note("The server window stays open; use /quit to leave.", error=True)
        elif self.c.model.is_channel(target):
            self.part(Command("part", target))
        else:
            self.c.model.close_direct(target)
            self.c.view.remove_conversation(self.c.key(target))

    def nick(self, command: Command) -> None:
        """/nick NAME: change our nick."""
        self.c.set_nick(command.target)

    def topic(self, command: Command) -> None:
        """/topic [TEXT]: ask for or set the channel's topic."""
        if not self.c.model.set_topic(command.target, command.text or None):
            self.c.offline("topic")

    def away(self, command: Command) -> None:
        """/away [TEXT]: mark ourselves away."""
        self.c.model.away = True
        if not self.c.model.set_away(command.text):
            self.c.note("Not connected — you are marked away once connected.")

    def back(self, command: Command) -> None:
        """/back: no longer away."""
        self.c.model.away = False
        if not self.c.model.set_away(None):
            self.c.note("Not connected — you are not marked away once connected.")

    def whois(self, command: Command) -> None:
        """/whois NICK: who someone is (the replies come as sentences)."""
        if not self.c.model.send_raw(build("WHOIS", command.target)):
            self.c.offline("whois")

    def names(self, command: Command) -> None:
        """/names [#CHANNEL]: who is in a channel."""
        if not self.c.model.send_raw(build("NAMES", command.target)):
            self.c.offline("names")

    def clear(self, command: Command) -> None:
        """/clear: empty the open conversation's transcript (on screen only)."""
        current = self.c.conversations.current
        self.c.view.clear_conversation(current if current is not None else SERVER)

    def raw(self, command: Command) -> None:
        """/raw LINE sends an IRC line; /raw on|off shows the server's raw lines or sentences."""
        if command.target:  # /raw on|off: the server's raw lines in place of its sentences
            self.c.view.show_raw(command.target == "on")
            self.c.note(raw_view_text(command.target == "on"))
            return
        try:
            parse(command.text)
        except LineError:
            self.c.note("That is not an IRC line.", error=True)
            return
        if self.c.model.send_raw(command.text):
            self.c.note(f"→ {command.text}")
        else:
            self.c.offline("line")

    def quit(self, command: Command) -> None:
        """/quit [REASON]: leave the server and close the window."""
        self.c.close(command.text or "Leaving")
        self.c.view.destroy()

    def help(self, command: Command) -> None:
        """/help [COMMAND]: the commands, or one explained."""
        for line in help_lines(command.text):
            self.c.note(line)
