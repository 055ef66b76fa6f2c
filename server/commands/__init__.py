"""IRC commands, one module per family; importing this package fills ``COMMANDS``."""

from . import channels, messaging, registration  # noqa: F401  (they register themselves)
from .table import COMMANDS, Command, command

__all__ = ["COMMANDS", "Command", "command"]
