"""Where the server's numeric replies go: the server conversation, the open one, or nowhere.

A part of the session (:mod:`app.session`): it turns each numeric it is given into an
:class:`app.events.Reply` that keeps the raw line, and folds the RPL_ISUPPORT lines of the
registration burst into one reply (the server sends a dozen tokens a line). No sentences:
:mod:`app.server_lines` writes those.
"""

from __future__ import annotations

from app import events as ev
from app.dispatch import Host
from server.protocol.codec import Message
from server.protocol.numerics import (
    ERR_NICKNAMEINUSE,
    ERR_NOMOTD,
    RPL_AWAY,
    RPL_CHANNELMODEIS,
    RPL_CREATIONTIME,
    RPL_ENDOFMOTD,
    RPL_ENDOFNAMES,
    RPL_ENDOFWHO,
    RPL_ENDOFWHOIS,
    RPL_INVITING,
    RPL_ISUPPORT,
    RPL_MOTDSTART,
    RPL_NOWAWAY,
    RPL_TOPICWHOTIME,
    RPL_UNAWAY,
    RPL_WHOISACCOUNT,
    RPL_WHOISBOT,
    RPL_WHOISCERTFP,
    RPL_WHOISCHANNELS,
    RPL_WHOISIDLE,
    RPL_WHOISOPERATOR,
    RPL_WHOISSECURE,
    RPL_WHOISSERVER,
    RPL_WHOISUSER,
    RPL_WHOREPLY,
    RPL_WHOWASUSER,
)

#: Numerics that answer a command: shown wherever the user is looking.
ANSWERS = {
    numeric.code
    for numeric in (
        RPL_AWAY,
        RPL_UNAWAY,
        RPL_NOWAWAY,
        RPL_WHOISUSER,
        RPL_WHOISSERVER,
        RPL_WHOISOPERATOR,
        RPL_WHOWASUSER,
        RPL_ENDOFWHO,
        RPL_WHOISIDLE,
        RPL_ENDOFWHOIS,
        RPL_WHOISCHANNELS,
        RPL_WHOISACCOUNT,
        RPL_WHOISBOT,
        RPL_WHOISCERTFP,
        RPL_WHOREPLY,
        RPL_WHOISSECURE,
        RPL_CHANNELMODEIS,
        RPL_CREATIONTIME,
        RPL_INVITING,
    )
}
#: Numerics in the 4xx range that are no error of the user's.
NOT_ERRORS = {ERR_NOMOTD.code, ERR_NICKNAMEINUSE.code}
#: Numerics not worth a line of their own (the raw line of each is lost with it).
QUIET = {
    numeric.code
    for numeric in (
        RPL_ENDOFMOTD,
        RPL_MOTDSTART,
        RPL_ENDOFNAMES,
        RPL_TOPICWHOTIME,
        RPL_ENDOFWHOIS,
    )
}


def raw_line(msg: Message) -> str:
    """``msg`` as a line again (the raw line shown on request)."""
    try:
        return msg.format()
    except ValueError:  # a parameter the codec would not build: show what is known
        return " ".join([msg.command, *msg.params])


class Replies:
    """Numerics to :class:`app.events.Reply` records, each with its raw line."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self._folding = True  # the registration burst: RPL_ISUPPORT lines become one
        self._isupport: list[Message] = []

    def connection_made(self) -> None:
        """A new connection: its first RPL_ISUPPORT lines are folded again."""
        self._folding = True
        self._isupport = []

    def reply(self, msg: Message) -> None:
        """Show the numeric ``msg`` as the answer it is (or not at all, when quiet)."""
        code = msg.command
        if code in QUIET:
            return
        if code == RPL_ISUPPORT.code and self._folding:
            self._isupport.append(msg)  # shown with the next line that is not one
            return
        args = tuple(msg.params[1:])
        when = self.host.time(msg)
        raw = raw_line(msg)
        if code.startswith(("4", "5")) and code not in NOT_ERRORS:
            self.host.emit(ev.Reply(code, args, None, error=True, time=when, raw=raw))
        else:
            where = None if code in ANSWERS else ""
            self.host.emit(ev.Reply(code, args, where, time=when, raw=raw))

    def line_seen(self, msg: Message) -> None:
        """A line came: after the burst's RPL_ISUPPORT lines, they are shown as one."""
        if not self._isupport or msg.command == RPL_ISUPPORT.code:
            return
        lines, self._isupport = self._isupport, []
        self._folding = False
        tokens = [token for line in lines for token in line.params[1:-1]]
        text = lines[0].params[-1]
        raw = "\n".join(raw_line(line) for line in lines)
        when = self.host.time(lines[0])
        self.host.emit(ev.Reply(RPL_ISUPPORT.code, (*tokens, text), "", time=when, raw=raw))
