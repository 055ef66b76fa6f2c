"""Pure text helpers for rendering: sanitising, URLs, mentions, nick colours, times."""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import datetime

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


def valid_nick(name: str) -> bool:
    """A name the IRC nick rules accept (letters, digits and ``-_[]\\`^{}|``, not first digit)."""
    if not name or len(name) > 30 or name[0].isdigit() or name[0] == "-":
        return False
    return all((c.isalnum() and c.isascii()) or c in "-_[]\\`^{}|" for c in name)


def clean_nick(name: str, fallback: str = "guest") -> str:
    """Turn ``name`` (a login name, say) into a valid nick."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = "".join(c for c in ascii_name if c.isalnum() or c in "-_[]\\`^{}|")[:30]
    while cleaned and (cleaned[0].isdigit() or cleaned[0] == "-"):
        cleaned = cleaned[1:]
    return cleaned if valid_nick(cleaned) else fallback


@dataclass(frozen=True, slots=True)
class Line:
    """One rendered history line: ``kind`` is message, action, notice, event, info or error.

    Also ``separator`` (the "— history —" line) and ``mark`` (where missed messages go
    after a reconnect; shows nothing). ``day`` (``YYYY-MM-DD``, local) places day dividers.
    """

    kind: str
    time: str
    nick: str = ""
    text: str = ""
    mention: bool = False
    own: bool = False
    day: str = ""
    msgid: str = ""
