"""MONITOR notifications: who watches a nick hears when it comes online or leaves.

Below both the core (which tells watchers when a connection ends) and the commands
(NICK, registration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .protocol.names import casefold
from .protocol.numerics import RPL_MONOFFLINE, RPL_MONONLINE

if TYPE_CHECKING:
    from .registry import Registry
    from .session import Session


def notify_online(registry: Registry, client: Session) -> None:
    """Tell everyone who MONITORs ``client``'s nick that it is online."""
    for watcher in registry.watching(client.key or ""):
        watcher.numeric(RPL_MONONLINE, client.source)


def notify_offline(registry: Registry, nick: str) -> None:
    """Tell everyone who MONITORs ``nick`` that it went offline."""
    for watcher in registry.watching(casefold(nick)):
        watcher.numeric(RPL_MONOFFLINE, nick)
