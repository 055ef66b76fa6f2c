"""Options declared once: the dataclass fields carry their flags, the parser is derived."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
import pytest

from server.__main__ import config_from_args, make_parser, parse_args
from server.config import Config
from server.options import add_options, declared, option, values


def test_no_options_give_the_config_defaults() -> None:
    config = config_from_args(parse_args([]))
    expected = Config(data_dir=platformdirs.user_data_dir("kibitz"))
    for item in dataclasses.fields(Config):
        if item.name != "created":
            assert getattr(config, item.name) == getattr(expected, item.name), item.name


def test_the_help_keeps_its_groups_in_order() -> None:
    parser = make_parser()
    groups = {
        g.title: [a.option_strings[-1] for a in g._group_actions] for g in parser._action_groups
    }
    assert list(groups) == [
        "positional arguments",
        "options",
        "TLS",
        "history",
        "limits",
        "cluster",
    ]
    assert groups["options"][:3] == ["--help", "--host", "--port"]
    assert groups["options"][-6:] == [
        "--oper",
        "--log-level",
        "--config",
        "--print-config",
        "--gui",
        "--version",
    ]
    assert groups["TLS"] == ["--tls-port", "--cert", "--key", "--tls-only"]
    assert groups["history"][:3] == ["--data-dir", "--database", "--no-history"]
    assert groups["limits"][0] == "--sendq" and groups["limits"][-1] == "--registration-timeout"
    assert groups["cluster"] == ["--cluster", "--node", "--cluster-prefix", "--cluster-lease"]


def test_the_special_options_convert(tmp_path: Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("hello\nworld\n", encoding="utf-8")
    args = ["--motd", str(motd), "--autojoin", "#a,,#b", "--oper", "root:pw", "--oper", "x:y:z"]
    config = config_from_args(parse_args([*args, "--data-dir", "/d", "--no-history"]))
    assert config.motd == ["hello", "world"]
    assert config.autojoin == ["#a", "#b"]
    assert config.opers == {"root": "pw", "x": "y:z"}
    # --no-history turns history off; the data directory still holds the accounts.
    assert config.history is False and config.data_dir == "/d"
    assert config_from_args(parse_args(["--autojoin", ""])).autojoin == []
    with pytest.raises(ValueError, match="--oper takes NAME:PASSWORD"):
        config_from_args(parse_args(["--oper", "nopassword"]))
    with pytest.raises(ValueError, match="--network must be one line"):
        config_from_args(parse_args(["--network", "a\nb"]))
    with pytest.raises(ValueError, match=r"^--exempt: "):
        config_from_args(parse_args(["--exempt", "300.0.0.1"]))


@dataclass
class _Toy:
    """A declaration as a later option would add one."""

    plain: int = 3
    size: float = field(default=1, metadata=option("--size", help="size (%(default)s)"))
    names: list[str] = field(
        default_factory=list,
        metadata=option(
            "-n", "--name", action="append", group="extra", parser_default=list, convert=sorted
        ),
    )
    where: str | None = field(
        default="here", metadata=option("--where", off=("--nowhere", "nowhere at all"))
    )


def test_one_declaration_is_one_option() -> None:
    assert [f.name for f, _ in declared(_Toy)] == ["size", "names", "where"]
    parser = argparse.ArgumentParser()
    add_options(parser, _Toy, _Toy())
    assert "size (1)" in parser.format_help() and "extra:" in parser.format_help()
    assert values(_Toy, parser.parse_args([])) == {"size": 1, "names": [], "where": "here"}
    got = values(_Toy, parser.parse_args(["--size", "2.5", "-n", "b", "--name", "a", "--nowhere"]))
    assert got == {"size": 2.5, "names": ["a", "b"], "where": None}
    assert _Toy(**got).plain == 3
