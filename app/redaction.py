"""Deleting messages (IRCv3 ``draft/message-redaction``): the session's part.

:class:`Redactions` sends ``REDACT`` for a message the user deletes, and turns the
server's ``REDACT`` (anyone's deletion, ours echoed) into :class:`app.events.Redacted`
and its ``FAIL REDACT`` into :class:`app.events.RedactRefused`. Without the capability
nothing is offered: the server would not know whose a message is.
"""

from __future__ import annotations

from app import events as ev
from app.dispatch import Host, Table, registrar
from server.protocol.codec import Message, build

CAP = "draft/message-redaction"

HANDLERS: Table[Redactions] = {}
handles = registrar(HANDLERS)


class Redactions:
    """REDACT out and in."""

    def __init__(self, host: Host) -> None:
        self.host = host

    @property
    def available(self) -> bool:
        """True when the server deletes messages for us (the capability was granted)."""
        return self.host.registered and CAP in self.host.caps

    def redact(self, target: str, msgid: str) -> bool:
        """Ask the server to delete ``msgid`` of ``target``; False when it cannot."""
        if not self.available or not msgid:
            return False
        self.host.send(build("REDACT", target, msgid))  # no reason made up (the spec)
        return True

    @handles("REDACT")
    def _on_redact(self, msg: Message) -> None:
        target, msgid = msg.params[0], msg.params[1]
        nick = msg.nick or ""
        own = self.host.is_me(nick)
        # In a direct conversation the target is the recipient: us, unless we deleted it.
        conversation = target if self.host.is_channel(target) or own else nick
        self.host.emit(ev.Redacted(conversation, msgid, nick, msg.param(2), own))

    def failed(self, msg: Message) -> None:
        """``FAIL REDACT <code> <target> [<msgid> [<window>]] :text`` came."""
        code, target = msg.param(1), msg.param(2)
        msgid = msg.param(3) if len(msg.params) > 4 else ""
        window = msg.param(4) if code == "REDACT_WINDOW_EXPIRED" and len(msg.params) > 5 else ""
        seconds = int(window) if window.isdigit() else 0
        self.host.emit(ev.RedactRefused(target, msgid, code, msg.params[-1], seconds))
