"""Small pure IRC rules only the client follows: formatting codes, the next nick to try,
a USER name. No state, no I/O (the rules both sides share are in :mod:`server.protocol`)."""

from __future__ import annotations

import random
import re

_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)


def strip_formatting(text: str) -> str:
    """Remove mIRC bold/colour/italic/reset codes from ``text``."""
    return _FORMATTING.sub("", text)


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
