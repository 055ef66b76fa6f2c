"""The IRC line codec shared by the server and the app: pure, typed, no sockets.

Bytes are split into lines on ``\\n`` *before* anything is decoded, so a multi-byte
character split across two TCP reads can never be cut in half. Lines are always
written with ``\\r\\n``; a bare ``\\n`` is accepted on input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

#: Longest line without tags, CRLF included (Modern IRC, "Message format").
MAX_LINE = 512
#: Longest tag section, the leading ``@`` and trailing space included (IRCv3 message-tags).
MAX_TAGS = 8191

_TAG_ESCAPES = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_TAG_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPE_TABLE = str.maketrans(_TAG_ESCAPES)


class LineError(ValueError):
    """A line that cannot be parsed or must not be built."""


def escape_tag_value(value: str) -> str:
    """Escape a tag value for the wire (IRCv3 message-tags)."""
    return value.translate(_ESCAPE_TABLE)


def unescape_tag_value(value: str) -> str:
    """Undo :func:`escape_tag_value`; an unknown escape yields the bare character."""
    if "\\" not in value:
        return value
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars, "")  # a lone trailing backslash is dropped
        out.append(_TAG_UNESCAPES.get(nxt, nxt))
    return "".join(out)


def parse_tags(text: str) -> dict[str, str]:
    """Parse a tag section (without the leading ``@``) into a dict; later keys win."""
    tags: dict[str, str] = {}
    for item in text.split(";"):
        if not item:
            continue
        key, _, value = item.partition("=")
        if not key:
            raise LineError("tag with an empty key")
        tags[key] = unescape_tag_value(value)
    return tags


def format_tags(tags: dict[str, str]) -> str:
    """Build a tag section (without the leading ``@``)."""
    return ";".join(
        f"{key}={escape_tag_value(value)}" if value else key for key, value in tags.items()
    )


@dataclass(slots=True)
class Message:
    """One IRC message: tags, source, command and parameters."""

    command: str
    params: list[str] = field(default_factory=list)
    source: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def nick(self) -> str | None:
        """The nick part of the source, if there is a source."""
        if self.source is None:
            return None
        return split_source(self.source)[0]

    def param(self, index: int, default: str = "") -> str:
        """Parameter ``index``, or ``default`` when it is missing."""
        return self.params[index] if index < len(self.params) else default

    def format(self) -> str:
        """The line for this message, without CRLF."""
        return build(self.command, *self.params, source=self.source, tags=self.tags)


def parse(line: str) -> Message:
    """Parse one line (CR/LF already stripped or not) into a :class:`Message`.

    Raises :class:`LineError` for an empty line or a line without a command.
    """
    line = line.rstrip("\r\n")
    tags: dict[str, str] = {}
    source = None
    if line.startswith("@"):
        tag_text, _, line = line.partition(" ")
        tags = parse_tags(tag_text[1:])
        line = line.lstrip(" ")
    if line.startswith(":"):
        source, _, line = line.partition(" ")
        source = source[1:]
        line = line.lstrip(" ")
    line, sep, trailing = line.partition(" :")
    parts = [part for part in line.split(" ") if part]
    if not parts:
        raise LineError("no command")
    command, params = parts[0], parts[1:]
    if sep:
        params.append(trailing)
    return Message(command, params, source, tags)


def _forbidden(text: str) -> bool:
    """Whether ``text`` holds a CR, LF or NUL (which no part of a line may)."""
    return "\r" in text or "\n" in text or "\0" in text


def build(
    command: str,
    *params: str,
    source: str | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """Build one line (without CRLF), refusing parameters that would change its meaning.

    Only the last parameter may be empty, contain a space or start with ``:``;
    no part may contain CR, LF or NUL.
    """
    # (Each check a few ``in`` tests: this runs for every line the server builds.)
    if not command or " " in command or ":" in command or _forbidden(command):
        raise LineError(f"bad command {command!r}")
    pieces: list[str] = []
    if tags:
        pieces.append("@" + format_tags(tags))
    if source:
        if " " in source:
            raise LineError("space in source")
        pieces.append(":" + source)
    pieces.append(command)
    last = len(params) - 1
    for index, param in enumerate(params):
        if _forbidden(param):
            raise LineError("CR, LF or NUL in a parameter")
        if index == last:
            if not param or " " in param or param[0] == ":":
                param = ":" + param
        elif not param or " " in param or param[0] == ":":
            raise LineError(f"parameter {index} cannot be a middle parameter: {param!r}")
        pieces.append(param)
    return " ".join(pieces)


def fit_params(
    command: str, params: tuple[str, ...], source: str | None = None, keep: int = 0
) -> tuple[str, ...]:
    """``params`` cut so that the line (without tags, with CRLF) fits :data:`MAX_LINE`.

    The longest parameter is shortened at a character boundary, again while the line
    is still too long: what a server echoes back or relays (a nick or a mask someone
    typed, a reason, a topic) is cut, never the line's fixed parts nor the first
    ``keep`` parameters (a numeric's recipient). A middle parameter is never left empty.
    """
    size = len(encode(build(command, *params, source=source)))
    if size <= MAX_LINE:
        return params
    cut = list(params)
    while size > MAX_LINE and len(cut) > keep:
        longest = max(
            range(keep, len(cut)), key=lambda i: len(cut[i].encode("utf-8", "surrogatepass"))
        )
        have = len(cut[longest].encode("utf-8", "surrogatepass"))
        if have <= 1:
            break  # nothing left to cut: the fixed parts alone are too long
        piece = truncate_utf8(cut[longest], max(1, have - (size - MAX_LINE)))
        if longest < len(cut) - 1:
            piece = piece.rstrip(" ") or "*"
        cut[longest] = piece
        size = len(encode(build(command, *cut, source=source)))
    return tuple(cut)


def split_source(source: str) -> tuple[str | None, str | None, str | None]:
    """Split ``nick!user@host`` into its parts (missing or empty parts are ``None``)."""
    rest, _, host = source.partition("@")
    nick, _, user = rest.partition("!")
    return nick or None, user or None, host or None


def encode(line: str) -> bytes:
    """Encode a built line for the wire: UTF-8 plus CRLF."""
    return line.encode("utf-8", "surrogateescape") + b"\r\n"


def format_time(millis: int) -> str:
    """Milliseconds since the epoch as an IRCv3 timestamp (``server-time``, history)."""
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


def parse_timestamp(value: str) -> int | None:
    """``YYYY-MM-DDThh:mm:ss.sssZ`` as milliseconds since the epoch, or None."""
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        try:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return None
    return int(moment.replace(tzinfo=timezone.utc).timestamp() * 1000)


def parse_server_time(value: str | None) -> datetime | None:
    """The ``time`` tag (IRCv3 server-time) as an aware datetime, or None if absent or bad.

    Looser than :func:`parse_timestamp`: any ISO 8601 time another server sends is read.
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Without an offset it is taken as UTC, so it compares with every other time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Cut ``text`` to at most ``max_bytes`` of UTF-8 without splitting a character."""
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode("utf-8", "ignore")


def split_utf8(text: str, max_bytes: int) -> list[str]:
    """Split ``text`` into pieces of at most ``max_bytes`` UTF-8 bytes each.

    Pieces end on character boundaries and, where one is near, after a space, so
    words are not cut in half.
    """
    if max_bytes < 4:
        raise ValueError("max_bytes must fit any UTF-8 character")
    pieces: list[str] = []
    while text:
        head = truncate_utf8(text, max_bytes)
        if len(head) < len(text):
            cut = head.rfind(" ")
            if cut > len(head) // 2:
                head = head[: cut + 1]
        pieces.append(head)
        text = text[len(head) :]
    return pieces


class LineReader:
    """Split a byte stream into lines, keeping the partial tail between reads.

    A line longer than ``limit`` bytes is not buffered: its start is returned once
    as an :class:`Overlong` marker and the rest of it is skipped, so a client that
    never sends a newline cannot make the reader hold more than ``limit`` bytes.
    """

    __slots__ = ("_discarding", "_tail", "limit")

    def __init__(self, limit: int = MAX_TAGS + MAX_LINE) -> None:
        self.limit = limit
        self._tail = b""
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes | Overlong]:
        """Add received bytes; return the complete lines (without CR/LF) they finish.

        A lone CR also ends a line: it can never be part of a message, and passing
        it on inside one would let a client forge a line for everyone else.
        """
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._tail + data if self._tail else data
        lines: list[bytes | Overlong] = []
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
            else:
                line = buf[start:end]
                if line:  # empty lines (and the LF of a CRLF split across reads) are skipped
                    lines.append(Overlong(line[:64]) if len(line) > self.limit else line)
            start = end + 1
        rest = buf[start:]
        if self._discarding:
            rest = b""
        elif len(rest) > self.limit:
            lines.append(Overlong(rest[:64]))
            self._discarding = True
            rest = b""
        self._tail = rest
        return lines

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held."""
        return len(self._tail)


@dataclass(frozen=True, slots=True)
class Overlong:
    """Stands for a line that was longer than the reader's limit (its first bytes kept)."""

    head: bytes
