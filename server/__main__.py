"""`python -m server`: run the Kibitz IRC server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from . import __version__
from .config import Config
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
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default: %(default)s)",
    )
    parser.add_argument("--version", action="version", version=f"Kibitz {__version__}")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> Config:
    """Turn parsed arguments into a :class:`Config`, reading the MOTD file if given."""
    motd = None
    if args.motd is not None:
        motd = args.motd.read_text(encoding="utf-8").splitlines()
    return Config(
        host=args.host,
        port=args.port,
        name=args.name,
        network=args.network,
        password=args.password,
        motd=motd,
        autojoin=[c for c in args.autojoin.split(",") if c],
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        opers=dict(_oper(entry) for entry in args.oper),
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
    try:
        server = ChatServer(config)
    except OSError as exc:
        print(
            f"error: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    log.info("Kibitz %s listening on %s:%d", __version__, config.host, server.port)
    while not stop.wait(0.5):
        pass
    log.info("shutting down")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
