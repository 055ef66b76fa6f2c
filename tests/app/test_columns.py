"""The transcript's columns, from widths alone."""

from __future__ import annotations

from app.view.columns import GAP, TIME_HIDDEN_BELOW, columns_for


def test_a_wide_transcript_shows_the_time_and_sizes_the_nick_column_to_the_longest_nick():
    layout = columns_for(900, 40, 30, 110)
    assert layout.time_shown
    assert layout.nick_end == 40 + GAP + 30
    assert layout.text_start == layout.nick_end + GAP


def test_the_nick_column_is_capped():
    assert columns_for(900, 40, 500, 110).nick_end == 40 + GAP + 110
    # In a narrow transcript the cap is a quarter of the width.
    assert columns_for(300, 40, 500, 110).nick_end == 75


def test_a_narrow_transcript_hides_the_time():
    assert columns_for(TIME_HIDDEN_BELOW, 40, 30, 110).time_shown
    narrow = columns_for(TIME_HIDDEN_BELOW - 1, 40, 30, 110)
    assert not narrow.time_shown
    assert narrow.nick_end == 30


def test_no_nick_yet_still_leaves_room_for_a_glyph():
    assert columns_for(900, 40, 0, 110).nick_end == 40 + GAP + GAP
