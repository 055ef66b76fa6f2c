"""The MODE that announces an op the server gave (``Registry``'s ``Handover``): from the
server's own name, as services announce theirs, to every member of the channel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .sendq import Outgoing

if TYPE_CHECKING:
    from .registry_channels import Handover
    from .sendq import ResponseBuffer


def announce_handover(
    server_name: str, handover: Handover, reply: ResponseBuffer | None = None
) -> None:
    """``:server MODE #channel +o nick`` to every member (hold the channel's send_lock)."""
    out = Outgoing("MODE", handover.channel.name, "+o", handover.member.nick, source=server_name)
    out.deliver(handover.members, reply)


def announce_handovers(server_name: str, handovers: Iterable[Handover]) -> None:
    """Announce ops given while a connection left, each under its channel's send_lock."""
    for handover in handovers:
        with handover.channel.send_lock:
            announce_handover(server_name, handover)
