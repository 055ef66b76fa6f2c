"""The command table: COMMAND -> handler, with the checks every command shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..client import Client
    from ..codec import Message
    from ..server import ChatServer

Handler = Callable[["ChatServer", "Client", "Message"], None]


@dataclass(frozen=True)
class Command:
    """A command's handler and the checks ``dispatch`` applies before calling it."""

    handler: Handler
    #: Fewer parameters than this get ERR_NEEDMOREPARAMS.
    min_params: int = 0
    #: Whether the command may be used before registration (otherwise ERR_NOTREGISTERED).
    pre_registration: bool = False


COMMANDS: dict[str, Command] = {}


def command(
    name: str, min_params: int = 0, pre_registration: bool = False
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``name``."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(handler, min_params, pre_registration)
        return handler

    return register
