"""The transcript's columns (time | nick | text), sized to the room there is. Pure: pixel
widths in, tab stops out; the transcript measures the fonts and applies the result.

A narrow transcript hides the time and gives the nick column only what the longest nick
shown needs, up to a quarter of the width, so the text keeps most of it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Below this transcript width (pixels), the time column is hidden.
TIME_HIDDEN_BELOW = 480
#: The nick column takes at most this share of the transcript's width.
NICK_SHARE = 0.25
#: Pixels between the columns.
GAP = 12


@dataclass(frozen=True, slots=True)
class Columns:
    """Where the columns are: the nick column ends at ``nick_end`` (a right tab stop), the
    text and its wrapped lines start at ``text_start``."""

    time_shown: bool
    nick_end: int
    text_start: int


def columns_for(width: int, time_width: int, nick_width: int, nick_cap: int) -> Columns:
    """The columns of a transcript ``width`` pixels wide, whose time takes ``time_width``
    and whose longest nick shown takes ``nick_width`` (never more than ``nick_cap`` or a
    quarter of the width)."""
    time_shown = width >= TIME_HIDDEN_BELOW
    cap = max(GAP, min(nick_cap, int(width * NICK_SHARE)))
    nick_end = (time_width + GAP if time_shown else 0) + min(max(nick_width, GAP), cap)
    return Columns(time_shown, nick_end, nick_end + GAP)
