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
message with them once the script has answered, on the publisher thread, in the order
the positions were given. The history's order (its ids) is then the order every member
saw.

A sender only queues its message under the channel's send lock (``outbox``: that fixes
its place, and its msgid unless the network gives it); the node's publisher thread
publishes what is queued as one pipeline (a script call for each message, or batch,
the network numbers), so no send lock is held across a round trip to Redis and the
subscriber thread, which takes that lock to deliver, never waits on one; the messages
one read brought to one channel (a ``ChannelBatch``) are one publish (or one script
call, taking a position for each). The
subscriber thread reads everything that has arrived before it delivers, and delivers a
run of one channel's messages as one: the send lock and the member list taken once, one
push per member for the run, the senders' echoes in their places.

A direct message goes to the inbox of the recipient's node, which delivers it with the
recipient's capabilities.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import redis

from .. import msgids
from ..channel import PREFIX_RANK_OF
from ..clustering import SPLIT_TEXT
from ..multiline import Delivery
from ..protocol.codec import format_time
from ..protocol.names import casefold
from ..sendq import Outgoing
from .outbox import Numbered, Outbox, Waiter

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

    __slots__ = (
        "client",
        "data",
        "done",
        "echo",
        "held",
        "lock",
        "lost",
        "pending",
        "server_name",
        "stored",
        "timeout",
        "token",
        "verb",
        "waiting",
    )

    #: It was published, or queued to be (see ``clustering.Echo``).
    published = True

    def __init__(
        self,
        client: Session,
        echo: bool,
        held: bool,
        timeout: float,
        verb: str,
        server_name: str,
    ) -> None:
        self.client = client
        self.verb = verb
        self.server_name = server_name
        #: Set when it could not be published: the sender is told, nobody got it.
        self.lost = False
        self.echo = echo
        #: Whether the command's replies are held (labeled-response): the echo joins
        #: them. Otherwise it is queued where it arrives, in the channel's order.
        self.held = held
        self.timeout = timeout
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.waiting = True
        self.data: bytes | None = None
        #: Set once the network numbered it and its row is stored (at once unless the
        #: history is shared), or when it could not be published.
        self.stored = threading.Event()
        self.stored.set()
        #: Its token among the echoes awaited (0: not queued yet).
        self.token = 0
        #: Queues a message the network numbers, given what to do once it is (``keep``).
        self.pending: Callable[[Callable[[], None] | None], None] | None = None

    def keep(self, store: Callable[[], None] | None) -> None:
        """Queue a message the network numbers (its send lock held), ``store`` called
        on the publisher thread once it has its msgid and time, in the network's order;
        nothing for any other message."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending(store)

    def numbered(self) -> None:
        """The network numbered it, and it is stored: ``finish`` may answer."""
        self.stored.set()

    def wait_stored(self) -> None:
        """Wait (bounded) until it is stored, as it came back: this node shows a message
        of its own users only once it is in history (the publisher thread stores it as
        Redis answers, which the subscriber thread may read first). No lock is held."""
        self.stored.wait(self.timeout)

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

    def failed(self) -> None:
        """It could not be published (Redis unreachable): nothing comes back."""
        self.lost = True
        self.done.set()
        self.stored.set()

    def finish(self, reply: ResponseBuffer) -> bool:
        """Wait until the message came back and is stored (bounded; the send lock
        released), then answer with the echo; False (FAIL) when it could not be
        published."""
        deadline = time.monotonic() + self.timeout
        self.done.wait(self.timeout)
        # Stored before the sender reads on: its next command finds the row.
        self.stored.wait(max(0.0, deadline - time.monotonic()))
        with self.lock:
            self.waiting = False
            data = self.data
        if self.lost:
            NoEcho(self.verb, self.server_name).finish(reply)
            return False
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

    def keep(self, store: Callable[[], None] | None) -> None:
        """Nothing is stored: nobody got it."""

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
        #: Channel messages queued under their send lock, published after it.
        self.outbox = Outbox(link, keys.sequence, self._failed)

    def _new_echo(self, client: Session, echo: bool, held: bool, verb: str) -> Echo:
        config = self.server.config
        return Echo(client, echo, held, config.cluster_echo_wait, verb, config.name)

    def _failed(self, waiter: Waiter) -> None:
        """``waiter``'s message was not published: nothing comes back for it."""
        if isinstance(waiter, Echo):
            with self._lock:
                self._echoes.pop(waiter.token, None)
        waiter.failed()

    def _queue(
        self,
        channel: Channel,
        message: dict[str, Any],
        waiter: Echo,
        numbered: Numbered | None = None,
        count: int = 1,
    ) -> None:
        """Queue ``message`` for the publisher thread (the send lock held), its echo
        awaited by ``waiter`` under the token it carries; ``numbered``, ``count``: see
        ``Outbox``."""
        token = next(self._tokens)
        message["k"] = waiter.token = token
        with self._lock:
            self._echoes[token] = waiter
        key = self.keys.channel(casefold(channel.name))
        self.outbox.put(key, message, waiter, numbered, count)

    def _sequence(
        self,
        channel: Channel,
        message: dict[str, Any],
        waiter: Echo,
        given: Numbered,
        count: int = 1,
    ) -> None:
        """Make ``message`` one the network numbers (``count`` positions): queued by
        ``waiter.keep``, which says how it is stored; ``given`` is handed its first
        position first."""
        message["pfx"] = msgids.PREFIX
        waiter.stored.clear()

        def queue(store: Callable[[], None] | None) -> None:
            def numbered(position: int) -> None:
                given(position)
                if store is not None:
                    store()

            self._queue(channel, message, waiter, numbered, count)

        waiter.pending = queue

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
            self.link.load_scripts()
            self.link.raise_counter(self.keys.sequence, history.last_id() >> msgids.NODE_BITS)

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
        """Queue a local user's message to ``channel`` (its send lock held): the
        publisher thread publishes it (``outbox``), the sender waiting in ``finish``.
        When :attr:`sequenced`, it is queued by the echo's ``keep``, and ``out`` takes
        its msgid and time from the network on the publisher thread."""
        if not self.link.up():
            return NoEcho(out.command, self.server.config.name)
        waiter = self._new_echo(client, echo, held, out.command)
        message = {
            "t": "msg",
            "n": self.node,
            "status": status,
            **_published(out),
        }
        if not self.sequenced:
            self._queue(channel, message, waiter)
            return waiter

        def given(position: int) -> None:
            msgid, millis = _sequenced(msgids.PREFIX, position)
            out.tags["msgid"] = msgid
            out.stamp(millis, format_time(millis))

        self._sequence(channel, message, waiter, given)
        return waiter

    def publish_batch(
        self, client: Session, channel: Channel, outs: list[Outgoing], echo: bool
    ) -> Echo | NoEcho:
        """Queue messages a local user sent to ``channel`` in a row (a ``ChannelBatch``,
        stamped and given their msgids under its send lock, which is held) as one; when
        :attr:`sequenced`, queued by the echo's ``keep``, the batch taking one position
        of the network per line, which gives each its msgid and time there."""
        if not self.link.up():
            return NoEcho(outs[0].command, self.server.config.name)
        waiter = self._new_echo(client, echo, False, outs[0].command)
        first = outs[0]
        message = {
            "t": "batch",
            "n": self.node,
            "src": first.source,
            "acct": first.account,
            "ms": first.millis,
            "items": [[out.command, list(out.params), out.tags] for out in outs],
        }
        if not self.sequenced:
            self._queue(channel, message, waiter)
            return waiter

        def given(position: int) -> None:
            for offset, out in enumerate(outs):
                msgid, millis = _sequenced(msgids.PREFIX, position + offset)
                out.tags["msgid"] = msgid
                out.stamp(millis, format_time(millis))

        self._sequence(channel, message, waiter, given, len(outs))
        return waiter

    def publish_line(self, channel: Channel, out: Outgoing, cap: str) -> None:
        """Publish a line the other nodes show to their members of ``channel`` that
        have ``cap`` (this node delivered it already)."""
        message = {
            "t": "line",
            "n": self.node,
            **_published(out),
            "cap": cap,
        }
        self.outbox.put(self.keys.channel(casefold(channel.name)), message, None)

    def publish_multiline(
        self, client: Session, channel: Channel, fields: dict[str, Any]
    ) -> Echo | NoEcho:
        """Queue a local user's multi-line message to ``channel`` (send lock held), as
        ``publish`` does; when :attr:`sequenced`, ``fields`` take their msgid and time
        from the network on the publisher thread."""
        if not self.link.up():
            return NoEcho("BATCH", self.server.config.name)
        waiter = self._new_echo(client, False, False, "BATCH")
        message = {"t": "ml", "n": self.node, "fields": fields}
        if not self.sequenced:
            self._queue(channel, message, waiter)
            return waiter

        def given(position: int) -> None:
            fields["tags"]["msgid"], fields["millis"] = _sequenced(msgids.PREFIX, position)

        self._sequence(channel, message, waiter, given)
        return waiter

    def _deliver_multiline(self, channel: Channel | None, message: dict[str, Any]) -> None:
        fields = message["fields"]
        if "seq" in message:
            fields["tags"]["msgid"], fields["millis"] = _sequenced(message["pfx"], message["seq"])
        waiter = self._waiter(message)
        if waiter is not None:
            waiter.wait_stored()
        if channel is not None:
            delivery = Delivery(**fields)
            sender = waiter.client if waiter is not None else None
            with channel.send_lock:
                for member in self.server.registry.local_members(channel):
                    if member is not sender:
                        member.send(delivery.for_client(member))
        if waiter is not None:
            waiter.arrived(None)

    def deliver(self, key: str, messages: list[dict[str, Any]]) -> None:
        """Messages to channel ``key`` came back from Redis, in a row: deliver them to
        the local members (in the order Redis gives), the echoes to their senders if
        they are here. Consecutive channel messages go as one run: one push per member."""
        run: list[Entry] = []
        for message in messages:
            kind = message.get("t")
            if kind == "msg":
                run.append(self._entry(message))
            elif kind == "batch":
                run.extend(self._batch_entries(message))
            else:
                if run:
                    self._deliver_run(key, run)
                    run = []
                if kind == "ml":
                    self._deliver_multiline(self.server.registry.find_channel(key), message)
                elif kind == "line":
                    self._deliver_line(key, message)
        if run:
            self._deliver_run(key, run)

    def _entry(self, message: dict[str, Any]) -> Entry:
        status = message.get("status", "")
        lowest = max((PREFIX_RANK_OF[_LETTER[s]] for s in status if s in _LETTER), default=None)
        return Entry(_outgoing(message), lowest, self._waiter(message))

    def _batch_entries(self, message: dict[str, Any]) -> list[Entry]:
        items = message["items"]
        waiter = self._waiter(message)
        entries = []
        for offset, (verb, params, tags) in enumerate(items):
            item = {"verb": verb, "params": params, "tags": tags}
            out = _outgoing(message, item, offset)
            entries.append(Entry(out, None, waiter))
        return entries

    def _deliver_line(self, key: str, message: dict[str, Any]) -> None:
        registry = self.server.registry
        channel = registry.find_channel(key)
        if channel is not None and message.get("n") != self.node:
            out = _outgoing(message)
            cap = message["cap"]
            with channel.send_lock:
                members = registry.local_members(channel)
                out.deliver([m for m in members if cap in m.caps])

    def _deliver_run(self, key: str, run: list[Entry]) -> None:
        """Deliver consecutive messages of one channel: each local member gets those
        meant for it joined into one push, the senders' echoes in their place."""
        registry = self.server.registry
        channel = registry.find_channel(key)
        waiters = list(dict.fromkeys(e.waiter for e in run if e.waiter is not None))
        for waiter in waiters:
            waiter.wait_stored()
        if channel is None:
            for waiter in waiters:
                waiter.arrived(None)
            return
        senders = {w.client for w in waiters}
        plain = all(e.lowest is None and e.out.command != "TAGMSG" for e in run)
        inline: set[Echo] = set()
        with channel.send_lock:
            members = registry.local_members(channel)
            ranked: dict[int, set[Session]] = {}
            shared: dict[int, bytes] = {}
            for member in members:
                if plain and member not in senders:
                    # Everyone but a sender here gets every message: built once per tag set.
                    data = shared.get(member.tag_key)
                    if data is None:
                        data = b"".join([e.out.for_client(member) for e in run])
                        shared[member.tag_key] = data
                else:
                    data = b"".join(self._meant_for(member, run, ranked, channel, inline))
                if data:
                    member.queue.push(data, None)
        for waiter in waiters:
            if waiter in inline:
                waiter.arrived(None)  # its echo went with the others, in its place
            else:
                # Held for a labeled reply, or its sender is no member here any more.
                client = waiter.client
                tagged = "message-tags" in client.caps
                echoes = [
                    e.out.for_client(client)
                    for e in run
                    if e.waiter is waiter and (e.out.command != "TAGMSG" or tagged)
                ]
                waiter.arrived(b"".join(echoes) if waiter.echo and echoes else None)

    def _meant_for(
        self,
        member: Session,
        run: list[Entry],
        ranked: dict[int, set[Session]],
        channel: Channel,
        inline: set[Echo],
    ) -> list[bytes]:
        """The lines of ``run`` that ``member`` gets (send lock held)."""
        parts = []
        tagged = "message-tags" in member.caps
        for entry in run:
            out, waiter = entry.out, entry.waiter
            if out.command == "TAGMSG" and not tagged:
                continue
            if waiter is not None and waiter.client is member:
                if waiter.echo and not waiter.held:
                    parts.append(out.for_client(member))
                    inline.add(waiter)
                continue
            if entry.lowest is not None:
                allowed = ranked.get(entry.lowest)
                if allowed is None:
                    members = self.server.registry.local_members(channel, entry.lowest)
                    allowed = ranked[entry.lowest] = set(members)
                if member not in allowed:
                    continue
            parts.append(out.for_client(member))
        return parts

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
            **_published(out),
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


class Entry(NamedTuple):
    """One channel message of a run being delivered."""

    out: Outgoing
    #: The lowest rank that gets it (a message to ``@#chan``), or None: every member.
    lowest: int | None
    #: Its sender's wait, when the sender is a user of this node.
    waiter: Echo | None


def _published(out: Outgoing) -> dict[str, Any]:
    """The fields that carry ``out`` in a published message (read by ``_outgoing``)."""
    return {
        "verb": out.command,
        "params": list(out.params),
        "src": out.source,
        "acct": out.account,
        "tags": out.tags,
        "ms": out.millis,
    }


def _outgoing(
    message: dict[str, Any], item: dict[str, Any] | None = None, offset: int = 0
) -> Outgoing:
    """The line a published message carries (``item``: one of its lines, the
    ``offset``-th, by default the message itself), with the time (and msgid) given once:
    by its origin, or by its position in the network's order."""
    item = message if item is None else item
    if "seq" in message:
        msgid, millis = _sequenced(message["pfx"], message["seq"] + offset)
        item["tags"]["msgid"], message["ms"] = msgid, millis
    out = Outgoing(
        item["verb"],
        *item["params"],
        source=message["src"],
        tags=item["tags"],
        account=message.get("acct"),
        stamped=False,
    )
    millis = int(message["ms"])
    out.stamp(millis, format_time(millis))
    return out


#: Membership symbol -> its mode letter (``@`` -> ``o``).
_LETTER = {"@": "o", "+": "v"}
