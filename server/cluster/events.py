"""The other nodes' state changes, applied to the local registry and announced to the
local users exactly as the same change made here would be (JOIN, PART, KICK, QUIT, NICK,
MODE, TOPIC lines, away-notify, account-notify, MONITOR 730/731).

Each event is a JSON object with its type ``t`` and its node ``n``; user events name the
user by casefolded nick ``k`` and carry its whole state (``remote.user_state``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..commands.channels import announce_join
from ..commands.users import tell_presence
from ..handover import announce_handovers
from ..presence import notify_offline, notify_online
from ..protocol.names import casefold
from ..sendq import Outgoing, ResponseBuffer
from .remote import RemoteSession, account_of

if TYPE_CHECKING:
    from ..context import Context
    from ..session import Session

log = logging.getLogger("server.cluster")

#: The QUIT reason of the users of a node that left the network or was lost.
SPLIT_REASON = "*.net *.split"


class Events:
    """Applies the events of other nodes to this node's registry."""

    def __init__(self, server: Context, node: str, on_local_kick: Callable[[Session], None]):
        self.server = server
        self.node = node
        #: Called after a local user was kicked by another node's operator.
        self._on_local_kick = on_local_kick
        self._apply: dict[str, Callable[[dict[str, Any]], None]] = {
            "intro": self.intro,
            "user": self.user,
            "nick": self.nick,
            "quit": self.quit,
            "split": self.split,
            "join": self.join,
            "part": self.part,
            "kick": self.kick,
            "topic": self.channel_state,
            "mode": self.channel_state,
        }

    def apply(self, event: dict[str, Any]) -> None:
        """Apply one event of another node (this node's own are skipped)."""
        if event.get("n") == self.node and event.get("t") != "split":
            return
        handler = self._apply.get(event.get("t", ""))
        if handler is not None:
            handler(event)

    def _user(self, event: dict[str, Any]) -> RemoteSession | None:
        user = self.server.registry.find_nick(event["k"])
        if isinstance(user, RemoteSession) and user.node == event["n"]:
            return user
        return None

    # --- users ------------------------------------------------------------------------
    def intro(self, event: dict[str, Any]) -> None:
        """A user registered on another node (or is known again after a split)."""
        state = event["state"]
        known = self._user(event)
        if known is not None:
            # Known already (a split healed): what changed meanwhile is put right.
            self.user(event)
            self._rejoin(known, state.get("channels", {}))
            return
        user = RemoteSession(state, self.server.clock())
        if not self.server.registry.add_remote(user):
            log.warning("nick %s of node %s is held here too", user.nick, user.node)
            return
        notify_online(self.server.registry, user)
        for name, letters in state.get("channels", {}).values():
            self._join(user, name, letters, None)

    def _rejoin(self, user: RemoteSession, channels: dict[str, list[str]]) -> None:
        """Make ``user``'s channels here those its node says it is in."""
        registry = self.server.registry
        for key in set(registry.memberships(user)) - set(channels):
            self.part({"t": "part", "n": user.node, "k": user.key, "c": key})
        for name, letters in channels.values():
            self._join(user, name, letters, None)

    def user(self, event: dict[str, Any]) -> None:
        """A user of another node changed its away text, account, modes or realname."""
        user = self._user(event)
        if user is None:
            return
        state = event["state"]
        registry = self.server.registry
        old_away, old_realname = user.away, user.realname
        user.update(state)
        if user.realname != old_realname:
            out = Outgoing("SETNAME", user.realname, source=user.source, account=user.account_name)
            tell_presence(self.server, user, out, "setname")
        modes = frozenset(state.get("modes", ""))
        if modes != user.modes:
            registry.set_remote_modes(user, modes)
        if user.away != old_away:
            args = (user.away,) if user.away else ()
            out = Outgoing("AWAY", *args, source=user.source, account=user.account_name)
            tell_presence(self.server, user, out, "away-notify")
        account = account_of(state)
        if (account and account.name) != (user.account and user.account.name):
            registry.set_account(user, account)
            registry.set_remote_modes(user, modes)
            recipients = {p for p in registry.peers(user) if "account-notify" in p.caps}
            name = account.display if account is not None else "*"
            Outgoing("ACCOUNT", name, source=user.source).deliver(recipients)

    def nick(self, event: dict[str, Any]) -> None:
        """A user of another node changed its nick."""
        user = self._user(event)
        if user is None:
            return
        registry = self.server.registry
        old_source, old_nick = user.source, user.nick
        new = event["state"]["nick"]
        if not registry.rename_remote(user, new):
            log.warning("nick %s of node %s is held here too", new, user.node)
            return
        recipients = registry.peers(user)
        Outgoing("NICK", new, source=old_source, account=user.account_name).deliver(recipients)
        if casefold(old_nick) != user.key:
            notify_offline(registry, old_nick)
            notify_online(registry, user)

    def quit(self, event: dict[str, Any]) -> None:
        """A user of another node left the network."""
        user = self._user(event)
        if user is not None:
            self.drop(user, event.get("reason") or "Connection closed")

    def split(self, event: dict[str, Any]) -> None:
        """A node left the network or was lost: its users quit here."""
        node = event["n"]
        if node == self.node:
            return
        for user in self.server.registry.remote_users():
            if getattr(user, "node", None) == node:
                self.drop(user, SPLIT_REASON)  # type: ignore[arg-type]

    def drop(self, user: RemoteSession, reason: str) -> None:
        """Take a user of another node off the registry, its QUIT to local peers."""
        registry = self.server.registry
        left = registry.remove(user)
        if left is None:
            return
        peers, handovers = left
        if peers:
            out = Outgoing("QUIT", reason, source=user.source, account=user.account_name)
            out.deliver(peers)
        notify_offline(registry, user.nick)
        announce_handovers(self.server.config.name, handovers)

    # --- channels -----------------------------------------------------------------
    def join(self, event: dict[str, Any]) -> None:
        """A user of another node joined a channel."""
        user = self._user(event)
        if user is not None:
            self._join(user, event["c"], event.get("l", ""), event.get("room"))

    def _join(self, user: RemoteSession, name: str, letters: str, state: Any) -> None:
        registry = self.server.registry
        found = registry.find_channel(name)
        # A channel that is new here has no send lock anybody else could hold yet.
        with found.send_lock if found is not None else contextlib.nullcontext():
            created = found is None or not registry.members(found)
            joined = registry.join_remote(user, name, letters)
            if joined is None:
                return
            channel, members = joined
            if state is not None:
                # The joiner's node's state of the channel (a new life's first version,
                # when it was the first member): taken when newer than the one here.
                registry.adopt_channel_state(channel, state, prefixes=False, force=created)
            local = [m for m in members if not m.remote or m is user]
            announce_join(user, ResponseBuffer(user, self.server.config.name), channel, local)

    def part(self, event: dict[str, Any]) -> None:
        """A user of another node left a channel."""
        user = self._user(event)
        channel = self.server.registry.find_channel(event["c"])
        if user is None or channel is None:
            return
        with channel.send_lock:
            parted = self.server.registry.part_remote(user, channel)
            if parted is None:
                return
            recipients, _ = parted
            reason = event.get("reason")
            args = (reason,) if reason else ()
            out = Outgoing("PART", channel.name, *args, source=user.source)
            out.deliver(recipients)

    def kick(self, event: dict[str, Any]) -> None:
        """An operator on another node kicked someone (of any node) out of a channel."""
        registry = self.server.registry
        channel = registry.find_channel(event["c"])
        target = registry.find_nick(event["target"])
        if channel is None or target is None:
            return
        with channel.send_lock:
            if target.remote:
                parted = registry.part_remote(target, channel)
            else:
                parted = registry.part(target, channel)
            if parted is None:
                return
            recipients, _ = parted
            out = Outgoing(
                "KICK", channel.name, target.nick, event.get("reason", ""), source=event["by"]
            )
            out.deliver(recipients)
        if not target.remote:
            self._on_local_kick(target)

    def channel_state(self, event: dict[str, Any]) -> None:
        """A channel's topic or modes changed on another node: its state is taken when
        its version is newer than the one here (one taken from Redis first is not), and
        the change announced."""
        registry = self.server.registry
        channel = registry.find_channel(event["c"])
        if channel is None:
            return
        with channel.send_lock:
            registry.adopt_channel_state(channel, event["state"], prefixes=True)
            if not event["args"]:
                return  # a change undone (a registered room could not store it)
            members = registry.local_members(channel)
            out = Outgoing(event["verb"], channel.name, *event["args"], source=event["by"])
            out.deliver(members)
