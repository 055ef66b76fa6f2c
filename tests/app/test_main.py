"""The command line: options over remembered settings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.__main__ import OPTIONS, build_model, parse_args
from app.controller import ChatController
from app.conversations import Conversations
from app.settings import Settings, settings_path
from server import __version__
from tests.support.processes import run_without_display


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


def test_each_remembered_option_is_a_setting() -> None:
    settings = Settings(host="h", port=1, nick="n", channel="#c", theme="t", tls=True)
    args = parse_args([], settings)
    for option in OPTIONS:
        if option.remembered:
            assert getattr(args, option.name) == getattr(settings, option.name), option.flag
    assert {o.flag for o in OPTIONS if o.kept} == {"--host", "--port", "--channel", "--tls"}


def test_bad_port_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--port", "70000"], Settings())
    assert "not a port number" in capsys.readouterr().err


def test_help_runs_without_a_display() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "--help"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0
    for option in (
        "--host",
        "--port",
        "--nick",
        "--channel",
        "--password",
        "--theme",
        "--tls",
        "--tls-insecure",
    ):
        assert option in done.stdout


def test_tls_options() -> None:
    plain = parse_args([], Settings())
    assert (plain.tls, plain.tls_insecure) == (False, False)
    tls = parse_args(["--tls", "--port", "6697"], Settings())
    assert (tls.tls, tls.tls_insecure, tls.port) == (True, False, 6697)
    model = build_model(tls, Settings())
    assert (model.tls, model.tls_verify, model.port) == (True, True, 6697)
    insecure = parse_args(["--tls-insecure"], Settings())
    assert (insecure.tls, insecure.tls_insecure) == (True, True)
    model = build_model(insecure, Settings())
    assert (model.tls, model.tls_verify) == (True, False)
    # A remembered --tls is the default; --no-tls turns it off for this run.
    assert parse_args([], Settings(tls=True)).tls is True
    assert parse_args(["--no-tls"], Settings(tls=True)).tls is False
    assert build_model(parse_args([], Settings()), Settings()).tls is False


def test_a_remembered_password_goes_only_to_its_server() -> None:
    settings = Settings(host="chat.lan", port=6697, password="pw", password_for="chat.lan:6697")
    assert build_model(parse_args([], settings), settings).password == "pw"
    assert build_model(parse_args(["--password", "given"], settings), settings).password == "given"
    assert build_model(parse_args(["--port", "6698"], settings), settings).password is None
    assert build_model(parse_args(["--host", "evil.lan"], settings), settings).password is None


def test_tls_is_remembered_but_insecure_never(mocker) -> None:
    from app.view import ChatView

    settings = Settings.load()
    args = parse_args(["--tls-insecure", "--port", "6697"], settings)
    model = build_model(args, settings)
    view = mocker.create_autospec(ChatView, instance=True)
    view.theme_name.return_value = "bootstrap-light"
    view.conversations = Conversations()
    ChatController(model, view, settings).save_settings()
    saved = settings_path().read_text()
    assert '"tls": true' in saved and "insecure" not in saved and "verify" not in saved
    again = parse_args([], Settings.load())
    assert (again.tls, again.tls_insecure, again.port) == (True, False, 6697)


def test_without_a_display_it_says_what_to_do(tmp_path) -> None:
    done = run_without_display("app", "--nick", "alice", KIBITZ_CONFIG_DIR=str(tmp_path))
    assert done.returncode == 1
    assert "cannot open a window" in done.stderr and "DISPLAY" in done.stderr
    assert "Traceback" not in done.stderr


def test_both_programs_print_their_version(tmp_path) -> None:
    for module in ("app", "server"):
        done = run_without_display(module, "--version", KIBITZ_CONFIG_DIR=str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"Kibitz {__version__}"


def test_the_send_rate_is_given_to_the_connection(capsys: pytest.CaptureFixture[str]) -> None:
    model = build_model(parse_args(["--send-rate", "2.5"], Settings()), Settings())
    assert model.connection.pacer.rate == 2.5
    assert build_model(parse_args([], Settings()), Settings()).connection.pacer.rate == 4.0
    with pytest.raises(SystemExit):
        parse_args(["--send-rate", "0"], Settings())
    assert "not a positive rate" in capsys.readouterr().err
