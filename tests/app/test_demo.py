"""``make demo`` on the virtual display: it ends when its two windows are closed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ports import unused_port as free_port
from tests.support.waiting import wait_for
from tests.support.x11 import ask_to_close

ROOT = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    """Whether something accepts connections on ``port`` of this machine."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def chat_windows() -> list[str]:
    """The chat windows on the test's display (their titles end in "Kibitz")."""
    done = subprocess.run(
        ["xdotool", "search", "--name", "Kibitz$"], capture_output=True, text=True, timeout=10
    )
    return done.stdout.split()


def start_demo(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """Run ``make demo`` on a free port with this interpreter; its two windows shown."""
    port = free_port()
    # A fresh stamp: make must not reinstall the virtualenv (the test only runs the demo).
    stamp = tmp_path / "installed-stamp"
    stamp.touch()
    command = ["make", "--no-print-directory", "demo", f"PORT={port}", f"PY={sys.executable}"]
    demo = subprocess.Popen(
        [*command, f"STAMP={stamp}"],
        cwd=ROOT,
        env=dict(os.environ, KIBITZ_CONFIG_DIR=str(tmp_path / "config")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a command
    )
    wait_for(lambda: len(chat_windows()) == 2, timeout=30, what="the demo's two windows")
    wait_for(lambda: listening(port), timeout=10, what="the demo server")
    return demo, port


def finish(demo: subprocess.Popen[str]) -> tuple[int | None, str]:
    """Wait for ``make`` to exit (killing what is left if it never does)."""
    try:
        output = demo.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGKILL)
        return None, demo.communicate()[0]
    return demo.returncode, output


@pytest.mark.timeout(120)
def test_make_demo_ends_when_both_windows_are_closed(tmp_path):
    assert not chat_windows()
    demo, port = start_demo(tmp_path)
    display = os.environ["DISPLAY"]
    for window in chat_windows():
        ask_to_close(display, int(window))
    status, output = finish(demo)
    assert status == 0, output
    assert not listening(port), "the demo server still listens"
    assert not chat_windows()


@pytest.fixture
def terminal_interrupts():
    """SIGINT handled, as in a terminal: a test run started as a background job of a
    script inherits it ignored, and make, its shell and the server would too."""
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if ignored:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.timeout(120)
def test_ctrl_c_stops_the_whole_demo(tmp_path, terminal_interrupts):
    demo, port = start_demo(tmp_path)
    os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    status, output = finish(demo)
    assert status is not None and status != 0, output  # make reports the interruption
    wait_for(lambda: not chat_windows(), timeout=10, what="the windows to close")
    assert not listening(port), "the demo server still listens"
