"""The channels hash (``Keys.rooms``) holds a channel's state only while someone in the
network is in it: its entry is written only while the channel's members hash has a
member, and removed in the same step as the last member of the network leaves (a PART,
a QUIT, a KICK, a node stopping or reaped; ``node``'s commit script, which stores each
new version of a channel's state, keeps the same rule). Both are Lua scripts, so a join on one node
racing the last part on another either keeps the entry or makes it afresh."""

from __future__ import annotations

from typing import Any

#: Take member ARGV[2] out of channel ARGV[1]'s members (KEYS[1]); when nobody in the
#: network is left there, drop its entry of the channels hash (KEYS[2]). 1 if dropped.
LEAVE = """
redis.call('HDEL', KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

#: Save channel ARGV[1]'s state ARGV[2] in the channels hash (KEYS[2]) while it has a
#: member in the network (KEYS[1], its members); else drop its entry. 1 if saved.
SAVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  return 1
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 0
"""


def leave(pipe: Any, members: str, rooms: str, key: str, token: str) -> None:
    """Queue on ``pipe``: member ``token`` leaves channel ``key`` (see :data:`LEAVE`)."""
    pipe.eval(LEAVE, 2, members, rooms, key, token)


def save(pipe: Any, members: str, rooms: str, key: str, state: str) -> None:
    """Queue on ``pipe``: channel ``key``'s state, kept while it has members."""
    pipe.eval(SAVE, 2, members, rooms, key, state)
