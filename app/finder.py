"""The search panel's controller part: Ctrl+F's query through the loaded transcript and the
server's search, the results listed newest first, and the jump to a result in context.

A result the transcript holds is shown where it is; one it does not hold (an older
message only the server found) is fetched with the messages around it (CHATHISTORY
AROUND, as a reply's quote is: ``jump_around``) and shown once they arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from app import events as ev
from app.interface import ChatWindow
from app.search import Row, find_loaded
from app.text import Line, clock, day_of

#: The line under messages fetched around a search result: older ones are not loaded.
GAP_SEPARATOR = "— earlier messages not loaded above —"


class SearchModel(Protocol):
    """What the finder needs of the model."""

    @property
    def search_available(self) -> bool:
        """True when the server searches its history for us."""

    def search(self, text: str) -> bool:
        """Ask the server for the messages holding ``text``; False if it cannot be asked."""

    def fold(self, name: str) -> str:
        """Casefold ``name`` with the server's CASEMAPPING."""

    def is_channel(self, name: str) -> bool:
        """True when ``name`` names a channel on this server."""


@dataclass(frozen=True)
class Found:
    """One result: its conversation (key and name), sender, text and time, its msgid,
    and the transcript line when one is loaded."""

    key: str
    name: str
    nick: str
    text: str
    time: datetime | None
    msgid: str = ""
    line: Line | None = None
    action: bool = False


def row_of(found: Found) -> Row:
    """How a result is listed: day and time, conversation, sender, text."""
    when = f"{day_of(found.time)} {clock(found.time)}" if found.time else ""
    text = f"* {found.nick} {found.text}" if found.action else found.text
    return when, found.name, found.nick, text


class Finder:
    """Runs searches for the panel and jumps to the result chosen."""

    def __init__(
        self,
        model: SearchModel,
        view: ChatWindow,
        handlers: dict[str, Callable[[Any], None]],
        select: Callable[[str], None],
        open_direct: Callable[[str], None],
        jump_around: Callable[[str, str], None],
    ) -> None:
        self.model = model
        self.view = view
        self.select = select
        self.open_direct = open_direct
        #: Shows the message (key, msgid) of the open conversation, fetching it if need be.
        self.jump_around = jump_around
        handlers[ev.Kind.SEARCH_RESULTS] = self.on_results
        view.set_handlers(search=self.search, search_jump=self.jump, search_closed=self.closed)
        self.query = ""
        self.loaded: list[Found] = []
        self.found: list[Found] = []  # the server's, none of them loaded
        self.asking = False

    # --- searching --------------------------------------------------------------------
    def search(self, text: str) -> None:
        """Look for ``text`` in the loaded conversations, and ask the server."""
        self.query = text
        conversations = self.view.conversations
        sources = (
            (key, conversations[key].name, conversations[key].lines)
            for key in conversations.ordered_keys()
        )
        self.loaded = [
            Found(
                hit.key,
                hit.name,
                hit.line.nick,
                hit.line.text,
                hit.line.at,
                hit.line.msgid,
                hit.line,
                hit.line.kind == "action",
            )
            for hit in find_loaded(sources, text)
        ]
        self.found = []
        self.asking = self.model.search(text)
        if self.asking:
            status = "Searching the server…"
        elif self.model.search_available:
            status = "The server could not be asked; loaded messages only."
        else:
            status = "This server does not search its history; loaded messages only."
        self._show(status)

    def on_results(self, event: ev.SearchResults) -> None:
        """The server's answer: listed with the loaded results (those it also found once)."""
        if event.query != self.query or not self.asking:
            return  # the answer to an earlier search
        self.asking = False
        if event.error:
            self._show(f"The server could not search ({event.error}); loaded messages only.")
            return
        known = {found.msgid for found in self.loaded if found.msgid}
        self.found = [
            Found(
                self.model.fold(hit.conversation),
                hit.conversation,
                hit.nick,
                hit.text,
                hit.time,
                hit.msgid,
                None,
                hit.action,
            )
            for hit in event.hits
            if not hit.msgid or hit.msgid not in known
        ]
        self._show("")

    def _show(self, status: str) -> None:
        results = sorted(
            [*self.loaded, *self.found],
            key=lambda found: found.time.timestamp() if found.time else 0.0,
            reverse=True,
        )
        if not status:
            count = len(results)
            status = f"{count} message{'' if count == 1 else 's'} found"
            status += " (loaded and on the server)." if self.found else "."
        self.view.show_search_results([(row_of(found), found) for found in results], status)

    def closed(self) -> None:
        """The panel closed: the message entry gets the keys again."""
        self.view.focus_message()

    # --- jumping ----------------------------------------------------------------------
    def jump(self, found: object) -> None:
        """Show the result ``found`` in its conversation (opened for it if need be): at
        once when loaded, else once the messages around it have come. A line without a
        msgid (a server without message-tags) opens its conversation only."""
        if not isinstance(found, Found):
            return
        if found.key not in self.view.conversations:
            if self.model.is_channel(found.name):
                self.view.add_conversation(found.key, found.name)
            else:  # a direct conversation closed since: open it as the user would
                self.open_direct(found.name)
        self.select(found.key)
        if found.msgid:
            self.jump_around(found.key, found.msgid)
