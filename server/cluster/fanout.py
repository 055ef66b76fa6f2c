"""Channel messages and direct messages across the network.

A message to a channel is published once, on the channel's own Redis channel, where
every node with members there is subscribed: Redis is the sequencer, so every member on
every node sees the channel's messages in one order. The origin node delivers its own
users' messages too only as they come back (the sender's echo with them); the sender's
command waits for that, within ``cluster_echo_wait``, so its labeled response holds the
echo.

The msgid and time every node shows are given once. With a history of its own (SQLite
in each data directory) the origin gives them before publishing, as a server alone
does, and stores the message. Nodes sharing one history (``--database``) take them
from the network's order instead: one Lua script gives the message the next position
of the network (a counter in Redis: Redis's clock in milliseconds and a sequence, as
the store's numbers are made) and publishes it with it, atomically, so positions grow
in the order every subscriber receives the messages, concurrent senders on several
nodes included. Each node makes the msgid (:func:`~server.msgids.network_number`, under
the origin's msgid prefix) and the time from the position; the origin stores the
message with them once the script has answered, under the channel's send lock. The
history's order (its ids) is then the order every member saw.

A direct message goes to the inbox of the recipient's node, which delivers it with the
recipient's capabilities.
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import TYPE_CHECKING, Any

import redis

from .. import msgids
from ..channel import PREFIX_RANK_OF
from ..clustering import SPLIT_TEXT
from ..multiline import Delivery
from ..protocol.codec import format_time
from ..protocol.names import casefold
from ..sendq import Outgoing

if TYPE_CHECKING:
    from ..channel import Channel
    from ..context import Context
    from ..sendq import ResponseBuffer
    from ..session import Session
    from .keys import Keys
    from .link import Link

log = logging.getLogger("server.cluster")


class Echo:
    """One channel message of a local sender, on its way through Redis."""

    __slots__ = ("client", "data", "done", "echo", "held", "lock", "timeout", "waiting")

    #: It was published (see ``clustering.Echo``).
    published = True

    def __init__(self, client: Session, echo: bool, held: bool, timeout: float) -> None:
        self.client = client
        self.echo = echo
        #: Whether the command's replies are held (labeled-response): the echo joins
        #: them. Otherwise it is queued where it arrives, in the channel's order.
        self.held = held
        self.timeout = timeout
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.waiting = True
        self.data: bytes | None = None

    def arrived(self, data: bytes | None) -> None:
        """The message came back: hand the echo to the waiting command, or send it."""
        if not self.held:
            if data is not None:
                self.client.send(data)
            self.done.set()
            return
        with self.lock:
            if self.waiting:
                self.data = data
                self.done.set()
                return
        if data is not None:
            self.client.send(data)

    def finish(self, reply: ResponseBuffer) -> bool:
        """Wait until the message came back (bounded), then answer with the echo."""
        self.done.wait(self.timeout)
        with self.lock:
            self.waiting = False
            data = self.data
        if data is not None:
            reply.send(data)
        return True


class NoEcho:
    """A message that could not be published (Redis unreachable): nobody gets it, and
    the sender is told so."""

    __slots__ = ("server_name", "verb")

    published = False

    def __init__(self, verb: str, server_name: str) -> None:
        self.verb = verb
        self.server_name = server_name

    def finish(self, reply: ResponseBuffer) -> bool:
        """Answer FAIL <verb> TEMPORARILY_UNAVAILABLE."""
        code = "TEMPORARILY_UNAVAILABLE"
        reply.send_line("FAIL", self.verb, code, SPLIT_TEXT, source=self.server_name)
        return False


class Fanout:
    """This node's subscriptions to channels, its senders' echoes, and delivery."""

    def __init__(self, server: Context, link: Link, keys: Keys, node: str) -> None:
        self.server = server
        self.link = link
        self.keys = keys
        self.node = node
        self._lock = threading.Lock()
        #: Messages sent from here not yet back, by the token each carries (``k``).
        self._echoes: dict[int, Echo] = {}
        self._tokens = itertools.count(1)
        #: Casefolded names of the channels subscribed to.
        self.subscribed: set[str] = set()

    @property
    def sequenced(self) -> bool:
        """Whether channel messages take their msgid and time from the network's order
        (the nodes share one history, see the module's docstring)."""
        server = self.server
        return server.history is not None and server.config.database is not None

    def raise_sequence(self) -> None:
        """Make the network's next position follow every message of the shared history
        (a Redis that restarted empty, or whose clock is behind, must not give a stored
        message's number again: that row would be kept and the new one dropped). Called
        as the link comes up; raises redis.RedisError."""
        history = self.server.history
        if self.sequenced and history is not None:
            self.link.raise_counter(self.keys.sequence, history.last_id() >> msgids.NODE_BITS)

    def _publish(self, channel: Channel, message: dict[str, Any], waiter: Echo) -> int | None:
        """Publish ``message`` to ``channel`` (sequenced when the history is shared),
        its echo awaited by ``waiter``; the position given (None: not sequenced). Raises
        redis.RedisError."""
        token = next(self._tokens)
        message["k"] = token
        with self._lock:
            self._echoes[token] = waiter
        try:
            name = self.keys.channel(casefold(channel.name))
            if not self.sequenced:
                self.link.publish(name, message)
                return None
            message["pfx"] = msgids.PREFIX
            return self.link.publish_sequenced(name, self.keys.sequence, message)
        except redis.RedisError:
            with self._lock:
                self._echoes.pop(token, None)
            raise

    def _waiter(self, message: dict[str, Any]) -> Echo | None:
        """The echo awaited here for ``message``, if it was sent from here."""
        if message.get("n") != self.node:
            return None
        with self._lock:
            return self._echoes.pop(message.get("k", 0), None)

    # --- subscriptions -------------------------------------------------------------
    def follow(self, key: str) -> None:
        """Receive channel ``key``'s messages (a local member is in it)."""
        with self._lock:
            if key in self.subscribed:
                return
            self.subscribed.add(key)
        self.link.subscribe(self.keys.channel(key))

    def prune(self) -> None:
        """Stop receiving the channels that no longer have local members."""
        registry = self.server.registry
        with self._lock:
            followed = list(self.subscribed)
        for key in followed:
            channel = registry.find_channel(key)
            if channel is None or not registry.has_local_members(channel):
                with self._lock:
                    self.subscribed.discard(key)
                self.link.unsubscribe(self.keys.channel(key))

    # --- channel messages ------------------------------------------------------------
    def publish(
        self,
        client: Session,
        channel: Channel,
        out: Outgoing,
        status: str,
        echo: bool,
        held: bool,
    ) -> Echo | NoEcho:
        """Publish a local user's message to ``channel`` (its send lock held). When
        :attr:`sequenced`, ``out`` takes its msgid and time from the network here."""
        if not self.link.up():
            return NoEcho(out.command, self.server.config.name)
        waiter = Echo(client, echo, held, self.server.config.cluster_echo_wait)
        message = {
            "t": "msg",
            "n": self.node,
            "verb": out.command,
            "status": status,
            "params": list(out.params),
            "src": out.source,
            "acct": out.account,
            "tags": out.tags,
            "ms": out.millis,
        }
        try:
            position = self._publish(channel, message, waiter)
        except redis.RedisError as exc:
            log.warning("cannot publish to %s: %s", channel.name, exc)
            self.link.down()
            return NoEcho(out.command, self.server.config.name)
        if position is not None:
            msgid, millis = _sequenced(msgids.PREFIX, position)
            out.tags["msgid"] = msgid
            out.stamp(millis, format_time(millis))
        return waiter

    def publish_line(self, channel: Channel, out: Outgoing, cap: str) -> None:
        """Publish a line the other nodes show to their members of ``channel`` that
        have ``cap`` (this node delivered it already)."""
        message = {
            "t": "line",
            "n": self.node,
            "verb": out.command,
            "params": list(out.params),
            "src": out.source,
            "acct": out.account,
            "tags": out.tags,
            "ms": out.millis,
            "cap": cap,
        }
        try:
            self.link.publish(self.keys.channel(casefold(channel.name)), message)
        except redis.RedisError as exc:
            log.warning("cannot publish to %s: %s", channel.name, exc)
            self.link.down()

    def publish_multiline(
        self, client: Session, channel: Channel, fields: dict[str, Any]
    ) -> Echo | NoEcho:
        """Publish a local user's multi-line message to ``channel`` (send lock held).
        When :attr:`sequenced`, ``fields`` take their msgid and time from the network."""
        if not self.link.up():
            return NoEcho("BATCH", self.server.config.name)
        waiter = Echo(client, False, False, self.server.config.cluster_echo_wait)
        message = {"t": "ml", "n": self.node, "fields": fields}
        try:
            position = self._publish(channel, message, waiter)
        except redis.RedisError as exc:
            log.warning("cannot publish to %s: %s", channel.name, exc)
            self.link.down()
            return NoEcho("BATCH", self.server.config.name)
        if position is not None:
            fields["tags"]["msgid"], fields["millis"] = _sequenced(msgids.PREFIX, position)
        return waiter

    def _deliver_multiline(self, channel: Channel | None, message: dict[str, Any]) -> None:
        fields = message["fields"]
        if "seq" in message:
            fields["tags"]["msgid"], fields["millis"] = _sequenced(message["pfx"], message["seq"])
        waiter = self._waiter(message)
        if channel is not None:
            delivery = Delivery(**fields)
            sender = waiter.client if waiter is not None else None
            with channel.send_lock:
                for member in self.server.registry.local_members(channel):
                    if member is not sender:
                        member.send(delivery.for_client(member))
        if waiter is not None:
            waiter.arrived(None)

    def deliver(self, key: str, message: dict[str, Any]) -> None:
        """A message to channel ``key`` came back from Redis: deliver it to the local
        members (in the order Redis gives), the echo to its sender if it is here."""
        registry = self.server.registry
        channel = registry.find_channel(key)
        if message.get("t") == "ml":
            self._deliver_multiline(channel, message)
            return
        if message.get("t") == "line":
            if channel is not None and message.get("n") != self.node:
                out = _outgoing(message)
                cap = message["cap"]
                with channel.send_lock:
                    members = registry.local_members(channel)
                    out.deliver([m for m in members if cap in m.caps])
            return
        waiter = self._waiter(message)
        if channel is None:
            if waiter is not None:
                waiter.arrived(None)
            return
        verb = message["verb"]
        status = message.get("status", "")
        lowest = max((PREFIX_RANK_OF[_LETTER[s]] for s in status if s in _LETTER), default=None)
        out = _outgoing(message)
        sender = waiter.client if waiter is not None else None
        with channel.send_lock:
            members = registry.local_members(channel, lowest)
            out.deliver(
                [
                    m
                    for m in members
                    if m is not sender and (verb != "TAGMSG" or "message-tags" in m.caps)
                ]
            )
        if waiter is not None:
            shown = waiter.echo and (verb != "TAGMSG" or "message-tags" in waiter.client.caps)
            waiter.arrived(out.for_client(waiter.client) if shown else None)

    def forget_echoes(self) -> None:
        """The link went down: nothing sent before comes back; stop waiting for it."""
        with self._lock:
            echoes, self._echoes = self._echoes, {}
        for waiter in echoes.values():
            waiter.arrived(None)

    # --- direct messages ---------------------------------------------------------------
    def direct(self, peer: Session, out: Outgoing, kind: str = "dm") -> bool:
        """Send a direct message (or an INVITE: ``kind``) to ``peer``, a user of
        another node; False when Redis cannot be reached."""
        message = {
            "t": kind,
            "n": self.node,
            "to": peer.key,
            "tok": peer.token,
            "verb": out.command,
            "params": list(out.params),
            "src": out.source,
            "acct": out.account,
            "tags": out.tags,
            "ms": out.millis,
        }
        return self.send_inbox(peer, message)

    def send_inbox(self, peer: Session, message: dict[str, Any]) -> bool:
        """Publish ``message`` to the inbox of ``peer``'s node (``to``/``tok`` name
        the user there); False when Redis cannot be reached."""
        if not self.link.up():
            return False
        message = {"n": self.node, "to": peer.key, "tok": peer.token, **message}
        try:
            self.link.publish(self.keys.inbox(peer.node), message)  # type: ignore[attr-defined]
        except redis.RedisError as exc:
            log.warning("cannot send to %s: %s", peer.nick, exc)
            self.link.down()
            return False
        return True

    def arrived(self, message: dict[str, Any]) -> None:
        """A direct message for a local user came to this node's inbox."""
        user = self.server.registry.find_nick(message["to"])
        if user is None or user.remote or user.token != message.get("tok"):
            return  # gone (or someone else by now): like a message to a user who left
        if message["t"] == "mldm":
            user.send(Delivery(**message["fields"]).for_client(user))
            return
        verb = message["verb"]
        if verb == "TAGMSG" and "message-tags" not in user.caps:
            return
        if message["t"] == "invite":
            channel = self.server.registry.find_channel(message["params"][1])
            if channel is None or not self.server.registry.invited(user, channel):
                return
        out = _outgoing(message)
        user.send(out.for_client(user))


def _sequenced(prefix: str, position: int) -> tuple[str, int]:
    """The msgid and time (ms) of the channel message at network ``position``, sent from
    the node whose msgids have ``prefix``."""
    return prefix + f"{msgids.network_number(position):x}", msgids.position_millis(position)


def _outgoing(message: dict[str, Any]) -> Outgoing:
    """The line a published message carries, with the time (and msgid) given once: by
    its origin, or by its position in the network's order."""
    if "seq" in message:
        msgid, millis = _sequenced(message["pfx"], message["seq"])
        message["tags"]["msgid"], message["ms"] = msgid, millis
    out = Outgoing(
        message["verb"],
        *message["params"],
        source=message["src"],
        tags=message["tags"],
        account=message.get("acct"),
        stamped=False,
    )
    millis = int(message["ms"])
    out.stamp(millis, format_time(millis))
    return out


#: Membership symbol -> its mode letter (``@`` -> ``o``).
_LETTER = {"@": "o", "+": "v"}
