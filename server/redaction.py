"""What proves a message is its sender's when it is redacted (IRCv3 message-redaction),
and what its deletion takes out of the history database.

Identity is an account, never a nick: a signed-in sender's messages are its account's
(history keeps the account with each one). A sender not signed in can prove only that
it is the same connection, so the connection keeps the ids of the channel messages it
sent (its direct messages name it in history already), the last ``KEPT`` of them; they
go with the connection, as the proof does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .history_schema import find_message

if TYPE_CHECKING:
    import sqlite3

    from .session import Session

#: Channel messages a connection that is not signed in may still redact (its newest).
KEPT = 256


def remember(client: Session, msgid: str) -> None:
    """Note that ``client``, not signed in, sent the channel message ``msgid``."""
    sent = client.sent
    if sent is None:
        sent = client.sent = {}
    sent[msgid] = None
    if len(sent) > KEPT:
        del sent[next(iter(sent))]  # the oldest: a dict keeps insertion order


def sent_here(client: Session, msgid: str) -> bool:
    """Whether this connection sent the channel message ``msgid`` (see ``remember``)."""
    return client.sent is not None and msgid in client.sent


#: Removes the reactions to a deleted message: the TAGMSGs after it in its target that
#: reply to it with ``+draft/react`` or ``+draft/unreact`` (through the index of TAGMSGs,
#: never the whole target).
REACTIONS_DELETE = (
    "DELETE FROM messages WHERE target = ? AND id > ? AND command = 'TAGMSG'"
    " AND json_extract(tags, '$.\"+draft/reply\"') = ?"
    " AND (json_extract(tags, '$.\"+draft/react\"') IS NOT NULL"
    " OR json_extract(tags, '$.\"+draft/unreact\"') IS NOT NULL)"
)


def delete_message(db: sqlite3.Connection, legacy: int, target: str, msgid: str) -> int:
    """Delete the message ``msgid`` of ``target`` and the reactions to it (not committed);
    the rows removed (0: it is not there). ``legacy``: see :func:`find_message`."""
    found = find_message(db, legacy, msgid, target)
    if found is None:
        return 0
    removed = db.execute("DELETE FROM messages WHERE id = ?", (found,)).rowcount
    # A reaction (a TAGMSG replying with +draft/react, or taking one back) means nothing
    # without its message; replies stay: they are someone else's words.
    return removed + db.execute(REACTIONS_DELETE, (target, found, msgid)).rowcount
