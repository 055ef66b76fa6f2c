"""Registered rooms in the channel commands: their state restored when they are made
anew, kept when ops change it (the change refused when it cannot be kept), and their
access given on join (see ``server/rooms.py``)."""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from ..accounts import StoreUnavailable
from ..protocol.names import casefold

if TYPE_CHECKING:
    from ..channel import Channel
    from ..context import Context
    from ..registry_channels import RoomSnapshot
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


def remember_room(server: Context, channel: Channel, before: RoomSnapshot | None) -> bool:
    """Store a registered room's modes, lists and topic as a change left them; whether
    the change stands. ``before`` is the room before it (``Registry.room_snapshot``,
    None: not registered), taken under the send_lock still held, so two changes are
    stored in the order they were made.

    A change that cannot be stored (the database unreachable, or the SQLite file not
    writable) is undone and False returned: the caller refuses it and announces nothing,
    so no change anyone was told of is lost at the next restart.
    """
    if server.rooms is None or before is None:
        return True
    state = server.registry.room_state(channel)
    if state == before.state:
        return True  # nothing the room keeps changed (a prefix mode): nothing to store
    try:
        server.rooms.save(channel.name, state)
    except (StoreUnavailable, sqlite3.Error) as exc:
        if isinstance(exc, sqlite3.Error):  # an outage is logged once by the backend
            log.warning("could not store the state of %s (%s): change refused", channel.name, exc)
        server.registry.roll_back(channel, before)
        return False
    except BaseException:
        server.registry.roll_back(channel, before)  # announced to nobody: undone too
        raise
    return True


def status_on_join(server: Context, client: Session, channel: Channel) -> str:
    """The prefix letters ``client``'s account has in a registered room ("" if none)."""
    account = client.account
    if server.rooms is None or account is None or "r" not in channel.modes:
        return ""
    room = server.rooms.find(casefold(channel.name))
    level = room.level_of(account.name) if room is not None else None
    return {"op": "o", "voice": "v"}.get(level or "", "")
