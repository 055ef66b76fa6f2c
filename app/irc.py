"""Small pure IRC rules the client follows: casemapping, formatting codes, server-time,
the next nick to try. No state, no I/O."""

from __future__ import annotations

import random
import re
from datetime import datetime

_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)


def strip_formatting(text: str) -> str:
    """Remove mIRC bold/colour/italic/reset codes from ``text``."""
    return _FORMATTING.sub("", text)


def casefold(name: str, mapping: str = "rfc1459") -> str:
    """Fold ``name`` for comparison under the server's CASEMAPPING."""
    folded = name.lower()
    if mapping == "ascii":
        return "".join(c.lower() if "A" <= c <= "Z" else c for c in name)
    if mapping in ("rfc1459", "rfc1459-strict"):
        folded = folded.replace("[", "{").replace("]", "}").replace("\\", "|")
        if mapping == "rfc1459":
            folded = folded.replace("~", "^")
    return folded


def parse_server_time(value: str | None) -> datetime | None:
    """The ``time`` tag (IRCv3 server-time) as an aware datetime, or None if absent or bad."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def next_nick(nick: str, nicklen: int = 30) -> str:
    """The nick to try after ``nick`` was refused as in use: append ``_`` (within NICKLEN)."""
    candidate = nick + "_"
    if len(candidate) <= nicklen:
        return candidate
    trimmed = nick[: nicklen - 1]
    if trimmed + "_" != nick:
        return trimmed + "_"
    return nick[: nicklen - 2] + str(random.randint(0, 9)) + "_"


def username_of(nick: str) -> str:
    """A USER name made from ``nick`` (letters, digits, - and _; at most 10)."""
    name = "".join(c for c in nick if c.isalnum() or c in "-_")
    return (name or "kibitz")[:10]
