"""The network's nick table: a Redis hash of casefolded nick -> node, changed only by
Lua scripts, so a claim is one atomic step however many nodes race for a nick."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis

from ..clustering import ClusterUnavailable

if TYPE_CHECKING:
    from .keys import Keys

#: Claim ARGV[1] for node ARGV[2] unless another node holds it.
_CLAIM = """
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if holder == false or holder == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""
#: Release ARGV[1] if node ARGV[2] holds it.
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""
#: Release every nick node ARGV[1] holds; how many there were.
_RELEASE_ALL = """
local flat = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #flat, 2 do
  if flat[i + 1] == ARGV[1] then
    redis.call('HDEL', KEYS[1], flat[i])
    n = n + 1
  end
end
return n
"""


class Nicks:
    """This node's side of the nick table (the registry's ``claims``)."""

    def __init__(self, client: Any, keys: Keys, node: str, link_up: object) -> None:
        self._redis = client
        self._node = node
        self._key = keys.nicks
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._release_all = client.register_script(_RELEASE_ALL)
        #: A callable: whether the link is up (no claim is tried while it is down).
        self._link_up = link_up
        #: Set while the node claims its users' nicks again after a split.
        self.resyncing = False

    def claim(self, key: str) -> bool:
        """Claim ``key`` for this node; raises ClusterUnavailable without Redis (and
        while the link comes back, but for the node's own claims then: ``resyncing``)."""
        if not self.resyncing and not self._link_up():  # type: ignore[operator]
            raise ClusterUnavailable
        try:
            return bool(self._claim(keys=[self._key], args=[key, self._node]))
        except redis.RedisError as exc:
            raise ClusterUnavailable from exc

    def release(self, key: str) -> None:
        """Release ``key`` if this node holds it (down: the lease's end releases it)."""
        try:
            self._release(keys=[self._key], args=[key, self._node])
        except redis.RedisError:
            pass  # held until this node re-syncs (it drops what it no longer has) or is reaped

    def holder(self, key: str) -> str | None:
        """Which node holds ``key`` now, if any."""
        value = self._redis.hget(self._key, key)
        return None if value is None else str(value)

    def release_all(self, node: str) -> int:
        """Release every nick ``node`` holds (it is gone); how many."""
        return int(self._release_all(keys=[self._key], args=[node]))

    def held(self) -> set[str]:
        """The nicks this node holds in the table."""
        table = self._redis.hgetall(self._key)
        return {key for key, node in table.items() if node == self._node}
