"""ChatModel: the façade the controller uses — a :class:`Connection` and a :class:`Session`.

The connection's reader thread feeds each line to the session and puts the events it
returns on :attr:`ChatModel.events`, a ``queue.Queue`` the controller drains on the Tk
thread; the lines the session wants sent go out through the connection. The outbound
command API (say, join, part, ...) is here. One lock guards the session, because the
Tk thread asks about it (members, joined channels) while the reader thread changes it.
"""

from __future__ import annotations

import ipaddress
import queue
import random
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timezone

from app import events as ev
from app.connection import Connection
from app.events import Kind
from app.multiline import CAP as MULTILINE_CAP
from app.multiline import batch_lines
from app.multiline import limits as multiline_limits
from app.pacing import PACE_BURST, PACE_RATE
from app.reactions import REPLY, reaction_tags
from app.session import WANTED_CAPS, Session
from server.protocol.codec import MAX_LINE, build, split_utf8

__all__ = ["ChatModel", "Kind"]  # Kind: for the code that knew it from here

#: Longest host name the server may put in our prefix (when it has not told us yet).
_MAX_HOST = 63
_USER_LEN_GUESS = 12


def is_loopback(host: str) -> bool:
    """True when ``host`` is this machine (``localhost``, 127.0.0.0/8, ``::1``): nothing
    on the way can read what is sent there."""
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ChatModel:
    """An IRC connection that reconnects, keeps the session state and emits events."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        nick: str = "kibitzer",
        *,
        channels: Iterable[str] = ("#general",),
        password: str | None = None,
        tls: bool = False,
        tls_verify: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        username: str | None = None,
        realname: str = "Kibitz user",
        events: queue.Queue[ev.Event] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        rand: Callable[[], float] = random.random,
        connect_timeout: float = 10.0,
        keepalive: float = 60.0,
        reconnect: bool = True,
        wanted_caps: Iterable[str] = WANTED_CAPS,
        account: str | None = None,
        account_password: str | None = None,
        allow_plain: bool = False,
        pace_rate: float = PACE_RATE,
        pace_burst: int = PACE_BURST,
    ) -> None:
        self.events: queue.Queue[ev.Event] = events if events is not None else queue.Queue()
        self.session = Session(
            nick,
            channels=channels,
            password=password,
            username=username,
            realname=realname,
            wanted_caps=wanted_caps,
            account=account,
            account_password=account_password,
            plain_allowed=allow_plain or (tls and tls_verify) or is_loopback(host),
        )
        self.connection = Connection(
            self,
            host,
            port,
            tls=tls,
            tls_verify=tls_verify,
            ssl_context=ssl_context,
            clock=clock,
            sleep=sleep,
            rand=rand,
            connect_timeout=connect_timeout,
            keepalive=keepalive,
            reconnect=reconnect,
            pace_rate=pace_rate,
            pace_burst=pace_burst,
        )
        self._lock = threading.RLock()  # guards the session and the list below
        # What was said while not connected, until the next registration sends it.
        self._pending: list[ev.Message] = []

    # --- what the controller reads -------------------------------------------------------
    @property
    def host(self) -> str:
        """The server's host name or address."""
        return self.connection.host

    @property
    def port(self) -> int:
        """The server's port."""
        return self.connection.port

    @property
    def tls(self) -> bool:
        """True when the connection uses TLS."""
        return self.connection.tls

    @property
    def tls_verify(self) -> bool:
        """True when the server's certificate must verify."""
        return self.connection.tls_verify

    @property
    def tls_fingerprint(self) -> str:
        """The SHA-256 fingerprint of the current connection's certificate."""
        return self.connection.tls_fingerprint

    @property
    def tls_version(self) -> str:
        """The current connection's TLS version."""
        return self.connection.tls_version

    @property
    def connected(self) -> bool:
        """True while a connection is up (registered or not)."""
        return self.connection.connected

    @property
    def registered(self) -> bool:
        """True once the server accepted us on this connection."""
        return self.session.registered

    @property
    def nick(self) -> str:
        """Our nick now."""
        return self.session.nick

    @property
    def wanted_nick(self) -> str:
        """The nick the user asked for (ours once the server agrees)."""
        return self.session.wanted_nick

    @property
    def password(self) -> str | None:
        """The connection password, if any."""
        return self.session.password

    @property
    def account(self) -> str | None:
        """The account the server says we are signed in to."""
        return self.session.account

    @property
    def credentials(self) -> tuple[str, str] | None:
        """The account and password signed in with on every connection, if any."""
        return self.session.credentials

    @property
    def chantypes(self) -> str:
        """The characters channel names start with on this server."""
        return self.session.chantypes

    @property
    def caps(self) -> set[str]:
        """The capabilities the server acknowledged."""
        return self.session.caps

    @property
    def mask(self) -> str | None:
        """Our ``nick!user@host`` as the server relays it, once known."""
        return self.session.mask

    @property
    def directs(self) -> dict[str, str]:
        """Open direct conversations: casefolded nick -> nick."""
        return self.session.directs

    @property
    def away(self) -> bool:
        """True when the user marked themself away (kept across reconnects)."""
        return self.session.away

    @away.setter
    def away(self, value: bool) -> None:
        self.session.away = value

    @property
    def chathistory_available(self) -> bool:
        """True when the server keeps chathistory we can page through."""
        return self.session.chathistory_available

    def fold(self, name: str) -> str:
        """Casefold ``name`` with the server's CASEMAPPING."""
        return self.session.fold(name)

    def is_channel(self, name: str) -> bool:
        """True when ``name`` names a channel on this server."""
        return self.session.is_channel(name)

    def is_me(self, nick: str | None) -> bool:
        """True when ``nick`` is our own nick."""
        return self.session.is_me(nick)

    def members(self, channel: str) -> list[tuple[str, str]]:
        """``(prefix, nick)`` pairs of ``channel``, ops first."""
        with self._lock:
            return self.session.members(channel)

    def topic(self, channel: str) -> str:
        """The topic of ``channel`` ("" when none or not joined)."""
        with self._lock:
            return self.session.topic(channel)

    def joined(self) -> list[str]:
        """Names of the channels we are in."""
        with self._lock:
            return self.session.joined()

    def wanted_channels(self) -> list[str]:
        """Channels joined on (re)connect."""
        with self._lock:
            return self.session.wanted_channels()

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (and keep reconnecting until :meth:`stop`)."""
        self.connection.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Close the connection and stop reconnecting."""
        self.connection.stop(timeout)

    @property
    def unsent(self) -> int:
        """Lines accepted (said offline, or a paste draining) and not yet written."""
        return self.connection.unsent

    def quit(self, reason: str = "Leaving", timeout: float = 2.0) -> None:
        """Send QUIT (when connected), then stop."""
        self.connection.quit(build("QUIT", reason or "Leaving"), timeout)

    def sign_in(self, account: str, password: str) -> None:
        """Sign in as ``account`` now if the connection allows, else on the next one."""
        with self._lock:
            events = self.session.sign_in(account, password)
        self._flush()
        for event in events:
            self._put(event)

    def register(self, account: str, password: str) -> None:
        """Create ``account`` on the server (and be signed in to it)."""
        with self._lock:
            events = self.session.register(account, password)
        self._flush()
        for event in events:
            self._put(event)

    def set_password(self, password: str | None) -> None:
        """Use ``password`` from now on; a connection waiting for one connects again."""
        self.session.password = password or None
        self.connection.release()

    # --- what the connection tells us (the reader thread) ---------------------------------
    def connection_made(self) -> list[str]:
        """A new connection: the session's registration lines."""
        with self._lock:
            self.session.connection_made()
            return self.session.take_lines()

    def line_received(self, line: str) -> None:
        """Feed one line to the session; send what it wants sent, queue what it emits."""
        with self._lock:  # sent under the lock: lines leave in the order they were made
            events = self.session.feed(line)
            for line_out in self.session.take_lines():
                self.connection.send(line_out)
        for event in events:
            self._put(event)

    def connection_lost(self) -> None:
        """The connection ended: the channels are left until the next one."""
        with self._lock:
            events = self.session.connection_lost()
        for event in events:
            self.events.put(event)

    def report(self, event: ev.Status | ev.TLSUp | ev.TLSRefused | ev.Sending) -> None:
        """The connection's state changed."""
        self.events.put(event)

    def _put(self, event: ev.Event) -> None:
        self.events.put(event)
        if isinstance(event, ev.Registered):
            with self._lock:
                pending, self._pending = self._pending, []
            if "echo-message" not in self.caps:  # sent now, and the server will not echo it
                for message in pending:
                    self.events.put(replace(message, nick=event.nick))
            self.connection.established()
            self.events.put(self._connected(event.nick))
        elif isinstance(event, ev.OwnNick) and event.old:  # the server confirmed our change
            self.events.put(self._connected(event.nick))
        elif isinstance(event, ev.SignedIn | ev.SignedOut) and self.session.registered:
            self.events.put(self._connected(self.session.nick))
        elif isinstance(event, ev.PasswordWanted):
            self.connection.hold()

    def _connected(self, nick: str) -> ev.Status:
        status = self.connection.status("connected", nick=nick)
        return replace(status, account=self.session.account or "")

    # --- sending -----------------------------------------------------------------------
    def send_raw(self, line: str) -> bool:
        """Queue one line for the server; False when there is no connection."""
        return self.connection.send(line)

    def _flush(self) -> bool:
        """Send what the session queued; False when some of it could not go."""
        with self._lock:
            return all([self.connection.send(line) for line in self.session.take_lines()])

    def _prefix_len(self) -> int:
        if self.session.mask:
            return len(self.session.mask.encode("utf-8"))
        # Until the server shows us our own prefix, assume the longest it could be.
        return len(self.session.nick.encode()) + 2 + _USER_LEN_GUESS + _MAX_HOST

    def budget(self, command: str, target: str, extra: int = 0) -> int:
        """Bytes of text that fit in one ``command`` to ``target`` as the server relays it."""
        # ":" mask " " command " " target " :" text CRLF
        head = 1 + self._prefix_len() + 1 + len(command) + 1 + len(target.encode()) + 2
        return max(16, MAX_LINE - 2 - head - extra)

    def split_message(
        self, target: str, text: str, command: str = "PRIVMSG", extra: int = 0
    ) -> list[str]:
        """Split ``text`` into lines (one per pasted line) that each fit in one message."""
        pieces: list[str] = []
        budget = self.budget(command, target, extra)
        for line in text.replace("\0", "").splitlines():
            if line.strip():
                pieces.extend(split_utf8(line, budget))
        return pieces

    def say(
        self,
        target: str,
        text: str,
        *,
        action: bool = False,
        notice: bool = False,
        reply: str = "",
    ) -> bool:
        """Send ``text`` to a channel or nick: one draft/multiline message where the server
        takes one, else one message per line, split to fit 512 bytes; it (or the first
        line) answers the message ``reply`` (a msgid) where client tags are relayed.

        Not connected, it is kept and sent once the server has us again (a
        :class:`~app.events.Pending` says so); False only when it cannot be sent at all.
        """
        command = "NOTICE" if notice else "PRIVMSG"
        extra = len("\x01ACTION \x01") if action else 0
        if reply and "message-tags" not in self.caps:
            reply = ""  # the tag would be dropped: an ordinary message
        multiline = not (action or notice) and "\n" in text.strip()
        if multiline and self._say_multiline(target, text, reply):
            return True
        with self._lock:
            pieces = self.split_message(target, text, command, extra)
        if not pieces:
            return True
        if not self.is_channel(target):
            self.open_direct(target)
        bodies = [f"\x01ACTION {piece}\x01" if action else piece for piece in pieces]
        when = datetime.now(timezone.utc)
        said = [
            ev.Message(target, self.nick, piece, when, True, action, notice, reply=reply)
            for piece in pieces
        ]
        tags = [{REPLY: reply} if reply and n == 0 else None for n in range(len(bodies))]
        # Under the lock: registration (which settles what is pending) cannot come between
        # the question and the answer.
        with self._lock:
            offline = not self.session.registered
            # Paced: a long paste drains at a rate the server accepts, and what a lost
            # connection did not send goes out on the next one.
            lines = (build(command, target, b, tags=t) for b, t in zip(bodies, tags, strict=True))
            if not self.connection.send_paced(lines):
                return False
            if offline:
                self._pending.extend(said)
        if offline:
            for message in said:
                self.events.put(ev.Pending(message))
        elif "echo-message" not in self.caps:  # the server will not show it us: we do
            for message in said:
                self.events.put(message)
        return True

    def _say_multiline(self, target: str, text: str, reply: str = "") -> bool:
        """Send ``text`` as one draft/multiline message (answering ``reply``: the tag on
        its opening BATCH), paced as one unit, when the server takes one and it fits the
        server's limits (False: send it as lines)."""
        with self._lock:
            if not self.session.registered or not {MULTILINE_CAP, "batch"} <= self.caps:
                return False
            found = multiline_limits(self.session.capabilities.offered.get(MULTILINE_CAP, ""))
            if found is None:
                return False
            budget = self.budget("PRIVMSG", target)
            tags = {REPLY: reply} if reply else None
            batch = batch_lines(target, text, secrets.token_hex(4), budget, *found, tags)
            if batch is None or not self.connection.send_paced_batch(batch[0]):
                return False
        if not self.is_channel(target):
            self.open_direct(target)
        if "echo-message" not in self.caps:  # the server will not show it us: we do
            when = datetime.now(timezone.utc)
            self.events.put(ev.Message(target, self.nick, batch[1], when, True, reply=reply))
        return True

    def notify_typing(self, target: str, state: str) -> bool:
        """Tell ``target`` whether we type (``active``, ``paused``, ``done``): only where the
        server relays client tags and ``target`` takes a TAGMSG without an error reply."""
        with self._lock:
            if not self.registered or "message-tags" not in self.caps:
                return False
            if not self.session.roster.reaches(target):
                return False
        # Not paced: it is no chat line, and one waiting behind a paste would come stale.
        return self.send_raw(build("TAGMSG", target, tags={"+typing": state}))

    def join(self, channel: str, key: str | None = None) -> bool:
        """Join ``channel`` (and remember it for reconnects); False when not registered yet
        (it is joined once we are)."""
        with self._lock:
            self.session.want(channel)
            if not self.session.registered:  # the server would only answer 451
                return False
        params = [channel] + ([key] if key else [])
        return self.send_raw(build("JOIN", *params))

    def part(self, channel: str, reason: str = "") -> bool:
        """Leave ``channel`` (and stop rejoining it)."""
        with self._lock:
            self.session.unwant(channel)
        params = [channel] + ([reason] if reason else [])
        return self.send_raw(build("PART", *params))

    def forget_channel(self, channel: str) -> None:
        """Stop rejoining ``channel`` (left while not in it, so nothing to send)."""
        with self._lock:
            self.session.unwant(channel)

    def set_nick(self, nick: str) -> bool:
        """Ask the server for a new nick; the change shows when the server confirms it."""
        connected = self.connected
        with self._lock:
            self.session.set_nick(nick, connected)
        if not connected:
            return True
        return self.send_raw(build("NICK", nick))

    def set_topic(self, channel: str, topic: str | None) -> bool:
        """Set the topic of ``channel``, or ask for it when ``topic`` is None."""
        if topic is None:
            return self.send_raw(build("TOPIC", channel))
        return self.send_raw(build("TOPIC", channel, topic))

    def set_away(self, message: str | None) -> bool:
        """Mark us away with ``message``, or back when it is None or empty."""
        if message:
            return self.send_raw(build("AWAY", message))
        return self.send_raw("AWAY")

    def open_direct(self, nick: str) -> None:
        """Remember a direct conversation with ``nick`` (and fetch its chathistory when new)."""
        with self._lock:
            self.session.open_direct(nick)
        self._flush()

    def close_direct(self, nick: str) -> None:
        """Forget a direct conversation."""
        with self._lock:
            self.session.close_direct(nick)

    def mark_read(self, name: str, when: datetime) -> bool:
        """Tell the server ``name`` is read up to ``when`` (where it keeps read markers)."""
        with self._lock:
            queued = self.session.markers.mark(name, when)
        return queued and self._flush()

    @property
    def search_available(self) -> bool:
        """True when the server searches its history for us (``soju.im/search``)."""
        return self.session.search_available

    def search(self, text: str) -> bool:
        """Ask the server for the messages holding ``text``; False if it cannot be asked."""
        with self._lock:
            if not self.session.search_available:
                return False
            line = self.session.searches.request(text)
            if line is None:
                return False
            self.session.send(line)
        if self._flush():
            return True
        with self._lock:
            self.session.searches.unsent()
        return False

    @property
    def can_redact(self) -> bool:
        """True when the server deletes messages on request (``draft/message-redaction``)."""
        with self._lock:
            return self.session.redactions.available

    def is_op(self, channel: str) -> bool:
        """Whether we are an operator of ``channel`` (and may delete others' messages)."""
        with self._lock:
            chan = self.session.roster.get(channel)
            return chan is not None and self.session.roster.is_op(chan)

    def redact(self, target: str, msgid: str) -> bool:
        """Ask the server to delete the message ``msgid`` of ``target``."""
        with self._lock:
            queued = self.session.redactions.redact(target, msgid)
        return queued and self._flush()

    def load_older(self, name: str) -> bool:
        """Ask for the page before the oldest message shown of ``name``; False if nothing to ask."""
        with self._lock:
            if not self.session.load_older(name):
                return False
        if self._flush():
            return True
        with self._lock:
            self.session.chathistory.unsent(name)  # never sent: nothing to wait for
        return False

    def load_around(self, name: str, msgid: str) -> bool:
        """Ask for the messages around ``msgid`` of ``name`` (one not shown); False if not."""
        with self._lock:
            if not self.session.load_around(name, msgid):
                return False
        if self._flush():
            return True
        with self._lock:
            self.session.chathistory.unsent(name)
        return False

    def react(self, target: str, msgid: str, emoji: str, remove: bool = False) -> bool:
        """React to the message ``msgid`` of ``target`` with ``emoji`` (or take it back):
        a TAGMSG, where the server relays client tags; False when it cannot go."""
        with self._lock:
            if not self.registered or "message-tags" not in self.caps:
                return False
            echoed = "echo-message" in self.caps
        if not self.send_raw(build("TAGMSG", target, tags=reaction_tags(msgid, emoji, remove))):
            return False
        if not echoed:  # the server will not show it us: we do
            own = ev.Reaction(target, self.nick, msgid, emoji, remove, own=True)
            self.events.put(own)
        return True
