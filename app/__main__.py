"""``python -m app``: open the Kibitz chat window and connect in the background."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys

from app.controller import ChatController
from app.model import ChatModel
from app.settings import Settings
from app.text import clean_nick, valid_nick


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    """The command line, with the remembered settings as defaults."""
    parser = argparse.ArgumentParser(
        prog="kibitz", description="Kibitz chat: a themed desktop IRC client."
    )
    parser.add_argument("--host", default=settings.host, help="server (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=settings.port, help="server port (default: %(default)s)"
    )
    parser.add_argument("--nick", default=settings.nick, help="your name (default: %(default)s)")
    parser.add_argument(
        "--channel", default=settings.channel, help="channel to join (default: %(default)s)"
    )
    parser.add_argument(
        "--password",
        default=None,
        help="server password, if it has one (asked for when the server refuses to connect)",
    )
    parser.add_argument(
        "--tls",
        action=argparse.BooleanOptionalAction,
        default=settings.tls,
        help="connect with TLS, verifying the certificate and host name "
        "(remembered; give the TLS port, e.g. --port 6697)",
    )
    parser.add_argument(
        "--tls-insecure",
        action="store_true",
        help="TLS accepting a self-signed or unverifiable certificate; its SHA-256 "
        "fingerprint is shown to compare (never remembered)",
    )
    parser.add_argument(
        "--theme",
        default=settings.theme,
        help="light, dark or a ttkbootstrap theme such as nord-dark (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port} is not a port number")
    if not valid_nick(args.nick):
        args.nick = clean_nick(args.nick)
    if args.channel and args.channel[0] not in "#&":
        args.channel = "#" + args.channel
    if args.tls_insecure:
        args.tls = True
    return args


def build_model(args: argparse.Namespace, settings: Settings) -> ChatModel:
    """The chat model the command line asks for (a remembered password if none is given)."""
    return ChatModel(
        args.host,
        args.port,
        args.nick,
        channels=[args.channel] if args.channel else [],
        password=args.password or settings.password_of(args.host, args.port),
        tls=args.tls,
        tls_verify=not args.tls_insecure,
    )


def _run(controller: ChatController) -> None:
    view = controller.view

    def shut_down(_signum: int, _frame: object) -> None:
        # Runs on the Tk thread between callbacks: leave the way the close button does.
        view.schedule(0, lambda: (controller.close(), view.destroy()))

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    controller.run()
    controller.close()
    view.destroy()


def main(argv: list[str] | None = None) -> int:
    """Run the chat window until it is closed."""
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    settings = Settings.load()
    args = parse_args(argv, settings)
    settings.host, settings.port, settings.channel = args.host, args.port, args.channel
    settings.tls = args.tls

    # imports tkinter: only once the arguments are fine
    from app.view import ChatView, NoDisplayError

    model = build_model(args, settings)
    try:
        view = ChatView(theme=args.theme)
    except NoDisplayError as exc:
        print(f"error: {exc}, or chat from a terminal IRC client such as irssi", file=sys.stderr)
        return 1
    _run(ChatController(model, view, settings))
    # Tk objects must be collected on this (the Tk) thread, never on a worker thread.
    gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
