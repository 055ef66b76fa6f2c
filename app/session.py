"""The IRC session as a pure state machine: lines from the server in, events out.

No sockets, no threads, no sentences. :meth:`Session.feed` takes one received line and
returns the :mod:`app.events` records it caused; the lines the session wants sent (PONG,
CAP, the next nick to try, JOINs, chathistory requests) wait in an outbox that the owner
empties with :meth:`Session.take_lines`.

The session keeps the connection's registration, nick, ISUPPORT, the conversations
(channels to join, direct ones, chathistory) and the messages. It owns three parts, each
a state object with its own handler table (:mod:`app.dispatch`): :mod:`app.caps`
negotiates capabilities, :mod:`app.identity` signs in and creates accounts, and
:mod:`app.members` keeps the channels' members. Its own handlers are registered per
command in :data:`HANDLERS` by the :func:`handles` decorator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from functools import partial
from typing import Any

from app import events as ev
from app.caps import HANDLERS as CAPS_HANDLERS
from app.caps import WANTED_CAPS, Capabilities
from app.chathistory import CHATHISTORY_PAGE, ChathistoryState
from app.dispatch import Table, registrar
from app.identity import HANDLERS as IDENTITY_HANDLERS
from app.identity import Identity
from app.irc import next_nick, strip_formatting, username_of
from app.members import HANDLERS as ROSTER_HANDLERS
from app.members import Channel, Roster
from app.multiline import MultilineBatches
from app.reactions import REPLY, reaction_of
from app.readmarkers import HANDLERS as MARKER_HANDLERS
from app.readmarkers import ReadMarkers
from app.redaction import HANDLERS as REDACT_HANDLERS
from app.redaction import Redactions
from app.replies import Replies
from app.search import SearchState
from app.signin import SignIn
from server.protocol.codec import LineError, Message, build, parse, parse_server_time
from server.protocol.names import casefold
from server.protocol.numerics import (
    ERR_ERRONEUSNICKNAME,
    ERR_NICKCOLLISION,
    ERR_NICKNAMEINUSE,
    ERR_NONICKNAMEGIVEN,
    ERR_PASSWDMISMATCH,
    RPL_ISUPPORT,
    RPL_NOTOPIC,
    RPL_TOPIC,
    RPL_WELCOME,
)

log = logging.getLogger("app.session")

VERSION = "Kibitz desktop client"

HANDLERS: Table[Session] = {}
handles = registrar(HANDLERS)


class Session:
    """One client's view of an IRC server: nick, caps, ISUPPORT, channels, conversations."""

    def __init__(
        self,
        nick: str = "kibitzer",
        *,
        channels: Iterable[str] = ("#general",),
        password: str | None = None,
        username: str | None = None,
        realname: str = "Kibitz user",
        wanted_caps: Iterable[str] = WANTED_CAPS,
        account: str | None = None,
        account_password: str | None = None,
        plain_allowed: bool = False,
    ) -> None:
        self.password = password or None
        self.username = username or username_of(nick)
        self.realname = realname
        self.nick = nick
        self.wanted_nick = nick
        self.registered = False
        self.away = False
        self.mask: str | None = None  # our nick!user@host as the server relays it
        self.casemapping = "rfc1459"
        self.chantypes = "#&"
        self.nicklen = 30
        self.network = ""
        self.capabilities = Capabilities(self, wanted_caps)
        credentials = (account, account_password) if account and account_password else None
        self.identity = Identity(self, self.capabilities, credentials, plain_allowed)
        self.roster = Roster(self)
        self.replies = Replies(self)
        self.markers = ReadMarkers(self)
        self.redactions = Redactions(self)
        #: Whose handler table takes a command: the session's, then each part's.
        self._parts: tuple[tuple[Table[Any], object], ...] = (
            (HANDLERS, self),
            (ROSTER_HANDLERS, self.roster),
            (IDENTITY_HANDLERS, self.identity),
            (CAPS_HANDLERS, self.capabilities),
            (MARKER_HANDLERS, self.markers),
            (REDACT_HANDLERS, self.redactions),
        )
        self.directs: dict[str, str] = {}  # direct conversations: folded nick -> nick
        self._wanted: dict[str, str] = {}  # folded channel -> name, joined on (re)connect
        for name in channels:
            if name:
                self._wanted[self.fold(name)] = name
        self.password_refused = False  # asked for a password on this connection already
        self.chathistory = ChathistoryState(self.fold, self.is_me)
        self.multiline = MultilineBatches()
        self.searches = SearchState(self.fold, self.is_me, self.is_channel)
        self._out: list[str] = []
        self._events: list[ev.Event] = []

    # --- small helpers ---------------------------------------------------------------
    def fold(self, name: str) -> str:
        """Casefold ``name`` with the server's CASEMAPPING."""
        return casefold(name, self.casemapping)

    def is_channel(self, name: str) -> bool:
        """True when ``name`` names a channel on this server."""
        return bool(name) and name[0] in self.chantypes

    def is_me(self, nick: str | None) -> bool:
        """True when ``nick`` is our own nick."""
        return nick is not None and self.fold(nick) == self.fold(self.nick)

    def send(self, line: str) -> None:
        """Queue ``line`` for the server (the owner sends it after :meth:`take_lines`)."""
        self._out.append(line)

    def take_lines(self) -> list[str]:
        """The lines queued for the server since the last call."""
        lines, self._out = self._out, []
        return lines

    def emit(self, event: ev.Event) -> None:
        """Add ``event`` to those the line being handled caused."""
        self._events.append(event)

    def _take_events(self) -> list[ev.Event]:
        events, self._events = self._events, []
        return events

    # --- the connection's life -------------------------------------------------------
    def connection_made(self) -> None:
        """A new connection: forget the last one's registration and queue our own."""
        self.registered = False
        self.capabilities.connection_made()
        self.nick = self.wanted_nick
        self.mask = None
        self.password_refused = False
        self.identity.connection_made()
        self.roster.connection_made()
        self.replies.connection_made()
        self._out = ["CAP LS 302"]
        if self.password:
            self.send(build("PASS", self.password))
        self.send(build("NICK", self.nick))
        self.send(build("USER", self.username, "0", "*", self.realname))

    def connection_lost(self) -> list[ev.Event]:
        """The connection ended: no channels are joined now (they are joined again later)."""
        self.registered = False
        self.chathistory.connection_lost()
        self.searches.connection_lost()
        self.multiline.clear()
        self._out = []
        return self.roster.connection_lost()

    # --- commands the user gives -----------------------------------------------------
    def want(self, channel: str) -> None:
        """Join ``channel`` on every (re)connect from now on."""
        self._wanted[self.fold(channel)] = channel

    def unwant(self, channel: str) -> None:
        """Stop rejoining ``channel``."""
        self._wanted.pop(self.fold(channel), None)

    def set_nick(self, nick: str, connected: bool) -> None:
        """The nick the user wants; taken at once when not connected."""
        self.wanted_nick = nick
        if not connected:
            self.nick = nick

    def open_direct(self, nick: str) -> None:
        """Remember a direct conversation with ``nick`` (and fetch its chathistory when new)."""
        key = self.fold(nick)
        new = key not in self.directs
        self.directs.setdefault(key, nick)
        if new and self.registered:
            self._catch_up(nick)

    def close_direct(self, nick: str) -> None:
        """Forget a direct conversation."""
        self.directs.pop(self.fold(nick), None)
        self.chathistory.forget(nick)

    @property
    def chathistory_available(self) -> bool:
        """True when the server keeps chathistory we can page through (and batches it)."""
        return self.registered and {"draft/chathistory", "batch"} <= self.caps

    @property
    def search_available(self) -> bool:
        """True when the server searches its history for us (``soju.im/search``)."""
        return self.registered and {"soju.im/search", "batch"} <= self.caps

    def load_older(self, name: str) -> bool:
        """Queue the request for the page before the oldest shown of ``name``; False if none."""
        if not self.chathistory_available:
            return False
        line = self.chathistory.older(name)
        if line is None:
            return False
        self.send(line)
        return True

    def load_around(self, name: str, msgid: str) -> bool:
        """Queue the request for the messages around ``msgid`` of ``name``; False if none."""
        if not self.chathistory_available:
            return False
        line = self.chathistory.around(name, msgid)
        if line is None:
            return False
        self.send(line)
        return True

    def _catch_up(self, name: str) -> None:
        if not self.is_channel(name):  # a channel's read marker comes after its JOIN
            self.markers.ask(name)
        if self.chathistory_available:
            line = self.chathistory.catch_up(name)
            if line is not None:
                self.send(line)

    # --- accounts ------------------------------------------------------------------------
    def sign_in(self, account: str, password: str) -> list[ev.Event]:
        """Sign in as ``account`` from now on: at once when registered, else while the next
        connection registers. The events it caused (a refusal, at once)."""
        self.identity.sign_in(account, password)
        return self._take_events()

    def register(self, account: str, password: str) -> list[ev.Event]:
        """Create ``account`` with ``password`` (``draft/account-registration``); sent once
        the server has welcomed us. The events it caused (a refusal, at once)."""
        self.identity.register(account, password)
        return self._take_events()

    @property
    def account(self) -> str | None:
        """The account the server says we are signed in as."""
        return self.identity.account

    @account.setter
    def account(self, account: str | None) -> None:
        self.identity.account = account

    @property
    def credentials(self) -> tuple[str, str] | None:
        """Who to sign in as on every connection (None: no sign-in)."""
        return self.identity.credentials

    @property
    def plain_allowed(self) -> bool:
        """True when PLAIN may carry the password (TLS, loopback, or the user allowed it)."""
        return self.identity.plain_allowed

    @property
    def signin(self) -> SignIn | None:
        """The SASL attempt under way, if any."""
        return self.identity.signin

    def own_account(self, account: str | None) -> None:
        """The server says we are signed in to ``account`` (None: signed out)."""
        self.identity.own_account(account)

    # --- capabilities --------------------------------------------------------------------
    @property
    def caps(self) -> set[str]:
        """The capabilities the server granted on this connection."""
        return self.capabilities.enabled

    @caps.setter
    def caps(self, caps: set[str]) -> None:
        self.capabilities.enabled = set(caps)

    @property
    def signs_in(self) -> bool:
        """True when there are credentials to sign in with (so ``sasl`` is worth asking)."""
        return self.identity.credentials is not None

    def sasl_acked(self, granted: bool) -> bool:
        """A CAP ACK came; True while the sign-in it started holds CAP END back."""
        return self.identity.sasl_acked(granted)

    # --- questions about the state -----------------------------------------------------
    @property
    def prefixes(self) -> dict[str, str]:
        """The prefix each channel membership mode shows (ISUPPORT PREFIX), by rank."""
        return self.roster.prefixes

    def members(self, channel: str) -> list[tuple[str, str]]:
        """``(prefix, nick)`` pairs of ``channel``, ops first, then voiced, then by name."""
        return self.roster.members(channel)

    def account_of(self, nick: str) -> str:
        """The account ``nick`` is signed in to, as far as the server told us ("" if none)."""
        if self.is_me(nick):
            return self.account or ""
        return self.roster.account_of(nick)

    def topic(self, channel: str) -> str:
        """The topic of ``channel`` ("" when none or not joined)."""
        chan = self.roster.get(channel)
        return chan.topic if chan else ""

    def joined(self) -> list[str]:
        """Names of the channels we are in."""
        return [c.name for c in self.roster.channels.values()]

    def wanted_channels(self) -> list[str]:
        """Channels joined on (re)connect."""
        return list(self._wanted.values())

    # --- receiving ---------------------------------------------------------------------
    def feed(self, line: str) -> list[ev.Event]:
        """Process one line from the server; return the events it caused."""
        try:
            msg = parse(line)
        except LineError:
            return []
        taken, whole = self.multiline.feed(msg)
        if taken:  # a line of a multi-line message: handled once all of it is in
            if whole is None:
                return []
            msg = whole
        if self.chathistory.collects(msg) or self.searches.collects(msg):
            return []  # chathistory and results are shown as pages, never as live traffic
        self.replies.line_seen(msg)
        handler = self._handler_of(msg.command.upper())
        if handler is None:
            return self._take_events()
        try:
            handler(msg)
        except (IndexError, ValueError, KeyError) as exc:  # a malformed line harms nobody
            log.debug("ignored %r: %s", line, exc)
        except Exception:  # a bug here must not end the connection: log it and go on
            log.exception("error handling %r", line)
        return self._take_events()

    def _handler_of(self, command: str) -> Callable[[Message], None] | None:
        """The handler of ``command``, bound to the part whose table has it (None: nobody's)."""
        for table, owner in self._parts:
            handler = table.get(command)
            if handler is not None:
                return partial(handler, owner)
        return self.reply if command.isdigit() else None

    def time(self, msg: Message) -> datetime:
        """When ``msg`` happened (its server-time tag, else now)."""
        return parse_server_time(msg.tags.get("time")) or datetime.now(timezone.utc)

    def _learn_mask(self, msg: Message) -> None:
        if msg.source and "!" in msg.source and self.is_me(msg.nick):
            self.mask = msg.source

    @handles("PING")
    def _on_ping(self, msg: Message) -> None:
        self.send(build("PONG", *msg.params[-1:]))

    @handles(RPL_WELCOME.code)
    def _on_welcome(self, msg: Message) -> None:
        self.registered = True
        self.nick = msg.params[0]
        wanted = list(self._wanted.values())
        text = msg.params[-1]
        if "!" in text.rsplit(" ", 1)[-1]:
            self.mask = text.rsplit(" ", 1)[-1]
        self.emit(ev.Registered(self.nick, text))
        self.identity.welcomed()
        self.reply(msg)
        for start in range(0, len(wanted), 10):
            self.send(build("JOIN", ",".join(wanted[start : start + 10])))
        for nick in list(self.directs.values()):
            self._catch_up(nick)
        if self.away:
            self.send(build("AWAY", "Away"))
        self.identity.send_register()

    @handles(RPL_ISUPPORT.code)
    def _on_isupport(self, msg: Message) -> None:
        for token in msg.params[1:-1]:
            name, _, value = token.partition("=")
            if name == "CASEMAPPING" and value:
                self._refold(value)
            elif name == "CHANTYPES":
                self.chantypes = value
            elif name == "NETWORK":
                self.network = value
            elif name == "WHOX":
                self.roster.whox = True
            elif name == "NICKLEN" and value.isdigit():
                self.nicklen = int(value)
            elif name == "CHATHISTORY" and value.isdigit() and int(value) > 0:
                self.chathistory.page = min(CHATHISTORY_PAGE, int(value))
            elif name == "MSGREFTYPES":
                self.chathistory.msgreftypes = tuple(value.split(","))
            elif name == "CHANMODES":
                parts = ([*value.split(","), "", "", "", ""])[:4]
                self.roster.chanmodes = (parts[0], parts[1], parts[2], parts[3])
            elif name == "PREFIX":
                self.roster.set_prefix(value)
        self.reply(msg)

    def _refold(self, mapping: str) -> None:
        self.casemapping = mapping
        self._wanted = {self.fold(n): n for n in self._wanted.values()}
        self.directs = {self.fold(n): n for n in self.directs.values()}

    def reply(self, msg: Message) -> None:
        """Show the numeric ``msg`` as the answer it is (or not at all, when quiet)."""
        self.replies.reply(msg)

    @handles(
        ERR_NICKNAMEINUSE.code,
        ERR_ERRONEUSNICKNAME.code,
        ERR_NICKCOLLISION.code,
        ERR_NONICKNAMEGIVEN.code,
    )
    def _on_nick_error(self, msg: Message) -> None:
        tried = msg.param(1, self.nick)
        reason = msg.params[-1]
        if self.registered:
            self.emit(ev.NickRefused(tried, reason))
            self.wanted_nick = self.nick
            self.emit(ev.OwnNick(self.nick))
            return
        if msg.command == ERR_NICKNAMEINUSE.code:
            new = next_nick(tried, self.nicklen)
        else:
            new = "kibitzer" if self.fold(tried) != "kibitzer" else "kibitzer_"
        self.emit(ev.NickRefused(tried, reason, new))
        self.nick = new
        self.emit(ev.OwnNick(new))
        self.send(build("NICK", new))

    @handles(ERR_PASSWDMISMATCH.code)
    def _on_bad_password(self, msg: Message) -> None:
        if self.registered:  # the answer to OPER, not to the connection password
            self.reply(msg)
            return
        self._password_needed()

    def _password_needed(self) -> None:
        if self.password_refused:
            return
        self.password_refused = True
        self.emit(ev.PasswordWanted(refused=bool(self.password)))

    @handles("ERROR")
    def _on_error(self, msg: Message) -> None:
        text = msg.param(0, "Connection closed by the server")
        if not self.registered and "password" in text.lower():
            self._password_needed()
        self.emit(ev.ServerError(text))

    @handles("JOIN")
    def _on_join(self, msg: Message) -> None:
        name = msg.param(0)
        nick = msg.nick or ""
        own = self.is_me(nick)
        if own:
            self._learn_mask(msg)
            self._wanted.setdefault(self.fold(name), name)
        chan = self.roster.joined(msg, nick, own)
        if chan is None:
            return
        self.emit(ev.Join(name, nick, own, self.time(msg)))
        self.roster.announce(chan)
        if own:
            self.roster.ask_about(name)
            self._catch_up(name)

    @handles("PART")
    def _on_part(self, msg: Message) -> None:
        nick = msg.nick or ""
        chan, own = self._leave(msg.param(0), nick, forget=True)
        if chan is not None:
            self.emit(ev.Part(chan.name, nick, msg.param(1), own, self.time(msg)))
            self._members_after_leaving(chan, own)

    @handles("KICK")
    def _on_kick(self, msg: Message) -> None:
        nick = msg.param(1)
        chan, own = self._leave(msg.param(0), nick, forget=False)
        if chan is not None:
            by = msg.nick or ""
            self.emit(ev.Kick(chan.name, nick, by, msg.param(2), own, self.time(msg)))
            self._members_after_leaving(chan, own)

    def _leave(self, name: str, nick: str, forget: bool) -> tuple[Channel | None, bool]:
        """``nick`` is no longer on ``name``; a kicked channel is rejoined, a parted one not."""
        own = self.is_me(nick)
        chan = self.roster.left(name, nick, own)
        if chan is not None and own and forget:
            self._wanted.pop(self.fold(name), None)
            self.chathistory.forget(name)
        return chan, own

    def _members_after_leaving(self, chan: Channel, own: bool) -> None:
        if own:
            self.emit(ev.MembersChanged(chan.name))  # none: we are not in it now
        else:
            self.roster.announce(chan)

    @handles("QUIT")
    def _on_quit(self, msg: Message) -> None:
        nick = msg.nick or ""
        when = self.time(msg)
        for chan in self.roster.quit(nick):
            self.emit(ev.Quit(chan.name, nick, msg.param(0), when))
            self.roster.announce(chan)
        peer = self.directs.get(self.fold(nick))
        if peer is not None:
            self.emit(ev.Quit(peer, nick, msg.param(0), when))

    @handles("NICK")
    def _on_nick(self, msg: Message) -> None:
        old = msg.nick or ""
        new = msg.param(0)
        own = self.is_me(old)
        when = self.time(msg)
        if own:
            self.nick = new
            self.wanted_nick = new
            if self.mask:
                self.mask = new + self.mask[self.mask.index("!") :]
        for chan in self.roster.renamed(old, new):
            self.emit(ev.Nick(chan.name, new, old, own, when))
            self.roster.announce(chan)
        peer = self.directs.pop(self.fold(old), None)
        if peer is not None:
            self.directs[self.fold(new)] = new
            self.chathistory.rename(old, new)
            self.emit(ev.Nick(peer, new, old, own, when))
        if own:
            self.emit(ev.OwnNick(new, old))

    @handles("TOPIC")
    def _on_topic(self, msg: Message) -> None:
        name, topic = msg.param(0), msg.param(1)
        self.chathistory.seen_live(name, msg.tags.get("msgid", ""), msg.tags.get("time", ""))
        chan = self.roster.get(name)
        if chan is not None:
            chan.topic = topic
            name = chan.name
        nick = msg.nick or ""
        self.emit(ev.Topic(name, topic, nick, self.is_me(msg.nick), self.time(msg)))

    @handles(RPL_TOPIC.code, RPL_NOTOPIC.code)
    def _on_rpl_topic(self, msg: Message) -> None:
        name = msg.param(1)
        topic = msg.param(2) if msg.command == RPL_TOPIC.code else ""
        chan = self.roster.get(name)
        if chan is not None:
            chan.topic = topic
            name = chan.name
        self.emit(ev.Topic(name, topic, time=self.time(msg)))

    @handles("PRIVMSG", "NOTICE")
    def _on_message(self, msg: Message) -> None:
        target, text = msg.param(0), msg.param(1)
        nick = msg.nick or ""
        notice = msg.command.upper() == "NOTICE"
        own = self.is_me(nick)
        if own:
            self._learn_mask(msg)
        action = False
        ctcp = ""
        if text.startswith("\x01"):
            verb, _, rest = text.strip("\x01").partition(" ")
            verb = verb.upper()
            if verb == "ACTION":
                text, action = rest, True
            elif notice:
                text, ctcp = rest, verb
            else:
                self._ctcp_reply(nick, verb, rest)
                return
        server_line = not msg.source or "!" not in msg.source or not self.registered
        if self.is_channel(target):
            conversation = self.roster.display_name(target)
        elif server_line and notice:
            conversation = ""
        elif own:
            conversation = target
            self.open_direct(target)
        elif not notice:
            conversation = nick
            self.open_direct(nick)
        else:
            # A notice from a user goes to an open conversation with them, else the server.
            conversation = self.directs.get(self.fold(nick), "")
        msgid = msg.tags.get("msgid", "")
        if own:
            account = self.account or ""
        elif "account-tag" in self.caps:  # the server vouches: no tag, not signed in
            account = msg.tags.get("account", "")
        else:
            account = self.roster.account_of(nick)
        if not self.chathistory.seen_live(conversation, msgid, msg.tags.get("time", "")):
            return  # already shown (it came in a chathistory page first)
        self.emit(
            ev.Message(
                conversation,
                nick or (msg.source or ""),
                strip_formatting(text),
                self.time(msg),
                own=own,
                action=action,
                notice=notice,
                msgid=msgid,
                ctcp=ctcp,
                account=account,
                server=notice and server_line and self.registered and conversation == "",
                reply=msg.tags.get(REPLY, ""),
            )
        )

    def _ctcp_reply(self, nick: str, verb: str, rest: str) -> None:
        if verb == "VERSION":
            self.send(build("NOTICE", nick, f"\x01VERSION {VERSION}\x01"))
        elif verb == "PING":
            self.send(build("NOTICE", nick, f"\x01PING {rest}\x01"))

    @handles("INVITE")
    def _on_invite(self, msg: Message) -> None:
        self.emit(ev.Invite(msg.nick or "", msg.param(1)))

    @handles("BATCH")
    def _on_batch(self, msg: Message) -> None:
        record, follow_up = self.chathistory.batch(msg, self._display_name)
        if record is not None:
            self.emit(record)
        results = self.searches.batch(msg, self._display_name)
        if results is not None:
            self.emit(results)
        if follow_up:
            self.send(follow_up)

    def _display_name(self, target: str) -> str:
        chan = self.roster.get(target)
        return chan.name if chan is not None else self.directs.get(self.fold(target), target)

    @handles("FAIL")
    def _on_fail(self, msg: Message) -> None:
        if msg.param(0).upper() == "REGISTER":
            self.identity.register_failed(msg)
        elif msg.param(0).upper() == "SEARCH":
            results = self.searches.failed(msg)
            if results is not None:
                self.emit(results)
        elif msg.param(0).upper() == "REDACT":
            self.redactions.failed(msg)
        elif msg.param(0).upper() == "CHATHISTORY":
            self.chathistory.failed(list(msg.params))
            log.debug("chathistory request failed: %s", " ".join(msg.params))

    @handles("TAGMSG")
    def _on_tagmsg(self, msg: Message) -> None:
        state, nick = msg.tags.get("+typing"), msg.nick or ""
        if not nick:
            return
        target = msg.param(0).lstrip("".join(self.roster.prefixes.values()))  # @#chan
        own = self.is_me(nick)
        if self.is_channel(target):
            conversation = self.roster.display_name(target)
        else:
            conversation = target if own else nick
        reaction = reaction_of(msg.tags)
        if reaction is not None:
            # Our own too (the echo): the server's word that it went out.
            tagmsg = msg.tags.get("msgid", "")
            if self.chathistory.seen_tag(conversation, tagmsg):
                self.emit(ev.Reaction(conversation, nick, *reaction, own=own, tagmsg=tagmsg))
            return
        if state in ("active", "paused", "done") and not own:
            self.emit(ev.Typing(conversation, nick, state))

    @handles("PONG", "CHGHOST", "SETNAME")
    def _on_ignored(self, msg: Message) -> None:
        """Lines the session does not show (a PONG only proves the link is alive)."""
