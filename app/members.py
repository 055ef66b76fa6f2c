"""The channels we are in and who is in them: a pure state object the session owns.

:class:`Roster` keeps each joined channel's topic, flag modes and members, the prefix
modes (``@``, ``+``) each member holds, and the account each member is signed in to, as
extended-join, ACCOUNT, WHOX and 330 tell it, and who is away (away-notify's AWAY, the
WHO flags ``G``/``H``, 301; ourselves by 306 and 305). It takes the lines that only
change members or modes (NAMES, MODE and its 324 reply, WHO and the WHOIS account and
away replies, 305/306, ACCOUNT, AWAY) in its own handler table; the session tells it of
JOIN, PART, KICK, QUIT and NICK, whose other effects are the session's. Members are
announced as :class:`app.events.MembersChanged`, sorted by rank, then by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from app import events as ev
from app.dispatch import Host, Table, registrar
from server.protocol.codec import Message, build, split_source
from server.protocol.numerics import (
    RPL_AWAY,
    RPL_CHANNELMODEIS,
    RPL_CREATIONTIME,
    RPL_ENDOFNAMES,
    RPL_ENDOFWHO,
    RPL_NAMREPLY,
    RPL_NOWAWAY,
    RPL_UNAWAY,
    RPL_WHOISACCOUNT,
    RPL_WHOREPLY,
    RPL_WHOSPCRPL,
)

#: The token of the WHO requests the roster makes itself (WHOX ``%tna``: who is signed in).
WHOX_TOKEN = "913"


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
    #: Its flag modes (CHANMODES type D): ``+t`` is assumed until the server says.
    flags: set[str] = field(default_factory=lambda: {"t"})


class RosterHost(Host, Protocol):
    """What the roster needs of the session besides a :class:`Host`'s basics."""

    def own_account(self, account: str | None) -> None:
        """The server says we are signed in to ``account`` (None: signed out)."""


HANDLERS: Table[Roster] = {}
handles = registrar(HANDLERS)


class Roster:
    """Joined channels by casefolded name, their members, and the accounts of members."""

    def __init__(self, host: RosterHost) -> None:
        self.host = host
        self.channels: dict[str, Channel] = {}
        self.accounts: dict[str, str] = {}  # folded nick -> account, for those signed in
        self.away: dict[str, str] = {}  # folded nick -> away text ("" if not known)
        self.prefixes: dict[str, str] = {"o": "@", "v": "+"}  # mode -> prefix, by rank
        self.chanmodes = ("beI", "k", "l", "imnpst")
        self.whox = False  # the server answers WHO with %-fields (ISUPPORT WHOX)
        self._whox_pending: set[str] = set()  # folded channels our own WHO asked about
        self._modes_pending: set[str] = set()  # folded channels our own MODE asked about
        self._time_pending: set[str] = set()  # ... whose 329 (after the 324) is ours too
        self._names: dict[str, list[tuple[str, str]]] = {}

    # --- the connection's life -------------------------------------------------------
    def connection_made(self) -> None:
        """A new connection: nobody's account is known yet."""
        self.accounts = {}
        self.away = {}
        self.whox = False
        self._whox_pending = set()
        self._modes_pending = set()
        self._time_pending = set()

    def connection_lost(self) -> list[ev.Event]:
        """No channel is joined now: each of them says it has no members."""
        self._names.clear()
        joined = list(self.channels.values())
        self.channels.clear()
        return [ev.MembersChanged(channel.name) for channel in joined]

    def set_prefix(self, value: str) -> None:
        """ISUPPORT ``PREFIX=(modes)prefixes`` (a mismatched one is ignored)."""
        m = re.fullmatch(r"\(([^)]*)\)(.*)", value)
        if m and len(m.group(1)) == len(m.group(2)):
            self.prefixes = dict(zip(m.group(1), m.group(2), strict=False))

    # --- questions ---------------------------------------------------------------------
    def get(self, name: str) -> Channel | None:
        """The joined channel ``name``, if we are in it."""
        return self.channels.get(self.host.fold(name))

    def members(self, channel: str) -> list[tuple[str, str]]:
        """``(prefix, nick)`` pairs of ``channel``, ops first, then voiced, then by name."""
        chan = self.get(channel)
        return [] if chan is None else self._sorted(chan)

    def account_of(self, nick: str) -> str:
        """The account another ``nick`` is signed in to ("" if none or not known)."""
        return self.accounts.get(self.host.fold(nick), "")

    def display_name(self, name: str) -> str:
        """``name`` as its channel is spelt, when we are in it."""
        chan = self.get(name)
        return chan.name if chan is not None else name

    def _sorted(self, chan: Channel) -> list[tuple[str, str]]:
        ranks = {mode: i for i, mode in enumerate(self.prefixes)}
        none = len(ranks)

        def rank(member: Member) -> int:
            return min((ranks.get(m, none) for m in member.modes), default=none)

        fold = self.host.fold
        ordered = sorted(chan.members.values(), key=lambda m: (rank(m), fold(m.nick)))
        return [(self._prefix_of(m), m.nick) for m in ordered]

    def _prefix_of(self, member: Member) -> str:
        for mode, prefix in self.prefixes.items():
            if mode in member.modes:
                return prefix
        return ""

    def topic_settable(self, chan: Channel) -> bool:
        """Whether we may set ``chan``'s topic: it is not ``+t``, or we hold op there (or
        a prefix mode ranked above it in ISUPPORT PREFIX, as ``~`` and ``&`` are)."""
        return "t" not in chan.flags or self.is_op(chan)

    def is_op(self, chan: Channel) -> bool:
        """Whether we hold op in ``chan`` (or a prefix mode ranked above it)."""
        ranked = list(self.prefixes)
        allowed = ranked[: ranked.index("o") + 1] if "o" in ranked else ranked[:1]
        me = next((m for m in chan.members.values() if self.host.is_me(m.nick)), None)
        return me is not None and any(mode in allowed for mode in me.modes)

    def announce(self, chan: Channel) -> None:
        """Emit ``chan``'s members as they are now."""
        signed_in = frozenset(m.nick for k, m in chan.members.items() if k in self.accounts)
        members = tuple(self._sorted(chan))
        settable = self.topic_settable(chan)
        away = tuple((m.nick, self.away[k]) for k, m in chan.members.items() if k in self.away)
        self.host.emit(ev.MembersChanged(chan.name, members, signed_in, settable, away))

    # --- what the session tells it ----------------------------------------------------
    def joined(self, msg: Message, nick: str, own: bool) -> Channel | None:
        """``nick`` joined (``msg``); the channel, when we are in it."""
        fold = self.host.fold
        name = msg.param(0)
        key = fold(name)
        if own:
            self.channels[key] = Channel(name)
            self._names.pop(key, None)
        chan = self.channels.get(key)
        if chan is None:
            return None
        chan.members[fold(nick)] = Member(nick)
        if "extended-join" in self.host.caps and len(msg.params) >= 3 and not own:
            account = msg.params[1]
            if account != "*":
                self.accounts[fold(nick)] = account
            else:
                self.accounts.pop(fold(nick), None)
        return chan

    def ask_about(self, name: str) -> None:
        """Ask a channel we just joined for its modes (who may set the topic), and who of
        it is signed in (the NAMES reply says neither)."""
        self._modes_pending.add(self.host.fold(name))
        self.host.send(build("MODE", name))
        if self.whox:
            self._whox_pending.add(self.host.fold(name))
            self.host.send(build("WHO", name, f"%tnfa,{WHOX_TOKEN}"))

    def left(self, name: str, nick: str, own: bool) -> Channel | None:
        """``nick`` is no longer on ``name``; the channel, when we were in it."""
        key = self.host.fold(name)
        chan = self.channels.get(key)
        if chan is None:
            return None
        if own:
            del self.channels[key]
            for folded in [k for k in self.away if not self._shares_a_channel(k)]:
                del self.away[folded]
        else:
            folded = self.host.fold(nick)
            chan.members.pop(folded, None)
            if not self._shares_a_channel(folded):
                self.away.pop(folded, None)  # no AWAY will tell us of it any more
        return chan

    def reaches(self, name: str) -> bool:
        """Whether a TAGMSG to ``name`` arrives without an error reply: a channel we are in
        and may speak in (not ``+m``, or we hold a prefix there), or a nick in one with us."""
        folded = self.host.fold(name)
        if not self.host.is_channel(name):
            return self._shares_a_channel(folded)
        chan = self.channels.get(folded)
        if chan is None:
            return False
        me = next((m for m in chan.members.values() if self.host.is_me(m.nick)), None)
        return "m" not in chan.flags or (me is not None and bool(me.modes))

    def _shares_a_channel(self, folded: str) -> bool:
        return any(folded in chan.members for chan in self.channels.values())

    def quit(self, nick: str) -> list[Channel]:
        """``nick`` left the server; the channels it was on with us."""
        folded = self.host.fold(nick)
        self.accounts.pop(folded, None)
        self.away.pop(folded, None)
        return [c for c in self.channels.values() if c.members.pop(folded, None) is not None]

    def renamed(self, old: str, new: str) -> list[Channel]:
        """``old`` is now called ``new``; the channels it is on with us."""
        folded_old, folded_new = self.host.fold(old), self.host.fold(new)
        account = self.accounts.pop(folded_old, None)
        if account is not None:
            self.accounts[folded_new] = account
        away = self.away.pop(folded_old, None)
        if away is not None:
            self.away[folded_new] = away
        channels = []
        for chan in self.channels.values():
            member = chan.members.pop(folded_old, None)
            if member is not None:
                member.nick = new
                chan.members[folded_new] = member
                channels.append(chan)
        return channels

    def set_account(self, nick: str, account: str | None) -> None:
        """``nick`` signed in to ``account`` (None or ``*``: signed out); members follow."""
        key = self.host.fold(nick)
        if account and account != "*":
            if self.accounts.get(key) == account:
                return
            self.accounts[key] = account
        elif self.accounts.pop(key, None) is None:
            return
        for chan in self.channels.values():
            if key in chan.members:
                self.announce(chan)

    def set_away(self, nick: str, text: str | None, announce: bool = True) -> None:
        """``nick`` is away with ``text`` ("": not known), or back (None); its channels'
        members are announced (unless ``announce`` is False: a WHO reply that ends with
        its own announcement)."""
        key = self.host.fold(nick)
        if self.away.get(key) == text:
            return
        if text is None:
            del self.away[key]
        else:
            self.away[key] = text
        if announce:
            for chan in self.channels.values():
                if key in chan.members:
                    self.announce(chan)

    def _away_flag(self, nick: str, flags: str, announce: bool = True) -> None:
        """WHO flags: ``G`` away (its text is not given: keep one we know), ``H`` here."""
        if flags.startswith("G"):
            self.set_away(nick, self.away.get(self.host.fold(nick), ""), announce)
        elif flags.startswith("H"):
            self.set_away(nick, None, announce)

    # --- the lines it takes ------------------------------------------------------------
    @handles(RPL_NAMREPLY.code)
    def _on_names(self, msg: Message) -> None:
        key = self.host.fold(msg.param(2))
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
        fold = self.host.fold
        name = msg.param(1)
        key = fold(name)
        entries = self._names.pop(key, None)
        if entries is None:
            return
        chan = self.channels.get(key)
        if chan is None:  # a /names for a channel we are not in
            self.host.emit(ev.Names(name, tuple(n for _, n in entries)))
            return
        chan.members = {fold(nick): Member(nick, modes) for modes, nick in entries}
        self.announce(chan)

    @handles("MODE")
    def _on_mode(self, msg: Message) -> None:
        target = msg.param(0)
        if not self.host.is_channel(target):
            return
        modes = msg.param(1)
        args = list(msg.params[2:])
        always = self.chanmodes[0] + self.chanmodes[1] + "".join(self.prefixes)
        on_set = self.chanmodes[2]
        adding = True
        chan = self.get(target)
        for ch in modes:
            if ch in "+-":
                adding = ch == "+"
                continue
            arg = None
            if ch in always or (adding and ch in on_set):
                arg = args.pop(0) if args else None
            elif chan is not None and ch in self.chanmodes[3]:
                (chan.flags.add if adding else chan.flags.discard)(ch)
            if chan is not None and ch in self.prefixes and arg:
                member = chan.members.get(self.host.fold(arg))
                if member is not None:
                    if adding and ch not in member.modes:
                        member.modes += ch
                    elif not adding:
                        member.modes = member.modes.replace(ch, "")
        name = chan.name if chan is not None else target
        text = " ".join(msg.params[1:])
        self.host.emit(ev.Mode(name, text, msg.nick or "", self.host.time(msg)))
        if chan is not None:
            self.announce(chan)

    @handles(RPL_CHANNELMODEIS.code)
    def _on_channel_modes(self, msg: Message) -> None:
        key = self.host.fold(msg.param(1))
        chan = self.channels.get(key)
        if chan is not None:
            chan.flags = {ch for ch in msg.param(2) if ch in self.chanmodes[3]}
            self.announce(chan)
        if key in self._modes_pending:
            self._modes_pending.discard(key)
            self._time_pending.add(key)
        else:
            self.host.reply(msg)  # the user asked (/mode #channel)

    @handles(RPL_CREATIONTIME.code)
    def _on_creation_time(self, msg: Message) -> None:
        key = self.host.fold(msg.param(1))
        if key in self._time_pending:
            self._time_pending.discard(key)  # the rest of the answer to our own MODE
        else:
            self.host.reply(msg)

    @handles("ACCOUNT")
    def _on_account(self, msg: Message) -> None:
        nick, account = msg.nick or "", msg.param(0)
        if self.host.is_me(nick):
            self.host.own_account(None if account == "*" else account)
        else:
            self.set_account(nick, account)

    @handles(RPL_WHOISACCOUNT.code)
    def _on_whois_account(self, msg: Message) -> None:
        self.set_account(msg.param(1), msg.param(2))
        self.host.reply(msg)

    @handles(RPL_WHOSPCRPL.code)
    def _on_whox(self, msg: Message) -> None:
        if msg.param(1) != WHOX_TOKEN:
            self.host.reply(msg)
            return
        # %tnfa: the fields come in WHOX's fixed order (token, nick, flags, account).
        nick, flags, account = msg.param(2), msg.param(3), msg.param(4)
        self._away_flag(nick, flags, announce=False)
        if account and account != "0":  # WHOX says 0 for "not signed in"
            self.accounts[self.host.fold(nick)] = account
        else:
            self.accounts.pop(self.host.fold(nick), None)

    @handles("AWAY")
    def _on_away(self, msg: Message) -> None:
        # away-notify: a text is away, none is back.
        self.set_away(msg.nick or "", msg.params[0] if msg.params and msg.params[0] else None)

    @handles(RPL_AWAY.code)
    def _on_away_reply(self, msg: Message) -> None:
        self.set_away(msg.param(1), msg.param(2))
        self.host.reply(msg)

    @handles(RPL_NOWAWAY.code, RPL_UNAWAY.code)
    def _on_own_away(self, msg: Message) -> None:
        # We are marked away (306) or back (305): away-notify never tells us of ourselves.
        me = msg.param(0)
        away = msg.command == RPL_NOWAWAY.code
        self.set_away(me, self.away.get(self.host.fold(me), "") if away else None)
        self.host.reply(msg)

    @handles(RPL_WHOREPLY.code)
    def _on_who_reply(self, msg: Message) -> None:
        self._away_flag(msg.param(5), msg.param(6))
        self.host.reply(msg)

    @handles(RPL_ENDOFWHO.code)
    def _on_end_of_who(self, msg: Message) -> None:
        key = self.host.fold(msg.param(1))
        if key not in self._whox_pending:
            self.host.reply(msg)
            return
        self._whox_pending.discard(key)
        chan = self.channels.get(key)
        if chan is not None:
            self.announce(chan)
