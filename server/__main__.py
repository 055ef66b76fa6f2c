"""`python -m server`: run the Kibitz IRC server."""

from __future__ import annotations

import argparse
import logging
import signal
import ssl
import sys
import time
from pathlib import Path

import platformdirs

from . import __version__
from .config import Config
from .history import HistoryError
from .penalty import parse_networks
from .server import ChatServer

log = logging.getLogger("server")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``-h`` documents each option)."""
    defaults = Config()
    parser = argparse.ArgumentParser(
        prog="python -m server",
        description="Kibitz: a self-hosted chat server that speaks IRC.",
    )
    parser.add_argument(
        "-H",
        "--host",
        default=defaults.host,
        help="address to listen on (default: %(default)s, every IPv4 address)",
    )
    parser.add_argument(
        "-p",
        "--port",
        type=int,
        default=defaults.port,
        help="TCP port to listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--name",
        default=defaults.name,
        help="server name shown to clients (default: this host's name)",
    )
    parser.add_argument(
        "--network",
        default=defaults.network,
        help="network name shown in the welcome (default: %(default)s)",
    )
    parser.add_argument(
        "--description",
        default=defaults.description,
        help="one line about this server, shown in WHOIS, LINKS, VERSION and ADMIN "
        '(default: "Kibitz server of the NETWORK network")',
    )
    parser.add_argument(
        "--password", default=None, help="connection password clients must send with PASS"
    )
    parser.add_argument(
        "--motd", type=Path, default=None, help="file whose lines are the message of the day"
    )
    parser.add_argument(
        "--autojoin",
        default=",".join(defaults.autojoin),
        help="comma-separated channels every user joins on connect "
        "(default: %(default)s; '' for none)",
    )
    parser.add_argument(
        "--ping-interval",
        type=float,
        default=defaults.ping_interval,
        help="seconds of silence before the server sends PING (default: %(default)s)",
    )
    parser.add_argument(
        "--ping-timeout",
        type=float,
        default=defaults.ping_timeout,
        help="seconds to wait for an answer to PING before dropping the "
        "client (default: %(default)s)",
    )
    tls = parser.add_argument_group("TLS")
    tls.add_argument(
        "--tls-port",
        type=int,
        default=None,
        help="also listen for TLS connections on this port (e.g. 6697)",
    )
    tls.add_argument("--cert", default=None, help="certificate chain file (PEM) for TLS")
    tls.add_argument("--key", default=None, help="private key file (PEM) for TLS")
    tls.add_argument(
        "--tls-only", action="store_true", help="refuse plaintext: listen only on the TLS port"
    )
    history = parser.add_argument_group("history")
    history.add_argument(
        "--data-dir",
        default=platformdirs.user_data_dir("kibitz"),
        help="where the history database lives (default: %(default)s)",
    )
    history.add_argument("--no-history", action="store_true", help="keep no history at all")
    history.add_argument(
        "--history-max-per-target",
        type=int,
        default=0,
        metavar="N",
        help="messages kept per channel or conversation; 0 for no limit",
    )
    history.add_argument(
        "--history-days",
        type=float,
        default=defaults.history_days,
        metavar="D",
        help="days messages are kept; 0 for no limit (default: %(default)s)",
    )
    history.add_argument(
        "--history-max-mb",
        type=float,
        default=defaults.history_max_mb,
        metavar="MB",
        help="size the history database may reach before the oldest messages are "
        "removed; 0 for no limit (default: %(default)s)",
    )
    history.add_argument(
        "--join-replay",
        type=int,
        default=defaults.join_replay,
        metavar="N",
        help="recent messages shown to a joining client that cannot fetch "
        "history itself (default: %(default)s)",
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--sendq",
        type=int,
        default=defaults.sendq,
        metavar="BYTES",
        help="bytes queued for a client that does not read before it is "
        "dropped (default: %(default)s)",
    )
    limits.add_argument(
        "--flood-burst",
        type=int,
        default=defaults.flood_burst,
        metavar="LINES",
        help="lines a client may send at once (default: %(default)s)",
    )
    limits.add_argument(
        "--flood-rate",
        type=float,
        default=defaults.flood_rate,
        metavar="LINES",
        help="lines per second after the burst; 0 turns flood control off (default: %(default)s)",
    )
    limits.add_argument(
        "--max-clients",
        type=int,
        default=defaults.max_clients,
        help="connections in all; 0 for no limit (default: %(default)s)",
    )
    limits.add_argument(
        "--max-per-ip",
        type=int,
        default=defaults.max_per_ip,
        help="connections from one address; 0 for no limit (default: %(default)s; "
        "load tests from one machine need --exempt or 0)",
    )
    limits.add_argument(
        "--exempt",
        action="append",
        default=[],
        metavar="CIDR[,CIDR...]",
        help="addresses free of --max-per-ip, --throttle and the failed-login ban, "
        "e.g. 127.0.0.1/8 (may be given several times; default: none)",
    )
    limits.add_argument(
        "--throttle",
        type=int,
        default=defaults.throttle,
        metavar="N",
        help="new connections one address may open per --throttle-window; "
        "0 turns the throttle off (default: %(default)s)",
    )
    limits.add_argument(
        "--throttle-window",
        type=float,
        default=defaults.throttle_window,
        metavar="SECONDS",
        help="the throttle's window (default: %(default)s)",
    )
    limits.add_argument(
        "--tls-handshake-timeout",
        type=float,
        default=defaults.tls_handshake_timeout,
        metavar="SECONDS",
        help="seconds a whole TLS handshake may take (default: %(default)s)",
    )
    limits.add_argument(
        "--login-delay",
        type=float,
        default=defaults.login_delay,
        metavar="SECONDS",
        help="delay before answering a failed PASS or OPER, doubling with each failure "
        "from the address up to 30 s; 0 for none (default: %(default)s)",
    )
    limits.add_argument(
        "--oper-attempts",
        type=int,
        default=defaults.oper_attempts,
        metavar="N",
        help="failed OPER attempts before the connection is closed; 0 for no limit "
        "(default: %(default)s)",
    )
    limits.add_argument(
        "--login-ban",
        type=int,
        default=defaults.login_ban,
        metavar="N",
        help="failed logins from one address before it is refused new connections "
        "until it has not failed for 10 minutes; 0 never (default: %(default)s)",
    )
    limits.add_argument(
        "--max-channels",
        type=int,
        default=defaults.max_channels,
        help="channels one user may join; 0 for no limit (default: %(default)s)",
    )
    limits.add_argument(
        "--registration-timeout",
        type=float,
        default=defaults.registration_timeout,
        metavar="SECONDS",
        help="seconds a connection may take to register (default: %(default)s)",
    )
    parser.add_argument(
        "--oper",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="an IRC operator login for OPER (may be given several times)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default: %(default)s)",
    )
    parser.add_argument(
        "--gui", action="store_true", help="open a window to run and watch the server"
    )
    parser.add_argument("--version", action="version", version=f"Kibitz {__version__}")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> Config:
    """Turn parsed arguments into a :class:`Config`, reading the MOTD file if given."""
    for option, text in (("--network", args.network), ("--description", args.description)):
        if not text.isprintable():
            raise ValueError(f"{option} must be one line of printable text")
    try:
        parse_networks(args.exempt)
    except ValueError as exc:
        raise ValueError(f"--exempt: {exc}") from None
    motd = None
    if args.motd is not None:
        motd = args.motd.read_text(encoding="utf-8").splitlines()
    return Config(
        host=args.host,
        port=args.port,
        name=args.name,
        network=args.network,
        description=args.description,
        password=args.password,
        motd=motd,
        autojoin=[c for c in args.autojoin.split(",") if c],
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        opers=dict(_oper(entry) for entry in args.oper),
        tls_port=args.tls_port,
        cert=args.cert,
        key=args.key,
        tls_only=args.tls_only,
        sendq=args.sendq,
        flood_burst=args.flood_burst,
        flood_rate=args.flood_rate,
        max_clients=args.max_clients,
        max_per_ip=args.max_per_ip,
        exempt=args.exempt,
        throttle=args.throttle,
        throttle_window=args.throttle_window,
        tls_handshake_timeout=args.tls_handshake_timeout,
        login_delay=args.login_delay,
        oper_attempts=args.oper_attempts,
        login_ban=args.login_ban,
        max_channels=args.max_channels,
        registration_timeout=args.registration_timeout,
        data_dir=None if args.no_history else args.data_dir,
        history_max_per_target=args.history_max_per_target,
        history_days=args.history_days,
        history_max_mb=args.history_max_mb,
        join_replay=args.join_replay,
    )


def _oper(entry: str) -> tuple[str, str]:
    name, sep, password = entry.partition(":")
    if not sep or not name or not password:
        raise ValueError(f"--oper takes NAME:PASSWORD, not {entry!r}")
    return name, password


def main(argv: list[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM, then tell every client and exit 0."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = config_from_args(args)
    except OSError as exc:
        print(f"error: cannot read the MOTD file: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not 0 <= config.port <= 65535:
        print(f"error: port {config.port} is not between 0 and 65535", file=sys.stderr)
        return 2
    for path in (config.cert, config.key):
        if path is not None and not Path(path).is_file():
            print(f"error: no such file: {path}", file=sys.stderr)
            return 2
    if args.gui:
        from .gui import run  # the only server module that imports tkinter

        return run(config)
    try:
        server = ChatServer(config)
    except (ValueError, HistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ssl.SSLError as exc:
        print(f"error: cannot use the certificate or key: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"error: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    # The handler only sets a flag: it runs between two bytecodes of this thread, which
    # may hold a lock at that moment (an Event's, say), so taking any lock could deadlock.
    stop_signals: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop_signals.append(signum))
    server.start()
    log.info("Kibitz %s listening on %s:%d", __version__, config.host, server.port)
    if server.tls_port is not None:
        log.info("TLS on %s:%d", config.host, server.tls_port)
    if server.history is not None:
        log.info("history in %s", server.history.path)
    while not stop_signals:
        time.sleep(0.1)
    log.info("shutting down")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
