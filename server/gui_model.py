"""The server window's logic without widgets: the settings form into a :class:`Config`,
what to say when the server cannot listen, durations, and the message rate."""

from __future__ import annotations

import errno
import socket
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import Config

#: Seconds over which messages per second are averaged.
RATE_WINDOW = 5.0


def parse_port(text: str, what: str = "Port") -> int:
    """A port number typed by the user (1-65535), or ValueError saying what is wrong."""
    text = text.strip()
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"{what} must be a number from 1 to 65535, not {text!r}.") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{what} {port} is out of range: use a number from 1 to 65535.")
    return port


def config_from_form(base: Config, form: dict[str, str | bool]) -> Config:
    """The server settings from the form's fields over ``base``; ValueError if unusable."""
    port = parse_port(str(form["port"]))
    tls_text = str(form.get("tls_port", "")).strip()
    tls_port = parse_port(tls_text, "TLS port") if tls_text else None
    if tls_port is not None and tls_port == port:
        raise ValueError("The TLS port must differ from the port.")
    cert = str(form.get("cert", "")).strip() or None
    key = str(form.get("key", "")).strip() or None
    if tls_port is not None and not (cert and key):
        raise ValueError("The TLS port needs a certificate and a key file.")
    for label, path in (("certificate", cert), ("key", key)):
        if path is not None and not Path(path).is_file():
            raise ValueError(f"No such {label} file: {path}")
    data_dir = None
    if form.get("history", False):
        data_dir = str(form.get("data_dir", "")).strip()
        if not data_dir:
            raise ValueError("Choose a folder for the history, or turn history off.")
    chosen: dict[str, Any] = {
        "host": str(form.get("host", "")).strip() or "0.0.0.0",
        "port": port,
        "password": str(form.get("password", "")) or None,
        "tls_port": tls_port,
        "cert": cert,
        "key": key,
        "tls_only": base.tls_only and tls_port is not None,
        "data_dir": data_dir,
    }
    # The form counts as the command line: a REHASH reads the file again under it.
    return replace(base, **chosen, command_line={**base.command_line, **chosen})


def bind_error(exc: OSError, config: Config) -> str:
    """What to tell the user when the server cannot listen."""
    ports = f"port {config.port}"
    if config.tls_port is not None:
        ports += f" or TLS port {config.tls_port}"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"Cannot listen on {config.host!r}: not an address of this machine."
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Cannot listen: {ports} is already in use. "
            "Stop the other program or pick another port."
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"Not permitted to listen on {ports}: ports below 1024 need administrator rights. "
            "Try 5000 or 6667."
        )
    return f"Cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"


def format_duration(seconds: float) -> str:
    """A short human duration: ``42s``, ``3m 05s``, ``2h 07m``, ``3d 04h``."""
    seconds = int(max(0, seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_uptime(seconds: float) -> str:
    """Uptime as ``H:MM:SS`` (with days in front after a day)."""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


class RateMeter:
    """Messages per second from a running counter, averaged over the last few seconds."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, count: int) -> float:
        """Record the counter at ``now``; return the average rate over the window."""
        samples = self.samples
        samples.append((now, count))
        while len(samples) > 2 and now - samples[1][0] >= self.window:
            samples.popleft()
        first_at, first = samples[0]
        if now <= first_at:
            return 0.0
        return max(0, count - first) / (now - first_at)

    def reset(self) -> None:
        """Forget the samples (a new server starts counting at zero)."""
        self.samples.clear()
