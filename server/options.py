"""Options declared once: a dataclass field carries its flags and help, and the command
line is derived from the dataclass.

A field becomes an option when its metadata holds an :func:`option`; fields without one
(tests and code set them) stay off the command line. The parser adds the options in
field order, each in its help group, so the dataclass reads like ``--help``; a key per
option (the field name) is what a settings file would use too.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_KEY = "option"


@dataclass(frozen=True)
class Option:
    """How one dataclass field appears on the command line."""

    flags: tuple[str, ...]
    help: str | None = None
    #: The help section ("TLS", "limits"...); None: the main list.
    group: str | None = None
    metavar: str | None = None
    #: An argparse action ("store_true", "append", ...); None: takes one value.
    action: str | None = None
    #: What turns the text into the parsed value; None: the field's type (int, float, str).
    type: Callable[[str], Any] | None = None
    #: The parser's default from the field's (a list joined into a text, say).
    parser_default: Callable[[Any], Any] | None = None
    #: Turns the parsed value into the field's value (may raise ValueError or OSError).
    convert: Callable[[Any], Any] | None = None
    #: A switch that leaves the field None whatever else is given, and its help.
    off: tuple[str, str] | None = None


def option(*flags: str, **how: Any) -> dict[str, Option]:
    """Field metadata declaring the field an option: ``field(metadata=option("--port"))``."""
    return {_KEY: Option(flags, **how)}


def declared(cls: type) -> list[tuple[dataclasses.Field, Option]]:
    """The fields of ``cls`` that are options, in declaration order, with their options."""
    return [(f, f.metadata[_KEY]) for f in dataclasses.fields(cls) if _KEY in f.metadata]


def add_options(parser: argparse.ArgumentParser, cls: type, defaults: object) -> None:
    """Add an argument to ``parser`` for each option of ``cls``; ``defaults`` (an instance)
    gives the defaults that ``%(default)s`` shows."""
    hints = typing.get_type_hints(cls)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for item, how in declared(cls):
        target: Any = parser
        if how.group is not None:
            if how.group not in groups:
                groups[how.group] = parser.add_argument_group(how.group)
            target = groups[how.group]
        default = getattr(defaults, item.name)
        if how.parser_default is not None:
            default = how.parser_default(default)
        extra: dict[str, Any] = {"dest": item.name, "help": how.help, "default": default}
        if how.metavar is not None:
            extra["metavar"] = how.metavar
        if how.action is not None:
            extra["action"] = how.action
        if how.action in (None, "append"):
            extra["type"] = how.type or _value_type(hints[item.name])
        target.add_argument(*how.flags, **extra)
        if how.off is not None:
            flag, text = how.off
            target.add_argument(flag, action="store_true", dest=_off(item.name), help=text)


def values(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The field values the parsed ``args`` give for the options of ``cls`` (converted)."""
    out: dict[str, Any] = {}
    for item, how in declared(cls):
        if how.off is not None and getattr(args, _off(item.name)):
            out[item.name] = None
            continue
        value = getattr(args, item.name)
        out[item.name] = how.convert(value) if how.convert is not None else value
    return out


def _off(name: str) -> str:
    return f"{name}__off"


def _value_type(hint: Any) -> Callable[[str], Any]:
    """int, float or str from a field's type (``int | None`` gives int)."""
    for kind in (int, float):
        if hint is kind or kind in typing.get_args(hint):
            return kind
    return str
