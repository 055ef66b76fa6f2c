"""What the chat model tells the controller: one small record per kind, data only.

Records carry names, texts typed by people or servers, times and flags; never a
sentence of ours. ``app.text`` writes the sentences a person reads. Every record has a
``kind`` (one of :class:`Kind`), so a log of them can be filtered without isinstance.

``conversation`` is the one a record belongs to: a channel, the peer of a direct
conversation, ``""`` for the server conversation, or ``None`` for "whatever is open".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

Members = tuple[tuple[str, str], ...]


class Kind:
    """The ``kind`` of each record below."""

    STATUS = "status"
    TLS = "tls"
    TLS_REFUSED = "tls_refused"
    REGISTERED = "registered"
    MESSAGE = "message"
    JOIN = "join"
    PART = "part"
    KICK = "kick"
    QUIT = "quit"
    NICK = "nick"
    OWN_NICK = "own_nick"
    NICK_REFUSED = "nick_refused"
    TOPIC = "topic"
    MEMBERS = "members"
    MODE = "mode"
    REPLY = "reply"
    SERVER_ERROR = "server_error"
    INVITE = "invite"
    NAMES = "names"
    PASSWORD = "password"
    CHATHISTORY = "chathistory"
    SIGNED_IN = "signed_in"
    SIGNED_OUT = "signed_out"
    ACCOUNT_REFUSED = "account_refused"
    SENDING = "sending"
    PENDING = "pending"
    TYPING = "typing"
    NOTIFICATION_CLICKED = "notification_clicked"
    READ_MARKER = "read_marker"
    REACTION = "reaction"
    SEARCH_RESULTS = "search_results"
    REDACTED = "redacted"
    REDACT_REFUSED = "redact_refused"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a connection ended: ``reason`` is a word from :data:`FAILURES`, ``detail`` the
    system's or the TLS library's own words (may be empty)."""

    reason: str
    detail: str = ""


#: The reasons a :class:`Failure` can have.
FAILURES = (
    "refused",  # nothing listens there
    "timeout",
    "unknown-host",
    "ping-timeout",  # the server stopped answering the keep-alive
    "tls-untrusted",  # the certificate failed verification
    "tls-handshake",  # no TLS spoken there, or no common ground
    "os",  # another error from the system, in ``detail``
    "internal",  # a bug in the client, in ``detail``
)


@dataclass(frozen=True, slots=True)
class Status:
    """The connection's state: connecting, connected, disconnected, reconnecting or closed.

    ``delay`` is the wait before the next attempt (reconnecting); ``password_wanted``
    says a disconnected connection waits for a password before it tries again;
    ``account`` is the account a connected client is signed in to.
    """

    kind: ClassVar[str] = Kind.STATUS
    state: str
    server: str = ""  # "host:port"
    tls: bool = False
    verified: bool = True
    fingerprint: str = ""
    nick: str = ""
    failure: Failure | None = None
    delay: float = 0.0
    password_wanted: bool = False
    account: str = ""  # connected and signed in to this account


@dataclass(frozen=True, slots=True)
class Sending:
    """A long paste drains at the paced rate: ``sent`` of ``total`` lines are out
    (``sent == total``: done; ``waiting``: held until the next connection)."""

    kind: ClassVar[str] = Kind.SENDING
    sent: int
    total: int
    waiting: bool = False


@dataclass(frozen=True, slots=True)
class Pending:
    """Something the user said while not connected: accepted, and sent once the server has
    us again. The :class:`Message` it will be (from the server's echo, or from us when the
    server does not echo) takes its place."""

    kind: ClassVar[str] = Kind.PENDING
    message: Message


@dataclass(frozen=True, slots=True)
class Typing:
    """``nick`` tells us they are typing in ``conversation``: ``state`` is ``active``,
    ``paused`` or ``done`` (the IRCv3 ``+typing`` tag on a TAGMSG)."""

    kind: ClassVar[str] = Kind.TYPING
    conversation: str
    nick: str
    state: str


@dataclass(frozen=True, slots=True)
class TLSUp:
    """TLS is up: ``verified`` or not, with the certificate's SHA-256 ``fingerprint``."""

    kind: ClassVar[str] = Kind.TLS
    host: str
    version: str
    verified: bool
    fingerprint: str

    @property
    def state(self) -> str:
        """``verified`` or ``insecure``."""
        return "verified" if self.verified else "insecure"


@dataclass(frozen=True, slots=True)
class TLSRefused:
    """A TLS failure, shown once in the server conversation (not at every retry)."""

    kind: ClassVar[str] = Kind.TLS_REFUSED
    failure: Failure


@dataclass(frozen=True, slots=True)
class Registered:
    """The server accepted us as ``nick``; ``text`` is its welcome."""

    kind: ClassVar[str] = Kind.REGISTERED
    nick: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """A PRIVMSG, NOTICE or CTCP ACTION (``ctcp`` names the verb of a CTCP reply).

    ``account`` is the sender's account as the server vouches for it ("" when the sender
    is not signed in, or the server does not say). ``server``: a notice from the server
    itself (not a user, not before registration), shown wherever the user is looking."""

    kind: ClassVar[str] = Kind.MESSAGE
    conversation: str | None
    nick: str
    text: str
    time: datetime | None = None
    own: bool = False
    action: bool = False
    notice: bool = False
    msgid: str = ""
    ctcp: str = ""
    account: str = ""
    server: bool = False
    #: The msgid of the message this one answers (its ``+draft/reply`` tag), if any.
    reply: str = ""

    @property
    def target(self) -> str | None:
        """The old name of :attr:`conversation`, for code outside the app that still uses it."""
        return self.conversation


@dataclass(frozen=True, slots=True)
class Join:
    """``nick`` joined ``conversation``."""

    kind: ClassVar[str] = Kind.JOIN
    conversation: str
    nick: str
    own: bool = False
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """``nick`` left ``conversation``, giving ``reason``."""

    kind: ClassVar[str] = Kind.PART
    conversation: str
    nick: str
    reason: str = ""
    own: bool = False
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Kick:
    """``by`` kicked ``nick`` from ``conversation``, giving ``reason``."""

    kind: ClassVar[str] = Kind.KICK
    conversation: str
    nick: str
    by: str
    reason: str = ""
    own: bool = False
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Quit:
    """``nick``, who shared ``conversation`` with us, quit."""

    kind: ClassVar[str] = Kind.QUIT
    conversation: str
    nick: str
    reason: str = ""
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Nick:
    """``old`` (perhaps we: ``own``) is now ``nick``, seen in ``conversation``."""

    kind: ClassVar[str] = Kind.NICK
    conversation: str
    nick: str
    old: str
    own: bool = False
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class OwnNick:
    """Our nick is ``nick`` now (``old`` is empty when we only tried it)."""

    kind: ClassVar[str] = Kind.OWN_NICK
    nick: str
    old: str = ""


@dataclass(frozen=True, slots=True)
class NickRefused:
    """The server refused the nick ``tried``; before registration we try ``instead``."""

    kind: ClassVar[str] = Kind.NICK_REFUSED
    tried: str
    reason: str
    instead: str = ""


@dataclass(frozen=True, slots=True)
class Topic:
    """The topic of ``conversation`` is ``text``; ``nick`` set it now ("" when told on join)."""

    kind: ClassVar[str] = Kind.TOPIC
    conversation: str
    text: str
    nick: str = ""
    own: bool = False
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class MembersChanged:
    """The member list of ``conversation``: ``(prefix, nick)`` pairs, ops first;
    ``signed_in`` names the members the server says are signed in to an account;
    ``topic_settable`` whether we may set the topic (an operator, or the channel is not
    ``+t``); ``away`` the members who are away, with their away text ("" if not known)."""

    kind: ClassVar[str] = Kind.MEMBERS
    conversation: str
    members: Members = ()
    signed_in: frozenset[str] = frozenset()
    topic_settable: bool = False
    away: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Mode:
    """``nick`` (or the server when empty) set ``modes`` on ``conversation``."""

    kind: ClassVar[str] = Kind.MODE
    conversation: str
    modes: str
    nick: str = ""
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A numeric reply worth showing: ``code`` and its parameters after our nick.

    ``error`` for 4xx/5xx; ``conversation`` is "" (the server's) or None (the open one);
    ``raw`` is the line as it came (lines, one a line, when several were folded into one).
    """

    kind: ClassVar[str] = Kind.REPLY
    code: str
    args: tuple[str, ...]
    conversation: str | None = ""
    error: bool = False
    time: datetime | None = None
    raw: str = ""


@dataclass(frozen=True, slots=True)
class ServerError:
    """The server's ERROR line: it is closing the connection, saying ``text``."""

    kind: ClassVar[str] = Kind.SERVER_ERROR
    text: str


@dataclass(frozen=True, slots=True)
class Invite:
    """``nick`` invites us to ``channel``."""

    kind: ClassVar[str] = Kind.INVITE
    nick: str
    channel: str


@dataclass(frozen=True, slots=True)
class Names:
    """The nicks on a channel we are not in (an answer to /names)."""

    kind: ClassVar[str] = Kind.NAMES
    channel: str
    nicks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PasswordWanted:
    """The server wants a password (``refused``: the one given was wrong)."""

    kind: ClassVar[str] = Kind.PASSWORD
    refused: bool = False


#: Why signing in or creating an account did not work (``AccountRefused.reason``).
REFUSALS = (
    "wrong-password",  # 904: the account does not exist or the password is wrong
    "nick-locked",  # 902
    "too-long",  # 905
    "aborted",  # 906
    "plain-insecure",  # only PLAIN offered, and the connection is neither TLS nor loopback
    "no-mechanism",  # no SASL mechanism the client speaks
    "no-accounts",  # the server offers no SASL (or no account registration) at all
    "server-unverified",  # the server's SCRAM signature is wrong: it does not know the password
    "malformed",  # the server's challenge could not be read
    "name-taken",  # FAIL REGISTER ACCOUNT_EXISTS
    "bad-name",  # BAD_ACCOUNT_NAME, ACCOUNT_NAME_MUST_BE_NICK, NEED_NICK
    "weak-password",  # WEAK_PASSWORD, UNACCEPTABLE_PASSWORD
    "registration-closed",  # DISALLOWED, TEMPORARILY_UNAVAILABLE
    "verification-required",  # REGISTER VERIFICATION_REQUIRED: a step Kibitz cannot take
    "already",  # 907, ALREADY_AUTHENTICATED
    "other",  # any other code, in ``code``
)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The server says we are signed in as ``account`` (``created``: we just made it)."""

    kind: ClassVar[str] = Kind.SIGNED_IN
    account: str
    created: bool = False


@dataclass(frozen=True, slots=True)
class SignedOut:
    """The server says we are no longer signed in."""

    kind: ClassVar[str] = Kind.SIGNED_OUT


@dataclass(frozen=True, slots=True)
class AccountRefused:
    """Signing in (``action`` ``sign-in``) or creating an account (``register``) did not
    work: ``reason`` is one of :data:`REFUSALS`; ``code`` and ``text`` are the server's."""

    kind: ClassVar[str] = Kind.ACCOUNT_REFUSED
    action: str
    reason: str
    account: str = ""
    code: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class ChathistoryLine:
    """One message of a chathistory batch, with its original time and id."""

    msgid: str
    time: datetime | None
    nick: str
    text: str
    own: bool = False
    action: bool = False
    notice: bool = False
    topic: bool = False
    reply: str = ""


@dataclass(frozen=True, slots=True)
class Reaction:
    """``nick`` reacted to the message ``msgid`` of ``conversation`` with ``emoji``, or
    (``removed``) took that reaction back (IRCv3 ``+draft/react`` / ``+draft/unreact``);
    ``tagmsg`` is the msgid of the TAGMSG that carried it (a REDACT of it takes it back)."""

    kind: ClassVar[str] = Kind.REACTION
    conversation: str
    nick: str
    msgid: str
    emoji: str
    removed: bool = False
    own: bool = False
    tagmsg: str = ""


@dataclass(frozen=True, slots=True)
class Chathistory:
    """One chathistory batch for ``conversation``, oldest first, none already shown.

    ``place`` says where it belongs: ``latest`` (the first page), ``before`` (older),
    ``after`` (what was missed) or ``around`` (the messages around one asked for, older
    than any shown: they go on top).
    """

    kind: ClassVar[str] = Kind.CHATHISTORY
    conversation: str
    place: str
    messages: tuple[ChathistoryLine, ...] = ()
    #: The reactions among them, in the order they were made.
    reactions: tuple[Reaction, ...] = ()
    #: For ``place`` ``around``: the msgid asked about, and whether messages newer than
    #: the page and older than those shown were left out.
    around: str = ""
    gap: bool = False


@dataclass(frozen=True, slots=True)
class NotificationClicked:
    """The user clicked our desktop notification about ``conversation`` (a key)."""

    conversation: str
    kind: ClassVar[str] = Kind.NOTIFICATION_CLICKED


@dataclass(frozen=True, slots=True)
class ReadMarker:
    """The account's read marker of ``conversation`` moved to ``time`` (another window
    read it, or the server told us on JOIN)."""

    kind: ClassVar[str] = Kind.READ_MARKER
    conversation: str
    time: datetime


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One message the server found (``soju.im/search``): where, who, when, what."""

    conversation: str  # the channel, or the other party of a direct conversation
    nick: str
    text: str
    time: datetime | None
    msgid: str = ""
    own: bool = False
    action: bool = False
    notice: bool = False


@dataclass(frozen=True, slots=True)
class SearchResults:
    """The server's answer to one search: its hits, oldest first, or why it failed
    (``error``: the FAIL's code, e.g. ``INVALID_PARAMS``)."""

    query: str
    hits: tuple[SearchHit, ...] = ()
    error: str = ""
    kind: ClassVar[str] = Kind.SEARCH_RESULTS


@dataclass(frozen=True, slots=True)
class Redacted:
    """``nick`` (perhaps we: ``own``) deleted the message ``msgid`` of ``conversation``,
    giving ``reason`` (IRCv3 ``REDACT``)."""

    kind: ClassVar[str] = Kind.REDACTED
    conversation: str
    msgid: str
    nick: str
    reason: str = ""
    own: bool = False


@dataclass(frozen=True, slots=True)
class RedactRefused:
    """The server would not delete ``msgid`` of ``conversation``: ``code`` is the spec's
    (``REDACT_FORBIDDEN``, ``REDACT_WINDOW_EXPIRED``, ...), ``window`` its seconds when the
    message was too old, ``text`` the server's own words."""

    kind: ClassVar[str] = Kind.REDACT_REFUSED
    conversation: str
    msgid: str
    code: str
    text: str = ""
    window: int = 0


Event = (
    Status
    | TLSUp
    | TLSRefused
    | Registered
    | Message
    | Join
    | Part
    | Kick
    | Quit
    | Nick
    | OwnNick
    | NickRefused
    | Topic
    | MembersChanged
    | Mode
    | Reply
    | ServerError
    | Invite
    | Names
    | PasswordWanted
    | Chathistory
    | SignedIn
    | SignedOut
    | AccountRefused
    | Sending
    | Pending
    | Typing
    | NotificationClicked
    | ReadMarker
    | Reaction
    | SearchResults
    | Redacted
    | RedactRefused
)
