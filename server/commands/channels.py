"""Channel membership and information: JOIN, PART, TOPIC, NAMES, KICK, INVITE, LIST."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import admin
from ..channel import Channel, ChannelRow, JoinRefused, Refused, Topic
from ..dbpool import Offload
from ..handover import announce_handover
from ..history_api import HistoryUnavailable
from ..protocol.codec import MAX_LINE, Message, split_source, truncate_utf8
from ..protocol.names import casefold, compile_mask, is_glob, valid_channel
from ..protocol.numerics import (
    ERR_NEEDMOREPARAMS,
    ERR_NOSUCHCHANNEL,
    ERR_NOTONCHANNEL,
    ERR_TOOMANYCHANNELS,
    ERR_USERNOTINCHANNEL,
    RPL_AWAY,
    RPL_ENDOFINVITELIST,
    RPL_ENDOFNAMES,
    RPL_INVITELIST,
    RPL_INVITING,
    RPL_LIST,
    RPL_LISTEND,
    RPL_LISTSTART,
    RPL_NAMREPLY,
    RPL_NOTOPIC,
    RPL_TOPIC,
    RPL_TOPICWHOTIME,
)
from ..sendq import Outgoing, ResponseBuffer
from .chathistory import replay_on_join, store
from .network_change import change_channel, unsaved_in_network
from .outage import unsaved
from .readmarker import send_join_marker
from .rooms import remember_room, restore_room, status_on_join
from .services import services_source
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..session import Session


def join_channel(
    server: Context, client: Session, reply: ResponseBuffer, name: str, key: str = ""
) -> None:
    """Join ``client`` to ``name``: JOIN to every member, then topic and names."""
    config = server.config
    if not valid_channel(name, config.channellen):
        reply.numeric(ERR_NOSUCHCHANNEL, name)
        return
    if config.max_channels:
        joined = server.registry.joined_keys(client)
        if len(joined) >= config.max_channels:
            if casefold(name) not in joined:
                reply.numeric(ERR_TOOMANYCHANNELS, name)
            return
    # The JOIN goes out under the channel's send_lock, so no message to the channel
    # can reach the joiner before its own JOIN does.
    members: list[Session] | None = []
    cluster = server.cluster
    # In a network, who is first in the channel is decided across the nodes.
    first = None if cluster is None else cluster.entering(client, name)
    while members == []:
        channel = server.registry.channel_for_join(name)
        set_up_channel(server, channel)
        status = status_on_join(server, client, channel)
        with channel.send_lock:
            try:
                members = server.registry.join(client, channel, key, status, first)
            except JoinRefused as refusal:
                reply.numeric(*refusal.args)
                if cluster is not None:
                    cluster.not_entered(client, name)
                return
            if members:
                announce_join(client, reply, channel, members)
                if status:
                    announce_status(server, client, reply, channel, status, members)
    if members is None:
        return  # already a member: nothing happens (and it was in the nodes' table)
    if server.cluster is not None:
        # After the send lock: subscribing waits for Redis, whose messages the
        # subscriber thread delivers under that lock.
        server.cluster.joined(client, channel)
    topic = server.registry.topic_of(client, channel)
    if topic is not None and topic.text:
        send_topic(reply, channel, topic)
    send_join_marker(server, client, reply, channel)
    send_names(server, client, reply, channel)
    replay_on_join(server, client, reply, channel)


def set_up_channel(server: Context, channel: Channel) -> None:
    """Before a channel made anew is first joined (once): where its history starts, and
    the last topic that history remembers.

    A channel's history starts when it was created, so whoever re-creates an emptied
    channel reads nothing of the people who used the name before. The server's own
    rooms (``autojoin``), which everyone is put into, keep theirs across lives.
    """
    if not server.registry.needs_topic(channel) or restore_room(server, channel):
        return  # a registered room's floor and topic come with it
    history = server.history
    if history is None:
        return
    folded = casefold(channel.name)
    if folded not in {casefold(name) for name in server.config.autojoin}:
        # Not in the table yet, so nobody else sees it: the registry's lock is not needed.
        channel.history_floor = history.last_id()
        return
    try:
        record = history.latest_topic(folded, channel.history_floor)
    except HistoryUnavailable:
        return  # the database is down: the room starts without its remembered topic
    if record is None or len(record.params) < 2 or not record.params[1]:
        return
    by = split_source(record.source)[0] or record.source
    server.registry.restore_topic(channel, Topic(record.params[1], by, record.time_ms // 1000))


def announce_status(
    server: Context,
    client: Session,
    reply: ResponseBuffer,
    channel: Channel,
    status: str,
    members: list[Session],
) -> None:
    """The MODE from ChanServ that gives a joiner its access in a registered room."""
    modes = "+" + status
    out = Outgoing(
        "MODE", channel.name, modes, *[client.nick] * len(status), source=services_source(server)
    )
    out.deliver(members, reply)


def announce_join(
    client: Session, reply: ResponseBuffer, channel: Channel, members: list[Session]
) -> None:
    """Send the JOIN (extended-join where asked for) and the joiner's away state; the
    joiner's own JOIN answers its command."""
    account = client.account_name
    plain = Outgoing("JOIN", channel.name, source=client.source, account=account)
    # extended-join: the account name, or * when not signed in (IRCv3 extended-join).
    extended = Outgoing(
        "JOIN", channel.name, account or "*", client.realname, source=client.source, account=account
    )
    away = (
        Outgoing("AWAY", client.away, source=client.source, account=account)
        if client.away
        else None
    )
    for member in members:
        caps = member.caps
        out = extended if "extended-join" in caps else plain
        if member is client:
            reply.send(out.for_client(member))
        else:
            member.send(out.for_client(member))
        if away is not None and member is not client and "away-notify" in caps:
            member.send(away.for_client(member))


def send_topic(reply: ResponseBuffer, channel: Channel, topic: Topic) -> None:
    """RPL_TOPIC and RPL_TOPICWHOTIME, or RPL_NOTOPIC."""
    if not topic.text:
        reply.numeric(RPL_NOTOPIC, channel.name)
        return
    reply.numeric(RPL_TOPIC, channel.name, topic.text)
    reply.numeric(RPL_TOPICWHOTIME, channel.name, topic.by, str(topic.at))


def send_names(
    server: Context, client: Session, reply: ResponseBuffer, channel: Channel, end: bool = True
) -> None:
    """RPL_NAMREPLY lines (as many as the names need) and RPL_ENDOFNAMES."""
    data = _NAMES.run(names_reply, server, client, channel)
    if data:
        reply.send_lines(data)
    if end:
        reply.numeric(RPL_ENDOFNAMES, channel.name)


#: Where NAMES replies are built. A big channel's reply makes lists and strings that
#: pass through sizes the C allocator caches per thread once freed (it keeps up to seven
#: blocks of each size up to 1 KiB for the thread that freed them): built on each
#: joiner's own thread, they left every connection of a 2,000-member channel about
#: 5 KiB larger for good. Built here, they stay in one thread's cache.
_NAMES = Offload("kibitz-names")


def names_reply(server: Context, client: Session, channel: Channel) -> bytes:
    """The RPL_NAMREPLY lines ``client`` gets for ``channel``, as one buffer (empty when
    the channel is hidden from it or shows nobody)."""
    multi = "multi-prefix" in client.caps
    userhost = "userhost-in-names" in client.caps
    seen = server.registry.visible_members(client, channel, multi)
    if seen is None:
        return b""
    secret, members = seen
    names = [prefix + (m.source if userhost else m.nick) for m, prefix in members]
    if not names:
        return b""
    symbol = "@" if secret else "="
    head = f":{server.config.name} {RPL_NAMREPLY.code} {client.nick} {symbol} {channel.name} "
    return names_lines(head, names)


def names_lines(head: str, names: list[str]) -> bytes:
    """``head`` (the line up to the names) and as many names as fit in a line, line
    after line, encoded as one buffer: one allocation, not a few per line."""
    budget = MAX_LINE - 2 - len(head.encode()) - 1  # the ':' the names may need
    parts: list[str] = []
    line: list[str] = []
    size = 0
    for name in names:
        width = len(name) if name.isascii() else len(name.encode())
        if line and size + width + 1 > budget:
            _names_line(parts, head, line)
            line, size = [], 0
        line.append(name)
        size += width + 1
    if line:
        _names_line(parts, head, line)
    return "".join(parts).encode("utf-8", "surrogateescape")


def _names_line(parts: list[str], head: str, line: list[str]) -> None:
    # The names are the last parameter: a ':' before them, unless a lone name needs none
    # (the way every other line is built).
    parts.append(head if len(line) == 1 and line[0][:1] != ":" else head + ":")
    for index, name in enumerate(line):
        if index:
            parts.append(" ")
        parts.append(name)
    parts.append("\r\n")


@command("JOIN", min_params=1)
def join(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """JOIN <channel>{,<channel>} [<key>{,<key>}] (or JOIN 0 to leave every channel)."""
    if msg.params[0] == "0":
        for channel in server.registry.visible_channels(client):
            part_channel(server, client, reply, channel, "")
        return
    keys = msg.param(1).split(",")
    for index, name in enumerate(msg.params[0].split(",")):
        if client.closing:
            return  # killed or dropped meanwhile (the registry would refuse it anyway)
        if name:
            join_channel(server, client, reply, name, keys[index] if index < len(keys) else "")


def part_channel(
    server: Context, client: Session, reply: ResponseBuffer, channel: Channel, reason: str
) -> None:
    """Take ``client`` out of ``channel`` and tell every member (itself included)."""
    with channel.send_lock:
        parted = server.registry.part(client, channel)
        if parted is None:
            reply.numeric(ERR_NOTONCHANNEL, channel.name)
            return
        recipients, handover = parted
        params = (channel.name, reason) if reason else (channel.name,)
        out = Outgoing("PART", *params, source=client.source, account=client.account_name)
        out.deliver(recipients, reply)
        if handover is not None:
            announce_handover(server.config.name, handover)
    if server.cluster is not None:
        server.cluster.parted(client, channel, "PART", reason)


@command("PART", min_params=1)
def part(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """PART <channel>{,<channel>} [<reason>]."""
    reason = msg.param(1)
    for name in msg.params[0].split(","):
        if not name:
            continue
        channel = server.registry.find_channel(name)
        if channel is None:
            reply.numeric(ERR_NOSUCHCHANNEL, name)
        else:
            part_channel(server, client, reply, channel, reason)


@command("TOPIC", min_params=1)
def topic(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """TOPIC <channel> [<topic>]: show or set the topic (+t: operators only)."""
    name = msg.params[0]
    channel = server.registry.find_channel(name)
    if channel is None:
        reply.numeric(ERR_NOSUCHCHANNEL, name)
        return
    if len(msg.params) < 2:
        shown = server.registry.topic_of(client, channel)
        if shown is None:
            reply.numeric(ERR_NOTONCHANNEL, channel.name)
        else:
            send_topic(reply, channel, shown)
        return
    text = truncate_utf8(msg.params[1], server.config.topiclen)
    with channel.send_lock:
        try:
            changed = change_channel(
                server,
                client,
                channel,
                "TOPIC",
                lambda: server.registry.set_topic(client, channel, text),
                lambda _: [text],
                reply,
            )
        except Refused as refusal:
            reply.numeric(*refusal.args)
            return
        if changed is None:
            return
        members, before = changed
        if not remember_room(server, channel, before):  # stored before anyone sees it
            unsaved_in_network(server, channel, client.source, "TOPIC")
            unsaved(server, "TOPIC", channel.name, reply)
            return
        out = Outgoing(
            "TOPIC", channel.name, text, source=client.source, account=client.account_name
        )
        out.deliver(members, reply)
        store(server, client, "TOPIC", (channel.name, text), {})  # gives it a msgid


@command("NAMES")
def names(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """NAMES [<channel>{,<channel>}]: who is in a channel."""
    if not msg.params:
        for channel in server.registry.channels_seen_by(client):
            send_names(server, client, reply, channel, end=False)
        reply.numeric(RPL_ENDOFNAMES, "*")
        return
    # Several channels: the names of each, then one RPL_ENDOFNAMES naming them as asked.
    for name in msg.params[0].split(","):
        found = server.registry.find_channel(name)
        if found is not None:
            send_names(server, client, reply, found, end=False)
    reply.numeric(RPL_ENDOFNAMES, msg.params[0])


@command("KICK", min_params=2)
def kick(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """KICK <channel>{,<channel>} <nick>{,<nick>} [<reason>]: operators remove members;
    one channel with several nicks, or as many channels as nicks, paired (RFC 2812)."""
    names = [n for n in msg.params[0].split(",") if n]
    nicks = [n for n in msg.params[1].split(",") if n]
    if not names or not nicks or (len(names) > 1 and len(names) != len(nicks)):
        reply.numeric(ERR_NEEDMOREPARAMS, "KICK")
        return
    reason = truncate_utf8(msg.param(2) or client.nick, server.config.kicklen)
    channels = names if len(names) > 1 else names * len(nicks)
    refused: set[str] = set()  # channels where this client may not kick at all
    for name, nick in zip(channels, nicks, strict=True):
        if casefold(name) in refused:
            continue
        channel = server.registry.find_channel(name)
        if channel is None:
            refused.add(casefold(name))
            reply.numeric(ERR_NOSUCHCHANNEL, name)
            continue
        _kick_one(server, client, reply, channel, nick, reason, refused)


def _kick_one(
    server: Context,
    client: Session,
    reply: ResponseBuffer,
    channel: Channel,
    nick: str,
    reason: str,
    refused: set[str],
) -> None:
    try:
        admin.kick_member(server, channel, nick, reason, client.source, client, reply)
    except Refused as refusal:
        reply.numeric(*refusal.args)
        if refusal.args[0] is not ERR_USERNOTINCHANNEL:
            refused.add(casefold(channel.name))  # said once per channel, not per nick


@command("INVITE")
def invite(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """INVITE <nick> <channel>, or INVITE alone to list one's invitations."""
    if not msg.params:
        for channel_name in server.registry.invitations(client):
            reply.numeric(RPL_INVITELIST, channel_name)
        reply.numeric(RPL_ENDOFINVITELIST)
        return
    if len(msg.params) < 2:
        reply.numeric(ERR_NEEDMOREPARAMS, "INVITE")
        return
    nick, name = msg.params[0], msg.params[1]
    channel = server.registry.find_channel(name)
    if channel is None:
        reply.numeric(ERR_NOSUCHCHANNEL, name)
        return
    try:
        target, notify = server.registry.invite(client, channel, nick)
    except Refused as refusal:
        reply.numeric(*refusal.args)
        return
    reply.numeric(RPL_INVITING, target.nick, channel.name)
    out = Outgoing(
        "INVITE", target.nick, channel.name, source=client.source, account=client.account_name
    )
    if target.remote and server.cluster is not None:
        server.cluster.invited(target, channel, out)  # its node lets it in, and tells it
    else:
        target.send(out.for_client(target))
    out.deliver(notify)
    if target.away:
        reply.numeric(RPL_AWAY, target.nick, target.away)


def _number(text: str) -> int | None:
    """A plain decimal number (ASCII digits only: ``int`` refuses some ``isdigit``)."""
    return int(text) if text.isascii() and text.isdigit() else None


def _list_filter(condition: str) -> Callable[[ChannelRow], bool] | None:
    """An ELIST condition (C, M, N, T, U) as a predicate over channels, or None."""
    now = time.time()
    if condition[:2] in ("C<", "C>", "T<", "T>"):
        minutes = _number(condition[2:])
        if minutes is None:
            return None
        span = minutes * 60
        newer = condition[1] == "<"  # C<n: created less than n minutes ago
        by_topic = condition[0] == "T"

        def by_time(row: ChannelRow) -> bool:
            if by_topic and not row.topic_at:
                return False
            stamp = row.topic_at if by_topic else row.created
            return (now - stamp < span) if newer else (now - stamp > span)

        return by_time
    count = _number(condition[1:]) if condition[:1] in "<>" else None
    if count is not None:
        if condition[0] == ">":
            return lambda row: row.members > count
        return lambda row: row.members < count
    if condition.startswith("!"):
        excluded = compile_mask(condition[1:])
        return lambda row: not excluded(row.name)
    if is_glob(condition):
        wanted = compile_mask(condition)
        return lambda row: wanted(row.name)
    return None


@command("LIST")
def list_(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """LIST [<channel>{,<channel>}] [<elistcond>{,<elistcond>}]."""
    wanted: list[str] = []
    filters = []
    for param in msg.params[:2]:
        for item in param.split(","):
            if not item:
                continue
            test = _list_filter(item)
            if test is not None:
                filters.append(test)
            else:
                wanted.append(casefold(item))
    rows = server.registry.channel_rows(client, wanted or None)
    # Filtered after the lock is released: masks cost time, nobody else waits for it.
    rows = [row for row in rows if all(test(row) for test in filters)]
    reply.numeric(RPL_LISTSTART, "Channel")
    for row in rows:
        reply.numeric(RPL_LIST, row.name, str(row.members), row.topic)
    reply.numeric(RPL_LISTEND)
