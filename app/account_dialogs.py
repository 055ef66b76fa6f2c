"""Passwords and accounts between the server, the user and the keyring.

:class:`AccountDialogs` is the part of the controller that handles what the server says
about passwords and accounts (a server password wanted, signed in, signed out, a sign-in
or account refused), opens the dialogs that ask the user (the server password, "Sign in /
Create account"), hands their answers to the model, and keeps passwords in the
:class:`app.passwords.PasswordStore`. Like the controller it writes the sentences; it
shows them through the small :class:`Feedback` the controller gives it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app import events as ev
from app.conversations import SERVER
from app.interface import ChatWindow
from app.model import ChatModel
from app.passwords import PasswordStore, account_key, server_key
from app.settings import Settings
from app.text import account_refused_text, password_text, signed_in_text


class Feedback(Protocol):
    """How the controller lets its parts show lines, and whether the window is closing."""

    closed: bool

    def note(self, text: str, error: bool = False, key: str | None = None) -> None:
        """Show a line of local feedback in the open conversation (or ``key``)."""

    def show(
        self, conversation: str | None, kind: str, text: str, when: datetime | None = None
    ) -> None:
        """A line in ``conversation`` (None: the open conversation), opened if need be."""


class AccountDialogs:
    """The server password and account dialogs, the model's answers, and the keyring."""

    def __init__(
        self,
        feedback: Feedback,
        model: ChatModel,
        view: ChatWindow,
        settings: Settings | None,
        passwords: PasswordStore,
        account: str = "",
    ) -> None:
        self.feedback = feedback
        self.model = model
        self.view = view
        self.settings = settings
        self.passwords = passwords
        #: The account to sign in to, asked for at start when the keyring has no password.
        self.account_wanted = account
        self._account_asked = False  # the dialog's answer awaits the server's

    def start(self) -> None:
        """Ask for the wanted account's password when the keyring had none for it."""
        if self.account_wanted and self.model.credentials is None:
            self.ask_account()

    # --- the server password -------------------------------------------------------------
    def on_password(self, event: ev.PasswordWanted) -> None:
        """The server wants a (another) password: say so and ask for it."""
        text = password_text(event)
        self.feedback.show(SERVER, "error", text)
        server = f"{self.model.host}:{self.model.port}"
        prompt = f"{text}. Enter the password for {server}."
        self.view.ask_password(prompt, self._keyring_note(), self.password_given)

    def _keyring_note(self) -> str:
        if self.passwords.available:
            return (
                f"With “Remember password” it is kept in the system keyring "
                f"({self.passwords.where}); without, only until Kibitz closes."
            )
        return (
            "No system keyring is available here, so the password is kept only until Kibitz closes."
        )

    def password_given(self, password: str | None, remember: bool) -> None:
        """The password dialog's answer: connect with it, and remember it if asked to."""
        if self.feedback.closed:
            return
        if password is None:
            self.feedback.note(
                "Not connected: the server wants a password.", error=True, key=SERVER
            )
            return
        self.model.set_password(password)
        key = server_key(self.model.host, self.model.port)
        if remember:
            self.passwords.set(key, password)
        else:
            self.passwords.forget(key)  # a remembered one was refused
            self.passwords.set(key, password, remember=False)
        settings = self.settings
        if settings is not None and settings.password:  # never back into the file
            settings.remember_password(self.model.host, self.model.port, None)

    # --- accounts ----------------------------------------------------------------------
    def ask_account(self, error: str = "") -> None:
        """Open the "Sign in / Create account" dialog (``error``: why it opens again)."""
        if self.feedback.closed:
            return
        account = self.model.account or self.account_wanted
        if not account and self.model.credentials is not None:
            account = self.model.credentials[0]
        if not account and self.settings is not None:
            account = self.settings.account
        self.view.ask_account(
            account or self.model.nick,
            self._keyring_note(),
            error,
            self.passwords.available,
            self.account_given,
        )

    def account_given(self, action: str, account: str, password: str, remember: bool) -> None:
        """The sign-in dialog's answer: sign in, or create the account, with it."""
        if self.feedback.closed or action == "cancel":
            return
        self.account_wanted = account
        self._account_asked = True
        self.passwords.set(self._account_key(account), password, remember)
        if action == "register":
            self.model.register(account, password)
        else:
            self.model.sign_in(account, password)
        if not self.model.connected:
            self.feedback.note(f"You will sign in as {account} when connected.", key=SERVER)

    def _account_key(self, account: str) -> str:
        return account_key(account, self.model.host, self.model.port)

    def on_signed_in(self, event: ev.SignedIn) -> None:
        """Signed in (or the account created): show it and remember the account."""
        self._account_asked = False
        self.view.set_account(event.account)
        self.feedback.show(SERVER, "info", signed_in_text(event))
        if self.settings is not None:
            self.settings.account = event.account
            self.settings.save()

    def on_signed_out(self, _event: ev.SignedOut) -> None:
        """Signed out."""
        self.view.set_account("")
        self.feedback.show(SERVER, "info", "You are signed out")

    def on_account_refused(self, event: ev.AccountRefused) -> None:
        """A sign-in or a new account was refused: say why, and ask again where that helps."""
        text = account_refused_text(event)
        self.feedback.show(SERVER, "error", text)
        asked, self._account_asked = self._account_asked, False
        wrong = event.reason in ("wrong-password", "server-unverified")
        if wrong and event.account:
            self.passwords.forget(self._account_key(event.account))  # never tried again
        # The dialog says why when it asked, or when a kept password stopped working; a
        # server without accounts is said once per connection in the server conversation.
        if (asked or wrong) and event.reason != "already":
            self.ask_account(text)
