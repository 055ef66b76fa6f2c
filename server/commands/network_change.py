"""A user's MODE or TOPIC change in a network of nodes: committed as the channel's next
version in Redis (``ClusterHook.commit_channel``) before anyone is told of it, applied
again to the newer state when another node changed the channel first, refused when
the network cannot be reached. Without a network the change is simply made."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .outage import unreachable

if TYPE_CHECKING:
    from ..channel import Channel
    from ..context import Context
    from ..registry_channels import RoomSnapshot
    from ..sendq import ResponseBuffer
    from ..session import Session

T = TypeVar("T")

#: Times a change is applied again when another node changed the channel first (each
#: time, a change of another node went ahead, or one that had waited for its turn).
COMMIT_TRIES = 20
#: Failed tries after which a change asks for the channel's next turn, so a node whose
#: changes keep losing to a busier one's gets through (``ClusterHook.commit_channel``).
INSIST_AFTER = 2


def change_channel(
    server: Context,
    client: Session,
    channel: Channel,
    verb: str,
    change: Callable[[], T],
    args_of: Callable[[T], list[str] | None],
    reply: ResponseBuffer,
) -> tuple[T, RoomSnapshot | None] | None:
    """Make ``change`` to ``channel`` (its send_lock held; ``args_of`` its MODE or TOPIC
    parameters, None: nothing changed) and commit it to the network: what it returned
    and the registered room before it (``Registry.room_snapshot``), or None when it
    was refused (and answered)."""
    registry, cluster = server.registry, server.cluster
    if cluster is None:
        before = registry.room_snapshot(channel)
        return change(), before
    insisted = False
    try:
        for attempt in range(COMMIT_TRIES):
            before = registry.room_snapshot(channel)
            shared = registry.channel_snapshot(channel)
            result = change()
            args = args_of(result)
            if args is None:
                return result, before
            insisted = insisted or attempt >= INSIST_AFTER
            committed = cluster.commit_channel(channel, shared, client.source, verb, args, insisted)
            if committed:
                insisted = False  # the commit gave the turn back
                return result, before
            if committed is None:
                break
    finally:
        if insisted:  # it ends without being committed: the others need not wait
            cluster.gave_up(channel)
    unreachable(server, verb, channel.name, reply)
    return None


def unsaved_in_network(server: Context, channel: Channel, source: str, verb: str) -> None:
    """A committed change a registered room could not store was undone here: the
    network takes the channel's state back too (nobody is told of it again)."""
    if server.cluster is not None:
        server.cluster.channel_changed(channel, source, verb, [])
