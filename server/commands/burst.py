"""Numerics that read the same for every client but its nick (most of the welcome burst,
ISUPPORT, the MOTD): each line is built once per server configuration and only the
nick is put in per client."""

from __future__ import annotations

import functools

from ..protocol.codec import MAX_LINE
from ..protocol.numerics import Numeric
from ..sendq import ResponseBuffer, numeric_line

#: A numeric and its parameters after the nick.
Reply = tuple[Numeric, tuple[str, ...]]


@functools.lru_cache(maxsize=32)
def split_lines(
    server_name: str, replies: tuple[Reply, ...], nicklen: int
) -> tuple[tuple[bytes, bytes] | None, ...]:
    """Each reply's encoded line as (before the nick, after it), or None for one that a
    long nick could push over the line limit (it is then built per client)."""
    parts: list[tuple[bytes, bytes] | None] = []
    for numeric, params in replies:
        line = numeric_line(server_name, "*", numeric, params)
        head = f":{server_name} {numeric.code} ".encode()
        fits = len(line) - 1 + nicklen <= MAX_LINE
        whole = line.startswith(head + b"* ") and fits
        parts.append((head, line[len(head) + 1 :]) if whole else None)
    return tuple(parts)


def send_fixed(reply: ResponseBuffer, nicklen: int, replies: tuple[Reply, ...]) -> None:
    """Send ``replies`` to the client of ``reply``, each built once per configuration
    (and all of them handed to its queue at once)."""
    nick = reply.client.nick
    encoded = nick.encode()
    lines: list[bytes] = []
    for (numeric, params), parts in zip(
        replies, split_lines(reply.server_name, replies, nicklen), strict=True
    ):
        if parts is None or len(encoded) > nicklen:
            lines.append(numeric_line(reply.server_name, nick, numeric, params))
        else:
            lines.append(parts[0] + encoded + parts[1])
    reply.send_lines(b"".join(lines))
