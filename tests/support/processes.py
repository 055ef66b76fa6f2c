"""Kibitz servers run as real processes, started the way a user starts them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_EXEMPT_LOOPBACK = ("--exempt", "127.0.0.1")


def start_server(*args: str) -> tuple[subprocess.Popen, int]:
    """Start ``python -m server`` on an ephemeral port; return the process and the port.

    Waits for the log line that says it is listening, so the port is ready. Loopback is
    exempt from the per-address limits: tests open hundreds of connections from it.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "-H", "127.0.0.1", "-p", "0", *_EXEMPT_LOOPBACK, *args],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stderr.readline()
    assert "Kibitz" in line and "listening on 127.0.0.1:" in line, line
    return proc, int(line.rsplit(":", 1)[1])


def run_server(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m server`` to completion (for options it must refuse)."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def run_without_display(module: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``python -m module`` to completion with no X display (and ``env`` added)."""
    environment = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | env
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
    )
