"""The shared line codec, checked against the ircdocs parser test vectors."""

from __future__ import annotations

import ast
from datetime import datetime, timezone
from pathlib import Path

import pytest
from parser_tests.data import msg_join, msg_split, userhost_split

from server.protocol.codec import (
    MAX_LINE,
    LineError,
    LineReader,
    Overlong,
    build,
    encode,
    escape_tag_value,
    fit_params,
    parse,
    parse_server_time,
    split_source,
    split_utf8,
    unescape_tag_value,
)
from server.protocol.names import casefold

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("case", msg_split["tests"], ids=lambda c: c["input"][:40])
def test_parse_matches_the_ircdocs_split_vectors(case: dict) -> None:
    atoms = case["atoms"]
    message = parse(case["input"])
    assert message.tags == (atoms.get("tags") or {})
    assert message.source == atoms.get("source")
    assert message.command == atoms["verb"]
    assert message.params == atoms.get("params", [])


@pytest.mark.parametrize("case", msg_join["tests"], ids=lambda c: c.get("desc", "")[:40])
def test_build_matches_the_ircdocs_join_vectors(case: dict) -> None:
    atoms = case["atoms"]
    line = build(
        atoms["verb"], *atoms.get("params", []), source=atoms.get("source"), tags=atoms.get("tags")
    )
    assert line in case["matches"]


@pytest.mark.parametrize("case", userhost_split["tests"], ids=lambda c: c["source"])
def test_split_source_matches_the_ircdocs_userhost_vectors(case: dict) -> None:
    atoms = case["atoms"]
    assert split_source(case["source"]) == (
        atoms.get("nick"),
        atoms.get("user"),
        atoms.get("host"),
    )


@pytest.mark.parametrize(
    "params",
    [("a b", "x"), (":a", "x"), ("", "x"), ("ok", "bad\r\nQUIT"), ("nul\0",)],
)
def test_build_refuses_parameters_that_would_change_the_line(params: tuple[str, ...]) -> None:
    with pytest.raises(LineError):
        build("PRIVMSG", *params)


def test_build_protects_the_last_parameter() -> None:
    assert build("PRIVMSG", "#c", ":)") == "PRIVMSG #c ::)"
    assert build("PRIVMSG", "#c", "") == "PRIVMSG #c :"
    assert build("PRIVMSG", "#c", "two words") == "PRIVMSG #c :two words"


def test_tag_values_round_trip_through_escaping() -> None:
    value = "semi;colon space\\back\r\nend"
    assert unescape_tag_value(escape_tag_value(value)) == value
    assert ";" not in escape_tag_value(value) and " " not in escape_tag_value(value)


@pytest.mark.parametrize("line", ["", "   ", "@a=b", ":source", "@a=b :source"])
def test_parse_refuses_lines_without_a_command(line: str) -> None:
    with pytest.raises(LineError):
        parse(line)


def test_reader_joins_a_line_sent_byte_by_byte() -> None:
    reader = LineReader()
    data = "PRIVMSG #c :h\u00e9llo \U0001f600\r\n".encode()
    lines: list = []
    for byte in data:
        lines += reader.feed(bytes([byte]))
    assert lines == [data[:-2]]
    assert lines[0].decode() == "PRIVMSG #c :h\u00e9llo \U0001f600"


def test_reader_splits_many_lines_in_one_read_and_accepts_bare_lf() -> None:
    reader = LineReader()
    assert reader.feed(b"A\r\nB\nC\r\nD") == [b"A", b"B", b"C"]
    assert reader.pending == 1
    assert reader.feed(b"\r\n") == [b"D"]


def test_reader_bounds_a_line_that_never_ends() -> None:
    reader = LineReader(limit=100)
    out = reader.feed(b"x" * 150)
    assert len(out) == 1 and isinstance(out[0], Overlong)
    assert reader.pending == 0
    # The rest of the overlong line is skipped; the next line is intact.
    assert reader.feed(b"y" * 500 + b"\r\nNEXT\r\n") == [b"NEXT"]


def test_split_utf8_never_cuts_a_character_and_respects_the_limit() -> None:
    text = "\u00e9\U0001f600abc " * 100
    pieces = split_utf8(text, 50)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 50 for p in pieces)


def test_encode_ends_with_crlf() -> None:
    assert encode("PING x") == b"PING x\r\n"


def test_reader_ends_lines_at_a_lone_cr_so_no_line_can_be_forged() -> None:
    reader = LineReader()
    assert reader.feed(b"PRIVMSG #c :hi\rQUIT :forged\r\n") == [b"PRIVMSG #c :hi", b"QUIT :forged"]
    assert reader.feed(b"A\r") == [b"A"]
    assert reader.feed(b"\nB\n") == [b"B"]  # the LF of a CRLF split across reads


def test_fit_params_cuts_the_longest_parameter_at_a_character_boundary():
    params = ("me", "é" * 300, "No such nick/channel")
    fitted = fit_params("401", params, "irc.example", keep=1)
    line = encode(build("401", *fitted, source="irc.example"))
    assert len(line) <= MAX_LINE
    assert fitted[0] == "me" and fitted[2] == "No such nick/channel"
    assert fitted[1] and set(fitted[1]) == {"é"}  # whole characters only
    assert len(encode(build("401", "me", fitted[1] + "é", fitted[2], source="irc.example"))) > 512


def test_fit_params_leaves_a_line_that_fits_alone():
    params = ("#chan", "a reason")
    assert fit_params("KICK", params, "a!b@c") is params


def test_fit_params_never_leaves_a_middle_parameter_empty():
    fitted = fit_params("MODE", ("#c", "+b", "é" * 600, "x"), "s")
    assert all(fitted[:-1]) and len(encode(build("MODE", *fitted, source="s"))) <= MAX_LINE


def test_casefold_under_each_casemapping() -> None:
    assert casefold("Nick[]\\~É") == "nick[]\\~É"  # ascii: only A-Z, this server's rule
    assert casefold("Nick[]\\~É", "rfc1459") == "nick{}|^É"
    assert casefold("Nick[]\\~", "rfc1459-strict") == "nick{}|~"
    assert casefold("NickÉ", "rfc7613") == "nické"


def _imports(folder: Path) -> list[tuple[Path, str]]:
    """Every absolute module ``folder``'s files import, relative ones made absolute."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                found.append((path, base))
    return found


def test_the_protocol_layer_stands_alone() -> None:
    # The app may use the server's protocol layer and nothing else of the server; the
    # layer itself uses nothing else of the server, so either side can change freely.
    outside = [
        (path.name, name)
        for path, name in _imports(ROOT / "app") + _imports(ROOT / "server" / "protocol")
        if (name == "server" or name.startswith("server."))
        and not (name == "server.protocol" or name.startswith("server.protocol."))
    ]
    assert outside == []


@pytest.mark.parametrize(
    "value",
    ["2026-12-01T10:00:00.000Z", "2026-12-01T10:00:00.000+00:00", "2026-12-01T10:00:00.000"],
)
def test_a_server_time_is_always_aware_so_times_compare(value):
    # Another server's time without an offset is read as UTC, not as a naive time that
    # would raise when compared with the others.
    moment = parse_server_time(value)
    assert moment == datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    assert moment.tzinfo is not None


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-13-01T10:00:00Z"])
def test_a_missing_or_bad_server_time_is_none(value):
    assert parse_server_time(value) is None
