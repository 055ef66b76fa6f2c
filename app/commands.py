"""What the user typed, parsed: plain text to send or a slash command. Pure functions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: Every command: name -> (usage, what it does). Aliases below map to these names.
HELP: dict[str, tuple[str, str]] = {
    "join": ("/join #channel [key]", "join a channel (and open it)"),
    "part": ("/part [#channel] [reason]", "leave a channel (the open one by default)"),
    "msg": ("/msg nick message", "send a private message"),
    "query": ("/query nick [message]", "open a private conversation"),
    "me": ("/me action", "describe an action: /me waves → * alice waves"),
    "nick": ("/nick newname", "change your name"),
    "topic": ("/topic [#channel] [new topic]", "show or set the channel topic"),
    "away": ("/away [message]", "mark yourself away"),
    "back": ("/back", "mark yourself back"),
    "whois": ("/whois nick", "show who someone is"),
    "names": ("/names [#channel]", "list the people in a channel"),
    "notice": ("/notice target message", "send a notice"),
    "close": ("/close", "close the open conversation (parts a channel)"),
    "clear": ("/clear", "clear the open conversation's window"),
    "raw": ("/raw LINE · /raw on|off", "send a raw IRC line; on/off: show the server's raw lines"),
    "quit": ("/quit [message]", "disconnect and close the window"),
    "help": ("/help [command]", "show this help"),
}
ALIASES = {
    "j": "join",
    "leave": "part",
    "m": "msg",
    "q": "query",
    "quote": "raw",
    "exit": "quit",
    "action": "me",
}


class CommandError(ValueError):
    """The input cannot be sent as typed; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed input line: ``name`` is ``say`` for plain text, else a key of :data:`HELP`."""

    name: str
    target: str = ""
    text: str = ""
    key: str = ""


def _usage(name: str) -> str:
    return f"Usage: {HELP[name][0]} — {HELP[name][1]}"


def _is_channel(name: str, chantypes: str) -> bool:
    return bool(name) and name[0] in chantypes


def _check_name(name: str, what: str) -> str:
    if not name or any(c in name for c in " ,\0\r\n") or name.startswith(":"):
        raise CommandError(f"{name!r} is not a valid {what}")
    return name


def parse_input(line: str, current: str = "", chantypes: str = "#&") -> Command:
    """Parse one line typed into the message entry, ``current`` being the open conversation.

    Raises :class:`CommandError` with a helpful text for anything that cannot be sent.
    """
    if not line.strip():
        raise CommandError("")
    if not line.startswith("/") or line.startswith("//"):
        text = line[1:] if line.startswith("//") else line
        if not current:
            raise CommandError(
                "This is the server window: open a channel (/join #name) or a conversation "
                "(/query nick) to talk."
            )
        return Command("say", current, text)
    word, _, rest = line[1:].partition(" ")
    name = ALIASES.get(word.lower(), word.lower())
    rest = rest.strip()
    parser = _PARSERS.get(name)
    if parser is None:
        raise CommandError(f"Unknown command /{word}. Type /help to see the commands.")
    return parser(rest, current, chantypes)


def _need_current(current: str, name: str) -> str:
    if not current:
        raise CommandError(f"/{name} needs an open channel or conversation. {_usage(name)}")
    return current


def _join(rest: str, current: str, chantypes: str) -> Command:
    if not rest:
        raise CommandError(_usage("join"))
    channel, _, key = rest.partition(" ")
    if not _is_channel(channel, chantypes):
        channel = chantypes[0] + channel
    return Command("join", _check_name(channel, "channel name"), key=key.strip())


def _part(rest: str, current: str, chantypes: str) -> Command:
    first, _, reason = rest.partition(" ")
    if _is_channel(first, chantypes):
        return Command("part", first, reason.strip())
    if not _is_channel(current, chantypes):
        raise CommandError(f"You are not in a channel here. {_usage('part')}")
    return Command("part", current, rest)


#: What turns the rest of a /command into a Command: (rest, current, chantypes).
Parser = Callable[[str, str, str], Command]


def _target_and_text(name: str, need_text: bool) -> Parser:
    def parse(rest: str, current: str, chantypes: str) -> Command:
        target, _, text = rest.partition(" ")
        if not target or (need_text and not text.strip()):
            raise CommandError(_usage(name))
        return Command(name, _check_name(target, "nick or channel"), text.strip())

    return parse


def _me(rest: str, current: str, chantypes: str) -> Command:
    if not rest:
        raise CommandError(_usage("me"))
    return Command("me", _need_current(current, "me"), rest)


def _nick(rest: str, current: str, chantypes: str) -> Command:
    if not rest or " " in rest:
        raise CommandError(_usage("nick"))
    if _is_channel(rest, chantypes) or rest[0].isdigit() or rest[0] == "-":
        raise CommandError(f"{rest!r} cannot be a name: it must not start with {rest[0]!r}")
    return Command("nick", _check_name(rest, "name"))


def _topic(rest: str, current: str, chantypes: str) -> Command:
    first, _, text = rest.partition(" ")
    if _is_channel(first, chantypes):
        return Command("topic", first, text.strip())
    if not _is_channel(current, chantypes):
        raise CommandError(f"You are not in a channel here. {_usage('topic')}")
    return Command("topic", current, rest)


def _one_nick(name: str) -> Parser:
    def parse(rest: str, current: str, chantypes: str) -> Command:
        if not rest or " " in rest:
            raise CommandError(_usage(name))
        return Command(name, _check_name(rest, "nick"))

    return parse


def _names(rest: str, current: str, chantypes: str) -> Command:
    channel = rest or current
    if not _is_channel(channel, chantypes):
        raise CommandError(_usage("names"))
    return Command("names", channel)


def _text_only(name: str, default: str = "") -> Parser:
    def parse(rest: str, current: str, chantypes: str) -> Command:
        return Command(name, current, rest or default)

    return parse


def _raw(rest: str, current: str, chantypes: str) -> Command:
    if not rest:
        raise CommandError(_usage("raw"))
    if rest.lower() in ("on", "off"):  # no IRC command is called ON or OFF
        return Command("raw", rest.lower())
    return Command("raw", text=rest)


def _help(rest: str, current: str, chantypes: str) -> Command:
    return Command("help", text=rest.lstrip("/").lower())


_PARSERS: dict[str, Parser] = {
    "join": _join,
    "part": _part,
    "msg": _target_and_text("msg", need_text=True),
    "notice": _target_and_text("notice", need_text=True),
    "query": _target_and_text("query", need_text=False),
    "me": _me,
    "nick": _nick,
    "topic": _topic,
    "away": _text_only("away", "Away"),
    "back": _text_only("back"),
    "whois": _one_nick("whois"),
    "names": _names,
    "close": _text_only("close"),
    "clear": _text_only("clear"),
    "raw": _raw,
    "quit": _text_only("quit", "Leaving"),
    "help": _help,
}


def help_lines(topic: str = "") -> list[str]:
    """The lines /help shows: every command, or the usage of one."""
    if topic:
        name = ALIASES.get(topic, topic)
        if name not in HELP:
            return [f"No command /{topic}. Type /help to see the commands."]
        return [_usage(name)]
    lines = ["Commands:"]
    lines += [f"  {usage:<30} {text}" for usage, text in HELP.values()]
    lines.append("Keys: Enter sends · Up/Down recall sent lines · Tab completes names")
    lines.append("Start a line with // to send a message that begins with /.")
    return lines


def complete(word: str, candidates: list[str]) -> list[str]:
    """Candidates that start with ``word`` (case-insensitively), in a stable order."""
    if not word:
        return []
    low = word.lower()
    seen: dict[str, str] = {}
    for candidate in candidates:
        if candidate.lower().startswith(low) and candidate.lower() not in seen:
            seen[candidate.lower()] = candidate
    return sorted(seen.values(), key=str.lower)


@dataclass
class Completion:
    """A Tab completion in progress: the text before it, the word's span, the choices."""

    original: str
    start: int
    end: int
    matches: list[str]
    suffix: str
    index: int = 0
    shown: tuple[str, int] = ("", 0)


#: The names to complete a word from, and what follows a chosen one: given the word and
#: whether it starts the line.
Candidates = Callable[[str, bool], tuple[list[str], str]]


def complete_step(
    text: str, cursor: int, state: Completion | None, candidates: Candidates
) -> Completion | None:
    """Tab in ``text`` at ``cursor``: the completion it shows (its ``shown`` is the new text
    and cursor; no ``matches``: nothing fits), or None when there is no word to complete.
    Tab again on what ``state`` showed cycles to its next match."""
    if state is not None and state.shown == (text, cursor):
        state.index = (state.index + 1) % len(state.matches)
    else:
        start = cursor
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        word = text[start:cursor]
        if not word:
            return None
        names, suffix = candidates(word, start == 0)
        state = Completion(text, start, cursor, complete(word, names), suffix)
        if not state.matches:
            return state
    before = state.original[: state.start]
    after = state.original[state.end :]
    if after.startswith(" "):
        after = after[1:]
    inserted = state.matches[state.index] + state.suffix
    state.shown = (before + inserted + after, len(before) + len(inserted))
    return state
