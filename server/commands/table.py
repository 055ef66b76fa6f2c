"""The command table: COMMAND -> handler, with the checks every command shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ..context import Context
    from ..protocol.codec import Message
    from ..sendq import ResponseBuffer
    from ..session import Session

#: A handler gets the server (its narrow context), the sender, the message, and the
#: response buffer its replies to the sender go through.
Handler = Callable[["Context", "Session", "Message", "ResponseBuffer"], None]
H = TypeVar("H", bound=Callable[..., None])

#: Flood tokens one line of these commands costs (any other line costs one, as a chat
#: line does): they answer with lists of users, channels or messages, which cost the
#: server far more than relaying a line.
COSTS: dict[str, int] = {
    "WHO": 4,
    "NAMES": 4,
    "LIST": 4,
    "CHATHISTORY": 3,
    "SEARCH": 3,
    "WHOIS": 2,
    "WHOWAS": 2,
}
#: Commands whose replies are also metered: every ``REPLY_BYTES_PER_TOKEN`` bytes sent
#: back cost one more token, at most a burst's worth per line. Only commands that
#: answer the sender alone: metering holds the replies back until the command ends,
#: which would let a JOIN's echo arrive after the channel's next message.
METERED: frozenset[str] = frozenset(
    {*COSTS, "MOTD", "HELP", "HELPOP", "INFO", "STATS", "MONITOR", "LUSERS"}
)
REPLY_BYTES_PER_TOKEN = 4096
#: Commands that put a label where their own spec says (see ``Command.own_label``).
OWN_LABEL: frozenset[str] = frozenset({"BATCH"})


@dataclass(frozen=True)
class Command:
    """A command's handler and the checks ``dispatch`` applies before calling it."""

    handler: Handler
    #: Fewer parameters than this get ERR_NEEDMOREPARAMS.
    min_params: int = 0
    #: Whether the command may be used before registration (otherwise ERR_NOTREGISTERED).
    pre_registration: bool = False
    #: Flood tokens a line of this command costs before it runs.
    cost: int = 1
    #: Whether its replies cost tokens too, by their size (after it runs).
    metered: bool = False
    #: Whether it answers a label itself (BATCH: the label goes on the multi-line
    #: message's echo, when the batch ends), instead of through ``dispatch``.
    own_label: bool = False


COMMANDS: dict[str, Command] = {}


def command(name: str, min_params: int = 0, pre_registration: bool = False) -> Callable[[H], H]:
    """Register the decorated function as the handler of ``name`` (it stays callable as
    written: a handler also called directly, with ``msg=None``, keeps its own type)."""

    def register(handler: H) -> H:
        COMMANDS[name] = Command(
            handler,
            min_params,
            pre_registration,
            COSTS.get(name, 1),
            name in METERED,
            name in OWN_LABEL,
        )
        return handler

    return register


def line_cost(raw: bytes) -> int:
    """The flood tokens a raw line costs, by its command word (tags and source skipped;
    ``dispatch`` parses the line properly later)."""
    position = 0
    for _ in range(3):
        while raw[position : position + 1] == b" ":
            position += 1
        end = raw.find(b" ", position)
        if end < 0:
            end = len(raw)
        word = raw[position:end]
        if word[:1] not in (b"@", b":"):
            entry = COMMANDS.get(word.upper().decode("latin-1"))
            return entry.cost if entry is not None else 1
        position = end
    return 1


def safe_command(command: str) -> str:
    """A command name fit to echo back in a FAIL reply, or ``*``."""
    command = command.upper()
    return command if command.isascii() and command.isalnum() else "*"
