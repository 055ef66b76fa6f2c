"""The command line: options over remembered settings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.__main__ import parse_args
from app.settings import Settings


def test_defaults_come_from_the_settings() -> None:
    settings = Settings(host="chat.lan", port=6667, nick="zed", channel="#team", theme="nord-dark")
    args = parse_args([], settings)
    assert (args.host, args.port, args.nick, args.channel, args.theme) == (
        "chat.lan",
        6667,
        "zed",
        "#team",
        "nord-dark",
    )
    assert args.password is None


def test_options_override_and_are_cleaned() -> None:
    args = parse_args(
        ["--port", "5001", "--nick", "José", "--channel", "dev", "--password", "pw"], Settings()
    )
    assert (args.port, args.nick, args.channel, args.password) == (5001, "Jose", "#dev", "pw")


def test_bad_port_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--port", "70000"], Settings())
    assert "not a port number" in capsys.readouterr().err


def test_help_runs_without_a_display() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "--help"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0
    for option in ("--host", "--port", "--nick", "--channel", "--password", "--theme"):
        assert option in done.stdout
