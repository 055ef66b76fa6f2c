"""How the benches start the servers they measure: a server kind's command line, a
fresh process on a free port (stopped afterwards), and one line about the machine."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerKind:
    """How to start one server under test: its name and the command for a port."""

    name: str
    #: (port, scratch directory) -> argv.
    command: Callable[[int, Path], list[str]]


def kibitz(*extra: str) -> ServerKind:
    """Kibitz as a process, relaxed limits, history on (unless ``extra`` turns it off)."""

    def command(port: int, scratch: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "server",
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
            "--name",
            "kibitz.bench",
            "--flood-rate",
            "0",
            "--exempt",
            "127.0.0.1",
            "--max-clients",
            "0",
            "--data-dir",
            str(scratch / "data"),
            "--log-level",
            "WARNING",
            *extra,
        ]

    return ServerKind("Kibitz", command)


@contextlib.contextmanager
def running(kind: ServerKind, timeout: float = 20.0) -> Iterator[tuple[int, int]]:
    """Start ``kind`` on a free port; yield (port, pid) once it accepts; stop it after."""
    with tempfile.TemporaryDirectory(prefix="kibitz-bench-") as tmp:
        port = free_port()
        env = dict(os.environ, PYTHONPATH=str(_ROOT))
        proc = subprocess.Popen(
            kind.command(port, Path(tmp)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=tmp,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{kind.name} did not start") from None
                    time.sleep(0.05)  # poll until the server listens
            yield port, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def machine() -> str:
    """One line about this machine: CPUs, kernel, Python, load."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({model or 'unknown'}), Linux {os.uname().release},"
        f" Python {sys.version.split()[0]}, load average {load}"
    )
