"""The screenshot tool runs on a display and a server of its own, never on ``DISPLAY``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def windows_named(text: str) -> set[str]:
    """The windows on the test's own display (the decoy) whose title contains ``text``."""
    done = subprocess.run(
        ["xdotool", "search", "--name", text], capture_output=True, text=True, timeout=10
    )
    return set(done.stdout.split())


@pytest.mark.timeout(180)
def test_the_screenshot_tool_never_touches_the_display_it_is_given(make_view, tmp_path):
    # The decoy: a live chat window on the display DISPLAY names, with the keyboard focus.
    decoy = make_view()
    decoy.root.update()
    decoy.root.focus_force()
    decoy.message_entry.focus_force()
    decoy.root.update()
    before = windows_named("")
    tool = subprocess.Popen(
        [sys.executable, "-m", "tests.app.screenshots", str(tmp_path)],
        cwd=ROOT,
        env=dict(os.environ),  # DISPLAY still names the decoy's display
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    strangers: set[str] = set()
    deadline = time.monotonic() + 150
    while tool.poll() is None and time.monotonic() < deadline:
        decoy.root.update()  # keystrokes sent to the decoy would land now
        strangers |= windows_named("") - before
        time.sleep(0.05)
    if tool.poll() is None:
        tool.kill()
    output = tool.communicate(timeout=10)[0]
    decoy.root.update()
    assert not strangers, "the tool opened windows on the decoy display"
    assert decoy.get_message() == "", "the tool typed into the decoy window"
    assert tool.returncode == 0, output
    for name in ("kibitz-light.png", "kibitz-dark.png", "kibitz-conversation.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
