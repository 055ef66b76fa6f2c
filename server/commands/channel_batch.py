"""Consecutive messages from one read to one channel, relayed as one hand-off.

A reader corks while it handles one read's worth of lines (``cork.cork``). When
several of those lines are PRIVMSGs or NOTICEs to the same channel, the relay gathers
them in a :class:`ChannelBatch` on the cork instead of handing each one to every member:
when the batch is sent, each member gets the messages joined into one buffer, one
``push`` for all of them, and the channel's send lock, its member list and the clock are
taken once for the batch.

The relay order is kept: the batch is stamped, given its msgids and stored in history
under the channel's ``send_lock``, in the order it was read, and handed to the
channel's delivery (``server/delivery.py``): a new one this thread writes out once
the lock is free, or the one in progress, which gives it to every member after what
came before (the sender's echo included, when asked for). Nothing else this thread
sends can overtake it: any other send from this thread sends the batch first
(``SendQueue.push``), and so does every command that is not a message
(``settle_before`` in the dispatcher).

In a network (``--cluster``) the batch is stamped, numbered and stored the same way, then
published as one message through the network's order; every node, this one included,
delivers it to its own members as it comes back, and the sender waits for that (bounded)
before it reads on. When the nodes share one history, the network's order numbers the
batch instead (one position per message, in one call) and its rows are stored once it
has (``Echo.keep``), not under the send lock.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..delivery import Part
from ..protocol.codec import format_time
from ..protocol.numerics import ERR_CANNOTSENDTOCHAN
from ..sendq import Outgoing
from .chathistory import store_many, store_numbered

if TYPE_CHECKING:
    from ..channel import Channel
    from ..clustering import Echo
    from ..context import Context
    from ..delivery import Delivery
    from ..session import Session


class ChannelBatch:
    """Messages from ``client`` to ``channel`` read in a row, not yet relayed."""

    __slots__ = ("channel", "client", "echo", "items", "server")

    def __init__(self, server: Context, client: Session, channel: Channel, echo: bool) -> None:
        self.server = server
        self.client = client
        self.channel = channel
        #: Whether the sender gets its own messages back (echo-message).
        self.echo = echo
        #: (message, its tags, its text, whether a refusal is answered) in read order.
        self.items: list[tuple[Outgoing, dict[str, str], str, bool]] = []

    def add(self, out: Outgoing, tags: dict[str, str], text: str, errors: bool) -> None:
        """Hold one more message (made with ``stamped=False``)."""
        self.items.append((out, tags, text, errors))

    def flush(self) -> None:
        """Relay every held message: stamp, deliver, echo and store, in order."""
        server, client, channel, items = self.server, self.client, self.channel, self.items
        lock = channel.send_lock
        delivery: Delivery | None = None
        sent: Echo | None = None
        # The plain lock: a delivery in progress to the same members is joined, not
        # waited for (see ``delivery``).
        with lock.raw:
            recipients = server.registry.audience(client, channel)
            if recipients is None:
                for *_, errors in items:
                    if errors:
                        client.direct.numeric(ERR_CANNOTSENDTOCHAN, channel.name)
                return
            millis = int(time.time() * 1000)
            stamp = format_time(millis)
            outs = [item[0] for item in items]
            for out in outs:
                out.stamp(millis, stamp)
            cluster = server.cluster
            sequenced = cluster is not None and cluster.sequenced
            if not sequenced:
                # Stored first: that gives each message its msgid (its number is the
                # row's id, taken here in relay order), which the lines below carry.
                store_many(server, client, channel.name, items, millis)
            if cluster is not None:
                lock.settle()
                # One publish for the batch; every node, this one too, delivers it as it
                # comes back (the network's order), after the send lock is released.
                sent = cluster.channel_batch(client, channel, outs, self.echo)
                if sequenced:
                    name = channel.name
                    sent.keep(lambda: store_numbered(server, client, name, items))
            else:
                delivery = lock.deliver(recipients, Part(client, self.echo, outs))
        if delivery is not None:
            delivery.run()  # the lock is free: others' messages join it meanwhile
        if sent is not None:
            sent.finish(client.direct)
