"""Rendering helpers: sanitising, URLs, mentions, nick colours, times, settings."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from app.settings import CONFIG_ENV, Settings, config_dir
from app.text import (
    clean_nick,
    clock,
    find_urls,
    mentions,
    nick_colour_index,
    sanitize,
    url_target,
)
from server.protocol.names import valid_nick


def test_sanitize_controls_surrogates_bidi_and_length() -> None:
    assert sanitize("a\0b") == "a\ufffdb"
    assert sanitize("tab\there") == "tab    here"
    assert sanitize("line\nbreak\r") == "line\ufffdbreak\ufffd"
    assert sanitize("x\ud800y") == "x\ufffdy"
    assert sanitize("\ud83d\ude00") == "😀"  # a surrogate pair is joined
    assert sanitize("evil\u202etxt") == "evil\ufffdtxt"
    assert sanitize("😀 ok", astral=False) == "\ufffd ok"
    assert sanitize("émoji 😀") == "émoji 😀"
    cut = sanitize("x" * 50, limit=10)
    assert len(cut) == 10 and cut.endswith("…")


@given(
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()))
)
def test_sanitize_never_raises_and_is_tk_safe(text: str) -> None:
    clean = sanitize(text)
    clean.encode("utf-8")  # no lone surrogates left
    assert "\0" not in clean and "\n" not in clean


def test_find_urls() -> None:
    text = "see https://example.org/a_(b) and www.kibitz.chat, or (http://x.io/y)."
    spans = [text[a:b] for a, b in find_urls(text)]
    assert spans == ["https://example.org/a_(b)", "www.kibitz.chat", "http://x.io/y"]
    assert url_target("www.kibitz.chat") == "https://www.kibitz.chat"
    assert find_urls("no links here, www. alone") == []


def test_mentions() -> None:
    assert mentions("alice: hi", "alice")
    assert mentions("hi ALICE!", "alice")
    assert not mentions("malice", "alice")
    assert not mentions("alice_bot says", "alice")
    assert not mentions("anything", "")
    assert mentions("ping [m]", "[m]")


def test_nick_colours_are_stable() -> None:
    assert nick_colour_index("bob", 12) == nick_colour_index("Bob", 12)
    assert nick_colour_index("bob", 12) == nick_colour_index("bob_", 12)
    assert len({nick_colour_index(n, 12) for n in ("a", "b", "c", "d", "e", "f", "g")}) > 3


def test_clock() -> None:
    when = datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc)
    assert clock(when) == when.astimezone().strftime("%H:%M")
    assert len(clock(None)) == 5


def test_nick_rules() -> None:
    assert valid_nick("alice") and valid_nick("[m]") and valid_nick("a-b_c")
    assert not valid_nick("") and not valid_nick("9a") and not valid_nick("a b")
    assert not valid_nick("#a") and not valid_nick("é")
    assert clean_nick("José Ñandú") == "JoseNandu"
    assert clean_nick("123") == "guest"


def test_settings_round_trip_in_the_override_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path))
    assert config_dir() == tmp_path
    settings = Settings.load()
    assert settings.port == 5000 and settings.channel == "#general" and settings.nick
    settings.nick, settings.port, settings.theme = "zed", 6667, "nord-dark"
    settings.save()
    again = Settings.load()
    assert (again.nick, again.port, again.theme) == ("zed", 6667, "nord-dark")
    data = json.loads((tmp_path / "settings.json").read_text())
    assert "password" not in data


def test_damaged_settings_give_defaults(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path))
    (tmp_path / "settings.json").write_text("{not json")
    assert Settings.load().port == 5000
    (tmp_path / "settings.json").write_text('{"port": "x", "nick": 5, "host": "h"}')
    loaded = Settings.load()
    assert (loaded.port, loaded.host) == (5000, "h")
    assert isinstance(loaded.nick, str)
