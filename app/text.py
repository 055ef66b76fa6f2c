"""Pure text helpers for rendering: sanitising, URLs, mentions, nick colours, times."""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass, replace
from datetime import datetime

from app.events import (
    AccountRefused,
    ChathistoryLine,
    Failure,
    Invite,
    Join,
    Message,
    Names,
    Nick,
    NickRefused,
    Part,
    PasswordWanted,
    Quit,
    RedactRefused,
    Reply,
    Sending,
    SignedIn,
    Status,
    TLSUp,
)
from app.server_lines import sentence
from server.protocol.names import valid_nick

#: Longest line shown; a longer one is cut with an ellipsis (Tk slows on huge lines).
MAX_SHOWN = 4000
_REPLACEMENT = "\ufffd"
# Bidi overrides and isolates would reorder the rest of the line (and the next ones).
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), "\ufffd")
_CONTROLS = {c: "\ufffd" for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROLS[ord("\t")] = "    "
_TABLE = {**_CONTROLS, **_BIDI}
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\")]}>"


def sanitize(text: str, limit: int = MAX_SHOWN, astral: bool = True) -> str:
    """Make ``text`` safe for a Tk widget: no NUL/controls, no lone surrogates, no bidi tricks.

    Surrogate pairs are joined, lone surrogates become U+FFFD; when ``astral`` is False,
    characters outside the BMP (emoji) become U+FFFD too.
    """
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = text.translate(_TABLE)
    if not astral:
        text = "".join(c if ord(c) <= 0xFFFF else _REPLACEMENT for c in text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def find_urls(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the web addresses in ``text`` (trailing punctuation left out)."""
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        url = match.group()
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
            end -= 1
        if len(url) > len("www."):
            spans.append((start, end))
    return spans


def url_target(url: str) -> str:
    """The address to open for ``url`` (``www.`` gets ``https://``)."""
    return url if "://" in url else "https://" + url


def mentions(text: str, nick: str) -> bool:
    """True when ``text`` names ``nick`` as a word (case-insensitively)."""
    if not nick:
        return False
    pattern = r"(?<![\w\-\[\]\\`^{}|])" + re.escape(nick) + r"(?![\w\-\[\]\\`^{}|])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def nick_colour_index(nick: str, count: int) -> int:
    """A stable colour slot for ``nick``: the same in every run and every window."""
    folded = nick.lower().rstrip("_")
    return zlib.crc32(folded.encode("utf-8", "surrogatepass")) % count


def clock(when: datetime | None) -> str:
    """``HH:MM`` in local time."""
    when = when or datetime.now().astimezone()
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%H:%M")


def day_of(when: datetime | None) -> str:
    """The local calendar day of ``when`` (now when None) as ``YYYY-MM-DD``."""
    when = when or datetime.now().astimezone()
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.date().isoformat()


def day_label(day: str) -> str:
    """The divider shown where the day changes: ``— Thursday, 26 November 2026 —``."""
    try:
        when = datetime.fromisoformat(day)
    except ValueError:
        return f"— {day} —"
    return f"— {when:%A}, {when.day} {when:%B %Y} —"


def clean_nick(name: str, fallback: str = "guest") -> str:
    """Turn ``name`` (a login name, say) into a valid nick."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = "".join(c for c in ascii_name if c.isalnum() or c in "-_[]\\`^{}|")[:30]
    while cleaned and (cleaned[0].isdigit() or cleaned[0] == "-"):
        cleaned = cleaned[1:]
    return cleaned if valid_nick(cleaned) else fallback


@dataclass(frozen=True, slots=True)
class Line:
    """One transcript line: ``kind`` is message, action, notice, event, info or error.

    Also ``separator`` (the "— history —" line under a chathistory page) and ``mark``
    (where missed messages go after a reconnect; shows nothing). ``day`` (``YYYY-MM-DD``,
    local) places day dividers. A message whose ``account`` is set shows a small mark by
    the sender: only the server's word makes a sender trusted, never the nick. ``raw``
    is the server's line behind a sentence (lines, one a line, when several were folded),
    shown on hover and with ``/raw on``; kind ``server`` is a notice from the server itself.
    Someone else's join, part, quit or rename has ``change`` (``join``, ``part``, ``quit``,
    ``nick``) and ``who`` (their nick; ``to`` is the new one): consecutive ones fold.
    A reply has ``reply``, the msgid of the message it answers.
    A ``deleted`` message keeps its time and nick; its text is :data:`DELETED`.
    """

    kind: str
    time: str
    nick: str = ""
    text: str = ""
    mention: bool = False
    own: bool = False
    day: str = ""
    msgid: str = ""
    account: str = ""  # the sender is signed in to it, as the server vouches
    raw: str = ""
    change: str = ""
    who: str = ""
    to: str = ""
    at: datetime | None = None  # when it was said (server-time): what read markers name
    reply: str = ""  # the msgid of the message it answers (drawn quoted above it)
    deleted: bool = False  # its sender or an operator deleted it: its text is gone


def _event_line(
    when: datetime | None, glyph: str, text: str, change: str = "", who: str = "", to: str = ""
) -> Line:
    return Line("event", clock(when), glyph, text, day=day_of(when), change=change, who=who, to=to)


def join_line(event: Join) -> Line:
    """Someone (or we) joined a channel."""
    if event.own:
        return _event_line(event.time, "→", f"You joined {event.conversation}")
    text = f"{event.nick} joined {event.conversation}"
    return _event_line(event.time, "→", text, "join", event.nick)


def part_line(event: Part) -> Line:
    """Someone left a channel."""
    reason = f" ({event.reason})" if event.reason else ""
    text = f"{event.nick} left {event.conversation}{reason}"
    return _event_line(event.time, "←", text, "part", event.nick)


def quit_line(event: Quit) -> Line:
    """Someone quit (shown in each conversation they were in)."""
    reason = f" ({event.reason})" if event.reason else ""
    return _event_line(event.time, "←", f"{event.nick} quit{reason}", "quit", event.nick)


def nick_line(event: Nick) -> Line:
    """Someone (or we) took a new nick."""
    if event.own:
        return _event_line(event.time, "•", f"You are now known as {event.nick}")
    text = f"{event.old} is now known as {event.nick}"
    return _event_line(event.time, "•", text, "nick", event.old, event.nick)


# --- the sentences about the connection and the server ---------------------------------
#: Shown with a certificate that failed verification.
INSECURE_HINT = "use --tls-insecure to connect anyway"


def failure_text(failure: Failure) -> str:
    """Why a connection ended, in the user's words."""
    reason, detail = failure.reason, failure.detail
    if reason == "refused":
        return "connection refused (is the server running?)"
    if reason == "timeout":
        return "timed out"
    if reason == "unknown-host":
        return f"unknown host ({detail})"
    if reason == "ping-timeout":
        return "Ping timeout"
    if reason == "tls-untrusted":
        return f"TLS certificate not trusted: {detail} — {INSECURE_HINT}"
    if reason == "tls-handshake":
        return f"TLS handshake failed: {detail} (is this a TLS port?)"
    if reason == "internal":
        return f"internal error: {detail}"
    return detail or reason


def status_text(status: Status, left: float | None = None) -> str:
    """The status bar's sentence; ``left`` counts down the seconds to reconnecting."""
    server, state = status.server, status.state
    if state == "connecting":
        return f"Connecting to {server}{' (TLS)' if status.tls else ''}…"
    if state == "connected":
        text = f"Connected to {server} as {status.nick}"
        if status.account:
            text += f" · signed in as {status.account}"
        if status.tls and status.verified:
            text += " · TLS"
        elif status.tls:
            text += f" · TLS, unverified certificate SHA-256 {status.fingerprint}"
        return text
    if state == "closed":
        return "Disconnected"
    if status.password_wanted:
        return f"{server} wants a password — not connected"
    text = f"Disconnected from {server}"
    if status.failure is not None:
        text += f": {failure_text(status.failure)}"
    if state == "reconnecting":
        text += f" — reconnecting in {status.delay if left is None else left:.0f} s"
    return text


def tls_text(event: TLSUp) -> str:
    """What TLS gave us: a verified certificate, or a fingerprint for the user to check."""
    if event.verified:
        return f"TLS ({event.version}): the certificate of {event.host} is verified"
    return (
        f"TLS ({event.version}) with an unverified certificate: check that its "
        f"SHA-256 fingerprint is {event.fingerprint}"
    )


def password_text(event: PasswordWanted) -> str:
    """Why the password dialog opens."""
    return "The server refused the password" if event.refused else "The server wants a password"


#: What each refusal means, said to the person who tried (see ``app.events.REFUSALS``).
_REFUSAL_TEXTS = {
    "wrong-password": "the account name or the password is wrong",
    "nick-locked": "the server wants you to use the nick of your account",
    "too-long": "the server found the sign-in message too long",
    "aborted": "signing in was stopped before it finished",
    "plain-insecure": (
        "this server only takes the password in plain text, and this connection is neither "
        "TLS nor to this machine, so Kibitz did not send it (use --tls, or --allow-plain "
        "if you trust the network)"
    ),
    "no-mechanism": "the server offers no sign-in method Kibitz speaks",
    "no-accounts": "this server has no accounts",
    "server-unverified": (
        "the server could not prove it knows your password, so it may not be the server you think"
    ),
    "malformed": "the server's answer could not be read",
    "name-taken": "that name is already taken",
    "bad-name": "that name cannot be an account name",
    "weak-password": "the server does not accept that password",
    "registration-closed": "this server does not let people create accounts",
    "verification-required": "the server wants a verification step Kibitz cannot do",
    "already": "you are already signed in",
}


def account_refused_text(event: AccountRefused) -> str:
    """Why signing in, or creating an account, did not work: one sentence."""
    what = "Could not create the account" if event.action == "register" else "Not signed in"
    if event.account:
        what += f" {event.account}" if event.action == "register" else f" as {event.account}"
    why = _REFUSAL_TEXTS.get(event.reason)
    if why is None:
        why = f"the server said: {event.text}" if event.text else f"the server said {event.code}"
    return f"{what}: {why}."


def signed_in_text(event: SignedIn) -> str:
    """We are signed in (perhaps to an account just made)."""
    if event.created:
        return f"Account {event.account} created; you are signed in as {event.account}"
    return f"Signed in as {event.account}"


def nick_refused_text(event: NickRefused) -> str:
    """The server would not let us have a nick (and, before registration, what we try)."""
    if event.instead:
        return (
            f"The name {event.tried} is taken or invalid ({event.reason}); trying {event.instead}"
        )
    return f"Cannot use the name {event.tried}: {event.reason}"


def reply_text(event: Reply) -> str:
    """A readable line for a numeric reply (the sentences are in :mod:`app.server_lines`)."""
    return sentence(event.code, event.args)


def raw_view_text(on: bool) -> str:
    """What ``/raw on`` and ``/raw off`` did."""
    if on:
        return "The server's raw lines are shown in place of sentences (/raw off: sentences)."
    return "The server's lines are shown as sentences (hover one for its raw line; /raw on)."


def chathistory_line(message: ChathistoryLine, nick: str) -> Line:
    """The transcript line of one chathistory message (``nick`` is ours, for mentions)."""
    when, day = clock(message.time), day_of(message.time)
    if message.topic:
        text = f"{message.nick} set the topic: {message.text}" if message.text else ""
        text = text or f"{message.nick} cleared the topic"
        return Line("event", when, "•", text, day=day, msgid=message.msgid)
    kind = "action" if message.action else "notice" if message.notice else "message"
    mention = not message.own and mentions(message.text, nick)
    return Line(
        kind,
        when,
        message.nick,
        message.text,
        mention=mention,
        own=message.own,
        day=day,
        msgid=message.msgid,
        at=message.time,
        reply=message.reply,
    )


def invite_text(event: Invite) -> str:
    """Someone invites us to a channel."""
    return f"{event.nick} invites you to {event.channel}"


def names_text(event: Names) -> str:
    """The answer to /names for a channel we are not in."""
    return f"Users on {event.channel}: {' '.join(event.nicks)}"


def message_text(event: Message) -> str:
    """The text a message line shows (a CTCP reply says what it answers)."""
    if event.ctcp:
        return f"CTCP {event.ctcp} reply: {event.text}"
    return event.text


def address_text(host: str, port: int) -> str:
    """``host:port`` as people write it (an IPv6 address in brackets: ``[::1]:5000``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def sending_text(event: Sending) -> str:
    """The status bar while a long paste drains (or waits for the connection)."""
    if event.waiting:
        left = event.total - event.sent
        return f"{left} of your lines are waiting: they are sent when the connection is back."
    return f"sending {event.sent} of {event.total}…"


def unsent_question(lines: int) -> str:
    """The question when the window is closed with lines accepted but not yet sent."""
    what = "1 line you wrote is" if lines == 1 else f"{lines} lines you wrote are"
    return f"{what} not sent yet. Close anyway and lose them?"


def paste_question(lines: int) -> str:
    """The question before a paste of more than a screenful is sent."""
    return f"Send these {lines} lines? They go out a few a second, so nobody is flooded."


def typing_text(nicks: list[str]) -> str:
    """Who is typing in a conversation: one or two by name, more as "several people"."""
    if not nicks:
        return ""
    if len(nicks) == 1:
        return f"{nicks[0]} is typing…"
    if len(nicks) == 2:
        return f"{nicks[0]} and {nicks[1]} are typing…"
    return "several people are typing…"


#: What a deleted message shows instead of its text.
DELETED = "message deleted"


def deleted_line(line: Line, by: str = "", reason: str = "") -> Line:
    """``line`` once deleted: its time and nick stay, its text goes (and what it named).
    Deleted by someone else than its sender (``by``, an operator), it says who: the spec
    asks clients to keep deletions accountable; a reason given is shown too."""
    text = DELETED if not by else f"{DELETED} by {by}"
    if reason:
        text += f" ({reason})"
    return replace(line, text=text, deleted=True, mention=False, raw="")


def delete_question(line: Line) -> str:
    """The question before deleting ``line``."""
    whose = "your message" if line.own else f"this message from {line.nick}"
    shown = line.text if len(line.text) <= 80 else line.text[:79] + "…"
    return f"Delete {whose} for everyone?\n\n“{shown}”"


def duration_text(seconds: int) -> str:
    """A span of time in the largest whole unit: "24 hours", "90 seconds"."""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            if unit == "day" and count == 1:
                return "24 hours"
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def redact_refused_text(event: RedactRefused) -> str:
    """Why the server did not delete a message."""
    if event.code == "REDACT_FORBIDDEN":
        return "You may not delete that message."
    if event.code == "REDACT_WINDOW_EXPIRED":
        if event.window:
            limit = duration_text(event.window)
            return f"That message is too old to delete (messages can be deleted for {limit})."
        return "That message is too old to delete."
    if event.code == "UNKNOWN_MSGID":
        return "That message could not be deleted: the server no longer has it."
    if event.code == "INVALID_TARGET":
        return f"Messages cannot be deleted in {event.conversation}."
    return f"The message could not be deleted: {event.text}"
