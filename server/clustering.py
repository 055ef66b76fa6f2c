"""What the core and the commands may use of the cluster: narrow types below both.

With ``--cluster``, ``ChatServer.cluster`` is a :class:`ClusterHook` (the
``server.cluster`` package, imported only then); without it, None, and nothing here
is ever called. The registry consults :class:`NickClaims` in the same step as its own
nick table (rule 3 of ``server/registry.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .channel import Channel
    from .registry_channels import RoomSnapshot
    from .sendq import Outgoing, ResponseBuffer
    from .session import Session


class ClusterUnavailable(Exception):
    """The network's Redis server cannot be reached: no nick can be claimed now."""


#: What a client is told while this node cannot reach the network's Redis server.
SPLIT_TEXT = "The network is split: this server cannot reach the others right now"


class NickClaims(Protocol):
    """The network-wide nick table: a nick is held by at most one node."""

    def claim(self, key: str) -> bool:
        """Claim the casefolded nick ``key`` for this node (True: it is ours now, or was
        already); raises :class:`ClusterUnavailable` without a link."""
        ...

    def release(self, key: str) -> None:
        """Give up this node's claim on ``key`` (nothing when another node holds it)."""
        ...


class Echo(Protocol):
    """A channel message on its way through the network."""

    #: Whether it was published (False: Redis could not be reached; nobody gets it).
    published: bool

    def keep(self, store: Callable[[], None] | None) -> None:
        """For a message the network numbers (:attr:`ClusterHook.sequenced`), called
        once under its send lock: send it, and call ``store`` (not under any send lock,
        in the network's order) once its msgid and time are given; ``store`` is not
        called when the network refused it. Nothing for any other message."""
        ...

    def finish(self, reply: ResponseBuffer) -> bool:
        """Wait (bounded) until the message has come back, then answer with its echo;
        False when it could not be sent at all (the sender was told so)."""
        ...


class ClusterHook(Protocol):
    """The network as the server sees it: what each local change must tell the others."""

    @property
    def claims(self) -> NickClaims:
        """The network's nick table, which the registry consults."""
        ...

    def up(self) -> bool:
        """Whether the link to the network is up (new registrations wait otherwise)."""
        ...

    @property
    def sequenced(self) -> bool:
        """Whether channel messages take their msgid and time from the network's order
        as they are published (the nodes share one history): the caller says how such a
        message is stored (``Echo.keep``) after :meth:`channel_message` or
        :meth:`multiline`, and it is stored with them."""
        ...

    def servers(self) -> int:
        """How many nodes the network has, this one included (LUSERS)."""
        ...

    def introduced(self, client: Session) -> None:
        """A local client registered."""
        ...

    def renamed(self, client: Session, old_key: str) -> None:
        """A local client changed its nick (it was held under ``old_key``)."""
        ...

    def changed(self, client: Session) -> None:
        """A local client's away text, account or user modes changed."""
        ...

    def left(self, client: Session, reason: str) -> None:
        """A local registered client left the network."""
        ...

    def entering(self, client: Session, name: str) -> bool | None:
        """A local client is about to join channel ``name``: enter it in the network's
        table of members; whether it is the channel's first member anywhere (None:
        cannot say, the link is down)."""
        ...

    def not_entered(self, client: Session, name: str) -> None:
        """The join :meth:`entering` announced was refused: take the entry back."""
        ...

    def joined(self, client: Session, channel: Channel) -> None:
        """A local client joined ``channel``."""
        ...

    def parted(
        self, client: Session, channel: Channel, verb: str, reason: str, by: str = ""
    ) -> None:
        """A client left ``channel`` on this node's word: PART by a local client, or
        KICK by a local operator (``by`` is the kicker's source)."""
        ...

    def channel_changed(self, channel: Channel, source: str, verb: str, args: list[str]) -> None:
        """The server (ChanServ) changed ``channel``'s topic (``TOPIC``, ``args`` its
        text) or modes (``MODE``, ``args`` the modestring and its parameters) here, its
        send_lock held: its
        state becomes the network's next version, whatever the version before. With
        no ``args``, the state alone: a change undone here is undone everywhere."""
        ...

    def commit_channel(
        self,
        channel: Channel,
        before: RoomSnapshot,
        source: str,
        verb: str,
        args: list[str],
        insist: bool = False,
    ) -> bool | None:
        """Make a user's change to ``channel`` (as :meth:`channel_changed`; ``before``:
        the channel before it, its send_lock still held) the network's next version, if
        no other node changed the channel first. True: done, announce it. False: another
        change came first; the change is undone and the network's state taken: apply
        it again (``insist`` once it lost several times: it gets the next turn). None:
        the network cannot be reached; the change is undone: refuse it."""
        ...

    def gave_up(self, channel: Channel) -> None:
        """A change that asked for its turn (``insist``) ended without being committed
        (nothing left to change, or refused): give the turn back."""
        ...

    def channel_message(
        self,
        client: Session,
        channel: Channel,
        out: Outgoing,
        status: str,
        echo: bool,
        held: bool,
    ) -> Echo:
        """Send a message to a channel through the network's order (its send lock held,
        its msgid given unless :attr:`sequenced`, which gives it on the node's publisher
        thread; it is only queued, at once or, when sequenced, by ``Echo.keep``, and the
        publisher thread publishes it): every node, this one included, delivers it to
        its own members as it comes back from Redis; the
        sender's echo (``echo``) comes with it, into the command's replies when they are
        ``held`` (a labeled command)."""
        ...

    def channel_batch(
        self, client: Session, channel: Channel, outs: list[Outgoing], echo: bool
    ) -> Echo:
        """Send messages ``client`` sent to a channel in a row (stamped, their msgids
        given unless :attr:`sequenced`, which gives them, one position each, as
        :meth:`channel_message` does; its send lock held) through the network's order
        as one; the echoes come with them (``echo``)."""
        ...

    def channel_line(self, channel: Channel, out: Outgoing, cap: str) -> None:
        """Show ``out`` (delivered here already) to the members of ``channel`` on the
        other nodes that have capability ``cap`` (REDACT)."""
        ...

    def multiline(self, client: Session, channel: Channel, fields: dict[str, Any]) -> Echo:
        """Send a multi-line message (``multiline.Delivery.fields``) to a channel through
        the network's order (its send lock held); the sender's echo is the caller's."""
        ...

    def direct_multiline(self, peer: Session, fields: dict[str, Any]) -> bool:
        """Send a multi-line message to a user of another node."""
        ...

    def invited(self, target: Session, channel: Channel, out: Outgoing) -> None:
        """A local member invited ``target``, a user of another node (``out``: the
        INVITE line it is to get)."""
        ...

    def kill(self, target: Session, reason: str, source: str, by: str) -> None:
        """An operator here KILLs ``target``, a user of another node (its node ends
        the connection, and every node sees the QUIT)."""
        ...

    def direct(self, peer: Session, out: Outgoing) -> bool:
        """Send a PRIVMSG, NOTICE or TAGMSG to a user of another node; False when the
        network cannot be reached."""
        ...

    def stop(self) -> None:
        """Leave the network: give back this node's nicks and tell the others."""
        ...

    def close(self) -> None:
        """Let go of Redis, once no connection of this server is left to use it."""
        ...
