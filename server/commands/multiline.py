"""Multi-line messages: BATCH +ref draft/multiline <target>, its PRIVMSG lines, BATCH -ref
(IRCv3 ``draft/multiline``).

The lines are collected on the sender's session and nothing is relayed until the batch
ends; then the message goes out as one (see ``server.multiline``), is echoed, and is
stored as one history row. A batch that is refused, left open past ``OPEN_SECONDS`` or
still open when its sender leaves is never delivered. Other commands may come between
its lines. Each line is a line read, so it costs the flood tokens any line does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..clustering import SPLIT_TEXT
from ..multiline import (
    BATCH_TYPE,
    CAP,
    CONCAT_TAG,
    MAX_BYTES,
    MAX_LINES,
    OPEN_SECONDS,
    STORED_TAG,
    Delivery,
    OpenBatch,
    stored_concat,
    with_label,
)
from ..protocol.codec import MAX_LINE, Message
from ..protocol.names import casefold
from ..protocol.numerics import (
    ERR_CANNOTSENDTOCHAN,
    ERR_INPUTTOOLONG,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    RPL_AWAY,
    Numeric,
)
from ..sendq import ResponseBuffer
from .chathistory import store
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..session import Session

_TEXTS = {
    "MULTILINE_MAX_BYTES": "Multiline batch max-bytes exceeded",
    "MULTILINE_MAX_LINES": "Multiline batch max-lines exceeded",
    "MULTILINE_INVALID_TARGET": "Invalid multiline target",
    "MULTILINE_INVALID": "Invalid multiline batch",
}
_LIMITS = {"MULTILINE_MAX_BYTES": str(MAX_BYTES), "MULTILINE_MAX_LINES": str(MAX_LINES)}


def _fail(
    server: Context, reply: ResponseBuffer, code: str, *context: str, label: str | None = None
) -> None:
    limit = _LIMITS.get(code)
    params = (*((limit,) if limit else ()), *context, _TEXTS[code])
    tags = {"label": label} if label is not None else None
    reply.send_line("FAIL", "BATCH", code, *params, source=server.config.name, tags=tags)


def _refuse(
    server: Context, client: Session, reply: ResponseBuffer, code: str, *context: str
) -> None:
    """Refuse the open batch: one FAIL, and its remaining lines are dropped quietly."""
    batch = client.multiline
    label = None
    if batch is not None:
        label = batch.label
        batch.failed = True
        batch.lines, batch.concat = [], []
    _fail(server, reply, code, *context, label=label)


@command("BATCH", min_params=1)
def batch(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """BATCH +<ref> draft/multiline <target> / BATCH -<ref>: a client's multi-line message."""
    ref = msg.params[0]
    label = msg.tags.get("label") if "labeled-response" in client.caps else None
    if ref.startswith("+") and len(ref) > 1:
        _open(server, client, msg, reply, ref[1:], label)
    elif ref.startswith("-") and len(ref) > 1:
        _close(server, client, reply, ref[1:], label)
    else:
        _fail(server, reply, "MULTILINE_INVALID", label=label)


def _open(
    server: Context,
    client: Session,
    msg: Message,
    reply: ResponseBuffer,
    ref: str,
    label: str | None,
) -> None:
    if msg.param(1) != BATCH_TYPE or not msg.param(2) or CAP not in client.caps:
        _fail(server, reply, "MULTILINE_INVALID", label=label)
        return
    if client.multiline is not None and not client.multiline.failed:
        _refuse(server, client, reply, "MULTILINE_INVALID")  # one batch at a time
        return
    tags = {k: v for k, v in msg.tags.items() if k.startswith("+")}
    client.multiline = OpenBatch(ref, msg.params[2], tags, label, server.clock())


def batch_line(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """A message with a ``batch`` tag: one line of the open multi-line batch."""
    batch = client.multiline
    if batch is None or batch.ref != msg.tags["batch"]:
        if batch is None or not batch.failed:
            _refuse(server, client, reply, "MULTILINE_INVALID")
        return
    if batch.failed:
        return
    if server.clock() - batch.opened > OPEN_SECONDS:
        _refuse(server, client, reply, "MULTILINE_INVALID")
        return
    if msg.command != "PRIVMSG" or len(msg.params) < 2:
        _refuse(server, client, reply, "MULTILINE_INVALID")
        return
    if casefold(msg.params[0]) != casefold(batch.target):
        _refuse(server, client, reply, "MULTILINE_INVALID_TARGET", batch.target, msg.params[0])
        return
    code = batch.add(msg.params[1], CONCAT_TAG in msg.tags)
    if code is not None:
        _refuse(server, client, reply, code)


def _fits(source: str, target: str, lines: list[str]) -> bool:
    """Whether every line, relayed as ``:source PRIVMSG target :text``, fits in 512 bytes."""
    head = len(source.encode()) + len(target.encode()) + len("PRIVMSG") + 7
    return all(head + len(line.encode()) <= MAX_LINE for line in lines)


def _close(
    server: Context, client: Session, reply: ResponseBuffer, ref: str, label: str | None
) -> None:
    batch = client.multiline
    if batch is None or batch.ref != ref:
        _fail(server, reply, "MULTILINE_INVALID", label=label)
        return
    client.multiline = None
    if batch.failed:
        return
    if server.clock() - batch.opened > OPEN_SECONDS or not any(batch.lines):
        # Too old, empty or nothing but blank lines: no message to deliver.
        _fail(server, reply, "MULTILINE_INVALID", label=batch.label)
        return
    _deliver(server, client, reply, batch)


def _deliver(server: Context, client: Session, reply: ResponseBuffer, batch: OpenBatch) -> None:
    """Relay a complete batch to its target, echo it, store it."""
    registry = server.registry
    # The msgid is taken where the message is relayed (its number is the history row's
    # id, and a channel's ids follow its relay order).
    tags = {"msgid": "", **({"bot": ""} if "B" in client.modes else {}), **batch.tags}
    text = "\n".join(batch.lines)
    echo = "echo-message" in client.caps
    server.messages += 1
    client.last_spoke = server.clock()
    name = batch.target
    if name.startswith("#"):
        channel = registry.find_channel(name)
        if channel is None:
            _numeric_fail(reply, batch, ERR_NOSUCHCHANNEL, name)
            return
        if not _fits(client.source, channel.name, batch.lines):
            _numeric_fail(reply, batch, ERR_INPUTTOOLONG)
            return
        with channel.send_lock:
            recipients = registry.audience(client, channel)
            if recipients is None:
                _numeric_fail(reply, batch, ERR_CANNOTSENDTOCHAN, channel.name)
                return
            millis = int(time.time() * 1000)
            cluster = server.cluster
            sequenced = cluster is not None and cluster.sequenced
            # Stored before it is sent, under the lock: that gives it its msgid (unless
            # the network's order gives it, as it is published).
            kept = {**tags, STORED_TAG: stored_concat(batch.concat)}
            if not sequenced:
                store(server, client, "PRIVMSG", (channel.name, text), kept, millis=millis)
                tags["msgid"] = kept["msgid"]
            message = Delivery(
                client.source,
                channel.name,
                batch.lines,
                batch.concat,
                tags,
                millis,
                client.account_name,
            )
            if cluster is None:
                for recipient in recipients:
                    if recipient is not client:
                        recipient.send(message.for_client(recipient))
            else:
                # Through the network's order, as a single line is (``channel_message``).
                sent = cluster.multiline(client, channel, message.fields)
                if sequenced:
                    # Stored once the network gave it its msgid and time (and place).
                    sent.keep(_keeper(server, client, (channel.name, text), kept, message))
        if cluster is not None and not sent.finish(reply):
            return  # the network cannot be reached: refused (FAIL), nobody got it
        if sequenced:
            # The fields (and ``tags``) hold the network's msgid and time now.
            message = Delivery(**message.fields)
        _echo(reply, client, message, batch, echo)
        return
    peer = registry.find_nick(name)
    if peer is None:
        _numeric_fail(reply, batch, ERR_NOSUCHNICK, name)
        return
    if not _fits(client.source, peer.nick, batch.lines):
        _numeric_fail(reply, batch, ERR_INPUTTOOLONG)
        return
    millis = int(time.time() * 1000)
    kept = {**tags, STORED_TAG: stored_concat(batch.concat)}
    store(server, client, "PRIVMSG", (peer.nick, text), kept, peer=peer, millis=millis)
    tags["msgid"] = kept["msgid"]
    message = Delivery(
        client.source, peer.nick, batch.lines, batch.concat, tags, millis, client.account_name
    )
    if peer.remote and server.cluster is not None:
        if not server.cluster.direct_multiline(peer, message.fields):
            code = "TEMPORARILY_UNAVAILABLE"
            reply.send_line("FAIL", "BATCH", code, SPLIT_TEXT, source=server.config.name)
            return
    else:
        peer.send(message.for_client(peer))
    _echo(reply, client, message, batch, echo)
    if peer.away:
        reply.numeric(RPL_AWAY, peer.nick, peer.away)


def _echo(
    reply: ResponseBuffer, client: Session, message: Delivery, batch: OpenBatch, echo: bool
) -> None:
    """The sender's copy (echo-message), or the ACK a labeled batch is owed without one."""
    if echo:
        reply.send(message.echo(client, batch.label))
    elif batch.label is not None:
        reply.send_line("ACK", source=reply.server_name, tags={"label": batch.label})


def _numeric_fail(reply: ResponseBuffer, batch: OpenBatch, numeric: Numeric, *params: str) -> None:
    """An error numeric refusing the batch, labeled like the batch when it was."""
    if batch.label is None:
        reply.numeric(numeric, *params)
        return
    held: list[bytes] = []
    ResponseBuffer(reply.client, reply.server_name, held).numeric(numeric, *params)
    for line in held:
        reply.send(with_label(line, batch.label))


def _keeper(
    server: Context,
    client: Session,
    params: tuple[str, str],
    kept: dict[str, str],
    message: Delivery,
) -> Callable[[], None]:
    """Store multi-line channel message ``message`` (its stored tags ``kept``) with the
    msgid and time the network gave it."""

    def keep() -> None:
        kept["msgid"] = message.fields["tags"]["msgid"]
        store(server, client, "PRIVMSG", params, kept, millis=message.fields["millis"], given=True)

    return keep
