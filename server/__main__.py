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
from .config import Config
from .datalock import DataDirInUse
from .history import HistoryError
from .options import add_options, values
from .server import ChatServer

log = logging.getLogger("server")


def make_parser() -> argparse.ArgumentParser:
    """The command line (``-h`` documents each option): :class:`Config`'s options, then
    the ones that only steer this program."""
    parser = argparse.ArgumentParser(
        prog="python -m server",
        description="Kibitz: a self-hosted chat server that speaks IRC.",
    )
    add_options(parser, Config, Config())
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
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line."""
    return make_parser().parse_args(argv)


def config_from_args(args: argparse.Namespace) -> Config:
    """Turn parsed arguments into a :class:`Config`, reading the MOTD file if given."""
    return Config(**values(Config, args))


def main(argv: list[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM, then tell every client and exit 0."""
    args = parse_args(argv)
    # Records name no thread: a connection's thread is a bare one (see
    # ``Listener.process_request``), and naming it would make it a Thread object for good.
    logging.logThreads = False
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
        from .gui import run  # the window: the only server code that imports tkinter

        return run(config)
    try:
        server = ChatServer(config)
    except (ValueError, HistoryError, AccountError, DataDirInUse) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
