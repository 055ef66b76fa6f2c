"""Search: asking the server (``soju.im/search``) and looking through what is loaded.
Pure: lines in, records out.

The session hands over each BATCH, FAIL and batched line; :class:`SearchState` keeps the
search it asked for, collects the lines of its ``soju.im/search`` batch and turns the
finished batch into one :class:`~app.events.SearchResults`. :func:`find_loaded` looks
through the conversations' loaded lines the same way, word by word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from app.events import SearchHit, SearchResults
from app.irc import strip_formatting
from app.text import Line
from server.protocol.codec import LineError, Message, build, format_tags, parse_server_time

CAP = "soju.im/search"
BATCH_TYPE = "soju.im/search"
#: Results asked of the server per search (the extension's servers give at most 100).
LIMIT = 100
#: Lines of one result batch kept; the rest is dropped (a server gone wild).
BATCH_CAP = 1000
#: Transcript lines a search of the loaded conversations returns at most.
LOADED_CAP = 200
_SEARCHED_KINDS = ("message", "action", "notice")
#: A result as the panel lists it: its time, conversation, sender and text.
Row = tuple[str, str, str, str]


def words_of(text: str) -> list[str]:
    """The words of a query, casefolded: each must be found for a line to match."""
    return text.casefold().split()


def attributes(text: str, target: str | None = None, limit: int = LIMIT) -> str:
    """The SEARCH attributes for ``text`` (in ``target`` when given), tag-escaped."""
    attrs = {"text": text, **({"in": target} if target else {}), "limit": str(limit)}
    return format_tags(attrs)


@dataclass
class _Waiting:
    query: str
    ref: str = ""  # the batch answering it, once opened
    lines: list[Message] = field(default_factory=list)


class SearchState:
    """The searches asked of the server and the batch answering the oldest of them."""

    def __init__(
        self,
        fold: Callable[[str], str],
        is_me: Callable[[str], bool],
        is_channel: Callable[[str], bool],
    ) -> None:
        self.fold = fold
        self.is_me = is_me
        self.is_channel = is_channel
        self._waiting: list[_Waiting] = []

    def request(self, text: str, target: str | None = None) -> str | None:
        """The SEARCH line for ``text``, now awaited; None when it has no words or
        cannot be sent."""
        if not words_of(text):
            return None
        try:
            line = build("SEARCH", attributes(" ".join(text.split()), target))
        except (LineError, ValueError):
            return None
        self._waiting.append(_Waiting(text))
        return line

    def unsent(self) -> None:
        """The newest request never went out: nothing to wait for."""
        if self._waiting:
            self._waiting.pop()

    def connection_lost(self) -> None:
        """Unanswered searches died with the connection."""
        self._waiting.clear()

    def collects(self, msg: Message) -> bool:
        """Keep ``msg`` when it belongs to the open result batch."""
        ref = msg.tags.get("batch")
        if not ref or msg.command.upper() == "BATCH":
            return False
        for waiting in self._waiting:
            if waiting.ref == ref:
                if len(waiting.lines) < BATCH_CAP:
                    waiting.lines.append(msg)
                return True
        return False

    def batch(self, msg: Message, name_of: Callable[[str], str]) -> SearchResults | None:
        """A BATCH line: at the end of a result batch, its record (``name_of`` gives a
        conversation's display name)."""
        ref = msg.param(0)
        if ref.startswith("+") and msg.param(1).lower() == BATCH_TYPE:
            # The server answers in order: this batch is for the oldest search waiting.
            for waiting in self._waiting:
                if not waiting.ref:
                    waiting.ref = ref[1:]
                    break
            return None
        if not ref.startswith("-"):
            return None
        for index, waiting in enumerate(self._waiting):
            if waiting.ref and waiting.ref == ref[1:]:
                del self._waiting[index]
                hits = (self._hit(line, name_of) for line in waiting.lines)
                return SearchResults(waiting.query, tuple(h for h in hits if h is not None))
        return None

    def failed(self, msg: Message) -> SearchResults | None:
        """A FAIL SEARCH: the oldest search waiting is over."""
        waiting = next((w for w in self._waiting if not w.ref), None)
        if waiting is None:
            return None
        self._waiting.remove(waiting)
        return SearchResults(waiting.query, error=msg.param(1) or "FAILED")

    def _hit(self, msg: Message, name_of: Callable[[str], str]) -> SearchHit | None:
        command = msg.command.upper()
        if command not in ("PRIVMSG", "NOTICE") or len(msg.params) < 2:
            return None
        nick = msg.nick or msg.source or ""
        own = self.is_me(nick)
        target = msg.param(0)
        # A direct message is shown under the other party's name.
        conversation = target if self.is_channel(target) or own else nick
        text, action = msg.param(1), False
        if text.startswith("\x01"):
            verb, _, rest = text.strip("\x01").partition(" ")
            if verb.upper() != "ACTION":
                return None
            text, action = rest, True
        return SearchHit(
            name_of(conversation),
            nick,
            strip_formatting(text),
            parse_server_time(msg.tags.get("time")),
            msg.tags.get("msgid", ""),
            own,
            action,
            command == "NOTICE",
        )


@dataclass(frozen=True)
class LoadedHit:
    """A loaded transcript line that matches: its conversation (key and name) and it."""

    key: str
    name: str
    line: Line


def find_loaded(
    conversations: Iterable[tuple[str, str, Iterable[Line]]], text: str, cap: int = LOADED_CAP
) -> list[LoadedHit]:
    """The loaded messages holding every word of ``text`` (case-insensitive), newest
    conversation line last, at most ``cap`` (the newest ones)."""
    words = words_of(text)
    if not words:
        return []
    found: list[LoadedHit] = []
    for key, name, lines in conversations:
        for line in lines:
            if line.kind not in _SEARCHED_KINDS:
                continue
            body = line.text.casefold()
            if all(word in body for word in words):
                found.append(LoadedHit(key, name, line))
    found.sort(key=lambda hit: hit.line.at.timestamp() if hit.line.at else 0.0)
    return found[-cap:]
