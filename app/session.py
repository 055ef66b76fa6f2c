"""The IRC session as a pure state machine: lines from the server in, events out.

No sockets, no threads, no sentences. :meth:`Session.feed` takes one received line and
returns the :mod:`app.events` records it caused; the lines the session wants sent (PONG,
CAP, the next nick to try, JOINs, chathistory requests) wait in an outbox that the owner
empties with :meth:`Session.take_lines`. Handlers are registered per command in
:data:`HANDLERS` by the :func:`handles` decorator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from functools import partial
from typing import Any

from app import events as ev
from app.chathistory import CHATHISTORY_PAGE, ChathistoryState
from app.dispatch import Table, registrar
from app.irc import next_nick, strip_formatting, username_of
from app.members import HANDLERS as ROSTER_HANDLERS
from app.members import Channel, Roster
from app.signin import SignIn
from server.protocol.codec import (
    LineError,
    Message,
    build,
    parse,
    parse_server_time,
)
from server.protocol.names import casefold
from server.protocol.numerics import (
    ERR_ERRONEUSNICKNAME,
    ERR_NICKCOLLISION,
    ERR_NICKLOCKED,
    ERR_NICKNAMEINUSE,
    ERR_NOMOTD,
    ERR_NONICKNAMEGIVEN,
    ERR_PASSWDMISMATCH,
    ERR_SASLABORTED,
    ERR_SASLALREADY,
    ERR_SASLFAIL,
    ERR_SASLTOOLONG,
    RPL_AWAY,
    RPL_CHANNELMODEIS,
    RPL_CREATIONTIME,
    RPL_ENDOFMOTD,
    RPL_ENDOFNAMES,
    RPL_ENDOFWHO,
    RPL_ENDOFWHOIS,
    RPL_ISUPPORT,
    RPL_LOGGEDIN,
    RPL_LOGGEDOUT,
    RPL_MOTD,
    RPL_MOTDSTART,
    RPL_NOTOPIC,
    RPL_NOWAWAY,
    RPL_SASLMECHS,
    RPL_SASLSUCCESS,
    RPL_TOPIC,
    RPL_TOPICWHOTIME,
    RPL_UNAWAY,
    RPL_WELCOME,
    RPL_WHOISACCOUNT,
    RPL_WHOISCHANNELS,
    RPL_WHOISIDLE,
    RPL_WHOISOPERATOR,
    RPL_WHOISSECURE,
    RPL_WHOISSERVER,
    RPL_WHOISUSER,
    RPL_WHOREPLY,
)

log = logging.getLogger("app.session")

#: Capabilities the client asks for when the server offers them.
WANTED_CAPS = (
    "echo-message",
    "server-time",
    "message-tags",
    "multi-prefix",
    "away-notify",
    "batch",
    "draft/chathistory",
    "account-notify",
    "extended-join",
    "account-tag",
)
#: The capability whose presence says the server lets clients create accounts.
REGISTRATION_CAP = "draft/account-registration"
#: The sign-in refusal each SASL numeric means.
SASL_REFUSALS = {
    ERR_SASLFAIL.code: "wrong-password",
    ERR_NICKLOCKED.code: "nick-locked",
    ERR_SASLTOOLONG.code: "too-long",
    ERR_SASLABORTED.code: "aborted",
}
#: The refusal each ``FAIL REGISTER`` code means (anything else is ``other``).
REGISTER_REFUSALS = {
    "ACCOUNT_EXISTS": "name-taken",
    "BAD_ACCOUNT_NAME": "bad-name",
    "ACCOUNT_NAME_MUST_BE_NICK": "bad-name",
    "NEED_NICK": "bad-name",
    "INVALID_USERNAME": "bad-name",
    "WEAK_PASSWORD": "weak-password",
    "UNACCEPTABLE_PASSWORD": "weak-password",
    "DISALLOWED": "registration-closed",
    "TEMPORARILY_UNAVAILABLE": "registration-closed",
    "ALREADY_AUTHENTICATED": "already",
    "ALREADY_REGISTERED": "already",
}
VERSION = "Kibitz desktop client"

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
        RPL_ENDOFWHO,
        RPL_WHOISIDLE,
        RPL_ENDOFWHOIS,
        RPL_WHOISCHANNELS,
        RPL_WHOISACCOUNT,
        RPL_WHOREPLY,
        RPL_WHOISSECURE,
        RPL_CHANNELMODEIS,
        RPL_CREATIONTIME,
    )
}
#: Numerics not worth a line of their own.
QUIET = {
    numeric.code
    for numeric in (
        ERR_NOMOTD,
        RPL_ENDOFMOTD,
        RPL_MOTDSTART,
        RPL_ENDOFNAMES,
        RPL_TOPICWHOTIME,
        RPL_ENDOFWHOIS,
    )
}


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
        #: Who to sign in as on every connection (both set, or no sign-in).
        self.credentials: tuple[str, str] | None = None
        if account and account_password:
            self.credentials = (account, account_password)
        #: PLAIN may carry the password (TLS, a loopback address, or the user allowed it).
        self.plain_allowed = plain_allowed
        #: The account the server says we are signed in as.
        self.account: str | None = None
        self.signin: SignIn | None = None
        self.username = username or username_of(nick)
        self.realname = realname
        self.wanted_caps = tuple(wanted_caps)
        self.nick = nick
        self.wanted_nick = nick
        self.registered = False
        self.caps: set[str] = set()
        self.away = False
        self.mask: str | None = None  # our nick!user@host as the server relays it
        self.casemapping = "rfc1459"
        self.chantypes = "#&"
        self.nicklen = 30
        self.network = ""
        self.roster = Roster(self)
        #: Whose handler table takes a command: the session's, then each part's.
        self._parts: tuple[tuple[Table[Any], object], ...] = (
            (HANDLERS, self),
            (ROSTER_HANDLERS, self.roster),
        )
        self.directs: dict[str, str] = {}  # direct conversations: folded nick -> nick
        self._wanted: dict[str, str] = {}  # folded channel -> name, joined on (re)connect
        for name in channels:
            if name:
                self._wanted[self.fold(name)] = name
        self._cap_ls: dict[str, str] = {}
        self._cap_done = False
        self._sasl_offered: list[str] | None = None  # the mechanisms a 908 listed
        self._registering: tuple[str, str] | None = None  # a REGISTER awaiting its answer
        self._register_sent = False
        self._signin_asked = False  # CAP REQ sasl sent after registration, to sign in
        self.password_refused = False  # asked for a password on this connection already
        self.chathistory = ChathistoryState(self.fold, self.is_me)
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
        self.caps = set()
        self._cap_ls = {}
        self._cap_done = False
        self.nick = self.wanted_nick
        self.mask = None
        self.password_refused = False
        self.account = None
        self.signin = None
        self.roster.connection_made()
        self._sasl_offered = None
        self._register_sent = False
        self._signin_asked = False
        self._out = ["CAP LS 302"]
        if self.password:
            self.send(build("PASS", self.password))
        self.send(build("NICK", self.nick))
        self.send(build("USER", self.username, "0", "*", self.realname))

    def connection_lost(self) -> list[ev.Event]:
        """The connection ended: no channels are joined now (they are joined again later)."""
        self.registered = False
        self.chathistory.connection_lost()
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

    def load_older(self, name: str) -> bool:
        """Queue the request for the page before the oldest shown of ``name``; False if none."""
        if not self.chathistory_available:
            return False
        line = self.chathistory.older(name)
        if line is None:
            return False
        self.send(line)
        return True

    def _catch_up(self, name: str) -> None:
        if self.chathistory_available:
            line = self.chathistory.catch_up(name)
            if line is not None:
                self.send(line)

    # --- accounts ------------------------------------------------------------------------
    @property
    def accounts_offered(self) -> bool:
        """True when this connection's server offers SASL (so it has accounts)."""
        return "sasl" in self._cap_ls

    @property
    def registration_offered(self) -> bool:
        """True when this connection's server lets clients create accounts."""
        return REGISTRATION_CAP in self._cap_ls

    def sign_in(self, account: str, password: str) -> list[ev.Event]:
        """Sign in as ``account`` from now on: at once when registered, else while the next
        connection registers. The events it caused (a refusal, at once)."""
        self.credentials = (account, password)
        if not self.registered:
            return []
        if "sasl" in self.caps:
            self._start_signin()
        elif self.accounts_offered:
            self._signin_asked = True
            self.send(build("CAP", "REQ", "sasl"))
        else:
            self._refuse("sign-in", "no-accounts", account)
        return self._take_events()

    def register(self, account: str, password: str) -> list[ev.Event]:
        """Create ``account`` with ``password`` (``draft/account-registration``); sent once
        the server has welcomed us. The events it caused (a refusal, at once)."""
        self._registering = (account, password)
        self._register_sent = False
        if self.registered:
            self._send_register()
        return self._take_events()

    def _send_register(self) -> None:
        if self._registering is None or self._register_sent:
            return
        account, password = self._registering
        if not self.registration_offered:
            self._registering = None
            reason = "registration-closed" if self.accounts_offered else "no-accounts"
            self._refuse("register", reason, account)
            return
        self._register_sent = True
        self.send(build("REGISTER", account, "*", password))

    def _start_signin(self) -> None:
        assert self.credentials is not None
        account, password = self.credentials
        self.signin = SignIn(account, password, self.plain_allowed)
        offered = [m for m in self._cap_ls.get("sasl", "").split(",") if m] or None
        lines = self.signin.start(offered)
        if not lines:
            self._signin_over(self.signin.refusal)
            return
        for line in lines:
            self.send(line)

    def _signin_over(self, refusal: str = "", code: str = "", text: str = "") -> None:
        """The SASL attempt ended (refused when ``refusal``); registration goes on."""
        signin, self.signin = self.signin, None
        if refusal:
            account = signin.account if signin is not None else ""
            self._refuse("sign-in", refusal, account, code, text)
        self._cap_end()

    def _refuse(
        self, action: str, reason: str, account: str = "", code: str = "", text: str = ""
    ) -> None:
        self.emit(ev.AccountRefused(action, reason, account, code, text))

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

    def own_account(self, account: str | None) -> None:
        """The server says we are signed in to ``account`` (None: signed out)."""
        if account is None:
            if self.account is not None:
                self.account = None
                self.emit(ev.SignedOut())
        elif account != self.account:
            self.account = account
            self.emit(ev.SignedIn(account))

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
        if self.chathistory.collects(msg):
            return []  # chathistory is shown as one page, never as live traffic
        handler = self._handler_of(msg.command.upper())
        if handler is None:
            return []
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

    @handles("CAP")
    def _on_cap(self, msg: Message) -> None:
        sub = msg.param(1).upper()
        if sub == "LS":
            more = len(msg.params) > 3 and msg.params[2] == "*"
            for item in msg.params[-1].split():
                name, _, value = item.partition("=")
                self._cap_ls[name] = value
            if more:
                return
            wanted = [c for c in self.wanted_caps if c in self._cap_ls]
            if self.credentials and "sasl" in self._cap_ls:
                wanted.append("sasl")  # asked for only by a client that will sign in
            if wanted and not self.registered:
                self.send(build("CAP", "REQ", " ".join(wanted)))
            elif not self.registered:
                self._cap_end()
        elif sub == "ACK":
            for name in msg.params[-1].split():
                if name.startswith("-"):
                    self.caps.discard(name[1:])
                else:
                    self.caps.add(name)
            # Sign in when sasl is granted: before CAP END, or after a later REQ sasl.
            granted = "sasl" in msg.params[-1].split()
            if granted and self.credentials and self.signin is None and self.account is None:
                self._signin_asked = False
                self._start_signin()
            elif self.signin is None:
                self._cap_end()
        elif sub == "NAK":
            self._cap_end()
        elif sub == "NEW":
            new = [c for c in msg.params[-1].split() if c.partition("=")[0] in self.wanted_caps]
            if new:
                self.send(build("CAP", "REQ", " ".join(c.partition("=")[0] for c in new)))
        elif sub == "DEL":
            for name in msg.params[-1].split():
                self.caps.discard(name)

    def _cap_end(self) -> None:
        if not self._cap_done and not self.registered:
            self._cap_done = True
            self.send("CAP END")

    @handles("AUTHENTICATE")
    def _on_authenticate(self, msg: Message) -> None:
        if self.signin is not None:
            for line in self.signin.challenge(msg.param(0, "+")):
                self.send(line)

    @handles(RPL_LOGGEDIN.code)
    def _on_logged_in(self, msg: Message) -> None:
        account = msg.param(2)
        changed = account != self.account
        self.account = account
        registering = self._registering is not None and self._registering[0] == account
        if changed and not registering:  # REGISTER SUCCESS says it for a new account
            self.emit(ev.SignedIn(account))

    @handles(RPL_LOGGEDOUT.code)
    def _on_logged_out(self, _msg: Message) -> None:
        if self.account is not None:
            self.account = None
            self.emit(ev.SignedOut())

    @handles(RPL_SASLSUCCESS.code, ERR_SASLALREADY.code)
    def _on_sasl_success(self, _msg: Message) -> None:
        self._signin_over()

    @handles(RPL_SASLMECHS.code)
    def _on_sasl_mechs(self, msg: Message) -> None:
        self._sasl_offered = [m for m in msg.param(1).split(",") if m]

    @handles(ERR_SASLFAIL.code, ERR_NICKLOCKED.code, ERR_SASLTOOLONG.code, ERR_SASLABORTED.code)
    def _on_sasl_refused(self, msg: Message) -> None:
        signin = self.signin
        if signin is None:
            self._refuse("sign-in", SASL_REFUSALS[msg.command], "", msg.command, msg.params[-1])
            return
        offered = self._sasl_offered
        if msg.command == ERR_SASLFAIL.code and offered and signin.mechanism not in offered:
            # A 3.1 server named its mechanisms only now (908): try the next that fits.
            lines = signin.start(offered)
            if lines:
                for line in lines:
                    self.send(line)
                return
        refusal = signin.refusal or SASL_REFUSALS[msg.command]
        self._signin_over(refusal, msg.command, msg.params[-1])

    @handles("REGISTER")
    def _on_register(self, msg: Message) -> None:
        verb, account = msg.param(0).upper(), msg.param(1)
        pending, self._registering = self._registering, None
        if verb == "SUCCESS":
            if pending is not None:
                self.credentials = (account, pending[1])  # sign in with it from now on
            self.account = account
            self.emit(ev.SignedIn(account, created=True))
        elif verb == "VERIFICATION_REQUIRED":
            self._refuse("register", "verification-required", account, verb, msg.params[-1])

    @handles(RPL_WELCOME.code)
    def _on_welcome(self, msg: Message) -> None:
        self.registered = True
        self.nick = msg.params[0]
        wanted = list(self._wanted.values())
        text = msg.params[-1]
        if "!" in text.rsplit(" ", 1)[-1]:
            self.mask = text.rsplit(" ", 1)[-1]
        self.emit(ev.Registered(self.nick, text))
        if self.credentials and self.account is None and not self.accounts_offered:
            self._refuse("sign-in", "no-accounts", self.credentials[0])
        self.emit(ev.Reply(RPL_WELCOME.code, (text,), time=self.time(msg)))
        for start in range(0, len(wanted), 10):
            self.send(build("JOIN", ",".join(wanted[start : start + 10])))
        for nick in list(self.directs.values()):
            self._catch_up(nick)
        if self.away:
            self.send(build("AWAY", "Away"))
        self._send_register()

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

    def _refold(self, mapping: str) -> None:
        self.casemapping = mapping
        self._wanted = {self.fold(n): n for n in self._wanted.values()}
        self.directs = {self.fold(n): n for n in self.directs.values()}

    def reply(self, msg: Message) -> None:
        """Show the numeric ``msg`` as the answer it is (or not at all, when quiet)."""
        code = msg.command
        if code in QUIET:
            return
        args = tuple(msg.params[1:])
        when = self.time(msg)
        if code == RPL_MOTD.code:
            self.emit(ev.Reply(code, args, "", time=when))
        elif code.startswith(("4", "5")) and code != ERR_NICKNAMEINUSE.code:
            self.emit(ev.Reply(code, args, None, error=True, time=when))
        elif code in ANSWERS:
            self.emit(ev.Reply(code, args, None, time=when))
        else:
            self.emit(ev.Reply(code, args, "", time=when))

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
            self._catch_up(name)
            self.roster.ask_accounts(name)

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
        if follow_up:
            self.send(follow_up)

    def _display_name(self, target: str) -> str:
        chan = self.roster.get(target)
        return chan.name if chan is not None else self.directs.get(self.fold(target), target)

    @handles("FAIL")
    def _on_fail(self, msg: Message) -> None:
        if msg.param(0).upper() == "REGISTER":
            code = msg.param(1)
            if code == "COMPLETE_CONNECTION_REQUIRED":
                self._register_sent = False  # sent again after the welcome
                return
            self._registering = None
            account = msg.param(2) if len(msg.params) > 3 else ""
            reason = REGISTER_REFUSALS.get(code, "other")
            self._refuse("register", reason, account, code, msg.params[-1])
        elif msg.param(0).upper() == "CHATHISTORY":
            self.chathistory.failed(list(msg.params))
            log.debug("chathistory request failed: %s", " ".join(msg.params))

    @handles("PONG", "AWAY", "CHGHOST", "SETNAME", "TAGMSG")
    def _on_ignored(self, msg: Message) -> None:
        """Lines the session does not show (a PONG only proves the link is alive)."""
