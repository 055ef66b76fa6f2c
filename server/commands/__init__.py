"""IRC commands, one module per family; importing this package fills ``COMMANDS``."""

from . import (  # noqa: F401  (each module registers its commands)
    channels,
    chanserv,
    chathistory,
    identity,
    messaging,
    modes,
    multiline,
    nickserv,
    operators,
    readmarker,
    redact,
    registration,
    search,
    server_queries,
    signin,
    users,
)
from .table import COMMANDS, Command, command

__all__ = ["COMMANDS", "Command", "command"]
