"""History: storing relayed messages, CHATHISTORY (IRCv3 draft/chathistory), and the
replay a client without it gets when it joins a channel."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..history import Conversation, dm_target
from ..history_api import HistoryUnavailable
from ..history_records import NO_TAGS, Group, Record, Shared, quote_json, row_group
from ..history_records import row as history_row
from ..msgids import new_msgid
from ..multiline import STORED_TAG
from ..multiline import replay as replay_multiline
from ..protocol.codec import Message, build, encode, format_time, parse_timestamp, split_source
from ..protocol.names import casefold
from ..redaction import remember
from ..sendq import ResponseBuffer, new_batch_id
from .table import command

if TYPE_CHECKING:
    from ..channel import Channel
    from ..context import Context
    from ..sendq import Outgoing
    from ..session import Session

SUBCOMMANDS = ("LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS")

#: Bytes of client-only tags (names and values) stored with a message. Live recipients
#: get every tag the sender sent (up to 4 KiB); history keeps what a reply or a reaction
#: needs, so a client cannot make each stored line ten times its text.
MAX_STORED_TAGS = 512
#: Client-only tags that keep their meaning in history: when a message carries more
#: than ``MAX_STORED_TAGS``, only these are stored (those that fit, in this order).
KNOWN_TAGS = ("+draft/reply", "+draft/react", "+draft/unreact", "+draft/channel-context")
#: The client-only tags of a reaction (IRCv3 react, with the proposed unreact): a TAGMSG
#: carrying one of them is kept in history, so reactions survive a restart.
REACTION_TAGS = ("+draft/react", "+draft/unreact")
#: The verb of a stored reaction: never replayed to a client without message-tags.
TAG_ONLY = "TAGMSG"


def stored_tags(tags: dict[str, str]) -> dict[str, str]:
    """The tags of a relayed message that history keeps: every tag but ``msgid`` (kept
    in its own column), with the client-only ones capped at ``MAX_STORED_TAGS`` bytes."""
    kept = {k: v for k, v in tags.items() if k != "msgid" and not k.startswith("+")}
    client = {k: v for k, v in tags.items() if k.startswith("+")}
    if sum(len(k) + len(v) + 2 for k, v in client.items()) <= MAX_STORED_TAGS:
        kept.update(client)
        return kept
    room = MAX_STORED_TAGS
    for name in KNOWN_TAGS:
        value = client.get(name)
        if value is not None and len(name) + len(value) + 2 <= room:
            kept[name] = value
            room -= len(name) + len(value) + 2
    return kept


def keeps_reaction(tags: dict[str, str]) -> bool:
    """Whether a TAGMSG with ``tags`` is a reaction worth storing: a reaction (or its
    removal) with a value, to the msgid ``+draft/reply`` names, both within what history
    keeps. Any other TAGMSG (``+typing``, a reaction to nothing) is relayed only."""
    if not tags.get("+draft/reply"):
        return False
    kept = stored_tags(tags)
    return "+draft/reply" in kept and any(kept.get(name) for name in REACTION_TAGS)


def party_of(client: Session) -> str:
    """Who ``client`` is in a direct conversation: its account, or (not signed in) its
    connection alone, which nobody else can ever be."""
    account = client.account
    return account.name if account is not None else "~" + client.token


def party_named(server: Context, nick: str) -> str:
    """The party a nick stands for now: whoever holds it, else the account of that
    name (an account's name is its nick, held by nobody else)."""
    holder = server.registry.find_nick(nick)
    return party_of(holder) if holder is not None else casefold(nick)


def store(
    server: Context,
    client: Session,
    verb: str,
    params: tuple[str, ...],
    tags: dict[str, str],
    peer: Session | None = None,
    millis: int | None = None,
    given: bool = False,
) -> None:
    """Record a message about to be relayed: a channel message (``peer`` None) or a
    direct one, stamped with the time it is relayed with (``millis``), and give it its
    msgid (``tags["msgid"]``, taken as it is queued: its number is the row's id). Called
    where the relay order is decided (a channel's under its send lock), before sending;
    ``given``: the msgid is in ``tags`` already, from the network's order (the message
    is published, and its number is the row's id)."""
    history = server.history
    if history is None:
        tags["msgid"] = new_msgid()
        return
    kept = stored_tags(tags)
    if peer is None:
        target, a, b = casefold(params[0]), None, None
    else:
        # Rows name sender and recipient (TARGETS tells them apart); the key is the pair.
        a, b = party_of(client), party_of(peer)
        target = dm_target(a, b)[0]
    account = client.account
    row = history_row(
        tags["msgid"] if given else "",
        target,
        millis if millis is not None else int(time.time() * 1000),
        client.source,
        account.display if account is not None else None,
        verb,
        params,
        kept,
        a,
        b,
    )
    group = row_group(row)
    history.add_groups([group], number=not given)
    tags["msgid"] = msgid = str(group[1][1])
    if peer is None and account is None and verb != "TOPIC":
        remember(client, (msgid,))


def store_numbered(
    server: Context,
    client: Session,
    channel: str,
    items: list[tuple[Outgoing, dict[str, str], str, bool]],
) -> None:
    """Record messages ``client`` sent to ``channel`` in a row whose msgids and times
    the network's order gave (in each item's tags and message); one hand-off for all."""
    history = server.history
    if history is None:
        return
    target = casefold(channel)
    account = client.account
    shown = account.display if account is not None else None
    groups = [
        row_group(
            history_row(
                tags["msgid"],
                target,
                out.millis,
                client.source,
                shown,
                out.command,
                (channel, text),
                stored_tags(tags),
            )
        )
        for out, tags, text, _ in items
    ]
    history.add_groups(groups, number=False)
    if account is None:
        remember(client, tuple(str(group[1][1]) for group in groups))


def store_many(
    server: Context,
    client: Session,
    channel: str,
    items: list[tuple[Outgoing, dict[str, str], str, bool]],
    millis: int,
) -> None:
    """Record messages ``client`` sends to ``channel`` in a row, relayed at ``millis``
    (a ``ChannelBatch``: each item's message, tags and text), and give each its msgid
    as :func:`store` does; one hand-off for all."""
    history = server.history
    if history is None:
        for _, tags, _, _ in items:
            tags["msgid"] = new_msgid()
        return
    target = casefold(channel)
    source = client.source
    account = client.account
    shown = account.display if account is not None else None
    # Groups of texts to the channel that share all but msgid and text (see ``Group``),
    # each text as a JSON string: this runs on the relay's path, once a message.
    plain: Shared = (target, millis, source, shown, "PRIVMSG", NO_TAGS, None, None)
    groups: list[Group] = []
    rows: list[int | str] = []
    # Where each item's msgid will be: its group's rows and the row's place in them.
    places: list[tuple[list[int | str], int]] = []
    verb = "PRIVMSG"
    for out, tags, text, _ in items:
        if len(tags) == 1:  # most messages carry nothing but their msgid
            if out.command != verb:
                if rows:
                    groups.append((plain, rows, channel))
                    rows = []
                verb = out.command
                plain = (target, millis, source, shown, verb, NO_TAGS, None, None)
            places.append((rows, len(rows) + 1))
            rows += (0, "", quote_json(text))
        else:
            if rows:
                groups.append((plain, rows, channel))
                rows = []
            kept = stored_tags(tags)
            params = (channel, text)
            one = row_group(
                history_row("", target, millis, source, shown, out.command, params, kept)
            )
            places.append((one[1], 1))
            groups.append(one)
    if rows:
        groups.append((plain, rows, channel))
    history.add_groups(groups, number=True)
    sent: list[str] = []
    for (_, tags, _, _), (numbered, at) in zip(items, places, strict=True):
        tags["msgid"] = msgid = str(numbered[at])
        sent.append(msgid)
    if account is None:
        remember(client, sent)


def _line_for(client: Session, record: Record, batch: str | None) -> bytes:
    tags: dict[str, str] = {}
    if batch is not None:
        tags["batch"] = batch
    if "server-time" in client.caps:
        tags["time"] = format_time(record.time_ms)
    if "message-tags" in client.caps:
        tags["msgid"] = record.msgid
        tags.update(record.tags)
    if record.account is not None and "account-tag" in client.caps:
        tags["account"] = record.account
    return encode(build(record.command, *record.params, source=record.source, tags=tags))


def send_batch(
    server: Context,
    client: Session,
    reply: ResponseBuffer,
    kind: str,
    target: str | None,
    records: list[Record],
) -> None:
    """Send records inside a BATCH (of ``kind``, about ``target`` if given) when the
    client has ``batch``, bare otherwise."""
    name = server.config.name
    batch = new_batch_id() if "batch" in client.caps else None
    if batch is not None:
        about = (target,) if target is not None else ()
        reply.send_line("BATCH", "+" + batch, kind, *about, source=name)
    tagged = "message-tags" in client.caps
    for record in records:
        if record.command == TAG_ONLY and not tagged:
            continue  # a client without message-tags never gets a TAGMSG
        if STORED_TAG in record.tags:  # one multi-line message
            reply.send(replay_multiline(client, record, batch))
        else:
            reply.send(_line_for(client, record, batch))
    if batch is not None:
        reply.send_line("BATCH", "-" + batch, source=name)


def replay_on_join(
    server: Context, client: Session, reply: ResponseBuffer, channel: Channel
) -> None:
    """The last messages of a channel, for a joining client that cannot ask for them."""
    count = server.config.join_replay
    if server.history is None or count <= 0 or "draft/chathistory" in client.caps:
        return
    server.history.flush()
    key, floor = casefold(channel.name), channel.history_floor
    try:
        if "message-tags" in client.caps:  # the messages and the reactions among them
            records = server.history.latest(key, count, floor=floor)
        else:  # it would get no reaction: the last ``count`` messages, none crowded out
            records = server.history.latest(key, count, floor=floor, without=TAG_ONLY)
    except HistoryUnavailable:
        return  # the join is done; only its replay is missing (the database is down)
    if records:
        send_batch(server, client, reply, "chathistory", channel.name, records)


def _fail(server: Context, reply: ResponseBuffer, code: str, *context: str) -> None:
    texts = {
        "INVALID_PARAMS": "Invalid parameters",
        "INVALID_TARGET": "Messages could not be retrieved",
        "MESSAGE_ERROR": "Messages could not be retrieved",
        "NEED_MORE_PARAMS": "Missing parameters",
        "UNKNOWN_COMMAND": "Unknown command",
    }
    # Context echoes what the client sent: a parameter that cannot stand in the middle of
    # a line (empty, with a space, starting with ':') is shown as `*`.
    safe = [c if c and " " not in c and not c.startswith(":") else "*" for c in context]
    reply.send_line("FAIL", "CHATHISTORY", code, *safe, texts[code], source=server.config.name)


def _limit(server: Context, text: str) -> int | None:
    if not text.isdigit() or int(text) <= 0:
        return None
    return min(int(text), server.config.chathistory_max)


def storage_key(server: Context, client: Session, target: str) -> tuple[str, int] | None:
    """Where the target's history is kept and the id it starts after, if this client
    may read it: a channel it is in (this life of it only), or its own conversation with
    whoever ``target`` is now."""
    if target.startswith("#"):
        channel = server.registry.find_channel(target)
        if channel is None or not server.registry.is_member(client, channel):
            return None
        return casefold(target), channel.history_floor
    if not target or target == "*" or client.key is None:
        return None
    return dm_target(party_of(client), party_named(server, target))[0], 0


@command("CHATHISTORY", min_params=1)
def chathistory(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """CHATHISTORY LATEST/BEFORE/AFTER/AROUND/BETWEEN/TARGETS (IRCv3 draft/chathistory)."""
    sub = msg.params[0].upper()
    history = server.history
    if sub not in SUBCOMMANDS:
        _fail(server, reply, "UNKNOWN_COMMAND", msg.params[0])
        return
    needed = 5 if sub == "BETWEEN" else 4
    if len(msg.params) < needed:
        _fail(server, reply, "NEED_MORE_PARAMS", sub)
        return
    if history is None:
        _fail(server, reply, "MESSAGE_ERROR", sub, msg.params[1])  # history is off
        return
    if sub == "TARGETS":
        _targets(server, client, msg, reply)
        return
    target = msg.params[1]
    limit = _limit(server, msg.params[-1])
    if limit is None:
        _fail(server, reply, "INVALID_PARAMS", sub, msg.params[-1])
        return
    found = storage_key(server, client, target)
    if found is None:
        _fail(server, reply, "INVALID_TARGET", sub, target)
        return
    key, floor = found
    history.flush()
    ref = msg.params[2]
    if sub == "LATEST" and ref == "*":
        records = history.latest(key, limit, floor=floor)
    else:
        where = history.locate(key, ref, floor)
        if where is None:
            if not ref.startswith(("msgid=", "timestamp=")) or (
                ref.startswith("timestamp=") and parse_timestamp(ref[10:]) is None
            ):
                _fail(server, reply, "INVALID_PARAMS", sub, ref)
                return
            records = []  # a msgid this target never had: nothing around it
        elif sub == "LATEST":
            records = history.latest(key, limit, after=where[1], floor=floor)
        elif sub == "BEFORE":
            records = history.before(key, where[0], limit, floor)
        elif sub == "AFTER":
            records = history.after(key, where[1], limit, floor)
        elif sub == "AROUND":
            earlier = history.before(key, where[0], limit // 2, floor)
            records = earlier + history.after(key, where[0] - 1, limit - len(earlier), floor)
        else:
            other = history.locate(key, msg.params[3], floor)
            if other is None:
                _fail(server, reply, "INVALID_PARAMS", sub, msg.params[3])
                return
            if where[1] < other[0]:  # forwards in time: from the first reference on
                records = history.between(key, where[1], other[0], limit, False, floor)
            else:  # backwards: the messages nearest the first reference
                records = history.between(key, other[1], where[0], limit, True, floor)
    send_batch(server, client, reply, "chathistory", target, records)


def _shown(row: Conversation, me: str) -> str:
    """The name a TARGETS row goes by: a channel's, the other party's account name, or
    (not signed in) the nick it had in the conversation's newest message."""
    if row.sender is None:
        return row.target
    other_sent = row.sender != me
    other = row.sender if other_sent else row.recipient
    if other and not other.startswith("~"):
        return other
    return (split_source(row.source)[0] or row.source) if other_sent else row.addressed


def _targets(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    start, end = parse_timestamp(msg.params[1][10:]), parse_timestamp(msg.params[2][10:])
    limit = _limit(server, msg.params[3])
    if (
        not msg.params[1].startswith("timestamp=")
        or not msg.params[2].startswith("timestamp=")
        or start is None
        or end is None
        or limit is None
    ):
        _fail(server, reply, "INVALID_PARAMS", "TARGETS", *msg.params[1:3])
        return
    history = server.history
    assert history is not None  # checked by the caller
    history.flush()
    floors = {casefold(c.name): c.history_floor for c in server.registry.visible_channels(client)}
    me = party_of(client)
    rows = history.targets(list(floors), me, start, end, limit, floors)
    name = server.config.name
    batch = new_batch_id() if "batch" in client.caps else None
    if batch is not None:
        reply.send_line("BATCH", "+" + batch, "draft/chathistory-targets", source=name)
    tags = {"batch": batch} if batch else None
    for row in rows:
        reply.send_line(
            "CHATHISTORY",
            "TARGETS",
            _shown(row, me),
            format_time(row.newest_ms),
            source=name,
            tags=tags,
        )
    if batch is not None:
        reply.send_line("BATCH", "-" + batch, source=name)
