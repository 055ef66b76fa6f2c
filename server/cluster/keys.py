"""Where a network keeps its state in Redis: every key and pub/sub channel name, each
under the network's prefix (``--cluster-prefix``), so several networks (and tests)
can share one Redis server."""

from __future__ import annotations


class Keys:
    """The names of one network's keys and channels."""

    __slots__ = ("events", "nicks", "nodes", "prefix", "rooms", "sequence", "versions")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        #: Hash: casefolded nick -> the node holding it (the one nick table).
        self.nicks = prefix + "nicks"
        #: Hash: node -> JSON {host, port, started} of every node that joined.
        self.nodes = prefix + "nodes"
        #: Hash: casefolded channel name -> JSON of its modes, lists and topic, of each
        #: channel someone in the network is in (``rooms``).
        self.rooms = prefix + "channels"
        #: Hash: casefolded channel name -> the version of its state in ``rooms``, which
        #: only the commit script (``node``) writes, one more for each change.
        self.versions = prefix + "channel-versions"
        #: Pub/sub: every node's state changes (users, memberships, channel state).
        self.events = prefix + "events"
        #: String: the last position given in the network's order of channel messages.
        self.sequence = prefix + "sequence"

    def lease(self, node: str) -> str:
        """String with a TTL: ``node`` is alive while it exists."""
        return f"{self.prefix}lease:{node}"

    def users(self, node: str) -> str:
        """Hash: casefolded nick -> JSON state of each user of ``node``."""
        return f"{self.prefix}users:{node}"

    def members(self, key: str) -> str:
        """Hash: connection token -> node, of every member of channel ``key``."""
        return f"{self.prefix}members:{key}"

    def reaping(self, node: str) -> str:
        """String set NX by the one node that clears a dead ``node`` away."""
        return f"{self.prefix}reap:{node}"

    def inbox(self, node: str) -> str:
        """Pub/sub: what is addressed to a user of ``node`` (direct messages)."""
        return f"{self.prefix}node:{node}"

    def channel(self, key: str) -> str:
        """Pub/sub: the messages to the channel of casefolded name ``key``, in order."""
        return f"{self.prefix}chan:{key}"

    def turn(self, key: str) -> str:
        """String with a TTL: the node whose MODE or TOPIC change to channel ``key`` goes
        next, having lost the race for it several times (see ``node``)."""
        return f"{self.prefix}turn:{key}"
