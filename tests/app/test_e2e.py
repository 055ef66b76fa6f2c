"""End to end: ``python -m app`` as its own process, typed into with xdotool on the X display."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.app.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


def xdotool(*args: str) -> str:
    """Run xdotool; its output, or "" when it found nothing."""
    done = subprocess.run(
        ["xdotool", *args], capture_output=True, text=True, timeout=30, check=False
    )
    return done.stdout.strip()


def _wait_until_keys_arrive(watcher) -> None:
    """Type a key until the app says zoe is typing (its +typing notice reaches
    ``watcher``), then empty the message box: keys typed before the window has taken
    the focus are lost, and the focus arrives a moment after the window manager's."""

    def typing_seen() -> bool:
        xdotool("type", "x")
        try:
            watcher.expect("TAGMSG", where=lambda m: m.nick == "zoe", timeout=1)
        except AssertionError:
            return False
        return True

    wait_for(typing_seen, timeout=15, what="zoe's typing notice")
    xdotool("key", "ctrl+slash", "BackSpace")  # select all, delete


def test_python_m_app_typed_with_xdotool(server, connect, tmp_path):
    bob = connect("bob")
    watcher = connect("watcher", ("message-tags",))
    env = dict(os.environ, KIBITZ_CONFIG_DIR=str(tmp_path))
    command = [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", str(server.port)]
    command += ["--nick", "zoe", "--theme", "dark"]
    app = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        bob.expect("JOIN", "#general", where=lambda m: m.nick == "zoe", timeout=20)
        window = wait_for(
            lambda: xdotool("search", "--name", "Kibitz").split(), timeout=10, what="the window"
        )[0]
        xdotool("windowfocus", "--sync", window)
        _wait_until_keys_arrive(watcher)
        xdotool("type", "--delay", "50", "hello from zoe, café")
        xdotool("key", "Return")
        message = bob.expect("PRIVMSG", "#general", timeout=20)
        assert (message.nick, message.params[1]) == ("zoe", "hello from zoe, café")
        # Slash commands typed the same way reach the server.
        xdotool("type", "--delay", "50", "/nick zoey")
        xdotool("key", "Return")
        bob.expect("NICK", "zoey", timeout=20)
    finally:
        app.send_signal(signal.SIGTERM)  # the window leaves as the close button does
        try:
            _out, err = app.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            app.kill()
            _out, err = app.communicate()
    assert app.returncode == 0, err
    assert "Traceback" not in err, err
    quit_msg = bob.expect("QUIT", timeout=10)
    assert quit_msg.nick == "zoey"
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["nick"] == "zoey"
    assert saved["theme"] == "bootstrap-dark"
    assert saved["port"] == server.port
