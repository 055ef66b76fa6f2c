"""Settings remembered between runs, stored as JSON in the platform's config directory."""

from __future__ import annotations

import getpass
import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from app.text import clean_nick

log = logging.getLogger("app.settings")

#: Set this to keep settings somewhere else (tests, portable installs).
CONFIG_ENV = "KIBITZ_CONFIG_DIR"
DEFAULT_THEME = "bootstrap-light"


def config_dir() -> Path:
    """Where settings live: ``$KIBITZ_CONFIG_DIR`` or the platform's user config dir."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("kibitz", appauthor=False))


def settings_path() -> Path:
    """The settings file."""
    return config_dir() / "settings.json"


def default_nick() -> str:
    """The login name, made into a valid nick."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = ""
    return clean_nick(login)


@dataclass
class Settings:
    """What the client remembers: where it connected, as whom, and how it looked.

    ``tls`` is remembered, accepting an unverified certificate never is; ``account`` is
    the name signed in with (its password is in the keyring, see :mod:`app.passwords`).
    ``password`` is only read: the previous version kept a server password here, and
    :meth:`app.passwords.PasswordStore.migrate` moves it to the keyring. ``channel`` is
    the channel given last on the command line (and the one a file from before
    ``conversations`` reopens).
    """

    host: str = "127.0.0.1"
    port: int = 5000
    nick: str = ""
    channel: str = "#general"
    theme: str = DEFAULT_THEME
    tls: bool = False
    account: str = ""
    password: str = ""
    password_for: str = ""  # "host:port": a password is only ever sent where it was given
    show_joins: bool = True  # joins, parts, quits and renames drawn (folded) in transcripts
    notifications: bool = True  # desktop notifications on a mention or a private message
    #: What was open at the last close, per "host:port who" (see :mod:`app.restore`).
    conversations: dict[str, Any] = field(default_factory=dict)
    send_typing: bool = True  # others are told (IRCv3 +typing) while we type to them

    def password_of(self, host: str, port: int) -> str | None:
        """The remembered password for ``host:port``, if any."""
        if self.password and self.password_for == f"{host}:{port}":
            return self.password
        return None

    def remember_password(self, host: str, port: int, password: str | None) -> None:
        """Keep (or with None, forget) the password for ``host:port`` and save."""
        self.password = password or ""
        self.password_for = f"{host}:{port}" if password else ""
        self.save()

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing or damaged file gives the defaults."""
        path = path or settings_path()
        settings = cls(nick=default_nick())
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return settings
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable settings %s: %s", path, exc)
            return settings
        if not isinstance(data, dict):
            return settings
        for item in fields(cls):
            value = data.get(item.name)
            default = getattr(settings, item.name)
            if isinstance(default, bool):
                if isinstance(value, bool):
                    setattr(settings, item.name, value)
            elif isinstance(value, type(default)) and not isinstance(value, bool) and value != "":
                setattr(settings, item.name, value)
        return settings

    def _stored(self) -> dict[str, object]:
        data = asdict(self)
        if not self.password:  # no password: not even an empty key in the file
            del data["password"], data["password_for"]
        return data

    def save(self, path: Path | None = None) -> None:
        """Write settings atomically; a failure is logged, never raised."""
        path = path or settings_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            # Owner-only from the first byte: the file may hold a password.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(self._stored(), indent=2) + "\n")
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not save settings to %s: %s", path, exc)
