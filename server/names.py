"""Names and masks: casemapping, valid nicks and channels, ``nick!user@host`` globs."""

from __future__ import annotations

import re
from functools import lru_cache

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_NICK_SPECIAL = set("[]\\`_^{|}")
_NICK_FIRST = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") | _NICK_SPECIAL
_NICK_REST = _NICK_FIRST | set("0123456789-")
_CHANNEL_FORBIDDEN = set(" ,\x07\r\n\0")


def casefold(name: str) -> str:
    """Fold a nick or channel name for comparison (casemapping ``ascii``)."""
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)


def valid_nick(nick: str, maxlen: int) -> bool:
    """Whether ``nick`` is a nickname this server accepts (RFC 2812 characters)."""
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


@lru_cache(maxsize=4096)
def _compile(mask: str) -> re.Pattern[str]:
    pattern = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in casefold(mask)
    )
    return re.compile(pattern, re.DOTALL)


def matches(mask: str, text: str) -> bool:
    """Whether ``text`` (a nick, a channel, a source) matches the glob ``mask``."""
    return _compile(mask).fullmatch(casefold(text)) is not None


def is_glob(mask: str) -> bool:
    """Whether ``mask`` contains wildcards."""
    return "*" in mask or "?" in mask
