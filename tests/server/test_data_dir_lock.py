"""A data directory belongs to one running server: a second one on it refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.config import Config
from server.datalock import DataDirInUse
from server.server import ChatServer
from tests.support.ircclient import IRCClient
from tests.support.processes import ROOT, run_server, start_server


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    assert proc.wait(timeout=10) == 0


def test_a_second_server_process_on_the_same_data_dir_refuses_to_start(tmp_path: Path) -> None:
    first, port = start_server("--data-dir", str(tmp_path))
    try:
        second = run_server("-H", "127.0.0.1", "-p", "0", "--data-dir", str(tmp_path))
        assert second.returncode == 2
        assert f"in use by another Kibitz server (pid {first.pid})" in second.stderr
        assert "--data-dir" in second.stderr and "Traceback" not in second.stderr
        # The first one goes on serving, and the accounts command (which takes no lock)
        # still works beside it.
        command = [sys.executable, "-m", "server.accounts", "--data-dir", str(tmp_path)]
        added = subprocess.run(
            [*command, "add", "carol", "--password", "secret12"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert added.returncode == 0, added.stderr
        alice = IRCClient(port)
        alice.register("alice")
        alice.close()
    finally:
        _stop(first)
    # Once it has stopped, the directory is free again.
    again, _ = start_server("--data-dir", str(tmp_path))
    _stop(again)


def test_the_default_data_dir_is_locked_too(tmp_path: Path) -> None:
    # Without --data-dir both use the user's data directory (here XDG_DATA_HOME).
    env = {"XDG_DATA_HOME": str(tmp_path)}
    first = subprocess.Popen(
        [sys.executable, "-m", "server", "-H", "127.0.0.1", "-p", "0", "--exempt", "127.0.0.1"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | env,
    )
    try:
        assert "listening on" in first.stderr.readline()
        second = subprocess.run(
            [sys.executable, "-m", "server", "-H", "127.0.0.1", "-p", "0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            env=os.environ | env,
        )
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr and "--data-dir" in second.stderr
    finally:
        _stop(first)


def test_an_in_process_server_holds_its_data_dir(make_server, tmp_path: Path) -> None:
    first = make_server(data_dir=str(tmp_path))
    config = Config(host="127.0.0.1", port=0, data_dir=str(tmp_path))
    with pytest.raises(DataDirInUse, match=f"pid {os.getpid()}"):
        ChatServer(config)
    alice = IRCClient(first.port)  # the refused one harmed nobody
    alice.register("alice")
    alice.close()
    first.stop()
    second = make_server(data_dir=str(tmp_path))  # stopping gave the directory back
    assert second.history is not None
