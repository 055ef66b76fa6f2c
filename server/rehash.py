"""REHASH and SIGHUP: read the configuration file again and apply what can change while
the server runs.

The file is read under the same command line as at start (it still overrides the file).
A file that cannot be used changes nothing. What can change live is applied where it is
read, the objects made from it at start included (the throttle, the login penalties,
the exempt networks, every connection's flood bucket, the TLS ports' certificate); the
rest (ports, names, the data directory, history on or off...) is reported as needing a
restart. Without a configuration file only the MOTD file is read again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .configfile import ConfigError, load
from .descriptors import fit_clients, raise_limit
from .flood import TokenBucket
from .options import declared
from .penalty import parse_networks

if TYPE_CHECKING:
    import ipaddress
    import ssl

    from .config import Config
    from .history_api import History
    from .penalty import LoginFailures, Throttle
    from .registry import Registry

log = logging.getLogger("server")

#: Keys applied to the running server. Every other key needs a restart: the ports and
#: the address, the names clients were told at registration, the connection password
#: (connections already past it are not asked again), the autojoin channels the
#: registry keeps as the server's own, the data directory and whether history is kept.
LIVE = frozenset(
    {
        "description",
        "registration",
        "require_account",
        "motd",
        "ping_interval",
        "ping_timeout",
        "join_replay",
        "redact_window",
        "history_max_per_target",
        "history_days",
        "history_max_mb",
        "sendq",
        "flood_burst",
        "flood_rate",
        "max_clients",
        "max_per_ip",
        "exempt",
        "throttle",
        "throttle_window",
        "tls_handshake_timeout",
        "login_delay",
        "oper_attempts",
        "login_ban",
        "max_channels",
        "max_list_entries_per_ip",
        "registration_timeout",
        "opers",
        "log_level",
    }
)

# One reading at a time: an operator's REHASH (a reader thread) and SIGHUP (the main
# thread) may come together. Never taken by the signal handler itself.
_lock = threading.Lock()


class Port(Protocol):
    """A listening port: its TLS context, when it speaks TLS."""

    tls_context: ssl.SSLContext | None


class Live(Port, Protocol):
    """What a reading changes of the running server (``ChatServer`` is one)."""

    config: Config
    registry: Registry
    clock: Callable[[], float]
    history: History | None
    throttle: Throttle
    login_failures: LoginFailures
    account_failures: LoginFailures
    exempt_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]

    @property
    def tls_listener(self) -> Port | None:
        """The TLS port beside the main one, if any."""
        ...


@dataclass
class Report:
    """What one reading did."""

    #: The file read (the configuration file, else the MOTD file), or "*" for none.
    file: str
    #: Keys whose new values are in use.
    applied: list[str] = field(default_factory=list)
    #: Keys that changed in the file but keep their old values until a restart.
    restart: list[str] = field(default_factory=list)
    #: What went wrong (a file that cannot be used, a certificate that does not load).
    problems: list[str] = field(default_factory=list)
    #: Other things worth saying.
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as sentences, one per line (the operator's NOTICEs, the log), each
        one line of printable text whatever the file held."""
        out = list(self.problems)
        if self.applied:
            out.append(f"Applied: {', '.join(self.applied)}")
        elif not self.problems:
            out.append("No setting changed")
        out += [f"{key} changed but needs a restart to take effect" for key in self.restart]
        return [printable(line) for line in out + self.notes]


def printable(text: str) -> str:
    """``text`` with each control or other unprintable character as U+FFFD."""
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def rehash(server: Live, by: str = "SIGHUP") -> Report:
    """Read the configuration again and apply it to ``server``; log and return what was
    done (``by`` names who asked, for the log)."""
    with _lock:
        report = _rehash(server)
    problems = {printable(line) for line in report.problems}
    for line in report.lines():
        level = logging.WARNING if line in problems else logging.INFO
        log.log(level, "REHASH by %s: %s", by, line)
    return report


def _rehash(server: Live) -> Report:
    old = server.config
    path = old.config_file
    motd_file = old.command_line.get("motd")
    report = Report(printable(path or (str(motd_file) if motd_file is not None else "*")))
    try:
        new = load(path, old.command_line)
    except ConfigError as exc:
        report.problems.append(f"{exc}; nothing was changed")
        return report
    if path is None:
        # Without a file the command line is all there is: only the MOTD file it names
        # may have changed.
        if new.motd != old.motd:
            old.motd = new.motd
            report.applied.append("motd")
        report.notes.append(
            "No configuration file (--config): only the MOTD file was read again; "
            "nothing else can change without a restart"
        )
        return report
    new.max_clients = fit_clients(new.max_clients, raise_limit())  # as at start
    changed = [
        item.name
        for item, _ in declared(type(old))
        if getattr(new, item.name) != getattr(old, item.name)
    ]
    tls_ports = [p for p in (server, server.tls_listener) if p is not None and p.tls_context]
    if tls_ports:
        # Read again even when the paths are the same: a renewed certificate is usually
        # written over the old one.
        _reload_certificate(server, tls_ports, new, report)
    for name in changed:
        if name in ("cert", "key") and tls_ports:
            continue  # done above
        if name in LIVE:
            _apply(server, name, getattr(new, name))
            report.applied.append(name)
        else:
            report.restart.append(name)
    if {"flood_rate", "flood_burst"} & set(changed):
        _update_flood(server)
    return report


def _apply(server: Live, name: str, value: Any) -> None:
    """Put one live key's new value where it is read."""
    setattr(server.config, name, value)
    if name == "exempt":
        server.exempt_networks = parse_networks(value)
    elif name == "throttle":
        server.throttle.limit = value
    elif name == "throttle_window":
        server.throttle.window = value
    elif name == "login_delay":
        server.login_failures.delay = server.account_failures.delay = value
    elif name == "login_ban":
        server.login_failures.ban_after = value
    elif name == "log_level":
        logging.getLogger().setLevel(value)
    elif name.startswith("history_") and server.history is not None:
        attribute = {"history_days": "max_days", "history_max_mb": "max_mb"}.get(name)
        setattr(server.history, attribute or "max_per_target", value)


def _update_flood(server: Live) -> None:
    """Every connection's flood bucket follows the new limits (made or dropped when flood
    control is turned on or off); its tokens are kept."""
    config = server.config
    for client in server.registry.snapshot():
        bucket = client.flood
        if config.flood_rate <= 0:
            client.flood = None
        elif bucket is None:
            client.flood = TokenBucket(
                config.flood_rate, config.flood_burst, config.flood_excess, server.clock
            )
        else:
            bucket.rate, bucket.burst = config.flood_rate, config.flood_burst


def _reload_certificate(server: Live, ports: list[Port], new: Config, report: Report) -> None:
    """Give the TLS ports a context made from ``new``'s certificate and key (connections
    from now on use it); on any failure keep the old one and say why."""
    cert, key = new.cert, new.key
    if not cert or not key:
        report.problems.append("TLS needs cert and key: the old certificate stays in use")
        return
    from .protocol.tls import server_context  # OpenSSL: loaded only where TLS is used

    try:
        context = server_context(cert, key, server.config.data_dir is not None)
    except OSError as exc:  # ssl.SSLError included
        reason = exc.strerror or str(exc)
        report.problems.append(
            f"cannot use the certificate {cert} and key {key} ({reason}): "
            "the old certificate stays in use"
        )
        return
    for port in ports:
        port.tls_context = context
    server.config.cert, server.config.key = cert, key
    report.notes.append(f"TLS certificate read again from {cert}: new connections use it")
