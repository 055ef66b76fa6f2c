"""This server as one node of a network: the :class:`~server.clustering.ClusterHook`
the core and the commands call, joining link, lease, nick table, events and fan-out.

Every local change is saved where a node joining later reads it (``users:{node}``
and the ``channels`` hash, in one transaction with its event) and published once on
the events channel. A new node, and a node whose link comes back, reads the others'
users and channels before it goes on (``_sync``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import redis

from ..admin import kill_user
from ..clustering import SPLIT_TEXT, ClusterUnavailable
from ..protocol.names import casefold
from ..sendq import Outgoing
from .events import SPLIT_REASON, Events
from .fanout import Echo, Fanout, NoEcho
from .keys import Keys
from .lease import Lease, clear_node
from .link import Link
from .nicks import Nicks
from .remote import RemoteSession, user_state
from .rooms import leave as leave_channel

if TYPE_CHECKING:
    from ..channel import Channel
    from ..context import Context
    from ..registry_channels import RoomSnapshot
    from ..session import Session

log = logging.getLogger("server.cluster")

#: Enter ARGV[1] (a connection's token) of node ARGV[2] in the members of a channel;
#: 1 when it is the first member of the whole network.
_ENTER = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) == 1 then return 1 end
return 0
"""

#: Commit a channel's state (ARGV[3], a JSON object) as the next version of channel
#: ARGV[1] unless a version after ARGV[2] (the one the state was changed from; '':
#: whatever it is) was committed, and publish event ARGV[4] with that state under field
#: ARGV[5], both given the version ``v``: one step, so the versions, the stored states
#: and the events' order are the same. The state is stored only while the channel has
#: members in the network (KEYS[5], see ``rooms``); its version stays, so a later life
#: of the channel goes on counting from it. A Redis behind ARGV[2] lost its data (restarted
#: empty): the state goes on from there. Returns {1, version} or, when another change
#: came first, {0, version, stored state}.
#:
#: Fairness: a node that lost the race several times asks for its turn (ARGV[7] '1'),
#: the channel's KEYS[4] set to its name (ARGV[6]) for a moment; while another node has
#: the turn, a checked change is refused as though another came first, so the one that
#: kept losing gets through next, and gives the turn back as it does.
_COMMIT = """
local v = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local turn = redis.call('GET', KEYS[4])
if ARGV[2] ~= '' then
  local base = tonumber(ARGV[2])
  if v > base or (turn and turn ~= ARGV[6]) then
    if ARGV[7] == '1' and not turn then
      redis.call('SET', KEYS[4], ARGV[6], 'PX', 1000)
    end
    return {0, v, redis.call('HGET', KEYS[1], ARGV[1]) or ''}
  end
  v = base
end
if turn == ARGV[6] then redis.call('DEL', KEYS[4]) end
v = v + 1
local room = string.sub(ARGV[3], 1, -2) .. ',"v":' .. v .. '}'
redis.call('HSET', KEYS[2], ARGV[1], v)
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], room)
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local event = string.sub(ARGV[4], 1, -2) .. ',"v":' .. v .. ',"' .. ARGV[5] .. '":' .. room .. '}'
redis.call('PUBLISH', KEYS[3], event)
return {1, v}
"""

#: Delete KEYS[1] if it holds ARGV[1] (a turn given back by the node that held it).
_GIVE_BACK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""

#: Seconds a new node waits for Redis before it gives up starting.
START_TIMEOUT = 5.0


class Node:
    """This server's place in the network (``ChatServer.cluster``)."""

    def __init__(self, server: Context, host: str, port: int) -> None:
        config = server.config
        assert config.cluster is not None
        self.server = server
        self.name = config.node_name
        self.keys = Keys(config.cluster_prefix)
        self.link = Link(
            config.cluster,
            self._message,
            self._state,
            self._live,
            config.cluster_retry,
            config.cluster_refresh,
        )
        self.claims = Nicks(self.link.redis, self.keys, self.name, self.link.up)
        about = {"host": host, "port": port, "started": time.time(), "pid": os.getpid()}
        self.lease = Lease(
            self.link,
            self.keys,
            self.claims,
            self.name,
            about,
            config.cluster_lease,
            config.cluster_refresh,
            self.link.down,
        )
        self.fanout = Fanout(server, self.link, self.keys, self.name)
        self.events = Events(server, self.name, self._kicked_here)
        self._enter = self.link.redis.register_script(_ENTER)
        self._commit = self.link.redis.register_script(_COMMIT)
        self._give_back = self.link.redis.register_script(_GIVE_BACK)
        #: Channels a local client is entering first in the whole network: its join
        #: starts the channel's state anew (``joined``).
        self._fresh: set[tuple[str, str]] = set()
        self._synced = False
        self._stopped = False

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        """Join the network: clear what an earlier run of this node left, take the
        lease, load the others' state; raises redis.RedisError when Redis cannot be used."""
        redis_ = self.link.redis
        if redis_.hexists(self.keys.nodes, self.name) or redis_.exists(self.keys.users(self.name)):
            clear_node(self.link, self.keys, self.claims, self.name)
        self.lease.renew()
        self.fanout.outbox.start()
        try:
            self.link.start([self.keys.events, self.keys.inbox(self.name)], START_TIMEOUT)
        except redis.RedisError:
            self.fanout.outbox.stop()  # this node does not start: nor stays its thread
            raise
        self.lease.start()

    def stop(self) -> None:
        """Leave the network: the others see this node's users quit (``*.net *.split``)."""
        if self._stopped:
            return
        self._stopped = True
        self.lease.stop()
        self.fanout.outbox.stop()  # what was sent before goes out before the split
        try:
            self.lease.leave()  # the others see this node's split
        except redis.RedisError as exc:
            log.warning("left the network without telling it (%s): the lease runs out", exc)
        self.link.stop()

    def close(self) -> None:
        """Close the connections to Redis: every connection of this server has ended."""
        self.link.close()

    def up(self) -> bool:
        """Whether the link is up."""
        return self.link.up() and not self._stopped

    def servers(self) -> int:
        """How many nodes the network has (this one included)."""
        try:
            return max(1, int(self.link.redis.hlen(self.keys.nodes)))
        except redis.RedisError:
            return 1

    # --- local changes ----------------------------------------------------------------
    def _state_of(self, client: Session) -> dict[str, Any]:
        state = user_state(client, self.name)
        state["channels"] = self.server.registry.memberships(client)
        return state

    def _save(
        self,
        event: dict[str, Any],
        user: Session | None = None,
        gone: str | None = None,
        channel: Channel | None = None,
        field: str = "state",
    ) -> None:
        """Save a local change and publish its event, in one transaction: the event
        carries the user's whole state (``state``); with ``channel``, the channel's
        state becomes its next version too (under ``field`` of the event)."""
        event["n"] = self.name
        if self._stopped:
            return
        try:
            with self.link.redis.pipeline(transaction=True) as pipe:
                if gone is not None:
                    pipe.hdel(self.keys.users(self.name), gone)
                if user is not None and user.key is not None:
                    state = event.setdefault("state", self._state_of(user))
                    event["k"] = event.get("k", user.key)
                    pipe.hset(self.keys.users(self.name), user.key, json.dumps(state))
                if channel is None:
                    pipe.publish(self.keys.events, _dumps(event))
                else:
                    room, _ = self._commit_in(pipe, channel, False, event, field)
                done = pipe.execute()
        except redis.RedisError as exc:
            log.warning("cannot tell the network (%s): it is told again on reconnection", exc)
            self.link.down()
            return
        if channel is not None:
            self._committed(channel, room, done[-1][1])

    def _commit_in(
        self,
        client: Any,
        channel: Channel,
        checked: bool,
        event: dict[str, Any],
        field: str = "state",
        insist: bool = False,
    ) -> tuple[dict[str, Any], Any]:
        """Run the commit script for ``channel``'s state now (on ``client``, a pipeline
        or the connection): as the version after the one held here when ``checked``
        (refused if another came first; ``insist``: ask for the turn then), else as the
        next, whatever it is. The state sent, and what the script answered (a
        pipeline's: when it is executed)."""
        room = self.server.registry.channel_state(channel)
        base = room.pop("v")  # the script gives the new one
        key = casefold(channel.name)
        keys = [self.keys.rooms, self.keys.versions, self.keys.events, self.keys.turn(key)]
        keys.append(self.keys.members(key))
        args = [key, base if checked else "", _dumps(room), _dumps(event), field]
        args += [self.name, "1" if insist else ""]
        return room, self._commit(keys=keys, args=args, client=client)

    def _committed(self, channel: Channel, room: dict[str, Any], version: int) -> None:
        """The state ``room`` of ``channel`` sent from here is the network's version
        ``version``: held here as that version (unless a newer one came meanwhile)."""
        self.server.registry.adopt_channel_state(channel, room | {"v": int(version)})

    def introduced(self, client: Session) -> None:
        """A local client registered."""
        self._save({"t": "intro"}, client)

    def renamed(self, client: Session, old_key: str) -> None:
        """A local client changed its nick."""
        self._save({"t": "nick", "k": old_key}, client, gone=old_key)

    def changed(self, client: Session) -> None:
        """A local client's away text, account, modes or realname changed."""
        if client.registered:
            self._save({"t": "user"}, client)

    def left(self, client: Session, reason: str) -> None:
        """A local registered client left the network."""
        if client.key is not None:
            try:
                saved = self.link.redis.hget(self.keys.users(self.name), client.key)
            except redis.RedisError:
                saved = None
            if saved is not None:
                self._leave_channels(client.token, list(json.loads(saved).get("channels", {})))
            self._save({"t": "quit", "k": client.key, "reason": reason}, gone=client.key)
        self.fanout.prune()

    def entering(self, client: Session, name: str) -> bool | None:
        """Enter a local client in channel ``name``'s members across the network;
        whether it is the first (None when Redis cannot say)."""
        try:
            first = bool(
                self._enter(
                    keys=[self.keys.members(casefold(name))], args=[client.token, self.name]
                )
            )
        except redis.RedisError:
            return None
        if first:
            self._fresh.add((client.token, casefold(name)))
        return first

    def not_entered(self, client: Session, name: str) -> None:
        """Take back the entry of a refused join."""
        self._fresh.discard((client.token, casefold(name)))
        self._leave_channels(client.token, [casefold(name)])

    def _leave_channels(self, token: str, keys: list[str]) -> None:
        try:
            with self.link.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    leave_channel(pipe, self.keys.members(key), self.keys.rooms, key, token)
                pipe.execute()
        except redis.RedisError:
            pass  # the lease's end, or the resync, puts it right

    def joined(self, client: Session, channel: Channel) -> None:
        """A local client joined ``channel``: follow its messages, tell the others."""
        self.fanout.follow(casefold(channel.name))
        letters = self.server.registry.memberships(client).get(casefold(channel.name))
        event: dict[str, Any] = {"t": "join", "c": channel.name, "l": letters[1] if letters else ""}
        fresh = (client.token, casefold(channel.name))
        if fresh in self._fresh:
            # A new life of the channel: its state (a registered room's, or the
            # defaults) is the next version, whatever an earlier life left in Redis.
            self._fresh.discard(fresh)
            with channel.send_lock:
                self._save(event, client, channel=channel, field="room")
            return
        event["room"] = self.server.registry.channel_state(channel)
        self._save(event, client)

    def parted(
        self, client: Session, channel: Channel, verb: str, reason: str, by: str = ""
    ) -> None:
        """A client left ``channel`` by PART, or a local operator kicked it."""
        self._leave_channels(client.token, [casefold(channel.name)])
        if verb == "KICK":
            event = {"t": "kick", "c": channel.name, "target": client.key, "by": by}
            event["reason"] = reason
            self._save(event, None if client.remote else client)
            if client.remote:
                return
        else:
            self._save({"t": "part", "c": channel.name, "reason": reason}, client)
        self.fanout.prune()

    def channel_changed(self, channel: Channel, source: str, verb: str, args: list[str]) -> None:
        """The server changed a channel's topic or modes here: its state is the next
        version, and the others are told (with it)."""
        event = {"t": verb.lower(), "verb": verb, "c": channel.name, "by": source, "args": args}
        self._save(event, channel=channel)

    def commit_channel(
        self,
        channel: Channel,
        before: RoomSnapshot,
        source: str,
        verb: str,
        args: list[str],
        insist: bool = False,
    ) -> bool | None:
        """A local user changed a channel's topic or modes: commit it as the version
        after the one this node holds (see ``ClusterHook.commit_channel``)."""
        event = {"t": verb.lower(), "verb": verb, "c": channel.name, "by": source, "args": args}
        event["n"] = self.name
        registry = self.server.registry
        try:
            if self._stopped:
                raise redis.ConnectionError("left the network")
            room, done = self._commit_in(None, channel, True, event, insist=insist)
        except redis.RedisError as exc:
            log.warning("cannot change %s across the network (%s): refused", channel.name, exc)
            registry.roll_back(channel, before)
            return None
        if done[0]:
            self._committed(channel, room, done[1])
            return True
        registry.roll_back(channel, before)
        if done[2]:
            registry.adopt_channel_state(channel, json.loads(done[2]))
        return False

    def gave_up(self, channel: Channel) -> None:
        """Give back the turn a change asked for (see ``_COMMIT``)."""
        try:
            self._give_back(keys=[self.keys.turn(casefold(channel.name))], args=[self.name])
        except redis.RedisError:
            pass  # it runs out by itself in a moment

    @property
    def sequenced(self) -> bool:
        """Whether channel messages take their msgid and time from the network's order."""
        return self.fanout.sequenced

    def channel_message(
        self,
        client: Session,
        channel: Channel,
        out: Outgoing,
        status: str,
        echo: bool,
        held: bool,
    ) -> Echo | NoEcho:
        """Publish a local user's channel message (see ``fanout``)."""
        return self.fanout.publish(client, channel, out, status, echo, held)

    def channel_batch(
        self, client: Session, channel: Channel, outs: list[Outgoing], echo: bool
    ) -> Echo | NoEcho:
        """Publish a local user's messages to ``channel`` sent in a row, as one."""
        return self.fanout.publish_batch(client, channel, outs, echo)

    def channel_line(self, channel: Channel, out: Outgoing, cap: str) -> None:
        """Show a line to the members of ``channel`` on the other nodes with ``cap``."""
        self.fanout.publish_line(channel, out, cap)

    def multiline(self, client: Session, channel: Channel, fields: dict[str, Any]) -> Echo | NoEcho:
        """Publish a local user's multi-line message to ``channel``."""
        return self.fanout.publish_multiline(client, channel, fields)

    def direct_multiline(self, peer: Session, fields: dict[str, Any]) -> bool:
        """A multi-line message to a user of another node."""
        return self.fanout.send_inbox(peer, {"t": "mldm", "fields": fields})

    def direct(self, peer: Session, out: Outgoing) -> bool:
        """A direct message to a user of another node; False when Redis is unreachable."""
        return self.fanout.direct(peer, out)

    def kill(self, target: Session, reason: str, source: str, by: str) -> None:
        """Ask ``target``'s node to KILL it."""
        event = {"t": "kill", "n": self.name, "to": target.key, "tok": target.token}
        event.update(reason=reason, src=source, by=by)
        try:
            self.link.publish(self.keys.inbox(target.node), event)  # type: ignore[attr-defined]
        except redis.RedisError as exc:
            log.warning("cannot ask for the KILL of %s: %s", target.nick, exc)

    def _killed(self, event: dict[str, Any]) -> None:
        user = self.server.registry.find_nick(event["to"])
        if user is not None and not user.remote and user.token == event.get("tok"):
            kill_user(self.server, user, event["reason"], event["src"], event["by"])

    def invited(self, target: Session, channel: Channel, out: Outgoing) -> None:
        """An invitation for a user of another node: its node records it and tells it."""
        self.fanout.direct(target, out, kind="invite")

    def _kicked_here(self, client: Session) -> None:
        self._save({"t": "user"}, client)
        self.fanout.prune()

    # --- what comes from Redis (the subscriber thread) -------------------------------
    def _message(self, channel: str, messages: list[dict[str, Any]]) -> None:
        if channel.startswith(self.keys.prefix + "chan:"):
            # A run of one channel's messages: delivered as one (see ``fanout``).
            self.fanout.deliver(channel[len(self.keys.prefix) + 5 :], messages)
            return
        for message in messages:
            if channel == self.keys.events:
                self.events.apply(message)
            elif channel == self.keys.inbox(self.name):
                if message.get("t") in ("dm", "invite", "mldm"):
                    self.fanout.arrived(message)
                elif message.get("t") == "kill":
                    self._killed(message)

    def _state(self, up: bool) -> None:
        if not up:
            self.fanout.forget_echoes()
            if not self._stopped:
                self._tell_locals(SPLIT_TEXT)
            return
        try:
            self._sync()
        except (redis.RedisError, ClusterUnavailable) as exc:
            log.warning("cannot load the network's state: %s", exc)
            self.link.down()
            return

    def _live(self) -> None:
        if self._synced:
            self._tell_locals("The network is whole again")
        self._synced = True

    def _tell_locals(self, text: str) -> None:
        name = self.server.config.name
        for client in self.server.registry.snapshot():
            if client.registered:
                client.send_line("NOTICE", client.nick, text, source=name)

    def _sync(self) -> None:
        """Load the others' users and channels (a new node, or after a split), and
        after a split claim this node's users' nicks and publish them again."""
        registry, keys, redis_ = self.server.registry, self.keys, self.link.redis
        if self._synced:
            self.claims.resyncing = True
            try:
                self._reclaim()
            finally:
                self.claims.resyncing = False
        self.lease.renew()
        self.fanout.raise_sequence()
        live = {
            node
            for node in redis_.hkeys(keys.nodes)
            if node != self.name and redis_.exists(keys.lease(node))
        }
        seen: set[tuple[str, str]] = set()
        for node in sorted(live):
            for key, text in redis_.hgetall(keys.users(node)).items():
                state = json.loads(text)
                seen.add((node, key))
                self.events.intro({"t": "intro", "n": node, "k": key, "state": state})
        for user in registry.remote_users():
            if isinstance(user, RemoteSession) and (user.node, user.key) not in seen:
                self.events.drop(user, SPLIT_REASON)
        # Every channel known here takes the network's state (a newer version), its
        # members' prefixes coming with their users (``intro``).
        stored = redis_.hgetall(keys.rooms)
        for key, text in stored.items():
            channel = registry.find_channel(key)
            if channel is not None:
                with channel.send_lock:
                    registry.adopt_channel_state(channel, json.loads(text), prefixes=False)
        # A channel Redis has lost (restarted empty) gets its state back from a node
        # that has members in it (the first one to commit it; the others are stale).
        for channel in registry.channels_of_this_node():
            if casefold(channel.name) not in stored:
                event = {"t": "mode", "verb": "MODE", "c": channel.name, "by": "", "args": []}
                event["n"] = self.name
                with channel.send_lock:
                    room, done = self._commit_in(None, channel, True, event)
                    if done[0]:
                        self._committed(channel, room, done[1])

    def _reclaim(self) -> None:
        """After a split: claim every local user's nick again; one taken meanwhile by
        another node is resolved by renaming the local user to a guest nick."""
        registry = self.server.registry
        for client in registry.snapshot():
            if not client.registered or client.key is None:
                continue
            if not self.claims.claim(client.key):
                self._rename_guest(client)
            else:
                self._save({"t": "intro"}, client)
            for key in registry.memberships(client):
                self._enter(keys=[self.keys.members(key)], args=[client.token, self.name])

    def _rename_guest(self, client: Session) -> None:
        registry = self.server.registry
        old_source = client.source
        for _ in range(10):
            guest = f"Guest{int.from_bytes(os.urandom(3), 'big') % 100000}"
            if registry.claim_nick(client, guest):
                break
        else:
            self.server.end(client, "Nick collision")
            return
        recipients = registry.peers(client)
        recipients.add(client)
        Outgoing("NICK", client.nick, source=old_source).deliver(recipients)
        text = f"Your nick was taken elsewhere during a split; you are now {client.nick}"
        client.send_line("NOTICE", client.nick, text, source=self.server.config.name)
        self._save({"t": "intro"}, client)


def _dumps(event: dict[str, Any]) -> str:
    """An event or a state as compact JSON (an object: the script appends to it)."""
    return json.dumps(event, separators=(",", ":"))
