"""IRCv3 chathistory: paging, catch-up by msgid or time, and dedupe. Pure: lines in, out.

The session hands over the batches and FAILs it receives and asks for requests; this
module keeps, per conversation, what has been shown (message ids, the oldest and newest)
and which requests wait for an answer, and turns a finished batch into one
:class:`~app.events.Chathistory` record plus, when more is due, the next request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.events import Chathistory, ChathistoryLine, Reaction
from app.irc import strip_formatting
from app.reactions import REPLY, reaction_of
from server.protocol.codec import LineError, Message, build, format_time, parse_server_time

#: Messages asked for per CHATHISTORY request (less when the server's CHATHISTORY says so).
CHATHISTORY_PAGE = 100
#: Message ids remembered per conversation for dedupe; the oldest are forgotten first.
SEEN_CAP = 20000
#: Lines one batch may hold before the rest is dropped (a server gone wild).
BATCH_CAP = 10000

Request = tuple[str, int, str]  # (mode, limit, ref)


@dataclass
class _Log:
    """What has been shown of one conversation: for dedupe and for paging its chathistory."""

    name: str
    seen: dict[str, None] = field(default_factory=dict)  # msgids, in the order seen
    oldest: str = ""  # msgid of the oldest message shown
    newest: str = ""  # msgid of the newest message shown
    newest_time: str = ""  # its server-time, for catching up when the msgid is gone
    complete: bool = False  # the server has nothing older
    pending: list[Request] = field(default_factory=list)

    def remember(self, msgid: str) -> bool:
        """Record ``msgid``; False when it was seen before (a duplicate)."""
        if msgid in self.seen:
            return False
        self.seen[msgid] = None
        if len(self.seen) > SEEN_CAP:
            for old in list(self.seen)[: SEEN_CAP // 10]:
                del self.seen[old]
        return True


@dataclass
class _Batch:
    """An open IRCv3 batch: its type, parameters and (for chathistory) the lines so far."""

    kind: str
    params: list[str]
    lines: list[Message] = field(default_factory=list)


def just_before(server_time: str) -> str:
    """The server-time one millisecond before ``server_time`` ("" if it is not one), so
    that "after it" also covers messages sent in the same millisecond."""
    moment = parse_server_time(server_time)
    if moment is None:
        return ""
    return format_time(round(moment.timestamp() * 1000) - 1)


class ChathistoryState:
    """Per-conversation chathistory state; ``fold`` casefolds names, ``is_me`` knows us."""

    def __init__(self, fold: Callable[[str], str], is_me: Callable[[str], bool]) -> None:
        self.fold = fold
        self.is_me = is_me
        self.page = CHATHISTORY_PAGE
        self.msgreftypes: tuple[str, ...] = ("msgid", "timestamp")
        self._batches: dict[str, _Batch] = {}
        self._logs: dict[str, _Log] = {}

    # --- requests --------------------------------------------------------------------
    def request(self, name: str, mode: str, ref: str) -> str | None:
        """The CHATHISTORY line for ``mode``/``ref``, now awaited; None if it cannot be sent."""
        limit = self.page
        try:
            line = build("CHATHISTORY", mode.upper(), name, ref, str(limit))
        except (LineError, ValueError):  # a msgid the codec cannot carry
            return None
        self._logs.setdefault(self.fold(name), _Log(name)).pending.append((mode, limit, ref))
        return line

    def waiting(self, name: str) -> bool:
        """True while a request for ``name`` has not been answered."""
        log = self._logs.get(self.fold(name))
        return log is not None and bool(log.pending)

    def unsent(self, name: str) -> None:
        """The newest request for ``name`` never went out: nothing to wait for."""
        log = self._logs.get(self.fold(name))
        if log is not None and log.pending:
            log.pending.pop()

    def older(self, name: str) -> str | None:
        """The request for the page before the oldest message shown; None if none is due."""
        log = self._logs.get(self.fold(name))
        if log is None or log.complete or log.pending or not log.oldest:
            return None
        return self.request(log.name, "before", f"msgid={log.oldest}")

    def around(self, name: str, msgid: str) -> str | None:
        """The request for the messages around ``msgid`` (one not shown: older than any
        that is); None if it cannot be sent. The server answers in order: it may follow
        another request."""
        return self.request(name, "around", f"msgid={msgid}")

    def catch_up(self, name: str) -> str | None:
        """After a (re)join: what was missed since the newest message seen, or the latest."""
        log = self._logs.get(self.fold(name))
        newest = log.newest if log is not None else ""
        if newest:
            return self.request(name, "after", f"msgid={newest}")
        return self.request(name, "latest", "*")

    # --- what was shown --------------------------------------------------------------
    def seen_live(self, conversation: str, msgid: str, when: str = "") -> bool:
        """Record a live message's id; False when it was already shown (a duplicate)."""
        if not msgid or not conversation:
            return True
        log = self._logs.setdefault(self.fold(conversation), _Log(conversation))
        if not log.remember(msgid):
            return False
        log.newest, log.newest_time = msgid, when
        log.oldest = log.oldest or msgid
        return True

    def seen_tag(self, conversation: str, msgid: str) -> bool:
        """Record a live TAGMSG's id (a reaction); False when a page showed it already.
        It is no message: paging and catching up do not start from it."""
        if not msgid or not conversation:
            return True
        return self._logs.setdefault(self.fold(conversation), _Log(conversation)).remember(msgid)

    def forget(self, name: str) -> None:
        """The conversation is closed: its chathistory starts afresh if it is opened again."""
        self._logs.pop(self.fold(name), None)

    def rename(self, old: str, new: str) -> None:
        """A direct conversation follows its peer to a new nick."""
        moved = self._logs.pop(self.fold(old), None)
        if moved is not None:
            moved.name = new
            self._logs[self.fold(new)] = moved

    def connection_lost(self) -> None:
        """Open batches and unanswered requests died with the connection."""
        self._batches.clear()
        for log in self._logs.values():
            log.pending.clear()

    # --- batches ---------------------------------------------------------------------
    def collects(self, msg: Message) -> bool:
        """Keep ``msg`` when it belongs to an open chathistory batch (never live traffic)."""
        ref = msg.tags.get("batch")
        if not ref or msg.command.upper() == "BATCH":
            return False
        batch = self._batches.get(ref)
        if batch is None or batch.kind != "chathistory":
            return False
        if len(batch.lines) < BATCH_CAP:
            batch.lines.append(msg)
        return True

    def batch(self, msg: Message, name_of: Callable[[str], str]) -> tuple[Chathistory | None, str]:
        """A BATCH line: at the end of a chathistory batch, its record and the next request
        ("" when none); ``name_of`` gives a conversation's display name."""
        ref = msg.param(0)
        if ref.startswith("+") and len(ref) > 1:
            self._batches[ref[1:]] = _Batch(msg.param(1).lower(), list(msg.params[2:]))
        elif ref.startswith("-"):
            batch = self._batches.pop(ref[1:], None)
            if batch is not None and batch.kind == "chathistory" and batch.params:
                return self._finish(name_of(batch.params[0]), batch.lines)
        return None, ""

    def _finish(self, name: str, lines: list[Message]) -> tuple[Chathistory, str]:
        log = self._logs.setdefault(self.fold(name), _Log(name))
        # The server answers in order; an unasked batch is a join replay: the latest.
        mode, limit, ref = log.pending.pop(0) if log.pending else ("latest", 0, "*")
        parsed = [h for h in map(self._line, lines) if h is not None]
        dated = [m for m in lines if m.tags.get("msgid")]
        ids = [m.tags["msgid"] for m in dated]
        shown_before = len(log.seen)
        fresh = tuple(h for h in parsed if not h.msgid or log.remember(h.msgid))
        reactions = tuple(r for r in (self._reaction(name, m) for m in lines) if r is not None)
        if mode == "around":  # what the page holds goes on top: paging goes on from it
            if ids:
                log.oldest = ids[0]
            # None of it shown already: newer messages lie between it and what is.
            gap = bool(shown_before and fresh) and len(fresh) == len(parsed)
            around = ref.partition("=")[2]
            return Chathistory(name, mode, fresh, reactions, around, gap), ""
        if mode in ("latest", "before"):
            if ids:
                log.oldest = ids[0]
                if not log.newest:
                    log.newest, log.newest_time = ids[-1], dated[-1].tags.get("time", "")
            if limit and len(lines) < limit:
                log.complete = True
        elif ids:
            log.newest, log.newest_time = ids[-1], dated[-1].tags.get("time", "")
        record = Chathistory(name, mode, fresh, reactions)
        if mode == "after" and ids and limit > 0 and len(lines) >= limit:
            # More was missed than one page holds: keep going until none is left.
            return record, self.request(name, "after", f"msgid={ids[-1]}") or ""
        if (
            mode == "after"
            and not lines
            and ref.startswith("msgid=")
            and "timestamp" in self.msgreftypes
        ):
            # Nothing after a msgid may mean nothing was missed, or that the server no
            # longer knows that msgid (it lost its last moments): ask once more by time.
            since = just_before(log.newest_time)
            if since:
                return record, self.request(name, "after", f"timestamp={since}") or ""
        return record, ""

    def _reaction(self, name: str, msg: Message) -> Reaction | None:
        """A TAGMSG of the page as a reaction (None: not one, or shown live already)."""
        if msg.command.upper() != "TAGMSG":
            return None
        found = reaction_of(msg.tags)
        nick = msg.nick or ""
        msgid = msg.tags.get("msgid", "")
        log = self._logs.setdefault(self.fold(name), _Log(name))
        if found is None or not nick or (msgid and not log.remember(msgid)):
            return None
        return Reaction(name, nick, *found, own=self.is_me(nick), tagmsg=msgid)

    def _line(self, msg: Message) -> ChathistoryLine | None:
        command = msg.command.upper()
        nick = msg.nick or msg.source or ""
        when: datetime | None = parse_server_time(msg.tags.get("time"))
        msgid = msg.tags.get("msgid", "")
        if command == "TOPIC":
            return ChathistoryLine(msgid, when, nick, msg.param(1), self.is_me(nick), topic=True)
        if command not in ("PRIVMSG", "NOTICE"):
            return None
        text = msg.param(1)
        action = False
        if text.startswith("\x01"):
            verb, _, rest = text.strip("\x01").partition(" ")
            if verb.upper() != "ACTION":
                return None  # a CTCP request or reply from the past needs no answer now
            text, action = rest, True
        return ChathistoryLine(
            msgid,
            when,
            nick,
            strip_formatting(text),
            own=self.is_me(nick),
            action=action,
            notice=command == "NOTICE",
            reply=msg.tags.get(REPLY, ""),
        )

    def failed(self, params: list[str]) -> None:
        """A FAIL CHATHISTORY: the request for a named target (else the oldest) is over."""
        waiting = [log for log in self._logs.values() if log.pending]
        folded = set(map(self.fold, params))
        named = [log for log in waiting if self.fold(log.name) in folded]
        for log in (named or waiting)[:1]:
            log.pending.pop(0)
