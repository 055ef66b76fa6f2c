"""Registered rooms in the channel commands: their state restored when they are made
anew, kept when ops change it, and their access given on join (see ``server/rooms.py``)."""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from ..protocol.names import casefold

if TYPE_CHECKING:
    from ..channel import Channel
    from ..context import Context
    from ..session import Session

log = logging.getLogger(__name__)


def restore_room(server: Context, channel: Channel) -> bool:
    """Give a channel made anew what its registration keeps; whether it is registered."""
    if server.rooms is None:
        return False
    room = server.rooms.find(channel.name)
    if room is None:
        return False
    server.registry.restore_room(channel, room)
    return True


def remember_room(server: Context, channel: Channel) -> None:
    """Store a registered room's modes, lists and topic as they are now (its send_lock
    held, so two changes are stored in the order they were made)."""
    if server.rooms is None or "r" not in channel.modes:
        return
    try:
        server.rooms.save(channel.name, server.registry.room_state(channel))
    except sqlite3.Error:
        log.exception("could not store the state of %s", channel.name)


def status_on_join(server: Context, client: Session, channel: Channel) -> str:
    """The prefix letters ``client``'s account has in a registered room ("" if none)."""
    account = client.account
    if server.rooms is None or account is None or "r" not in channel.modes:
        return ""
    room = server.rooms.find(casefold(channel.name))
    level = room.level_of(account.name) if room is not None else None
    return {"op": "o", "voice": "v"}.get(level or "", "")
