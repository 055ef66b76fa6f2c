"""The data directory belongs to one running server: a lock file in it says which."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; the directory is then not guarded
    fcntl = None  # type: ignore[assignment]

#: The lock file's name inside the data directory; it holds the owner's pid.
FILENAME = "server.lock"


class DataDirInUse(Exception):
    """Another running server holds the data directory."""


class DataDirLock:
    """An exclusive ``flock`` on ``server.lock`` in a data directory, held until released.

    The kernel drops the lock when the process ends, however it ends, so a crashed
    server never leaves a stale lock behind; the pid in the file is only for the message.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / FILENAME
        self._fd: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            # An unusable directory: the stores opened next say so in their own words.
            return
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_pid(fd)
                os.close(fd)
                raise DataDirInUse(_in_use(Path(data_dir), owner)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let another server have the directory (the file stays: removing it would race)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip())
    except (OSError, ValueError):
        return None  # the owner has not written its pid yet


def _in_use(data_dir: Path, owner: int | None) -> str:
    who = f"another Kibitz server (pid {owner})" if owner else "another Kibitz server"
    return (
        f"The data directory {data_dir} is in use by {who}; stop that server, or pass "
        "--data-dir to give this one a directory of its own."
    )
