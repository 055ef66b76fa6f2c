"""Options declared once: a dataclass field carries its flags and help, and the command
line is derived from the dataclass.

A field becomes an option when its metadata holds an :func:`option`; fields without one
(tests and code set them) stay off the command line. The parser adds the options in
field order, each in its help group, so the dataclass reads like ``--help``; the field
name is the option's key in a configuration file (``server.configfile``).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable, Mapping
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
    #: The values the option accepts (after ``type``); None: any.
    choices: tuple[str, ...] | None = None
    #: The value is a file or directory: a configuration file's relative path is taken
    #: from the file's own directory.
    path: bool = False
    #: A value shown in the example configuration file when the default is None.
    example: Any = None


def option(*flags: str, **how: Any) -> dict[str, Option]:
    """Field metadata declaring the field an option: ``field(metadata=option("--port"))``."""
    return {_KEY: Option(flags, **how)}


def declared(cls: type) -> list[tuple[dataclasses.Field, Option]]:
    """The fields of ``cls`` that are options, in declaration order, with their options."""
    return [(f, f.metadata[_KEY]) for f in dataclasses.fields(cls) if _KEY in f.metadata]


def add_options(parser: argparse.ArgumentParser, cls: type, defaults: object | None) -> None:
    """Add an argument to ``parser`` for each option of ``cls``; ``defaults`` (an instance)
    gives the defaults that ``%(default)s`` shows. With ``defaults`` None, an option not on
    the command line is left out of the parsed namespace (what was given, see
    :func:`given`)."""
    hints = typing.get_type_hints(cls)
    groups: dict[str, argparse._ArgumentGroup] = {}
    parsed = parser_defaults(cls, defaults) if defaults is not None else {}
    for item, how in declared(cls):
        target: Any = parser
        if how.group is not None:
            if how.group not in groups:
                groups[how.group] = parser.add_argument_group(how.group)
            target = groups[how.group]
        default = parsed.get(item.name, argparse.SUPPRESS)
        extra: dict[str, Any] = {"dest": item.name, "help": how.help, "default": default}
        if how.metavar is not None:
            extra["metavar"] = how.metavar
        if how.action is not None:
            extra["action"] = how.action
        if how.action in (None, "append"):
            extra["type"] = value_type(how, hints[item.name])
        if how.choices is not None:
            extra["choices"] = how.choices
        target.add_argument(*how.flags, **extra)
        if how.off is not None:
            flag, text = how.off
            off_default = False if defaults is not None else argparse.SUPPRESS
            target.add_argument(
                flag, action="store_true", dest=off_name(item.name), help=text, default=off_default
            )


def parser_defaults(cls: type, defaults: object) -> dict[str, Any]:
    """What the parser gives for each option of ``cls`` when the command line is empty:
    the field's default in the parser's form (before ``convert``), by field name."""
    out: dict[str, Any] = {}
    for item, how in declared(cls):
        default = getattr(defaults, item.name)
        if how.parser_default is not None:
            default = how.parser_default(default)
        out[item.name] = default
    return out


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The options of ``cls`` that ``args`` (parsed with ``defaults`` None) holds, in the
    parser's form: what the command line gave, off switches under :func:`off_name`."""
    names = {item.name for item, _ in declared(cls)}
    names |= {off_name(item.name) for item, how in declared(cls) if how.off is not None}
    return {name: value for name, value in vars(args).items() if name in names}


def values(cls: type, args: argparse.Namespace | Mapping[str, Any]) -> dict[str, Any]:
    """The field values the parsed ``args`` give for the options of ``cls`` (converted)."""
    parsed = args if isinstance(args, Mapping) else vars(args)
    return {item.name: field_value(item.name, how, parsed) for item, how in declared(cls)}


def field_value(name: str, how: Option, parsed: Mapping[str, Any]) -> Any:
    """One option's field value from parser-form ``parsed`` (converted; may raise)."""
    if how.off is not None and parsed.get(off_name(name)):
        return None
    value = parsed[name]
    return how.convert(value) if how.convert is not None else value


def off_name(name: str) -> str:
    """Where the parsed values say that the option ``name``'s off switch was given."""
    return f"{name}__off"


def value_type(how: Option, hint: Any) -> Callable[[str], Any]:
    """What turns one command-line text into the option's parsed value."""
    return how.type or _value_type(hint)


def _value_type(hint: Any) -> Callable[[str], Any]:
    """int, float or str from a field's type (``int | None`` gives int)."""
    for kind in (int, float):
        if hint is kind or kind in typing.get_args(hint):
            return kind
    return str
