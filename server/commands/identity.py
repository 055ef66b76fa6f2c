"""Owned nicks and self-registration: an account's name is its nick, and
``REGISTER``/``VERIFY`` (IRCv3 draft/account-registration, no e-mail step).

A nick that is an account's name may be held only by a connection signed in to that
account (others get 433 "Nickname is reserved by a different account", as Ergo words
it), and service nicks by nobody. Accounts are looked up outside the registry lock
(the store reads its database afresh), so the admin command's changes count at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..accounts import (
    Account,
    AccountError,
    AccountExists,
    InvalidName,
    InvalidPassword,
    StoreUnavailable,
)
from ..protocol.codec import Message
from ..protocol.names import casefold
from .services import find_service
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..sendq import ResponseBuffer
    from ..session import Session

#: The capability that offers REGISTER.
REGISTRATION_CAP = "draft/account-registration"


def registration_open(server: Context) -> bool:
    """Whether people may create accounts themselves (``--registration open``)."""
    return server.accounts is not None and server.config.registration == "open"


def registration_cap_value(server: Context) -> str:
    """The value of the draft/account-registration capability.

    ``before-connect`` unless a connection password is required: REGISTER before
    registration must not let anyone round PASS (the spec's server considerations).
    """
    return "before-connect" if server.config.password is None else ""


def reserved(server: Context, client: Session, nick: str) -> bool:
    """Whether ``nick`` is an account's name that ``client`` is not signed in to."""
    if server.accounts is None or not server.config.reserve_nicks:
        return False
    key = casefold(nick)
    if client.account is not None and client.account.name == key:
        return False
    try:
        return server.accounts.taken(nick)
    except StoreUnavailable:
        raise  # cannot tell: refused (server.py), never handed to someone else
    except AccountError:
        return False  # the store is unreadable: nicks stay usable, as with no accounts


def nick_refusal(server: Context, client: Session, nick: str, accounts: bool = True) -> str | None:
    """Why ``client`` may not use ``nick`` (``"service"`` or ``"account"``), or None;
    the accounts are asked only when ``accounts`` (each question hands the interpreter
    lock to and fro: see ``server.account_names``)."""
    if find_service(nick) is not None:
        return "service"
    if accounts and reserved(server, client, nick):
        return "account"
    return None


# --- REGISTER / VERIFY ------------------------------------------------------------
def _fail(server: Context, reply: ResponseBuffer, verb: str, code: str, *context: str) -> None:
    reply.send_line("FAIL", verb, code, *context, source=server.config.name)


def _plausible_email(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at and local and domain) and " " not in text


def _unavailable(
    server: Context, client: Session, reply: ResponseBuffer, verb: str, name: str
) -> bool:
    """The refusals REGISTER and VERIFY share; True when one was sent."""
    if not registration_open(server):
        text = (
            "Account registration is closed on this server"
            if server.accounts is not None
            else "This server keeps no accounts"
        )
        _fail(server, reply, verb, "TEMPORARILY_UNAVAILABLE", name, text)
        return True
    if not client.registered and not registration_cap_value(server):
        _fail(
            server,
            reply,
            verb,
            "COMPLETE_CONNECTION_REQUIRED",
            "Finish connecting (PASS, NICK and USER) before you register an account",
        )
        return True
    if client.account is not None:
        _fail(
            server,
            reply,
            verb,
            "ALREADY_AUTHENTICATED",
            client.account.display,
            "You're already logged into an account",
        )
        return True
    return False


@command("REGISTER", min_params=3, pre_registration=True)
def register(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """REGISTER <account> {<email> | *} <password>: create an account named for the
    current nick and sign in to it (draft/account-registration)."""
    wanted, email, password = msg.params[:3]
    if _unavailable(server, client, reply, "REGISTER", wanted):
        return
    nick = client.nick
    if nick == "*":
        _fail(server, reply, "REGISTER", "NEED_NICK", "*", "Send NICK before REGISTER")
        return
    name = nick if wanted == "*" else wanted
    if find_service(name) is not None:
        _fail(server, reply, "REGISTER", "BAD_ACCOUNT_NAME", name, "That name belongs to a service")
        return
    if casefold(name) != casefold(nick):
        _fail(
            server,
            reply,
            "REGISTER",
            "ACCOUNT_NAME_MUST_BE_NICK",
            name,
            "Your account name must be your current nickname",
        )
        return
    if email != "*" and not _plausible_email(email):
        _fail(server, reply, "REGISTER", "INVALID_EMAIL", name, "That is not an e-mail address")
        return
    if casefold(password) == casefold(name):
        _fail(
            server,
            reply,
            "REGISTER",
            "WEAK_PASSWORD",
            name,
            "Your password must not be your account name",
        )
        return
    account = _create(server, reply, "REGISTER", name, password)
    if account is None:
        return
    reply.send_line(
        "REGISTER",
        "SUCCESS",
        account.display,
        "Account successfully registered",
        source=server.config.name,
    )
    server.sign_in(client, account, reply)


def _create(
    server: Context, reply: ResponseBuffer, verb: str, name: str, password: str
) -> Account | None:
    """Create the account, or send the FAIL that says why not."""
    assert server.accounts is not None
    try:
        return server.accounts.create(name, password)
    except AccountExists:
        _fail(server, reply, verb, "ACCOUNT_EXISTS", name, "Account already exists")
    except InvalidName as exc:
        _fail(server, reply, verb, "BAD_ACCOUNT_NAME", name, str(exc).capitalize())
    except InvalidPassword as exc:
        _fail(server, reply, verb, "UNACCEPTABLE_PASSWORD", name, str(exc).capitalize())
    except AccountError:
        _fail(server, reply, verb, "TEMPORARILY_UNAVAILABLE", name, "Accounts cannot be saved now")
    return None


@command("VERIFY", min_params=2, pre_registration=True)
def verify(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """VERIFY <account> <code>: nothing to verify here, REGISTER needs no second step."""
    name = msg.params[0]
    if _unavailable(server, client, reply, "VERIFY", name):
        return
    _fail(
        server,
        reply,
        "VERIFY",
        "INVALID_CODE",
        name,
        "Invalid verification code: accounts here need no verification",
    )
