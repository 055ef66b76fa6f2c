"""Passwords kept in the system keyring (through the ``keyring`` library), never in the
settings file; where no keyring backend exists, kept only until Kibitz closes.

Two kinds, each tied to the server it was given for, so a password is only ever sent
where it was typed: the server password (``PASS``) and an account's password.
"""

from __future__ import annotations

import logging

import keyring
import keyring.backend
import keyring.errors

from app.settings import Settings

log = logging.getLogger("app.passwords")

#: The keyring's service name for Kibitz's entries.
SERVICE = "kibitz"


def server_key(host: str, port: int) -> str:
    """The keyring user name of a server password."""
    return f"server:{host}:{port}"


def account_key(account: str, host: str, port: int) -> str:
    """The keyring user name of an account's password on one server."""
    return f"account:{account.casefold()}@{host}:{port}"


class PasswordStore:
    """The keyring, or a dict for this run when there is none (or it fails)."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self.backend = backend if backend is not None else keyring.get_keyring()
        self._session: dict[str, str] = {}
        priority = getattr(self.backend, "priority", 0)
        # The "fail" and "null" backends are keyring's way of saying there is none.
        self.available = isinstance(priority, int | float) and priority > 0

    @property
    def where(self) -> str:
        """The keyring's name, for the sentence that says where a password goes."""
        name = getattr(self.backend, "name", "") or type(self.backend).__name__
        return str(name)

    def get(self, key: str) -> str | None:
        """The password kept under ``key``, if any."""
        if key in self._session:
            return self._session[key]
        if not self.available:
            return None
        try:
            return self.backend.get_password(SERVICE, key)
        except keyring.errors.KeyringError as exc:
            log.warning("could not read the keyring: %s", exc)
            return None

    def set(self, key: str, password: str, remember: bool = True) -> bool:
        """Keep ``password`` (in the keyring when ``remember`` and there is one); True when
        it went to the keyring, False when it is kept for this run only."""
        if remember and self.available:
            try:
                self.backend.set_password(SERVICE, key, password)
                self._session.pop(key, None)
                return True
            except keyring.errors.KeyringError as exc:
                log.warning("could not write to the keyring: %s", exc)
        self._session[key] = password
        return False

    def forget(self, key: str) -> None:
        """Forget the password kept under ``key`` (a refused one, say)."""
        self._session.pop(key, None)
        if not self.available:
            return
        try:
            self.backend.delete_password(SERVICE, key)
        except keyring.errors.PasswordDeleteError:
            pass  # there was none
        except keyring.errors.KeyringError as exc:
            log.warning("could not delete from the keyring: %s", exc)

    def migrate(self, settings: Settings) -> bool:
        """Move a server password the previous version kept in the settings file into the
        keyring and out of the file; True when one moved. Without a keyring it stays."""
        if not settings.password or not self.available:
            return False
        host, _, port = settings.password_for.rpartition(":")
        if not host or not port.isdigit():
            return False
        if not self.set(server_key(host, int(port)), settings.password):
            return False
        settings.password = settings.password_for = ""
        settings.save()
        return True
