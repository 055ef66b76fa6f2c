"""The IRC session as a pure state machine: lines from the server in, events out.

No sockets, no threads, no sentences. :meth:`Session.feed` takes one received line and
returns the :mod:`app.events` records it caused; the lines the session wants sent (PONG,
CAP, the next nick to try, JOINs, chathistory requests) wait in an outbox that the owner
empties with :meth:`Session.take_lines`. Handlers are registered per command in
:data:`HANDLERS` by the :func:`handles` decorator.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from app import events as ev
from app.chathistory import CHATHISTORY_PAGE, ChathistoryState
from app.irc import next_nick, strip_formatting, username_of
from app.signin import SignIn
from server.protocol.codec import (
    LineError,
    Message,
    build,
    parse,
    parse_server_time,
    split_source,
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
    RPL_NAMREPLY,
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
    RPL_WHOSPCRPL,
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
#: The token of the WHO requests the session makes itself (WHOX ``%tna``: who is signed in).
WHOX_TOKEN = "913"
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


@dataclass
class Member:
    """A channel member and the prefix modes (``o``, ``v``, ...) it holds."""

    nick: str
    modes: str = ""


@dataclass
class Channel:
    """A joined channel: display name, topic and members keyed by casefolded nick."""

    name: str
    topic: str = ""
    members: dict[str, Member] = field(default_factory=dict)


Handler = Callable[["Session", Message], None]
HANDLERS: dict[str, Handler] = {}


def handles(*commands: str) -> Callable[[Handler], Handler]:
    """Register a method as the handler of IRC ``commands`` in :data:`HANDLERS`."""

    def register(func: Handler) -> Handler:
        for name in commands:
            HANDLERS[name] = func
        return func

    return register


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
        self.accounts: dict[str, str] = {}  # folded nick -> account, for those signed in
        self.whox = False  # the server answers WHO with %-fields (ISUPPORT WHOX)
        self._whox_pending: set[str] = set()  # folded channels our own WHO asked about
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
        self.prefixes: dict[str, str] = {"o": "@", "v": "+"}  # mode -> prefix, by rank
        self.chanmodes = ("beI", "k", "l", "imnpst")
        self.nicklen = 30
        self.network = ""
        self.channels: dict[str, Channel] = {}
        self.directs: dict[str, str] = {}  # direct conversations: folded nick -> nick
        self._wanted: dict[str, str] = {}  # folded channel -> name, joined on (re)connect
        for name in channels:
            if name:
                self._wanted[self.fold(name)] = name
        self._names: dict[str, list[tuple[str, str]]] = {}
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

    def _emit(self, event: ev.Event) -> None:
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
        self.accounts = {}
        self.whox = False
        self._whox_pending = set()
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
        self._names.clear()
        joined = list(self.channels.values())
        self.channels.clear()
        self.chathistory.connection_lost()
        self._out = []
        return [ev.MembersChanged(channel.name) for channel in joined]

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
        self._emit(ev.AccountRefused(action, reason, account, code, text))

    # --- questions about the state -----------------------------------------------------
    def members(self, channel: str) -> list[tuple[str, str]]:
        """``(prefix, nick)`` pairs of ``channel``, ops first, then voiced, then by name."""
        chan = self.channels.get(self.fold(channel))
        return [] if chan is None else self._sorted_members(chan)

    def _sorted_members(self, chan: Channel) -> list[tuple[str, str]]:
        ranks = {mode: i for i, mode in enumerate(self.prefixes)}
        none = len(ranks)

        def rank(member: Member) -> int:
            return min((ranks.get(m, none) for m in member.modes), default=none)

        ordered = sorted(chan.members.values(), key=lambda m: (rank(m), self.fold(m.nick)))
        return [(self._prefix_of(m), m.nick) for m in ordered]

    def _members_of(self, chan: Channel) -> ev.MembersChanged:
        signed_in = frozenset(m.nick for k, m in chan.members.items() if k in self.accounts)
        return ev.MembersChanged(chan.name, tuple(self._sorted_members(chan)), signed_in)

    def account_of(self, nick: str) -> str:
        """The account ``nick`` is signed in to, as far as the server told us ("" if none)."""
        if self.is_me(nick):
            return self.account or ""
        return self.accounts.get(self.fold(nick), "")

    def _set_account(self, nick: str, account: str | None) -> None:
        """``nick`` signed in to ``account`` (None or ``*``: signed out); members follow."""
        key = self.fold(nick)
        if account and account != "*":
            if self.accounts.get(key) == account:
                return
            self.accounts[key] = account
        elif self.accounts.pop(key, None) is None:
            return
        for chan in self.channels.values():
            if key in chan.members:
                self._emit(self._members_of(chan))

    def _prefix_of(self, member: Member) -> str:
        for mode, prefix in self.prefixes.items():
            if mode in member.modes:
                return prefix
        return ""

    def topic(self, channel: str) -> str:
        """The topic of ``channel`` ("" when none or not joined)."""
        chan = self.channels.get(self.fold(channel))
        return chan.topic if chan else ""

    def joined(self) -> list[str]:
        """Names of the channels we are in."""
        return [c.name for c in self.channels.values()]

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
        handler = HANDLERS.get(msg.command.upper())
        if handler is None:
            if not msg.command.isdigit():
                return []
            handler = Session._on_numeric
        try:
            handler(self, msg)
        except (IndexError, ValueError, KeyError) as exc:  # a malformed line harms nobody
            log.debug("ignored %r: %s", line, exc)
        except Exception:  # a bug here must not end the connection: log it and go on
            log.exception("error handling %r", line)
        return self._take_events()

    def _time(self, msg: Message) -> datetime:
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
            self._emit(ev.SignedIn(account))

    @handles(RPL_LOGGEDOUT.code)
    def _on_logged_out(self, _msg: Message) -> None:
        if self.account is not None:
            self.account = None
            self._emit(ev.SignedOut())

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

    @handles("ACCOUNT")
    def _on_account(self, msg: Message) -> None:
        nick, account = msg.nick or "", msg.param(0)
        if not self.is_me(nick):
            self._set_account(nick, account)
        elif account == "*" and self.account is not None:
            self.account = None
            self._emit(ev.SignedOut())
        elif account != "*" and account != self.account:
            self.account = account
            self._emit(ev.SignedIn(account))

    @handles("REGISTER")
    def _on_register(self, msg: Message) -> None:
        verb, account = msg.param(0).upper(), msg.param(1)
        pending, self._registering = self._registering, None
        if verb == "SUCCESS":
            if pending is not None:
                self.credentials = (account, pending[1])  # sign in with it from now on
            self.account = account
            self._emit(ev.SignedIn(account, created=True))
        elif verb == "VERIFICATION_REQUIRED":
            self._refuse("register", "verification-required", account, verb, msg.params[-1])

    @handles(RPL_WHOISACCOUNT.code)
    def _on_whois_account(self, msg: Message) -> None:
        self._set_account(msg.param(1), msg.param(2))
        self._on_numeric(msg)

    @handles(RPL_WHOSPCRPL.code)
    def _on_whox(self, msg: Message) -> None:
        if msg.param(1) != WHOX_TOKEN:
            self._on_numeric(msg)
            return
        nick, account = msg.param(2), msg.param(3)
        if account and account != "0":  # WHOX says 0 for "not signed in"
            self.accounts[self.fold(nick)] = account
        else:
            self.accounts.pop(self.fold(nick), None)

    @handles(RPL_ENDOFWHO.code)
    def _on_end_of_who(self, msg: Message) -> None:
        key = self.fold(msg.param(1))
        if key not in self._whox_pending:
            self._on_numeric(msg)
            return
        self._whox_pending.discard(key)
        chan = self.channels.get(key)
        if chan is not None:
            self._emit(self._members_of(chan))

    @handles(RPL_WELCOME.code)
    def _on_welcome(self, msg: Message) -> None:
        self.registered = True
        self.nick = msg.params[0]
        wanted = list(self._wanted.values())
        text = msg.params[-1]
        if "!" in text.rsplit(" ", 1)[-1]:
            self.mask = text.rsplit(" ", 1)[-1]
        self._emit(ev.Registered(self.nick, text))
        if self.credentials and self.account is None and not self.accounts_offered:
            self._refuse("sign-in", "no-accounts", self.credentials[0])
        self._emit(ev.Reply(RPL_WELCOME.code, (text,), time=self._time(msg)))
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
                self.whox = True
            elif name == "NICKLEN" and value.isdigit():
                self.nicklen = int(value)
            elif name == "CHATHISTORY" and value.isdigit() and int(value) > 0:
                self.chathistory.page = min(CHATHISTORY_PAGE, int(value))
            elif name == "MSGREFTYPES":
                self.chathistory.msgreftypes = tuple(value.split(","))
            elif name == "CHANMODES":
                parts = ([*value.split(","), "", "", "", ""])[:4]
                self.chanmodes = (parts[0], parts[1], parts[2], parts[3])
            elif name == "PREFIX":
                m = re.fullmatch(r"\(([^)]*)\)(.*)", value)
                if m and len(m.group(1)) == len(m.group(2)):
                    self.prefixes = dict(zip(m.group(1), m.group(2), strict=False))

    def _refold(self, mapping: str) -> None:
        self.casemapping = mapping
        self._wanted = {self.fold(n): n for n in self._wanted.values()}
        self.directs = {self.fold(n): n for n in self.directs.values()}

    def _on_numeric(self, msg: Message) -> None:
        code = msg.command
        if code in QUIET:
            return
        args = tuple(msg.params[1:])
        when = self._time(msg)
        if code == RPL_MOTD.code:
            self._emit(ev.Reply(code, args, "", time=when))
        elif code.startswith(("4", "5")) and code != ERR_NICKNAMEINUSE.code:
            self._emit(ev.Reply(code, args, None, error=True, time=when))
        elif code in ANSWERS:
            self._emit(ev.Reply(code, args, None, time=when))
        else:
            self._emit(ev.Reply(code, args, "", time=when))

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
            self._emit(ev.NickRefused(tried, reason))
            self.wanted_nick = self.nick
            self._emit(ev.OwnNick(self.nick))
            return
        if msg.command == ERR_NICKNAMEINUSE.code:
            new = next_nick(tried, self.nicklen)
        else:
            new = "kibitzer" if self.fold(tried) != "kibitzer" else "kibitzer_"
        self._emit(ev.NickRefused(tried, reason, new))
        self.nick = new
        self._emit(ev.OwnNick(new))
        self.send(build("NICK", new))

    @handles(ERR_PASSWDMISMATCH.code)
    def _on_bad_password(self, msg: Message) -> None:
        if self.registered:  # the answer to OPER, not to the connection password
            self._on_numeric(msg)
            return
        self._password_needed()

    def _password_needed(self) -> None:
        if self.password_refused:
            return
        self.password_refused = True
        self._emit(ev.PasswordWanted(refused=bool(self.password)))

    @handles("ERROR")
    def _on_error(self, msg: Message) -> None:
        text = msg.param(0, "Connection closed by the server")
        if not self.registered and "password" in text.lower():
            self._password_needed()
        self._emit(ev.ServerError(text))

    @handles("JOIN")
    def _on_join(self, msg: Message) -> None:
        name = msg.param(0)
        nick = msg.nick or ""
        own = self.is_me(nick)
        key = self.fold(name)
        if own:
            self._learn_mask(msg)
            self.channels[key] = Channel(name)
            self._wanted.setdefault(key, name)
            self._names.pop(key, None)
        chan = self.channels.get(key)
        if chan is None:
            return
        chan.members[self.fold(nick)] = Member(nick)
        if "extended-join" in self.caps and len(msg.params) >= 3 and not own:
            account = msg.params[1]
            if account != "*":
                self.accounts[self.fold(nick)] = account
            else:
                self.accounts.pop(self.fold(nick), None)
        self._emit(ev.Join(name, nick, own, self._time(msg)))
        self._emit(self._members_of(chan))
        if own:
            self._catch_up(name)
            if self.whox:  # who of them is signed in (the NAMES reply does not say)
                self._whox_pending.add(key)
                self.send(build("WHO", name, f"%tna,{WHOX_TOKEN}"))

    @handles("PART")
    def _on_part(self, msg: Message) -> None:
        nick = msg.nick or ""
        chan, own = self._leave(msg.param(0), nick, forget=True)
        if chan is not None:
            self._emit(ev.Part(chan.name, nick, msg.param(1), own, self._time(msg)))
            self._emit(self._members_of(chan) if not own else ev.MembersChanged(chan.name))

    @handles("KICK")
    def _on_kick(self, msg: Message) -> None:
        nick = msg.param(1)
        chan, own = self._leave(msg.param(0), nick, forget=False)
        if chan is not None:
            by = msg.nick or ""
            self._emit(ev.Kick(chan.name, nick, by, msg.param(2), own, self._time(msg)))
            self._emit(self._members_of(chan) if not own else ev.MembersChanged(chan.name))

    def _leave(self, name: str, nick: str, forget: bool) -> tuple[Channel | None, bool]:
        """``nick`` is no longer on ``name``; a kicked channel is rejoined, a parted one not."""
        own = self.is_me(nick)
        key = self.fold(name)
        chan = self.channels.get(key)
        if chan is None:
            return None, own
        if own:
            del self.channels[key]
            if forget:
                self._wanted.pop(key, None)
                self.chathistory.forget(name)
        else:
            chan.members.pop(self.fold(nick), None)
        return chan, own

    @handles("QUIT")
    def _on_quit(self, msg: Message) -> None:
        nick = msg.nick or ""
        folded = self.fold(nick)
        when = self._time(msg)
        self.accounts.pop(folded, None)
        for chan in self.channels.values():
            if chan.members.pop(folded, None) is not None:
                self._emit(ev.Quit(chan.name, nick, msg.param(0), when))
                self._emit(self._members_of(chan))
        peer = self.directs.get(folded)
        if peer is not None:
            self._emit(ev.Quit(peer, nick, msg.param(0), when))

    @handles("NICK")
    def _on_nick(self, msg: Message) -> None:
        old = msg.nick or ""
        new = msg.param(0)
        own = self.is_me(old)
        folded_old, folded_new = self.fold(old), self.fold(new)
        when = self._time(msg)
        account = self.accounts.pop(folded_old, None)
        if account is not None:
            self.accounts[folded_new] = account
        if own:
            self.nick = new
            self.wanted_nick = new
            if self.mask:
                self.mask = new + self.mask[self.mask.index("!") :]
        for chan in self.channels.values():
            member = chan.members.pop(folded_old, None)
            if member is not None:
                member.nick = new
                chan.members[folded_new] = member
                self._emit(ev.Nick(chan.name, new, old, own, when))
                self._emit(self._members_of(chan))
        peer = self.directs.pop(folded_old, None)
        if peer is not None:
            self.directs[folded_new] = new
            self.chathistory.rename(old, new)
            self._emit(ev.Nick(peer, new, old, own, when))
        if own:
            self._emit(ev.OwnNick(new, old))

    @handles("TOPIC")
    def _on_topic(self, msg: Message) -> None:
        name, topic = msg.param(0), msg.param(1)
        self.chathistory.seen_live(name, msg.tags.get("msgid", ""), msg.tags.get("time", ""))
        chan = self.channels.get(self.fold(name))
        if chan is not None:
            chan.topic = topic
            name = chan.name
        nick = msg.nick or ""
        self._emit(ev.Topic(name, topic, nick, self.is_me(msg.nick), self._time(msg)))

    @handles(RPL_TOPIC.code, RPL_NOTOPIC.code)
    def _on_rpl_topic(self, msg: Message) -> None:
        name = msg.param(1)
        topic = msg.param(2) if msg.command == RPL_TOPIC.code else ""
        chan = self.channels.get(self.fold(name))
        if chan is not None:
            chan.topic = topic
            name = chan.name
        self._emit(ev.Topic(name, topic, time=self._time(msg)))

    @handles(RPL_NAMREPLY.code)
    def _on_names(self, msg: Message) -> None:
        key = self.fold(msg.param(2))
        prefix_chars = "".join(self.prefixes.values())
        modes_of = {p: m for m, p in self.prefixes.items()}
        entries = self._names.setdefault(key, [])
        for item in msg.params[-1].split():
            stripped = item.lstrip(prefix_chars)
            modes = "".join(modes_of[c] for c in item[: len(item) - len(stripped)])
            nick = split_source(stripped)[0] or stripped
            entries.append((modes, nick))

    @handles(RPL_ENDOFNAMES.code)
    def _on_end_of_names(self, msg: Message) -> None:
        name = msg.param(1)
        key = self.fold(name)
        entries = self._names.pop(key, None)
        if entries is None:
            return
        chan = self.channels.get(key)
        if chan is None:  # a /names for a channel we are not in
            self._emit(ev.Names(name, tuple(n for _, n in entries)))
            return
        chan.members = {self.fold(nick): Member(nick, modes) for modes, nick in entries}
        self._emit(self._members_of(chan))

    @handles("MODE")
    def _on_mode(self, msg: Message) -> None:
        target = msg.param(0)
        if not self.is_channel(target):
            return
        modes = msg.param(1)
        args = list(msg.params[2:])
        always = self.chanmodes[0] + self.chanmodes[1] + "".join(self.prefixes)
        on_set = self.chanmodes[2]
        adding = True
        chan = self.channels.get(self.fold(target))
        for ch in modes:
            if ch in "+-":
                adding = ch == "+"
                continue
            arg = None
            if ch in always or (adding and ch in on_set):
                arg = args.pop(0) if args else None
            if chan is not None and ch in self.prefixes and arg:
                member = chan.members.get(self.fold(arg))
                if member is not None:
                    if adding and ch not in member.modes:
                        member.modes += ch
                    elif not adding:
                        member.modes = member.modes.replace(ch, "")
        name = chan.name if chan is not None else target
        text = " ".join(msg.params[1:])
        self._emit(ev.Mode(name, text, msg.nick or "", self._time(msg)))
        if chan is not None:
            self._emit(self._members_of(chan))

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
            chan = self.channels.get(self.fold(target))
            conversation = chan.name if chan is not None else target
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
            account = self.accounts.get(self.fold(nick), "")
        if not self.chathistory.seen_live(conversation, msgid, msg.tags.get("time", "")):
            return  # already shown (it came in a chathistory page first)
        self._emit(
            ev.Message(
                conversation,
                nick or (msg.source or ""),
                strip_formatting(text),
                self._time(msg),
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
        self._emit(ev.Invite(msg.nick or "", msg.param(1)))

    @handles("BATCH")
    def _on_batch(self, msg: Message) -> None:
        record, follow_up = self.chathistory.batch(msg, self._display_name)
        if record is not None:
            self._emit(record)
        if follow_up:
            self.send(follow_up)

    def _display_name(self, target: str) -> str:
        key = self.fold(target)
        chan = self.channels.get(key)
        return chan.name if chan is not None else self.directs.get(key, target)

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
