"""Names and masks: casemapping, valid nicks and channels, ``nick!user@host`` globs."""

from __future__ import annotations

import re
from collections.abc import Callable

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ASCII_LOWER = str.maketrans(_UPPER, _LOWER)
# CASEMAPPING rfc1459 also folds []\~ to {}|^ ("Scandinavian" letters); -strict leaves ~.
_RFC1459_LOWER = str.maketrans(_UPPER + "[]\\~", _LOWER + "{}|^")
_STRICT_LOWER = str.maketrans(_UPPER + "[]\\", _LOWER + "{}|")
_NICK_SPECIAL = set("[]\\`_^{|}")
_NICK_FIRST = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") | _NICK_SPECIAL
_NICK_REST = _NICK_FIRST | set("0123456789-")
_CHANNEL_FORBIDDEN = set(" ,\x07\r\n\0")
#: Longest nick assumed when the server does not say (ISUPPORT NICKLEN); the server's default.
NICKLEN = 30
#: Longest username (ISUPPORT USERLEN, the ``~`` included) and host name.
USERLEN = 16
HOSTLEN = 63


def casefold(name: str, mapping: str = "ascii") -> str:
    """Fold a nick or channel name for comparison under ISUPPORT CASEMAPPING ``mapping``."""
    if mapping == "ascii":  # this server's own mapping: the hot path
        return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)
    if mapping == "rfc1459":
        return name.translate(_RFC1459_LOWER)
    if mapping == "rfc1459-strict":
        return name.translate(_STRICT_LOWER)
    # rfc7613 and other Unicode mappings: Unicode lower case is the closest cheap rule.
    return name.lower()


def valid_nick(nick: str, maxlen: int = NICKLEN) -> bool:
    """Whether ``nick`` is a valid nickname: RFC 2812 characters, at most ``maxlen`` long."""
    return (
        0 < len(nick) <= maxlen
        and nick[0] in _NICK_FIRST
        and all(c in _NICK_REST for c in nick[1:])
    )


def valid_channel(name: str, maxlen: int) -> bool:
    """Whether ``name`` is a channel name this server accepts (CHANTYPES ``#``)."""
    return (
        1 < len(name.encode("utf-8", "surrogatepass")) <= maxlen
        and name[0] == "#"
        and not _CHANNEL_FORBIDDEN.intersection(name)
    )


def normalize_mask(mask: str) -> str:
    """Complete a partial mask the way IRC servers do: ``nick`` -> ``nick!*@*``."""
    if "!" not in mask and "@" not in mask:
        return f"{mask}!*@*"
    if "!" not in mask:
        return f"*!{mask}"
    if "@" not in mask:
        return f"{mask}@*"
    return mask


def list_mask(mask: str, nicklen: int) -> str:
    """A +b/+e/+I mask as it is kept: completed to ``nick!user@host``, each run of ``*``
    made one, and each part cut to the longest nick, username or host it could match
    (as ngIRCd and Solanum do), so no entry is longer than a source can be."""
    nick, _, rest = normalize_mask(collapse(mask)).partition("!")
    user, _, host = rest.partition("@")
    return f"{nick[:nicklen]}!{user[:USERLEN]}@{host[:HOSTLEN]}"


def collapse(mask: str) -> str:
    """``mask`` with each run of ``*`` made one ``*`` (the same glob, shorter)."""
    while "**" in mask:
        mask = mask.replace("**", "*")
    return mask


def matches(mask: str, text: str) -> bool:
    """Whether ``text`` (a nick, a channel, a source) matches the glob ``mask``."""
    return match_folded(collapse(casefold(mask)), casefold(text))


def compile_mask(mask: str) -> Callable[[str], bool]:
    """A test of texts against the glob ``mask``, prepared once for many texts."""
    segments = collapse(casefold(mask)).split("*")
    return lambda text: _match_segments(segments, casefold(text))


def match_folded(mask: str, text: str) -> bool:
    """:func:`matches` for a mask and a text both casefolded already."""
    return _match_segments(mask.split("*"), text)


# Matching works on the literal pieces between the stars. The first piece must start
# the text and the last must end it; each piece in between is taken at its leftmost
# place after the previous one. Taking the leftmost place is never wrong (a later
# piece only has more room), so no choice is ever undone: no backtracking, at most
# O(len(mask) * len(text)) work, most of it in str.find. A regular expression of
# `.*` runs (what this used to be) backtracks exponentially on masks like *a*a*a*b.
def _match_segments(segments: list[str], text: str) -> bool:
    if len(segments) == 1:
        return len(text) == len(segments[0]) and _at(segments[0], text, 0)
    first, last = segments[0], segments[-1]
    end = len(text) - len(last)
    if end < len(first) or not _at(first, text, 0) or not _at(last, text, end):
        return False
    pos = len(first)
    for segment in segments[1:-1]:
        found = _find(segment, text, pos, end)
        if found < 0:
            return False
        pos = found + len(segment)
    return True


def _at(segment: str, text: str, pos: int) -> bool:
    """Whether ``segment`` (``?`` stands for any one character) matches at ``pos``."""
    if "?" not in segment:
        return text.startswith(segment, pos)
    return _piece(segment).match(text, pos) is not None


def _find(segment: str, text: str, start: int, end: int) -> int:
    """The leftmost place in ``text[start:end]`` where ``segment`` matches, or -1."""
    if "?" not in segment:
        return text.find(segment, start, end)
    found = _piece(segment).search(text, start, end)
    return -1 if found is None else found.start()


def _piece(segment: str) -> re.Pattern[str]:
    # A piece has no repetition, so the search cannot backtrack: it is the same scan as
    # str.find, done in C. re keeps its own small, bounded cache of compiled patterns.
    return re.compile(".".join(re.escape(run) for run in segment.split("?")), re.DOTALL)


def is_glob(mask: str) -> bool:
    """Whether ``mask`` contains wildcards."""
    return "*" in mask or "?" in mask
