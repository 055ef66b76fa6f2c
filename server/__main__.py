"""`python -m server`: run the Kibitz IRC server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from . import __version__
from .accounts import AccountError
from .clustering import ClusterUnavailable
from .config import Config
from .configfile import example, load
from .datalock import DataDirInUse
from .history import HistoryError
from .options import add_options, given
from .server import ChatServer

log = logging.getLogger("server")


def make_parser(show_defaults: bool = True) -> argparse.ArgumentParser:
    """The command line (``-h`` documents each option): :class:`Config`'s options, then
    the ones that only steer this program. Without ``show_defaults``, what is not on the
    command line stays out of the parsed namespace (see ``options.given``)."""
    parser = argparse.ArgumentParser(
        prog="python -m server",
        description="Kibitz: a self-hosted chat server that speaks IRC.",
        epilog="Each option has a key of the same name in a configuration file "
        "(--max-per-ip is max_per_ip); --print-config writes a file with every key "
        "and its default.",
    )
    add_options(parser, Config, Config() if show_defaults else None)
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="read the settings from this TOML file first; the command line overrides "
        "it, and an operator's REHASH or SIGHUP reads it again",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="write a configuration file with every key and its default, and exit",
    )
    parser.add_argument(
        "--gui", action="store_true", help="open a window to run and watch the server"
    )
    parser.add_argument("--version", action="version", version=f"Kibitz {__version__}")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line; ``command_line`` holds the options it gave itself."""
    args = make_parser().parse_args(argv)
    args.command_line = given(make_parser(show_defaults=False).parse_args(argv), Config)
    return args


def config_from_args(args: argparse.Namespace) -> Config:
    """The settings: the defaults, the ``--config`` file over them, the command line over
    that (reading the MOTD file if one is given); ValueError if they are unusable."""
    return load(args.config, args.command_line)


def main(argv: list[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM, then tell every client and exit 0."""
    args = parse_args(argv)
    if args.print_config:
        sys.stdout.write(example())
        return 0
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Records name no thread: a connection's thread is a bare one (see
    # ``Listener.process_request``), and naming it would make it a Thread object for good.
    logging.logThreads = False
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not 0 <= config.port <= 65535:
        print(f"error: port {config.port} is not between 0 and 65535", file=sys.stderr)
        return 2
    for path in (config.cert, config.key):
        if path is not None and not Path(path).is_file():
            print(f"error: no such file: {path}", file=sys.stderr)
            return 2
    if args.gui:
        from .gui import run  # the window: the only server code that imports tkinter

        return run(config)
    try:
        server = ChatServer(config)
    except (ValueError, HistoryError, AccountError, DataDirInUse) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ClusterUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        ssl = sys.modules.get("ssl")  # imported only when TLS is configured
        if ssl is not None and isinstance(exc, ssl.SSLError):
            print(f"error: cannot use the certificate or key: {exc}", file=sys.stderr)
            return 2
        print(
            f"error: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    # The handlers only set a flag: they run between two bytecodes of this thread, which
    # may hold a lock at that moment (an Event's, say), so taking any lock could deadlock.
    stop_signals: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop_signals.append(signum))
    hangups: list[int] = []
    if hasattr(signal, "SIGHUP"):  # not on Windows
        signal.signal(signal.SIGHUP, lambda signum, _frame: hangups.append(signum))
    server.start()
    log.info("Kibitz %s listening on %s:%d", __version__, config.host, server.port)
    if server.tls_port is not None:
        log.info("TLS on %s:%d", config.host, server.tls_port)
    if server.history is not None:
        log.info("history in %s", server.history.where)
    if server.accounts is not None:
        log.info("accounts, read markers and rooms in %s", server.accounts.where)
    while not stop_signals:
        time.sleep(0.1)
        if hangups:
            hangups.clear()  # a SIGHUP arriving from here on still finds the file read after it
            log.info("SIGHUP: reading the configuration again")
            server.rehash()  # logs what it changed and what it could not
    log.info("shutting down")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
