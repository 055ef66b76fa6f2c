"""Who we are to the server: our own account, signing in to it, and creating it.

:class:`Identity` keeps the credentials the session signs in with on every connection,
runs one :class:`app.signin.SignIn` per SASL attempt (AUTHENTICATE and the 900-908
replies), creates accounts with ``REGISTER`` (``draft/account-registration``), and knows
which account the server says we are signed in to. Refusals are
:class:`app.events.AccountRefused` records with a reason word, never a sentence.
"""

from __future__ import annotations

from app import events as ev
from app.caps import Capabilities
from app.dispatch import Host, Table, registrar
from app.signin import SignIn
from server.protocol.codec import Message, build
from server.protocol.numerics import (
    ERR_NICKLOCKED,
    ERR_SASLABORTED,
    ERR_SASLALREADY,
    ERR_SASLFAIL,
    ERR_SASLTOOLONG,
    RPL_LOGGEDIN,
    RPL_LOGGEDOUT,
    RPL_SASLMECHS,
    RPL_SASLSUCCESS,
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

HANDLERS: Table[Identity] = {}
handles = registrar(HANDLERS)


class Identity:
    """Our account: the credentials to sign in with, the attempt under way, the result."""

    def __init__(
        self,
        host: Host,
        caps: Capabilities,
        credentials: tuple[str, str] | None = None,
        plain_allowed: bool = False,
    ) -> None:
        self.host = host
        self.caps = caps
        #: Who to sign in as on every connection (None: no sign-in).
        self.credentials = credentials
        #: PLAIN may carry the password (TLS, a loopback address, or the user allowed it).
        self.plain_allowed = plain_allowed
        #: The account the server says we are signed in as.
        self.account: str | None = None
        self.signin: SignIn | None = None
        self._sasl_offered: list[str] | None = None  # the mechanisms a 908 listed
        self._registering: tuple[str, str] | None = None  # a REGISTER awaiting its answer
        self._register_sent = False

    def connection_made(self) -> None:
        """A new connection: not signed in, no attempt under way."""
        self.account = None
        self.signin = None
        self._sasl_offered = None
        self._register_sent = False

    # --- what the server offers --------------------------------------------------------
    @property
    def accounts_offered(self) -> bool:
        """True when this connection's server offers SASL (so it has accounts)."""
        return "sasl" in self.caps.offered

    @property
    def registration_offered(self) -> bool:
        """True when this connection's server lets clients create accounts."""
        return REGISTRATION_CAP in self.caps.offered

    # --- what the user asks ------------------------------------------------------------
    def sign_in(self, account: str, password: str) -> None:
        """Sign in as ``account`` from now on: at once when registered, else while the next
        connection registers."""
        self.credentials = (account, password)
        if not self.host.registered:
            return
        if "sasl" in self.host.caps:
            self._start_signin()
        elif self.accounts_offered:
            self.host.send(build("CAP", "REQ", "sasl"))
        else:
            self._refuse("sign-in", "no-accounts", account)

    def register(self, account: str, password: str) -> None:
        """Create ``account`` with ``password``; sent once the server has welcomed us."""
        self._registering = (account, password)
        self._register_sent = False
        if self.host.registered:
            self.send_register()

    # --- what the session tells it -----------------------------------------------------
    def sasl_acked(self, granted: bool) -> bool:
        """A CAP ACK came (``granted``: with ``sasl``): sign in if we should; True while the
        attempt holds CAP END back."""
        if granted and self.credentials and self.signin is None and self.account is None:
            self._start_signin()
        return self.signin is not None

    def welcomed(self) -> None:
        """Registered: a sign-in the server cannot do is refused now, not left waiting."""
        if self.credentials and self.account is None and not self.accounts_offered:
            self._refuse("sign-in", "no-accounts", self.credentials[0])

    def send_register(self) -> None:
        """Send the REGISTER the user asked for, once, now that the server welcomed us."""
        if self._registering is None or self._register_sent:
            return
        account, password = self._registering
        if not self.registration_offered:
            self._registering = None
            reason = "registration-closed" if self.accounts_offered else "no-accounts"
            self._refuse("register", reason, account)
            return
        self._register_sent = True
        self.host.send(build("REGISTER", account, "*", password))

    def register_failed(self, msg: Message) -> None:
        """``FAIL REGISTER <code> [account] :text``."""
        code = msg.param(1)
        if code == "COMPLETE_CONNECTION_REQUIRED":
            self._register_sent = False  # sent again after the welcome
            return
        self._registering = None
        account = msg.param(2) if len(msg.params) > 3 else ""
        reason = REGISTER_REFUSALS.get(code, "other")
        self._refuse("register", reason, account, code, msg.params[-1])

    def own_account(self, account: str | None) -> None:
        """The server says we are signed in to ``account`` (None: signed out)."""
        if account is None:
            if self.account is not None:
                self.account = None
                self.host.emit(ev.SignedOut())
        elif account != self.account:
            self.account = account
            self.host.emit(ev.SignedIn(account))

    # --- the attempt ---------------------------------------------------------------------
    def _start_signin(self) -> None:
        assert self.credentials is not None
        account, password = self.credentials
        self.signin = SignIn(account, password, self.plain_allowed)
        offered = [m for m in self.caps.offered.get("sasl", "").split(",") if m] or None
        lines = self.signin.start(offered)
        if not lines:
            self._signin_over(self.signin.refusal)
            return
        for line in lines:
            self.host.send(line)

    def _signin_over(self, refusal: str = "", code: str = "", text: str = "") -> None:
        """The SASL attempt ended (refused when ``refusal``); registration goes on."""
        signin, self.signin = self.signin, None
        if refusal:
            account = signin.account if signin is not None else ""
            self._refuse("sign-in", refusal, account, code, text)
        self.caps.end()

    def _refuse(
        self, action: str, reason: str, account: str = "", code: str = "", text: str = ""
    ) -> None:
        self.host.emit(ev.AccountRefused(action, reason, account, code, text))

    # --- the lines it takes ------------------------------------------------------------
    @handles("AUTHENTICATE")
    def _on_authenticate(self, msg: Message) -> None:
        if self.signin is not None:
            for line in self.signin.challenge(msg.param(0, "+")):
                self.host.send(line)

    @handles(RPL_LOGGEDIN.code)
    def _on_logged_in(self, msg: Message) -> None:
        account = msg.param(2)
        changed = account != self.account
        self.account = account
        registering = self._registering is not None and self._registering[0] == account
        if changed and not registering:  # REGISTER SUCCESS says it for a new account
            self.host.emit(ev.SignedIn(account))

    @handles(RPL_LOGGEDOUT.code)
    def _on_logged_out(self, _msg: Message) -> None:
        self.own_account(None)

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
                    self.host.send(line)
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
            self.host.emit(ev.SignedIn(account, created=True))
        elif verb == "VERIFICATION_REQUIRED":
            self._refuse("register", "verification-required", account, verb, msg.params[-1])
