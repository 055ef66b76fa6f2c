"""``python -m server.cluster status``: the nodes of a network, as Redis knows them."""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

from .keys import Keys


class NodeStatus(NamedTuple):
    """One node as the network's tables show it."""

    name: str
    address: str
    users: int
    #: Seconds since its lease was last renewed, or None when the lease is gone.
    lease_age: float | None


def read_status(client: Any, prefix: str, now: float | None = None) -> list[NodeStatus]:
    """Every node in the table of nodes, by name: alive (a lease) or dead (none, not yet
    reaped)."""
    keys = Keys(prefix)
    now = time.time() if now is None else now
    rows = []
    for name, text in sorted(client.hgetall(keys.nodes).items()):
        about = json.loads(text)
        lease = client.get(keys.lease(name))
        age = None if lease is None else max(0.0, now - float(json.loads(lease)["renewed"]))
        address = f"{about.get('host', '?')}:{about.get('port', '?')}"
        rows.append(NodeStatus(name, address, int(client.hlen(keys.users(name))), age))
    return rows


def format_status(rows: list[NodeStatus]) -> str:
    """The table ``status`` prints."""
    if not rows:
        return "no nodes\n"
    lines = [f"{'node':<16} {'address':<24} {'users':>6}  lease"]
    for row in rows:
        lease = "dead (not reaped yet)" if row.lease_age is None else f"{row.lease_age:.1f} s ago"
        lines.append(f"{row.name:<16} {row.address:<24} {row.users:>6}  {lease}")
    return "\n".join(lines) + "\n"
