"""NickServ: accounts for people who type commands (``/msg NickServ HELP``).

Its commands are kept in a table (``Service``), with the shared checks (unknown
command, missing arguments, HELP) applied once in :func:`run`.

REGISTER, IDENTIFY, GHOST, INFO, PASSWD and DROP, with Ergo's syntax and wording. A
wrong password is answered after the same growing delay as a failed SASL or PASS, per
address and per account (``Context.login_failed``), so guessing by NickServ is as slow
as any other way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..accounts import (
    AccountError,
    AccountExists,
    InvalidName,
    InvalidPassword,
    NoSuchAccount,
    StoreUnavailable,
)
from ..protocol.codec import Message
from ..protocol.names import casefold
from .identity import registration_open
from .services import service
from .table import command

if TYPE_CHECKING:
    from ..accounts import Account
    from ..context import Context
    from ..sendq import ResponseBuffer
    from ..session import Session

#: A service command's handler: the server, the sender, its arguments, and a way to answer.
ServiceHandler = Callable[["Context", "Session", list[str], "Answer"], None]


@dataclass(frozen=True)
class ServiceCommand:
    """One command of a service: its handler, syntax and help."""

    handler: ServiceHandler
    #: Arguments it needs at least; fewer get a NOTICE pointing at HELP.
    min_params: int
    #: ``REGISTER <password> [email]``: the command and its arguments.
    syntax: str
    #: One line for the index of commands.
    summary: str
    #: Further lines for ``HELP <command>``.
    details: tuple[str, ...] = ()


@dataclass
class Service:
    """A service user's command table."""

    nick: str
    realname: str
    #: One line said first in ``HELP``.
    about: str
    commands: dict[str, ServiceCommand] = field(default_factory=dict)

    def source(self, server_name: str) -> str:
        """The service as a message source: ``NickServ!NickServ@<server>``."""
        return f"{self.nick}!{self.nick}@{server_name}"

    def command(
        self, name: str, syntax: str, summary: str, *details: str, min_params: int = 0
    ) -> Callable[[ServiceHandler], ServiceHandler]:
        """Register the decorated function as this service's ``name`` command."""

        def register(handler: ServiceHandler) -> ServiceHandler:
            self.commands[name] = ServiceCommand(handler, min_params, syntax, summary, details)
            return handler

        return register


class Answer:
    """How a service command answers its sender: NOTICEs from the service."""

    __slots__ = ("client", "reply", "service", "source")

    def __init__(self, service: Service, client: Session, reply: ResponseBuffer) -> None:
        self.service = service
        self.client = client
        self.reply = reply
        self.source = service.source(reply.server_name)

    def __call__(self, text: str) -> None:
        """Send one NOTICE line to the sender."""
        self.reply.send_line("NOTICE", self.client.nick, text, source=self.source)


def run(
    server: Context, client: Session, service: Service, text: str, reply: ResponseBuffer
) -> None:
    """Run one line said to ``service``: its command word, then the arguments."""
    answer = Answer(service, client, reply)
    words = text.split()
    if not words:
        answer(f"To see available commands, run: /msg {service.nick} HELP")
        return
    name, params = words[0].upper(), words[1:]
    if name == "HELP":
        _help(service, params, answer)
        return
    entry = service.commands.get(name)
    if entry is None:
        answer(f"Unknown command. To see available commands, run: /msg {service.nick} HELP")
        return
    if len(params) < entry.min_params:
        answer(
            f"Invalid parameters. For usage, do /msg {service.nick} HELP {name}"
            f" (syntax: {entry.syntax})"
        )
        return
    entry.handler(server, client, params, answer)


def _help(service: Service, params: list[str], answer: Answer) -> None:
    if params:
        entry = service.commands.get(params[0].upper())
        if entry is None:
            answer(f"No help available for {params[0]}. Run /msg {service.nick} HELP")
            return
        answer(f"Syntax: {entry.syntax}")
        answer(entry.summary)
        for line in entry.details:
            answer(line)
        return
    answer(service.about)
    answer("Commands:")
    for name in sorted(service.commands):
        answer(f"  {name}: {service.commands[name].summary}")
    answer(f"For more on one: /msg {service.nick} HELP <command>")


NICKSERV = Service(
    "NickServ",
    "Nickname Services",
    "NickServ lets you register, log in to, and manage an account.",
)


@service("NickServ")
def nickserv_user(server: Context, client: Session, text: str, reply: ResponseBuffer) -> None:
    """A PRIVMSG to NickServ: one of its commands."""
    run(server, client, NICKSERV, text, reply)


_DISABLED = "This command has been disabled by the server administrators"
_NOT_LOGGED_IN = "You're not logged into an account"


def _store_ready(server: Context, answer: Answer) -> bool:
    if server.accounts is None:
        answer(_DISABLED)
        return False
    return True


def _check_password(
    server: Context, client: Session, name: str, password: str, what: str
) -> Account | None:
    """The account if ``password`` is its password; else the failure is counted (for
    the address and the account) and the sender held for the penalty delay, and None."""
    assert server.accounts is not None
    try:
        account = server.accounts.authenticate(name, password)
    except StoreUnavailable:
        raise  # no wrong password: not counted (the service says why, services.py)
    except AccountError:
        account = None
    if account is None:
        server.login_failed(client, f"{what} as account {name!r}", account=name)
    return account


@NICKSERV.command(
    "REGISTER",
    "REGISTER <password> [email]",
    "Registers your current nickname as an account, and logs you in to it.",
    "The e-mail address is optional; nothing is sent to it.",
    min_params=1,
)
def ns_register(server: Context, client: Session, params: list[str], answer: Answer) -> None:
    """Create an account named for the sender's nick, then sign in to it."""
    if not registration_open(server):
        answer(_DISABLED)
        return
    if client.account is not None:
        answer("You're already logged into an account")
        return
    password = params[0]
    if casefold(password) == casefold(client.nick):
        answer("Usage: REGISTER <password> [email]")  # the nick typed where the password goes
        return
    assert server.accounts is not None
    try:
        account = server.accounts.create(client.nick, password)
    except AccountExists:
        answer("Account already exists")
        return
    except InvalidName:
        answer("Erroneous nickname")
        return
    except InvalidPassword:
        answer("Passphrase contains forbidden characters or is otherwise invalid")
        return
    except AccountError:
        answer("Could not register: accounts cannot be saved now")
        return
    answer("Account created")
    server.sign_in(client, account, answer.reply)
    answer(f"You're now logged in as {account.display}")


@NICKSERV.command(
    "IDENTIFY",
    "IDENTIFY [account] <password>",
    "Logs you in to an account (the one named for your nick when you give no name).",
    min_params=1,
)
def ns_identify(server: Context, client: Session, params: list[str], answer: Answer) -> None:
    """Sign in with an account's password."""
    if not _store_ready(server, answer):
        return
    if client.account is not None:
        answer("You're already logged into an account")
        return
    name, password = (client.nick, params[0]) if len(params) == 1 else (params[0], params[1])
    account = _check_password(server, client, name, password, "NickServ IDENTIFY")
    if client.closing:
        return
    if account is None:
        answer("Authentication failed: Invalid account credentials")
        return
    server.sign_in(client, account, answer.reply)
    answer(f"You're now logged in as {account.display}")


@NICKSERV.command(
    "GHOST",
    "GHOST <nickname>",
    "Disconnects the user with that nickname if it is logged in to your account,",
    "or if the nickname is your account's: you get your nickname back.",
    min_params=1,
)
def ns_ghost(server: Context, client: Session, params: list[str], answer: Answer) -> None:
    """Disconnect a stale session of one's own account (or a squatter on one's nick)."""
    if client.account is None:
        answer(_NOT_LOGGED_IN)
        return
    nick = params[0]
    ghost = server.registry.find_nick(nick)
    if ghost is None:
        answer("No such nick")
        return
    if ghost is client:
        answer("You can't GHOST yourself (try /QUIT instead)")
        return
    mine = client.account.name
    owned = ghost.account is not None and ghost.account.name == mine
    if not owned and casefold(ghost.nick) != mine:
        answer("You don't own that nick")
        return
    server.end(ghost, f"GHOSTed by {client.nick}")
    answer(f"{ghost.nick} has been disconnected")


@NICKSERV.command(
    "INFO",
    "INFO [account]",
    "Shows information about an account (yours when you give no name).",
)
def ns_info(server: Context, client: Session, params: list[str], answer: Answer) -> None:
    """When an account was registered, and who is logged in to it."""
    if not _store_ready(server, answer):
        return
    assert server.accounts is not None
    if params:
        account = server.accounts.find(params[0])
        if account is None:
            answer("That nickname is not registered")
            return
    elif client.account is None:
        answer(_NOT_LOGGED_IN)
        return
    else:
        account = server.accounts.find(client.account.name)
        if account is None:
            answer("Account does not exist")
            return
    answer(f"Account: {account.display}")
    registered = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(account.created_at))
    answer(f"Registered at: {registered}")
    online = sorted(session.nick for session in server.registry.signed_in(account.name))
    if online:
        answer(f"Logged in now as: {', '.join(online)}")


@NICKSERV.command(
    "PASSWD",
    "PASSWD <current> <new> [<new again>]",
    "Changes your account's password; typed a third time, the new one must match.",
    min_params=2,
)
def ns_passwd(server: Context, client: Session, params: list[str], answer: Answer) -> None:
    """Change the password of the account one is logged in to."""
    if not _store_ready(server, answer):
        return
    if client.account is None:
        answer(_NOT_LOGGED_IN)
        return
    current, new = params[0], params[1]
    if len(params) > 2 and params[2] != new:
        answer("Passwords do not match")
        return
    if _check_password(server, client, client.account.name, current, "NickServ PASSWD") is None:
        if not client.closing:
            answer("Password incorrect")
        return
    assert server.accounts is not None
    try:
        server.accounts.set_password(client.account.name, new)
    except InvalidPassword:
        answer("Passphrase contains forbidden characters or is otherwise invalid")
        return
    except AccountError:
        answer("Could not change the password now")
        return
    answer("Password changed")


@NICKSERV.command(
    "DROP",
    "DROP <account> <password>",
    "Deletes the account for good; everyone logged in to it is logged out.",
    min_params=2,
)
def ns_drop(server: Context, client: Session, params: list[str], answer: Answer) -> None:
    """Delete an account, given its password."""
    if not _store_ready(server, answer):
        return
    name, password = params[0], params[1]
    account = _check_password(server, client, name, password, "NickServ DROP")
    if account is None:
        if not client.closing:
            answer("Authentication failed: Invalid account credentials")
        return
    assert server.accounts is not None
    try:
        server.accounts.remove(account.name)
    except NoSuchAccount:
        pass  # removed meanwhile (the admin command): the outcome is the same
    except AccountError:
        answer("Could not unregister the account now")
        return
    for session in server.registry.signed_in(account.name):
        server.sign_out(session, answer.reply if session is client else None)
    answer(f"Successfully unregistered account {account.display}")


# --- the same commands without PRIVMSG: /NICKSERV and /NS ---------------------------
@command("NICKSERV")
@command("NS")
def nickserv(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """NICKSERV <command> [<arguments>] (or NS): the same as /msg NickServ."""
    run(server, client, NICKSERV, " ".join(msg.params), reply)
