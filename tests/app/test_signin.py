"""Signing in: the session's SASL exchange fed the lines a server sends, checked against the
server's own mechanisms and a real account store; the PLAIN rules; REGISTER; who is
signed in among the members."""

from __future__ import annotations

import base64

import pytest

from app.events import Kind
from app.model import ChatModel, is_loopback
from app.session import Session
from app.signin import SignIn
from app.text import account_refused_text, signed_in_text, status_text
from server.accounts import AccountStore
from server.protocol.codec import parse
from server.protocol.sasl import CHUNK
from server.sasl import Challenge, Failure, Success, server_mechanism
from tests.app.helpers import Fed

PASSWORD = "correct horse"


@pytest.fixture
def store(tmp_path):
    """A real account store with one account, alice."""
    accounts = AccountStore(tmp_path)
    accounts.create("alice", PASSWORD)
    yield accounts
    accounts.close()


def connect(session: Session, caps: str = "sasl=PLAIN,SCRAM-SHA-256") -> Fed:
    """A fed session that sent its registration and got ``caps`` in CAP LS."""
    feed = Fed(session)
    session.connection_made()
    feed.take()
    feed(f":srv CAP * LS :server-time {caps}")
    return feed


def ack(feed: Fed) -> None:
    """The server grants what the session asked for."""
    request = feed.sent[-1]
    assert request.startswith("CAP REQ")
    feed(f":srv CAP * ACK :{parse(request).params[-1]}")


class Bridge:
    """Plays the server's side of AUTHENTICATE with :mod:`server.sasl`: the session's
    lines go to the mechanism, its steps come back as the lines a server sends."""

    def __init__(self, feed: Fed, store: AccountStore) -> None:
        self.feed = feed
        self.store = store
        self.mechanism = None
        self.pieces = ""
        self.result: Success | Failure | None = None

    def run(self, limit: int = 10) -> None:
        for _ in range(limit):
            lines = [ln for ln in self.feed.sent if ln.startswith("AUTHENTICATE")]
            self.feed.sent = [ln for ln in self.feed.sent if not ln.startswith("AUTHENTICATE")]
            if not lines:
                return
            for line in lines:
                self.answer(parse(line).params[0])

    def answer(self, param: str) -> None:
        if self.mechanism is None:
            self.mechanism = server_mechanism(param, self.store)
            assert self.mechanism is not None
            self.feed("AUTHENTICATE +")
            return
        if param == "*":
            self.feed(":srv 906 alice :SASL authentication aborted")
            return
        if param != "+":
            self.pieces += param
            if len(param) == CHUNK:
                return
        data, self.pieces = base64.b64decode(self.pieces), ""
        step = self.mechanism.step(data)
        if isinstance(step, Challenge):
            self.feed(f"AUTHENTICATE {base64.b64encode(step.data).decode() or '+'}")
        elif isinstance(step, Success):
            self.result = step
            name = step.account.display
            self.feed(
                f":srv 900 * * {name} :You are now logged in as {name}",
                ":srv 903 * :SASL authentication successful",
            )
        else:
            self.result = step
            self.feed(":srv 904 * :SASL authentication failed")


def test_scram_signs_in_and_checks_the_server(store):
    session = Session("alice", account="alice", account_password=PASSWORD)
    feed = connect(session)
    assert feed.sent[-1] == "CAP REQ :server-time sasl"
    ack(feed)
    assert feed.sent[-1] == "AUTHENTICATE SCRAM-SHA-256"  # preferred, even where PLAIN is fine
    assert "CAP END" not in feed.sent
    bridge = Bridge(feed, store)
    bridge.run()
    assert isinstance(bridge.result, Success)
    assert session.signin is None and session.account == "alice"
    assert feed.sent[-1] == "CAP END"
    signed = feed.log.expect(Kind.SIGNED_IN, account="alice")
    assert signed_in_text(signed) == "Signed in as alice"
    assert not feed.log.of(Kind.ACCOUNT_REFUSED)


def test_wrong_password_is_refused_in_a_sentence_and_registration_goes_on(store):
    session = Session("alice", account="alice", account_password="wrong")
    feed = connect(session)
    ack(feed)
    Bridge(feed, store).run()
    refused = feed.log.expect(Kind.ACCOUNT_REFUSED, reason="wrong-password", code="904")
    assert account_refused_text(refused) == (
        "Not signed in as alice: the account name or the password is wrong."
    )
    assert feed.sent[-1] == "CAP END" and session.account is None


def test_a_server_that_does_not_know_the_password_is_not_believed(store):
    session = Session("alice", account="alice", account_password=PASSWORD)
    feed = connect(session, "sasl=SCRAM-SHA-256")
    ack(feed)
    feed("AUTHENTICATE +")
    first = base64.b64decode(parse(feed.sent[-1]).params[0]).decode()
    nonce = first.split("r=")[1]
    server_first = f"r={nonce}xyz,s={base64.b64encode(b'salt').decode()},i=4096"
    feed(f"AUTHENTICATE {base64.b64encode(server_first.encode()).decode()}")
    assert parse(feed.sent[-1]).params[0] != "*"  # the proof went out
    forged = "v=" + base64.b64encode(b"\0" * 32).decode()
    feed(f"AUTHENTICATE {base64.b64encode(forged.encode()).decode()}")
    assert feed.sent[-1] == "AUTHENTICATE *"  # aborted, not the final "+"
    feed(":srv 906 alice :SASL authentication aborted")
    refused = feed.log.expect(Kind.ACCOUNT_REFUSED, reason="server-unverified")
    assert "could not prove it knows your password" in account_refused_text(refused)
    assert feed.sent[-1] == "CAP END"


def test_plain_is_not_sent_where_it_could_be_read():
    session = Session("alice", account="alice", account_password=PASSWORD, plain_allowed=False)
    feed = connect(session, "sasl=PLAIN")
    ack(feed)
    assert not [ln for ln in feed.sent if ln.startswith("AUTHENTICATE")]
    assert PASSWORD not in " ".join(feed.sent)
    refused = feed.log.expect(Kind.ACCOUNT_REFUSED, reason="plain-insecure")
    assert "--allow-plain" in account_refused_text(refused)
    assert feed.sent[-1] == "CAP END"


def test_plain_where_allowed_signs_in(store):
    session = Session("alice", account="alice", account_password=PASSWORD, plain_allowed=True)
    feed = connect(session, "sasl=PLAIN,EXTERNAL")
    ack(feed)
    assert feed.sent[-1] == "AUTHENTICATE PLAIN"
    bridge = Bridge(feed, store)
    bridge.run()
    assert isinstance(bridge.result, Success)
    feed.log.expect(Kind.SIGNED_IN, account="alice")


def test_a_sasl_31_server_naming_its_mechanisms_only_in_908(store):
    session = Session("alice", account="alice", account_password=PASSWORD, plain_allowed=True)
    feed = connect(session, "sasl")
    ack(feed)
    assert feed.sent[-1] == "AUTHENTICATE SCRAM-SHA-256"
    feed(":srv 908 alice PLAIN :are available SASL mechanisms")
    feed(":srv 904 alice :SASL authentication failed")
    assert feed.sent[-1] == "AUTHENTICATE PLAIN"  # the one left
    assert not feed.log.of(Kind.ACCOUNT_REFUSED)
    feed.sent.remove("AUTHENTICATE SCRAM-SHA-256")  # that attempt is over
    Bridge(feed, store).run()
    feed.log.expect(Kind.SIGNED_IN, account="alice")


@pytest.mark.parametrize("caps", ["", None])
def test_a_server_without_accounts_says_so_once_welcomed(caps):
    session = Session("alice", account="alice", account_password=PASSWORD)
    feed = Fed(session)
    session.connection_made()
    if caps is not None:
        feed(f":srv CAP * LS :server-time {caps}")
        assert "sasl" not in feed.sent[-1]
    feed(":srv 001 alice :Welcome")
    refused = feed.log.expect(Kind.ACCOUNT_REFUSED, reason="no-accounts")
    assert account_refused_text(refused) == "Not signed in as alice: this server has no accounts."


def test_a_long_challenge_arrives_in_400_byte_pieces():
    signin = SignIn("alice", PASSWORD, plain_allowed=False)
    assert signin.start(None) == ["AUTHENTICATE SCRAM-SHA-256"]
    assert signin.challenge("+")  # client-first
    data = base64.b64encode(b"x" * 500).decode()
    assert signin.challenge(data[:CHUNK]) == []  # more follows
    assert signin.challenge(data[CHUNK:]) == ["AUTHENTICATE *"]  # read whole, found malformed
    assert signin.refusal == "malformed"


def test_signing_in_after_registration_asks_for_sasl_then(store):
    session = Session("alice")
    feed = connect(session)
    assert "sasl" not in feed.sent[-1]  # no account given: not asked for
    ack(feed)
    feed(":srv 001 alice :Welcome")
    assert session.sign_in("alice", PASSWORD) == []
    assert feed.take() == ["CAP REQ sasl"]
    feed(":srv CAP alice ACK :sasl")
    assert feed.sent[-1] == "AUTHENTICATE SCRAM-SHA-256"
    Bridge(feed, store).run()
    feed.log.expect(Kind.SIGNED_IN, account="alice")
    assert "CAP END" in feed.sent and feed.sent.count("CAP END") == 1


def test_register_creates_an_account_and_explains_refusals():
    session = Session("bob")
    feed = connect(session, "sasl=SCRAM-SHA-256 draft/account-registration=before-connect")
    ack(feed)
    session.register("bob", "pw pw")
    assert feed.take() == []  # sent once welcomed
    feed(":srv 001 bob :Welcome")
    assert feed.sent[-1] == "REGISTER bob * :pw pw"
    feed(":srv FAIL REGISTER ACCOUNT_EXISTS bob :Account already exists")
    refused = feed.log.expect(Kind.ACCOUNT_REFUSED, action="register", reason="name-taken")
    assert account_refused_text(refused) == (
        "Could not create the account bob: that name is already taken."
    )
    session.register("bobby", "pw")
    assert feed.take() == ["REGISTER bobby * pw"]
    feed(":srv REGISTER SUCCESS bobby :Account created")
    feed(":srv 900 bob bob!b@h bobby :You are now logged in as bobby")
    created = feed.log.expect(Kind.SIGNED_IN, account="bobby", created=True)
    assert signed_in_text(created).startswith("Account bobby created")
    assert len(feed.log.of(Kind.SIGNED_IN)) == 1
    assert session.credentials == ("bobby", "pw")  # signs in with it on the next connection
    feed(":srv FAIL REGISTER DISALLOWED bob :Account registration is disabled")
    closed = feed.log.expect(Kind.ACCOUNT_REFUSED, reason="registration-closed")
    assert "does not let people create accounts" in account_refused_text(closed)


def test_register_where_the_server_does_not_offer_it():
    session = Session("bob")
    feed = connect(session, "sasl=SCRAM-SHA-256")
    ack(feed)
    feed(":srv 001 bob :Welcome")
    (refused,) = session.register("bob", "pw")
    assert feed.take() == []
    assert (refused.kind, refused.reason) == (Kind.ACCOUNT_REFUSED, "registration-closed")
    bare = Fed(Session("carol"))
    bare.session.connection_made()
    bare(":srv CAP * LS :server-time", ":srv CAP * ACK :server-time", ":srv 001 carol :Hi")
    assert bare.session.register("carol", "pw")[0].reason == "no-accounts"


def test_members_and_messages_say_who_is_signed_in():
    session = Session("me")
    feed = connect(session, "extended-join account-notify account-tag")
    ack(feed)
    feed(
        ":srv 001 me :Welcome",
        ":srv 005 me WHOX CASEMAPPING=rfc1459 :are supported",
        ":me!u@h JOIN #chan * :Me",
    )
    assert feed.sent[-1] == "WHO #chan %tnfa,913"
    feed(
        ":srv 353 me = #chan :me @zed amy",
        ":srv 366 me #chan :End",
        ":srv 354 me 913 zed H@ zedacct",
        ":srv 354 me 913 amy H 0",
        ":srv 315 me #chan :End of WHO list",
    )
    members = feed.log.of(Kind.MEMBERS)[-1]
    assert members.signed_in == {"zed"}
    assert not feed.log.of(Kind.REPLY, code="315")  # our own WHO is not shown as an answer
    assert not feed.log.of(Kind.REPLY, code="354")
    feed(":bob!b@h JOIN #chan bobacct :Bob", ":amy!a@h ACCOUNT amyacct")
    assert feed.log.of(Kind.MEMBERS)[-1].signed_in == {"zed", "bob", "amy"}
    feed(":zed!z@h ACCOUNT *")
    assert feed.log.of(Kind.MEMBERS)[-1].signed_in == {"bob", "amy"}
    feed("@account=bobacct :bob!b@h PRIVMSG #chan :signed", ":zed!z@h PRIVMSG #chan :not")
    signed, unsigned = feed.log.of(Kind.MESSAGE)
    assert (signed.account, unsigned.account) == ("bobacct", "")
    # Accounts follow a nick change, come from WHOIS too, and go with the user.
    feed(":bob!b@h NICK robert", ":srv 330 me amy amyacct :is logged in as")
    assert session.account_of("robert") == "bobacct"
    feed.log.expect(Kind.REPLY, code="330")
    feed(":robert!b@h QUIT :bye")
    assert session.account_of("robert") == ""


def test_the_status_bar_names_the_account():
    model = ChatModel("127.0.0.1", 1, "alice", account="alice", account_password=PASSWORD)
    model.session.account = "alice"
    status = model._connected("alice")
    assert status_text(status).endswith("as alice · signed in as alice")


@pytest.mark.parametrize(
    ("host", "tls", "verify", "allow", "plain"),
    [
        ("127.0.0.1", False, True, False, True),
        ("localhost", False, True, False, True),
        ("::1", False, True, False, True),
        ("chat.example", False, True, False, False),
        ("chat.example", True, True, False, True),
        ("chat.example", True, False, False, False),  # an unverified certificate: anyone's
        ("chat.example", False, True, True, True),
    ],
)
def test_where_plain_may_go(host, tls, verify, allow, plain):
    model = ChatModel(host, 6697, "alice", tls=tls, tls_verify=verify, allow_plain=allow)
    assert model.session.plain_allowed is plain
    assert is_loopback(host) is (host in ("127.0.0.1", "localhost", "::1"))


def test_a_server_that_welcomes_before_cap_end_still_gets_the_sign_in(store):
    session = Session("alice", account="alice", account_password=PASSWORD)
    feed = connect(session)
    assert feed.sent[-1] == "CAP REQ :server-time sasl"
    feed(":srv 001 alice :Welcome")  # too early, but seen in the wild
    feed(":srv CAP * ACK :server-time sasl")
    assert feed.sent[-1] == "AUTHENTICATE SCRAM-SHA-256"
    Bridge(feed, store).run()
    feed.log.expect(Kind.SIGNED_IN, account="alice")
