"""Liveness: this node's lease, and clearing away the nodes whose lease ran out.

Every ``refresh`` seconds a timer thread renews the lease (a key that expires after
``ttl`` seconds) and the node's entry in the table of nodes, then looks at the others':
a node in the table whose lease is gone is dead. One node (whoever wins a SET NX lock
for it) releases its nicks, forgets its users and publishes one ``split`` event, on
which every node shows that node's users quitting with ``*.net *.split``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

from .rooms import leave as leave_channel

if TYPE_CHECKING:
    from .keys import Keys
    from .link import Link
    from .nicks import Nicks

log = logging.getLogger("server.cluster")


class Lease:
    """The timer thread that keeps this node alive and reaps the dead."""

    def __init__(
        self,
        link: Link,
        keys: Keys,
        nicks: Nicks,
        node: str,
        about: dict[str, Any],
        ttl: float,
        refresh: float,
        on_failure: Callable[[], None],
    ) -> None:
        self._link = link
        self._keys = keys
        self._nicks = nicks
        self._node = node
        self._about = about
        self._ttl_ms = max(1, int(ttl * 1000))
        self._refresh = refresh
        self._on_failure = on_failure
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kibitz-lease", daemon=True)

    def renew(self) -> None:
        """Renew the lease and this node's entry now (raises redis.RedisError)."""
        about = dict(self._about, renewed=time.time())
        with self._link.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.lease(self._node), json.dumps(about), px=self._ttl_ms)
            pipe.hset(self._keys.nodes, self._node, json.dumps(about))
            # Alive again after being reaped: the next death is reaped too.
            pipe.delete(self._keys.reaping(self._node))
            pipe.execute()

    def start(self) -> None:
        """Start the timer thread (the lease is renewed at once, then every refresh)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (the lease itself is removed by ``leave``)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._refresh + 3)

    def leave(self) -> None:
        """Take this node out of the network's tables now (a clean shutdown)."""
        self._link.redis.delete(self._keys.lease(self._node))
        clear_node(self._link, self._keys, self._nicks, self._node)

    def _run(self) -> None:
        while not self._stop.wait(self._refresh):
            if not self._link.up():
                continue  # the link reconnects and renews on its way back
            try:
                self.renew()
                self.reap()
            except (redis.RedisError, OSError) as exc:
                log.warning("cannot renew this node's lease: %s", exc)
                self._on_failure()

    def reap(self) -> list[str]:
        """Clear away every node whose lease is gone (those this node won); their names."""
        keys, redis_ = self._keys, self._link.redis
        reaped = []
        for node in redis_.hkeys(keys.nodes):
            if node == self._node or redis_.exists(keys.lease(node)):
                continue
            if not redis_.set(keys.reaping(node), self._node, nx=True, px=self._ttl_ms * 3):
                continue  # another node is reaping it
            clear_node(self._link, keys, self._nicks, node)
            reaped.append(node)
            log.info("node %s is gone (its lease ran out)", node)
        return reaped


def clear_node(link: Link, keys: Keys, nicks: Nicks, node: str) -> None:
    """Release a node's nicks and memberships (the channels nobody is left in go from
    the channels hash), forget its users and tell every node it is gone."""
    nicks.release_all(node)
    users = link.redis.hgetall(keys.users(node))
    with link.redis.pipeline(transaction=True) as pipe:
        for text in users.values():
            state = json.loads(text)
            for channel in state.get("channels", {}):
                leave_channel(pipe, keys.members(channel), keys.rooms, channel, state["token"])
        pipe.delete(keys.users(node))
        pipe.hdel(keys.nodes, node)
        pipe.execute()
    link.publish(keys.events, {"t": "split", "n": node})
