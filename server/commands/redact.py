"""Deleting a message: ``REDACT`` (IRCv3 draft/message-redaction).

Who may: the message's sender (the same account, or, not signed in, the same
connection: see ``server/redaction.py``) within the redaction window, and in a channel
its operators, whatever the message's age. A direct message only its sender may delete.
The message leaves history (CHATHISTORY, the join replay) with the reactions to it; the
REDACT goes to the members (or both parties' connections) that have the capability,
and to the sender as an echo when it has echo-message, as a PRIVMSG would. Clients
without the capability hear nothing (the spec's choice: no fallback notice).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..cork import settle
from ..history import dm_target
from ..msgids import new_msgid
from ..protocol.codec import fit_params
from ..protocol.names import casefold, valid_channel, valid_nick
from ..redaction import sent_here
from ..sendq import Outgoing
from .chathistory import party_named, party_of
from .table import command

if TYPE_CHECKING:
    from ..context import Context
    from ..history import Record
    from ..protocol.codec import Message
    from ..sendq import ResponseBuffer
    from ..session import Session

CAP = "draft/message-redaction"
#: What may be redacted (the spec's list); history holds topics too.
REDACTABLE = frozenset({"PRIVMSG", "NOTICE", "TAGMSG"})

_TEXTS = {
    "INVALID_TARGET": "You cannot delete messages from {target}",
    "REDACT_FORBIDDEN": "You are not authorised to delete this message",
    "REDACT_WINDOW_EXPIRED": "You can no longer delete this message",
    "UNKNOWN_MSGID": "This message does not exist or is too old",
}


def _fail(server: Context, reply: ResponseBuffer, code: str, target: str, *context: str) -> None:
    # Context echoes what the client sent: a parameter that cannot stand in the middle
    # of a line (empty, with a space, starting with ':') is shown as `*`.
    safe = [c if c and " " not in c and not c.startswith(":") else "*" for c in (target, *context)]
    text = _TEXTS[code].format(target=target)
    reply.send_line("FAIL", "REDACT", code, *safe, text, source=server.config.name)


def _own(client: Session, record: Record, direct: bool) -> bool:
    """Whether ``client`` can prove it sent ``record``."""
    if direct:
        return record.party_a == party_of(client)  # a direct message names its sender
    if record.account is not None:
        account = client.account
        return account is not None and account.name == casefold(record.account)
    return sent_here(client, record.msgid)


@command("REDACT", min_params=2)
def redact(server: Context, client: Session, msg: Message, reply: ResponseBuffer) -> None:
    """REDACT <target> <msgid> [<reason>]"""
    target, msgid = msg.params[0], msg.params[1]
    reason = msg.param(2) or None  # an empty reason is none (no default is made up)
    history = server.history
    registry = server.registry
    config = server.config
    channel = holder = None
    if history is None:
        _fail(server, reply, "INVALID_TARGET", target)  # nothing is kept to delete
        return
    if target.startswith("#"):
        valid = valid_channel(target, config.channellen)
        channel = registry.find_channel(target) if valid else None
        if channel is None or not registry.is_member(client, channel):
            _fail(server, reply, "INVALID_TARGET", target)
            return
        key, floor, shown = casefold(channel.name), channel.history_floor, channel.name
    else:
        if not valid_nick(target, config.nicklen) or client.key is None:
            _fail(server, reply, "INVALID_TARGET", target)
            return
        holder = registry.find_nick(target)
        key, floor = dm_target(party_of(client), party_named(server, target))[0], 0
        shown = holder.nick if holder is not None else target
    settle()  # this client's messages held back so far are relayed (and stored) first
    history.flush()
    record = history.find(key, msgid, floor)
    if record is None or record.command not in REDACTABLE:
        # Also a message of a conversation this client is not in: its key is another.
        _fail(server, reply, "UNKNOWN_MSGID", shown, msgid)
        return
    own = _own(client, record, channel is None)
    moderator = channel is not None and registry.is_op(client, channel)
    if not own and not moderator:
        _fail(server, reply, "REDACT_FORBIDDEN", shown, msgid)
        return
    window = config.redact_window
    if not moderator and window and time.time() * 1000 - record.time_ms > window * 1000:
        _fail(server, reply, "REDACT_WINDOW_EXPIRED", shown, msgid, str(window))
        return
    if not history.remove(key, msgid):
        _fail(server, reply, "UNKNOWN_MSGID", shown, msgid)  # redacted meanwhile
        return
    params = fit_params("REDACT", (shown, msgid, *([reason] if reason else [])), client.source, 2)
    tags = {"msgid": new_msgid(), **({"bot": ""} if "B" in client.modes else {})}
    out = Outgoing("REDACT", *params, source=client.source, tags=tags, account=client.account_name)
    if channel is not None:
        with channel.send_lock:  # in the channel's relay order, after the message
            audience = registry.members(channel)
            out.deliver([m for m in audience if m is not client and CAP in m.caps])
            _echo(client, out, reply)
        if server.cluster is not None:
            server.cluster.channel_line(channel, out, CAP)  # the members of other nodes
        return
    parties = set(_parties(server, record, holder))
    parties.discard(client)
    out.deliver([m for m in parties if CAP in m.caps])
    _echo(client, out, reply)


def _echo(client: Session, out: Outgoing, reply: ResponseBuffer) -> None:
    if CAP in client.caps and "echo-message" in client.caps:
        reply.send(out.for_client(client))


def _parties(server: Context, record: Record, holder: Session | None) -> list[Session]:
    """The connections of both parties of a direct message: each one signed in to
    either party's account, and the recipient's one connection when it is not signed
    in (the sender, who is redacting, is told by its echo)."""
    found: list[Session] = []
    for party in (record.party_a, record.party_b):
        if party is not None and not party.startswith("~"):
            found += server.registry.signed_in(party)
    if holder is not None and party_of(holder) == record.party_b:
        found.append(holder)
    return found
