"""What a client is told when a command needs the database and it cannot be reached
(PostgreSQL down: the accounts, or the history kept there): a standard reply, never a
hang or a dropped line.

Every command gets ``FAIL <command> TEMPORARILY_UNAVAILABLE`` (the code IRCv3's
account-registration spec gives REGISTER when accounts cannot be saved), and:

- AUTHENTICATE also gets 904 ERR_SASLFAIL, which SASL clients act on (sasl-3.1);
- a connection that has not registered yet is closed with ``ERROR``: its nick cannot be
  checked against the accounts, and letting it on could hand someone's reserved nick to
  anyone. Clients (HexChat, irssi, WeeChat) reconnect after an ``ERROR``, by which time
  the database may be back.

A history read (CHATHISTORY, SEARCH, REDACT) gets the same FAIL, its text naming the
history. A JOIN goes ahead without its replay or its remembered topic.

REGISTER keeps its own FAIL (its context names the account), and the services answer
with a NOTICE (``commands/services.py``).

In a network of nodes, a MODE or TOPIC change the network's Redis server cannot take
is refused the same way (``FAIL MODE TEMPORARILY_UNAVAILABLE #chan :…``, see
``unreachable`` and ``commands/network_change.py``): every node holds a channel's state
as Redis numbered it, so a change made here alone would leave the nodes disagreeing.

A MODE or TOPIC change to a registered room that cannot be stored is refused the same
way, naming the channel: ``FAIL MODE TEMPORARILY_UNAVAILABLE #room :…`` (see
``commands/rooms.py``, ``remember_room``). The change is undone rather than kept in
memory and written later: a restart before the database is back would lose a change
everyone had been told of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..accounts import UNAVAILABLE
from ..clustering import SPLIT_TEXT
from ..protocol.numerics import ERR_SASLFAIL
from ..rooms import UNSAVED
from .table import safe_command

if TYPE_CHECKING:
    from ..context import Context
    from ..sendq import ResponseBuffer
    from ..session import Session

#: Commands that leave an unregistered connection open when they fail this way: the
#: client can retry them, or register without an account.
KEEP_OPEN = frozenset({"AUTHENTICATE", "REGISTER"})


def unavailable(
    server: Context, client: Session, command: str, reply: ResponseBuffer, text: str = UNAVAILABLE
) -> None:
    """Answer ``command``, which needed the unreachable database (``text`` says which
    of its stores)."""
    reply.send_line(
        "FAIL",
        safe_command(command),
        "TEMPORARILY_UNAVAILABLE",
        text,
        source=server.config.name,
    )
    if command == "AUTHENTICATE":
        client.sasl = None
        reply.numeric(ERR_SASLFAIL)
        return
    if not client.registered and command not in KEEP_OPEN:
        server.end(client, "Accounts temporarily unavailable")


def unsaved(server: Context, command: str, channel: str, reply: ResponseBuffer) -> None:
    """Refuse ``command``'s change to the registered room ``channel``: it could not be
    stored, and was undone."""
    reply.send_line(
        "FAIL", command, "TEMPORARILY_UNAVAILABLE", channel, UNSAVED, source=server.config.name
    )


def unreachable(server: Context, command: str, channel: str, reply: ResponseBuffer) -> None:
    """Refuse ``command``'s change to ``channel``: the network could not take it (its
    Redis server unreachable), and it was undone."""
    reply.send_line(
        "FAIL", command, "TEMPORARILY_UNAVAILABLE", channel, SPLIT_TEXT, source=server.config.name
    )
