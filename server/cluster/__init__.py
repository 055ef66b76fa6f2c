"""Several Kibitz servers as one IRC network, through Redis (``--cluster``).

Imported only when a server is started with ``--cluster`` (``redis`` with it); see
``node.py`` for the whole and each module for its one job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis

from ..clustering import ClusterUnavailable
from .node import Node

if TYPE_CHECKING:
    from ..context import Context


def join_network(server: Context, host: str, port: int) -> Node:
    """Make ``server`` a node of the network its configuration names, its state loaded;
    raises ClusterUnavailable when Redis cannot be used."""
    node = Node(server, host, port)
    try:
        node.start()
    except (redis.RedisError, OSError) as exc:
        node.link.stop()
        node.link.close()
        raise ClusterUnavailable(
            f"cannot join the network at {server.config.cluster}: {exc}"
        ) from exc
    return node
