"""``python -m app``: open the Kibitz chat window and connect in the background."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app import __version__
from app.controller import ChatController
from app.interface import ChatWindow
from app.model import ChatModel
from app.notifications import DesktopNotifier
from app.pacing import PACE_BURST, PACE_RATE
from app.passwords import PasswordStore, account_key, server_key
from app.restore import Reopen, place_of, reopen_plan
from app.settings import Settings
from app.text import clean_nick
from server.protocol.names import valid_nick


@dataclass(frozen=True)
class Option:
    """One option of ``python -m app``, declared once: the parser is built from
    :data:`OPTIONS` (the app imports nothing of the server, so it keeps this small
    derivation of its own)."""

    flag: str
    help: str
    #: The default is the remembered setting of the same name.
    remembered: bool = False
    #: The value given is remembered from the start (the nick and the theme only once
    #: the server took the nick or the user switched theme).
    kept: bool = False
    type: Callable[[str], Any] | None = None
    action: Any = None

    @property
    def name(self) -> str:
        """The attribute of the parsed arguments and of :class:`Settings`."""
        return self.flag.removeprefix("--").replace("-", "_")


OPTIONS = (
    Option("--host", "server (default: %(default)s)", remembered=True, kept=True),
    Option("--port", "server port (default: %(default)s)", remembered=True, kept=True, type=int),
    Option("--nick", "your name (default: %(default)s)", remembered=True),
    Option(
        "--channel",
        "channel to join and show, besides the conversations open last time (which are "
        "reopened; the first time: the last --channel, else #general)",
        kept=True,
    ),
    Option(
        "--password",
        "server password, if it has one (asked for when the server refuses to connect)",
    ),
    Option(
        "--account",
        "sign in to this account (SASL); its password is asked for once and kept in the "
        "system keyring (remembered once signed in)",
        remembered=True,
    ),
    Option(
        "--allow-plain",
        "let the account password go as SASL PLAIN over a connection that is neither TLS "
        "nor to this machine (never remembered)",
        action="store_true",
    ),
    Option(
        "--tls",
        "connect with TLS, verifying the certificate and host name "
        "(remembered; give the TLS port, e.g. --port 6697)",
        remembered=True,
        kept=True,
        action=argparse.BooleanOptionalAction,
    ),
    Option(
        "--tls-insecure",
        "TLS accepting a self-signed or unverifiable certificate; its SHA-256 "
        "fingerprint is shown to compare (never remembered)",
        action="store_true",
    ),
    Option(
        "--send-rate",
        f"lines a second what you say is sent at, after a burst of {PACE_BURST} "
        f"(default: {PACE_RATE:g}; keep it under the server's flood rate)",
        type=float,
    ),
    Option(
        "--theme",
        "light, dark or a ttkbootstrap theme such as nord-dark (default: %(default)s)",
        remembered=True,
    ),
)


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    """The command line, with the remembered settings as defaults."""
    parser = argparse.ArgumentParser(
        prog="kibitz", description="Kibitz chat: a themed desktop IRC client."
    )
    for option in OPTIONS:
        how: dict[str, Any] = {"help": option.help}
        if option.remembered:
            how["default"] = getattr(settings, option.name)
        if option.type is not None:
            how["type"] = option.type
        if option.action is not None:
            how["action"] = option.action
        parser.add_argument(option.flag, **how)
    parser.add_argument("--version", action="version", version=f"Kibitz {__version__}")
    args = parser.parse_args(argv)
    args.channel_given = bool(args.channel)  # else the remembered one, as a fallback
    args.channel = args.channel or settings.channel
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port} is not a port number")
    if not valid_nick(args.nick):
        args.nick = clean_nick(args.nick)
    if args.channel and args.channel[0] not in "#&":
        args.channel = "#" + args.channel
    if args.tls_insecure:
        args.tls = True
    if args.send_rate is not None and args.send_rate <= 0:
        parser.error(f"--send-rate {args.send_rate:g} is not a positive rate")
    return args


def reopen_of(args: argparse.Namespace, settings: Settings) -> Reopen:
    """The conversations to open: those open last time with this server and identity, and
    the channel given on the command line."""
    place = place_of(args.host, args.port, args.account or "", args.nick)
    return reopen_plan(settings, place, args.channel if args.channel_given else None)


def build_model(
    args: argparse.Namespace,
    settings: Settings,
    passwords: PasswordStore | None = None,
    reopen: Reopen | None = None,
) -> ChatModel:
    """The chat model the command line asks for, with the passwords the keyring keeps for
    this server (a server password given on the command line wins), joining the channels
    of ``reopen`` (default: ``--channel``)."""
    passwords = passwords if passwords is not None else PasswordStore()
    account = args.account or None
    account_password = None
    if account:
        account_password = passwords.get(account_key(account, args.host, args.port))
    remembered = passwords.get(server_key(args.host, args.port))
    model = ChatModel(
        args.host,
        args.port,
        args.nick,
        channels=reopen.channels if reopen else [args.channel] if args.channel else [],
        password=args.password or remembered or settings.password_of(args.host, args.port),
        tls=args.tls,
        tls_verify=not args.tls_insecure,
        account=account,
        account_password=account_password,
        allow_plain=args.allow_plain,
        pace_rate=args.send_rate or PACE_RATE,
    )
    for nick in reopen.directs if reopen else ():
        model.open_direct(nick)
    return model


def load_args(argv: list[str] | None) -> tuple[argparse.Namespace, Settings]:
    """The settings, and the command line over them (what it gives that is kept, kept)."""
    settings = Settings.load()
    args = parse_args(argv, settings)
    for option in OPTIONS:
        if option.kept:
            setattr(settings, option.name, getattr(args, option.name))
    return args, settings


def build_controller(
    args: argparse.Namespace, settings: Settings, view: ChatWindow
) -> ChatController:
    """The model the command line asks for, wired to ``view``, with what was open last
    time to reopen."""
    passwords = PasswordStore()
    passwords.migrate(settings)  # a server password the previous version kept in the file
    reopen = reopen_of(args, settings)
    model = build_model(args, settings, passwords, reopen)
    account = args.account or ""
    controller = ChatController(model, view, settings, passwords, account=account, reopen=reopen)
    if sys.platform.startswith("linux"):  # the freedesktop service, on the D-Bus session bus
        controller.alerts.notifier = DesktopNotifier(model.events)
    return controller


def _run(controller: ChatController) -> None:
    view = controller.view

    def leave() -> None:
        controller.close()
        controller.alerts.close()
        view.destroy()

    def shut_down(_signum: int, _frame: object) -> None:
        # Runs on the Tk thread between callbacks: leave the way the close button does.
        view.schedule(0, leave)

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    controller.run()
    controller.close()
    controller.alerts.close()  # the notifier made here is stopped here
    view.destroy()


def main(argv: list[str] | None = None) -> int:
    """Run the chat window until it is closed."""
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    args, settings = load_args(argv)

    # imports tkinter: only once the arguments are fine
    from app.view import ChatView, NoDisplayError

    try:
        view = ChatView(
            theme=args.theme,
            show_joins=settings.show_joins,
            send_typing=settings.send_typing,
            notifications=settings.notifications,
        )
    except NoDisplayError as exc:
        print(f"error: {exc}, or chat from a terminal IRC client such as irssi", file=sys.stderr)
        return 1
    _run(build_controller(args, settings, view))
    # Tk objects must be collected on this (the Tk) thread, never on a worker thread.
    gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
