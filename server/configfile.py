"""Configuration files: ``python -m server --config kibitz.toml``.

A file is TOML with one top-level key per command-line option, the option's field name
on :class:`Config` (``--max-per-ip`` is ``max_per_ip``): a string, a number or true/false
as the option takes, and an array for an option that may be given several times
(``opers``, ``exempt``) or takes a comma-separated list (``autojoin``). An option with an
off switch takes ``false`` for it. A relative path is taken from the file's directory.

The settings are layered: the defaults, then the file, then the command line, which
replaces what the file says key by key (a list included: it is not added to). The
command line's part is kept on the :class:`Config`, so a REHASH reads the file again
under the same command line.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config
from .options import Option, declared, field_value, off_name, parser_defaults, value_type


class ConfigError(ValueError):
    """Settings that cannot be used; the message names the file, the line and the key."""


@dataclass
class FileSettings:
    """What one configuration file sets, in the command line's parsed form."""

    path: str
    text: str
    #: Field name (or an off switch's name, see ``off_name``) -> parsed value.
    values: dict[str, Any]

    def where(self, key: str) -> str:
        """``path:line: key: ``, the start of a message about ``key`` in this file."""
        # A bare key is shown as it is, any other (quoted in the file) as Python quotes it.
        shown = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else repr(key)
        name = re.escape(key)
        quoted = rf"(?:{name}|\"{name}\"|'{name}')"
        pattern = rf"^[ \t]*(?:{quoted}[ \t]*=|\[+[ \t]*{quoted}[ \t]*\])"
        found = re.search(pattern, self.text, re.MULTILINE)
        if found is None:
            return f"{self.path}: {shown}: "
        line = self.text.count("\n", 0, found.start()) + 1
        return f"{self.path}:{line}: {shown}: "


def read(path: str) -> FileSettings:
    """Read and check the configuration file at ``path``; ConfigError if it is unusable."""
    # Imported here: a server started without a file never loads the parser.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the same parser, published for older Pythons
        import tomli as tomllib

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
        table = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    settings = FileSettings(path, text, {})
    options = {item.name: how for item, how in declared(Config)}
    hints = typing.get_type_hints(Config)
    base = Path(path).parent
    for key, value in table.items():
        how = options.get(key)
        if how is None:
            raise ConfigError(
                f"{settings.where(key)}unknown key (python -m server --print-config "
                "lists every key)"
            )
        settings.values.update(_parsed(key, how, hints[key], value, base, settings.where(key)))
    return settings


def load(path: str | None, command_line: Mapping[str, Any]) -> Config:
    """The settings: the defaults, then the file at ``path`` (if any), then
    ``command_line`` (what ``options.given`` found); ConfigError if they are unusable."""
    layered = parser_defaults(Config, Config())
    settings = read(path) if path is not None else None
    from_file = dict(settings.values) if settings is not None else {}
    for name in command_line:
        # Given on the command line, an option replaces the file's value, off switch included.
        for item, how in declared(Config):
            if name in (item.name, off_name(item.name)):
                from_file.pop(item.name, None)
                if how.off is not None:
                    from_file.pop(off_name(item.name), None)
    layered.update(from_file)
    layered.update(command_line)
    fields: dict[str, Any] = {}
    for item, how in declared(Config):
        try:
            fields[item.name] = field_value(item.name, how, layered)
        except (ValueError, OSError) as exc:
            prefix = ""
            if settings is not None and {item.name, off_name(item.name)} & from_file.keys():
                prefix = settings.where(item.name)
            if isinstance(exc, OSError):
                what = prefix or f"{how.flags[-1]}: "
                raise ConfigError(f"{what}cannot read the file: {exc}") from None
            raise ConfigError(f"{prefix}{exc}") from None
    return Config(**fields, config_file=path, command_line=dict(command_line))


def _parsed(key: str, how: Option, hint: Any, value: Any, base: Path, where: str) -> dict[str, Any]:
    """One key's value in the command line's parsed form (checked), by name."""
    if how.off is not None and value is False:
        return {off_name(key): True}
    if how.action in ("store_true", "store_false"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}expected true or false, not {_kind(value)}")
        return {key: value}
    kind = value_type(how, hint)
    if how.action == "append":
        if not isinstance(value, list):
            raise ConfigError(f"{where}expected an array, not {_kind(value)}")
        return {key: [_scalar(how, kind, item, base, where) for item in value]}
    if isinstance(value, list) and how.parser_default is not None:
        # A list the command line takes as one text (autojoin's "#a,#b"): joined the same way.
        return {key: how.parser_default([_scalar(how, kind, item, base, where) for item in value])}
    return {key: _scalar(how, kind, value, base, where)}


def _scalar(how: Option, kind: Any, value: Any, base: Path, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        ok = False
    elif kind is int:
        ok = isinstance(value, int)
    elif kind is float:
        ok = isinstance(value, (int, float))
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        wanted = {int: "an integer", float: "a number"}.get(kind, "a string")
        raise ConfigError(f"{where}expected {wanted}, not {_kind(value)}")
    if how.path:
        value = str(base / Path(value).expanduser())  # an absolute path stays itself
    if kind not in (int, float, str):
        try:
            value = kind(value)
        except ValueError as exc:
            raise ConfigError(f"{where}{exc}") from None
    if how.choices is not None and value not in how.choices:
        raise ConfigError(f"{where}expected one of {', '.join(how.choices)}, not {value!r}")
    return value


def _kind(value: Any) -> str:
    """How a TOML value is named in a message."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def example() -> str:
    """A configuration file naming every key with its default (or an example value),
    each line commented out under the option's help (``python -m server --print-config``)."""
    defaults = Config()
    shown = parser_defaults(Config, defaults)
    hints = typing.get_type_hints(Config)
    lines = [
        "# Kibitz server configuration: python -m server --config kibitz.toml",
        "# Each key is the command-line option of the same name (python -m server --help);",
        "# an option given on the command line overrides the file's key. Uncomment a line to",
        "# change it; relative paths are taken from this file's directory. An operator's",
        "# REHASH, or SIGHUP, reads the file again.",
    ]
    group: str | None = ""
    for item, how in declared(Config):
        if how.group != group:
            group = how.group
            lines += ["", f"# --- {group or 'server'} ---"]
        value = shown[item.name]
        text = (how.help or "") % {"default": value}  # as --help says it
        if isinstance(value, str) and typing.get_origin(hints[item.name]) is list:
            value = getattr(defaults, item.name)  # an array reads better than "#a,#b"
        if value in (None, []) and how.example is not None:
            value = how.example
            text += " (not set by default)"
        if how.action == "store_false":
            text = f"false: {text}"  # the help of a --no-... switch
        if how.off is not None:
            text += f"; false: {how.off[1]}"
        lines.append("")
        lines += textwrap.wrap(text, 88, initial_indent="# ", subsequent_indent="# ")
        lines.append(f"# {item.name} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    """``value`` written as TOML (strings, numbers, booleans and arrays of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
