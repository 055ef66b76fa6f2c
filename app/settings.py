"""Settings remembered between runs, stored as JSON in the platform's config directory."""

from __future__ import annotations

import getpass
import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

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


def default_nick() -> str:
    """The login name, made into a valid nick."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = ""
    return clean_nick(login)


@dataclass
class Settings:
    """What the client remembers: where it connected, as whom, and how it looked."""

    host: str = "127.0.0.1"
    port: int = 5000
    nick: str = ""
    channel: str = "#general"
    theme: str = DEFAULT_THEME

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing or damaged file gives the defaults."""
        path = path or config_dir() / "settings.json"
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
            wanted = int if item.name == "port" else str
            if isinstance(value, wanted) and not isinstance(value, bool) and value != "":
                setattr(settings, item.name, value)
        return settings

    def save(self, path: Path | None = None) -> None:
        """Write settings atomically; a failure is logged, never raised."""
        path = path or config_dir() / "settings.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not save settings to %s: %s", path, exc)
