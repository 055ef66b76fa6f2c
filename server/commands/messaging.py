"""Messages: PRIVMSG, NOTICE and TAGMSG to channels and to nicks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..channel import PREFIXES
from ..clustering import SPLIT_TEXT
from ..cork import current_cork, release
from ..msgids import new_msgid
from ..protocol.codec import MAX_LINE, Message
from ..protocol.numerics import (
    ERR_CANNOTSENDTOCHAN,
    ERR_INPUTTOOLONG,
    ERR_NEEDMOREPARAMS,
    ERR_NORECIPIENT,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_NOTEXTTOSEND,
    ERR_TOOMANYTARGETS,
    RPL_AWAY,
)
from ..sendq import Outgoing, ResponseBuffer
from .channel_batch import ChannelBatch
from .chathistory import keeps_reaction, store
from .multiline import batch_line
from .services import find_service
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..session import Session


#: Membership symbols by rank, highest first (for STATUSMSG targets such as ``@#chan``).
PREFIX_RANK = {symbol: rank for rank, symbol in enumerate(PREFIXES.values())}


def _client_tags(msg: Message) -> dict[str, str]:
    # Only client-only tags ('+' prefix) are relayed; the server adds its own.
    return {k: v for k, v in msg.tags.items() if k.startswith("+")}


def _fits(source: str, verb: str, target: str, text: str | None) -> bool:
    """Whether the relayed line ``:source VERB target :text`` fits in 512 bytes."""
    if text is None:
        return True  # TAGMSG: tags only, and a target the server knows fits
    size = len(source.encode()) + len(verb) + len(target.encode()) + len(text.encode()) + 7
    return size <= MAX_LINE


def relay(
    server: Context, client: Session, msg: Message, reply: ResponseBuffer, errors: bool
) -> None:
    """Deliver PRIVMSG, NOTICE or TAGMSG to each target; errors only when ``errors``."""
    verb = msg.command
    tagmsg = verb == "TAGMSG"
    if not msg.params or not msg.params[0]:
        if errors:
            reply.numeric(ERR_NORECIPIENT, f"No recipient given ({verb})")
        return
    if tagmsg:
        text = None
    else:
        text = msg.param(1)
        if not text:
            if errors:
                reply.numeric(ERR_NOTEXTTOSEND)
            return
    targets = [t for t in msg.params[0].split(",") if t]
    limit = server.config.max_targets
    if len(targets) > limit:
        if errors:
            reply.numeric(ERR_TOOMANYTARGETS, targets[limit], "Too many targets")
        targets = targets[:limit]
    client_tags = _client_tags(msg)
    echo = "echo-message" in client.caps
    registry = server.registry
    server.messages += 1  # a statistic: an occasional lost update under races is fine
    if not tagmsg:
        client.last_spoke = server.clock()
    for target in dict.fromkeys(targets, None):
        # Server tags first, then the sender's client-only tags (IRCv3 message-tags). The
        # msgid is taken where the message is relayed (under a channel's send lock), by
        # ``store`` when it is kept: its number is the history row's id.
        tags = {"msgid": "", **({"bot": ""} if "B" in client.modes else {})}
        tags.update(client_tags)
        status = ""
        name = target
        while name[:1] in PREFIX_RANK:
            status, name = status + name[0], name[1:]
        if name.startswith("#"):
            channel = registry.find_channel(name)
            if channel is None:
                if errors:
                    reply.numeric(ERR_NOSUCHCHANNEL, name)
                continue
            if not _fits(client.source, verb, status + channel.name, text):
                # Relayed with its sender's prefix it would pass the line limit: refused
                # whole (417), never cut and never sent on in part.
                if errors:
                    reply.numeric(ERR_INPUTTOOLONG)
                continue
            corked = current_cork()
            cluster = server.cluster
            if corked is not None:
                if text is not None and not status and reply.lines is None:
                    batch = corked.batch
                    if not (
                        isinstance(batch, ChannelBatch)
                        and batch.channel is channel
                        and batch.client is client
                    ):
                        corked.settle()
                        batch = corked.batch = ChannelBatch(server, client, channel, echo)
                    source = client.source
                    out = Outgoing(
                        verb,
                        channel.name,
                        text,
                        source=source,
                        tags=tags,
                        stamped=False,
                        valid=True,
                        account=client.account_name,
                    )
                    batch.add(out, tags, text, errors)
                    continue
                corked.settle()  # what came before goes first (and holds no send lock)
            lowest = max((PREFIX_RANK[s] for s in status), default=None)
            with channel.send_lock:
                recipients = registry.audience(client, channel, lowest)
                if recipients is None:
                    if errors:
                        reply.numeric(ERR_CANNOTSENDTOCHAN, channel.name)
                    continue
                out = Outgoing(
                    verb,
                    status + channel.name,
                    *params_for(text),
                    source=client.source,
                    tags=tags,
                    account=client.account_name,
                )
                # Under the lock, before it is sent: relay order. What only operators
                # got stays out; a reaction lasts, like the message it reacts to.
                kept = not status and (text is not None or keeps_reaction(tags))
                sequenced = cluster is not None and cluster.sequenced
                if kept and not sequenced:
                    stored = (channel.name, *params_for(text))
                    store(server, client, verb, stored, tags, millis=out.millis)
                elif not sequenced:
                    tags["msgid"] = new_msgid()
                if cluster is not None:
                    # Delivered here too as it comes back: the network's one order.
                    shown = echo and (not tagmsg or "message-tags" in client.caps)
                    held = reply.lines is not None
                    sent = cluster.channel_message(client, channel, out, status, shown, held)
                    if sequenced:
                        # Its msgid and time come from the network's order: so does
                        # its place in the shared history (stored once they are given).
                        stored = (channel.name, *params_for(text))
                        sent.keep(_keeper(server, client, verb, stored, out) if kept else None)
                else:
                    out.deliver(
                        [
                            r
                            for r in recipients
                            if r is not client and (not tagmsg or "message-tags" in r.caps)
                        ]
                    )
                    if echo and (not tagmsg or "message-tags" in client.caps):
                        reply.send(out.for_client(client))
            if cluster is not None:
                sent.finish(reply)  # the send lock is free: the subscriber may deliver
        else:
            found = find_service(target)
            if found is not None:
                # A service answers a PRIVMSG itself; nothing is relayed or stored (what
                # is said to NickServ carries passwords). The sender still gets its echo.
                if verb == "PRIVMSG" and text:
                    tags["msgid"] = new_msgid()
                    if echo:
                        out = Outgoing(verb, found[0], text, source=client.source, tags=tags)
                        reply.send(out.for_client(client))
                    release(client.queue)  # a password check may take time
                    found[1](server, client, text, reply)
                continue
            peer = registry.find_nick(target)
            if peer is None:
                if errors:
                    reply.numeric(ERR_NOSUCHNICK, target)
                continue
            if not _fits(client.source, verb, peer.nick, text):
                if errors:
                    reply.numeric(ERR_INPUTTOOLONG)
                continue
            out = Outgoing(
                verb,
                peer.nick,
                *params_for(text),
                source=client.source,
                tags=tags,
                account=client.account_name,
            )
            if text is not None:  # not a TAGMSG
                store(server, client, verb, (peer.nick, text), tags, peer=peer, millis=out.millis)
            elif keeps_reaction(tags):
                store(server, client, verb, (peer.nick,), tags, peer=peer, millis=out.millis)
            else:
                tags["msgid"] = new_msgid()
            if peer.remote and server.cluster is not None:
                # Its node checks its capabilities.
                if not server.cluster.direct(peer, out):
                    code = "TEMPORARILY_UNAVAILABLE"
                    reply.send_line("FAIL", verb, code, SPLIT_TEXT, source=server.config.name)
                    continue
            elif not tagmsg or "message-tags" in peer.caps:
                # To oneself it arrives as any message does, not as a reply (so on the
                # queue itself); with echo-message the echo follows, and only the echo
                # answers a labeled command.
                peer.send(out.for_client(peer))
            if echo and (not tagmsg or "message-tags" in client.caps):
                reply.send(out.for_client(client))
            if verb == "PRIVMSG" and peer.away:
                reply.numeric(RPL_AWAY, peer.nick, peer.away)


def params_for(text: str | None) -> tuple[str, ...]:
    """The text parameter, absent for TAGMSG."""
    return () if text is None else (text,)


@command("PRIVMSG")
def privmsg(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """PRIVMSG <target>{,<target>} <text>."""
    if "batch" in msg.tags:
        batch_line(server, client, msg, reply)  # a line of a multi-line message
        return
    relay(server, client, msg, reply, errors=True)


@command("NOTICE")
def notice(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """NOTICE <target>{,<target>} <text>: like PRIVMSG, but never answered with an error."""
    if "batch" in msg.tags:
        batch_line(server, client, msg, reply)  # refused: a batch holds PRIVMSGs only
        return
    relay(server, client, msg, reply, errors=False)


@command("TAGMSG")
def tagmsg(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """TAGMSG <target>: client-only tags with no text (IRCv3 message-tags)."""
    if not msg.params:
        reply.numeric(ERR_NEEDMOREPARAMS, "TAGMSG")
        return
    if "batch" in msg.tags:
        batch_line(server, client, msg, reply)  # refused: a batch holds PRIVMSGs only
        return
    relay(server, client, msg, reply, errors=True)


def _keeper(
    server: Context, client: Session, verb: str, params: tuple[str, ...], out: Outgoing
) -> Callable[[], None]:
    """Store channel message ``out`` with the msgid and time the network gave it."""

    def keep() -> None:
        store(server, client, verb, params, out.tags, millis=out.millis, given=True)

    return keep
