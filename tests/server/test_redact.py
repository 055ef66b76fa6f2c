"""Deleting messages over real sockets (IRCv3 draft/message-redaction): by the sender
(same account, or the same connection when not signed in) and by a channel operator,
relayed only to clients with the capability, every FAIL, the message gone from
CHATHISTORY, the join replay and history after a restart, and direct messages. The cases
of irctest's redaction.py are all here (test names say which)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.__main__ import parse_args
from server.accounts import AccountStore
from server.history_records import Record, row, row_group
from server.msgids import new_msgid
from server.redaction import KEPT
from server.server import ChatServer
from tests.support.histories import open_history
from tests.support.ircclient import IRCClient
from tests.support.services import server_options

CAP = "draft/message-redaction"
FULL = (
    "message-tags",
    "echo-message",
    "batch",
    "server-time",
    "labeled-response",
    "draft/chathistory",
    CAP,
)
#: The same client without the capability (it must hear nothing of a redaction).
PLAIN = tuple(c for c in FULL if c != CAP)
DAY_MS = 86_400_000


def _accounts(place: str) -> None:
    store = AccountStore(place)
    for name in ("alice", "bob", "carol"):
        if store.find(name) is None:
            store.create(name, "secret")
    store.close()


@pytest.fixture
def hserver(store_place: str, make_server, tmp_path: Path) -> ChatServer:
    """A server keeping history and accounts (alice, bob, carol) in a temporary dir, or
    in PostgreSQL."""
    _accounts(store_place)
    return make_server(flood_rate=0, reserve_nicks=False, **server_options(store_place, tmp_path))


@pytest.fixture
def open_to() -> Iterator[Callable[..., IRCClient]]:
    """Register connections to any server (``password`` signs in); closed afterwards."""
    clients: list[IRCClient] = []

    def open_client(
        server: ChatServer, nick: str, caps: tuple[str, ...] = FULL, password: str | None = None
    ) -> IRCClient:
        client = IRCClient(server.port)
        clients.append(client)
        client.register(nick, caps, password)
        return client

    yield open_client
    for client in clients:
        client.close()


def _join(*clients: IRCClient, channel: str = "#chan") -> None:
    """Join in order (the first is the channel's operator), everyone synced after."""
    for client in clients:
        client.send(f"JOIN {channel}")
        client.expect("366")
    for client in clients:
        client.sync()


def _say(sender: IRCClient, target: str, text: str, *others: IRCClient) -> str:
    """Send a PRIVMSG; its msgid (from the echo), once every other client has it."""
    sender.send(f"PRIVMSG {target} :{text}")
    msgid = sender.expect("PRIVMSG", target).tags["msgid"]
    for other in others:
        assert other.expect("PRIVMSG").tags["msgid"] == msgid
    return msgid


def _answer(client: IRCClient, line: str) -> list[str]:
    """Send ``line``; the command and params of the one REDACT, FAIL or numeric answering it."""
    client.send(line)
    answers = [m for m in client.sync() if m.command in ("REDACT", "FAIL") or m.command.isdigit()]
    assert len(answers) == 1, [m.format() for m in answers]
    return [answers[0].command, *answers[0].params]


def _redacts(client: IRCClient) -> list[list[str]]:
    return [m.params for m in client.sync() if m.command == "REDACT"]


def _history(client: IRCClient, target: str) -> list[str]:
    """The texts CHATHISTORY LATEST gives for ``target``."""
    client.send(f"CHATHISTORY LATEST {target} * 50")
    start = client.expect("BATCH")
    ref = start.params[0][1:]
    texts = []
    while True:
        message = client.next()
        assert message is not None
        if message.command == "BATCH" and message.params[0] == "-" + ref:
            return texts
        assert message.tags.get("batch") == ref
        texts.append(message.params[-1])


def _old_message(server: ChatServer, account: str, text: str) -> str:
    """Store a message ``account`` sent to #chan two days ago (as history would hold it,
    numbered by the store as the relay's are); its msgid."""
    assert server.history is not None
    then = int(time.time() * 1000) - 2 * DAY_MS
    params = ("#chan", text)
    source = f"{account}!{account}@127.0.0.1"
    group = row_group(row("", "#chan", then, source, account, "PRIVMSG", params, {}))
    server.history.add_groups([group], number=True)
    server.history.flush()
    return str(group[1][1])


# --- the capability -------------------------------------------------------------------------
def test_the_capability_is_offered_with_history(hserver, open_to) -> None:
    client = IRCClient(hserver.port)
    try:
        client.send("CAP LS 302")
        assert CAP in client.expect("CAP").params[-1].split()
    finally:
        client.close()


def test_without_history_the_capability_is_not_offered(server, connect) -> None:
    client = connect()
    client.send("CAP LS 302")
    assert CAP not in client.expect("CAP").params[-1].split()
    alice = connect("alice")
    assert _answer(alice, "REDACT #general 123") == [
        "FAIL",
        "REDACT",
        "INVALID_TARGET",
        "#general",
        "You cannot delete messages from #general",
    ]


# --- channels (irctest ChannelRedactTestCase) -----------------------------------------------
def test_an_operator_deletes_its_own_message(hserver, open_to) -> None:
    """irctest: testRelayOpSelfRedact."""
    chanop, user = open_to(hserver, "chanop"), open_to(hserver, "user")
    _join(chanop, user)
    msgid = _say(chanop, "#chan", "hello there", user)
    chanop.send(f"REDACT #chan {msgid} :oops")
    echo = chanop.expect("REDACT")
    assert echo.source.startswith("chanop!")
    assert echo.params == ["#chan", msgid, "oops"]
    assert echo.tags["msgid"] != msgid  # the REDACT is a message of its own
    relayed = user.expect("REDACT")
    assert relayed.source.startswith("chanop!") and relayed.params == ["#chan", msgid, "oops"]
    assert relayed.tags["msgid"] == echo.tags["msgid"]


def test_an_operator_deletes_someone_elses_message(hserver, open_to) -> None:
    """irctest: testRelayOpRedact."""
    chanop, user = open_to(hserver, "chanop"), open_to(hserver, "user")
    _join(chanop, user)
    msgid = _say(user, "#chan", "join my network for cold hard chats", chanop)
    chanop.send(f"REDACT #chan {msgid} :spam")
    assert chanop.expect("REDACT").params == ["#chan", msgid, "spam"]
    relayed = user.expect("REDACT")
    assert relayed.source.startswith("chanop!") and relayed.params == ["#chan", msgid, "spam"]
    assert _history(user, "#chan") == []


def test_a_member_deletes_its_own_message(hserver, open_to) -> None:
    """irctest: testRelayUserSelfRedact."""
    chanop, user = open_to(hserver, "chanop"), open_to(hserver, "user")
    _join(chanop, user)
    msgid = _say(user, "#chan", "hello there", chanop)
    user.send(f"REDACT #chan {msgid} :oops")
    assert user.expect("REDACT").params == ["#chan", msgid, "oops"]
    relayed = chanop.expect("REDACT")
    assert relayed.source.startswith("user!") and relayed.params == ["#chan", msgid, "oops"]


def test_a_member_may_not_delete_anothers(hserver, open_to) -> None:
    """irctest: testRejectRedactOtherUser."""
    chanop, user = open_to(hserver, "chanop"), open_to(hserver, "user")
    _join(chanop, user)
    msgid = _say(chanop, "#chan", "hello there", user)
    assert _answer(user, f"REDACT #chan {msgid} :oops") == [
        "FAIL",
        "REDACT",
        "REDACT_FORBIDDEN",
        "#chan",
        msgid,
        "You are not authorised to delete this message",
    ]
    assert chanop.sync() == []
    assert _history(user, "#chan") == ["hello there"]


def test_a_connection_not_signed_in_may_delete_its_newest_messages_only(hserver, open_to) -> None:
    """The proof a connection keeps is its last ``KEPT`` channel messages, however they
    were read (one read's messages are relayed and noted together)."""
    chanop, user = open_to(hserver, "chanop"), open_to(hserver, "user")
    _join(chanop, user)
    user.send(*[f"PRIVMSG #chan :line {i}" for i in range(KEPT + 1)])
    msgids = [user.expect("PRIVMSG", "#chan").tags["msgid"] for _ in range(KEPT + 1)]
    assert _answer(user, f"REDACT #chan {msgids[0]} :oops")[:3] == [
        "FAIL",
        "REDACT",
        "REDACT_FORBIDDEN",
    ]
    assert _answer(user, f"REDACT #chan {msgids[1]} :oops") == [
        "REDACT",
        "#chan",
        msgids[1],
        "oops",
    ]
    assert _answer(user, f"REDACT #chan {msgids[-1]} :oops") == [
        "REDACT",
        "#chan",
        msgids[-1],
        "oops",
    ]


def test_an_unknown_msgid(hserver, open_to) -> None:
    """irctest: testOpRedactNonExistant."""
    chanop, user = open_to(hserver, "chanop"), open_to(hserver, "user")
    _join(chanop, user)
    _say(chanop, "#chan", "hello there", user)
    assert _answer(chanop, "REDACT #chan no-such-id :oops") == [
        "FAIL",
        "REDACT",
        "UNKNOWN_MSGID",
        "#chan",
        "no-such-id",
        "This message does not exist or is too old",
    ]
    assert user.sync() == []


def test_a_msgid_of_another_channel_is_unknown_there(hserver, open_to) -> None:
    """irctest: testOpRedactWrongChan."""
    chanop, user = open_to(hserver, "chanop"), open_to(hserver, "user")
    _join(chanop, user)
    msgid = _say(chanop, "#chan", "hello there", user)
    _join(chanop, channel="#otherChan")
    answer = _answer(chanop, f"REDACT #otherChan {msgid} :oops")
    assert answer[:5] == ["FAIL", "REDACT", "UNKNOWN_MSGID", "#otherChan", msgid]
    assert user.sync() == []
    assert _history(user, "#chan") == ["hello there"]


@pytest.mark.parametrize("requester", ["chanop", "user"])
def test_a_deleted_message_leaves_chathistory(hserver, open_to, requester) -> None:
    """irctest: testOpSelfRedactChathistory."""
    clients = {"chanop": open_to(hserver, "chanop"), "user": open_to(hserver, "user")}
    _join(clients["chanop"], clients["user"])
    _say(clients["chanop"], "#chan", "kept", clients["user"])
    msgid = _say(clients["chanop"], "#chan", "hello there", clients["user"])
    assert _answer(clients["chanop"], f"REDACT #chan {msgid} :oops")[0] == "REDACT"
    assert _history(clients[requester], "#chan") == ["kept"]


def test_only_clients_with_the_capability_hear_of_it(hserver, open_to) -> None:
    alice, bob, carol = (
        open_to(hserver, "alice"),
        open_to(hserver, "bob"),
        open_to(hserver, "carol", PLAIN),
    )
    _join(alice, bob, carol)
    msgid = _say(alice, "#chan", "typo", bob, carol)
    alice.send(f"REDACT #chan {msgid}")
    assert alice.expect("REDACT").params == ["#chan", msgid]  # no reason: none made up
    assert _redacts(bob) == [["#chan", msgid]]
    assert carol.sync() == []  # no fallback notice either


def test_without_echo_message_a_labeled_redact_gets_an_ack(hserver, open_to) -> None:
    no_echo = tuple(c for c in FULL if c != "echo-message")
    alice, bob = open_to(hserver, "alice", no_echo), open_to(hserver, "bob")
    _join(alice, bob)
    alice.send("@label=p1 PRIVMSG #chan :hello")
    assert alice.expect("ACK").tags["label"] == "p1"
    msgid = bob.expect("PRIVMSG").tags["msgid"]
    alice.send(f"@label=r1 REDACT #chan {msgid} :oops")
    assert alice.expect("ACK").tags["label"] == "r1"
    assert _redacts(bob) == [["#chan", msgid, "oops"]]


def test_with_echo_message_the_label_goes_on_the_echo(hserver, open_to) -> None:
    alice, bob = open_to(hserver, "alice"), open_to(hserver, "bob")
    _join(alice, bob)
    msgid = _say(alice, "#chan", "hello", bob)
    alice.send(f"@label=r2 REDACT #chan {msgid} :oops")
    echo = alice.expect("REDACT")
    assert echo.tags["label"] == "r2" and echo.params == ["#chan", msgid, "oops"]


def test_a_message_is_deleted_once(hserver, open_to) -> None:
    alice, bob = open_to(hserver, "alice"), open_to(hserver, "bob")
    _join(alice, bob)
    msgid = _say(alice, "#chan", "hello", bob)
    assert _answer(alice, f"REDACT #chan {msgid}")[0] == "REDACT"
    assert _answer(alice, f"REDACT #chan {msgid}")[:3] == ["FAIL", "REDACT", "UNKNOWN_MSGID"]
    assert _redacts(bob) == [["#chan", msgid]]


def test_a_topic_is_not_a_message_to_delete(hserver, open_to) -> None:
    alice = open_to(hserver, "alice")
    _join(alice)
    alice.send("TOPIC #chan :the topic")
    alice.expect("TOPIC")
    assert hserver.history is not None
    hserver.history.flush()
    topic = hserver.history.latest_topic("#chan")
    assert topic is not None
    assert _answer(alice, f"REDACT #chan {topic.msgid}")[:3] == ["FAIL", "REDACT", "UNKNOWN_MSGID"]


# --- who the sender is: an account, or this very connection ---------------------------------
def test_the_same_nick_on_a_new_connection_may_not_delete(hserver, open_to) -> None:
    op, alice = open_to(hserver, "op"), open_to(hserver, "alice")
    _join(op, alice)
    msgid = _say(alice, "#chan", "mine", op)
    alice.send("QUIT")
    alice.wait_closed()
    again = open_to(hserver, "alice")
    _join(again)
    answer = _answer(again, f"REDACT #chan {msgid}")
    assert answer[:5] == ["FAIL", "REDACT", "REDACT_FORBIDDEN", "#chan", msgid]


def test_another_connection_of_the_account_may_delete(hserver, open_to) -> None:
    op = open_to(hserver, "op")
    first = open_to(hserver, "alice", password="alice:secret")
    _join(op, first)
    msgid = _say(first, "#chan", "from the laptop", op)
    second = open_to(hserver, "alice2", password="alice:secret")
    _join(second)
    second.send(f"REDACT #chan {msgid} :wrong window")
    assert second.expect("REDACT").params == ["#chan", msgid, "wrong window"]
    assert _redacts(first) == [["#chan", msgid, "wrong window"]]
    assert _redacts(op) == [["#chan", msgid, "wrong window"]]


def test_what_was_sent_not_signed_in_is_the_connections_not_the_accounts(hserver, open_to) -> None:
    op, alice = open_to(hserver, "op"), open_to(hserver, "alice")
    _join(op, alice)
    msgid = _say(alice, "#chan", "before", op)
    # The connection signs in later: another connection of the account cannot prove it
    # sent the message; the connection that did still can.
    hserver.sign_in(hserver.registry.find_nick("alice"), hserver.accounts.find("alice"))
    alice.expect("900")
    other = open_to(hserver, "alice2", password="alice:secret")
    _join(other)
    assert _answer(other, f"REDACT #chan {msgid}")[:3] == ["FAIL", "REDACT", "REDACT_FORBIDDEN"]
    assert _answer(alice, f"REDACT #chan {msgid}")[0] == "REDACT"


# --- the window -----------------------------------------------------------------------------
def test_too_old_for_its_sender_but_not_for_an_operator(hserver, open_to) -> None:
    op = open_to(hserver, "op")
    alice = open_to(hserver, "alice", password="alice:secret")
    _join(op, alice)
    old = _old_message(hserver, "alice", "two days ago")
    assert _answer(alice, f"REDACT #chan {old}") == [
        "FAIL",
        "REDACT",
        "REDACT_WINDOW_EXPIRED",
        "#chan",
        old,
        "86400",
        "You can no longer delete this message",
    ]
    assert _history(alice, "#chan") == ["two days ago"]
    assert _answer(op, f"REDACT #chan {old} :cleanup") == ["REDACT", "#chan", old, "cleanup"]
    assert _history(alice, "#chan") == []


def test_a_window_of_zero_has_no_limit(store_place, make_server, tmp_path: Path, open_to) -> None:
    _accounts(store_place)
    stores = server_options(store_place, tmp_path)
    server = make_server(flood_rate=0, reserve_nicks=False, redact_window=0, **stores)
    op = open_to(server, "op")
    alice = open_to(server, "alice", password="alice:secret")
    _join(op, alice)
    old = _old_message(server, "alice", "two days ago")
    assert _answer(alice, f"REDACT #chan {old}")[0] == "REDACT"


def test_the_window_is_an_option() -> None:
    assert parse_args(["--redact-window", "60"]).redact_window == 60
    assert parse_args([]).redact_window == 86400


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, target",
    [
        ("REDACT #nowhere 1", "#nowhere"),  # no such channel
        ("REDACT #away 1", "#away"),  # a channel the client is not in
        ("REDACT bad,nick 1", "bad,nick"),  # neither a channel nor a nick
    ],
)
def test_a_target_one_cannot_delete_from(hserver, open_to, line, target) -> None:
    other, alice = open_to(hserver, "other"), open_to(hserver, "alice")
    _join(other, channel="#away")
    assert _answer(alice, line) == [
        "FAIL",
        "REDACT",
        "INVALID_TARGET",
        target,
        f"You cannot delete messages from {target}",
    ]


def test_missing_parameters(hserver, open_to) -> None:
    alice = open_to(hserver, "alice")
    assert _answer(alice, "REDACT #chan")[:3] == ["461", "alice", "REDACT"]


def test_a_long_reason_is_cut_to_fit_the_line(hserver, open_to) -> None:
    alice, bob = open_to(hserver, "alice"), open_to(hserver, "bob")
    _join(alice, bob)
    msgid = _say(alice, "#chan", "hello", bob)
    head = f"REDACT #chan {msgid} :"
    alice.send(head + "é" * ((510 - len(head)) // 2))  # the longest line a client may send
    relayed = bob.expect("REDACT")
    assert relayed.params[:2] == ["#chan", msgid]
    assert relayed.params[2] == "é" * len(relayed.params[2]) and len(relayed.params[2]) > 100
    assert len(bob.raw[-1].split(b" ", 1)[1]) <= 512


# --- history: the join replay and a restart -------------------------------------------------
def test_a_deleted_message_is_not_replayed_on_join(hserver, open_to) -> None:
    alice = open_to(hserver, "alice")
    _join(alice)
    _say(alice, "#chan", "first")
    msgid = _say(alice, "#chan", "second")
    assert _answer(alice, f"REDACT #chan {msgid}")[0] == "REDACT"
    late = open_to(hserver, "late", ("batch", "message-tags"))
    late.send("JOIN #chan")
    late.expect("366")
    texts = [m.params[1] for m in late.sync() if m.command == "PRIVMSG"]  # after NAMES
    assert texts == ["first"]


def test_a_deleted_message_stays_gone_after_a_restart(
    store_place, make_server, tmp_path: Path, open_to
) -> None:
    _accounts(store_place)
    stores = server_options(store_place, tmp_path)
    first = make_server(flood_rate=0, reserve_nicks=False, **stores)
    alice = open_to(first, "alice", password="alice:secret")
    bob = open_to(first, "bob", password="bob:secret")
    bob.sync()
    # #general, the server's own room, keeps its history across the server's lives.
    _say(alice, "#general", "kept", bob)
    gone = _say(alice, "#general", "deleted", bob)
    dm = _say(alice, "bob", "private and deleted", bob)
    assert _answer(alice, f"REDACT #general {gone}")[0] == "REDACT"
    assert _answer(alice, f"REDACT bob {dm}")[0] == "REDACT"
    first.stop()
    second = make_server(flood_rate=0, reserve_nicks=False, **stores)
    alice = open_to(second, "alice", password="alice:secret")
    assert _history(alice, "#general") == ["kept"]
    assert _history(alice, "bob") == []


def test_the_reactions_to_a_deleted_message_go_with_it(store_place: str) -> None:
    store = open_history(store_place)
    try:
        now = int(time.time() * 1000)
        src = "a!a@h"
        # Msgids as the server makes them (their numbers are the rows' ids).
        m0, m1, r1, p1, r2, u1 = (new_msgid() for _ in range(6))
        store.add(Record(m1, "#c", now, src, "PRIVMSG", ("#c", "hi"), {}, "a"))
        react = {"+draft/reply": m1, "+draft/react": "👍"}
        store.add(Record(r1, "#c", now, src, "TAGMSG", ("#c",), react, "b"))
        reply = {"+draft/reply": m1}
        store.add(Record(p1, "#c", now, src, "PRIVMSG", ("#c", "an answer"), reply, "b"))
        other = {"+draft/reply": m0, "+draft/react": "👍"}
        store.add(Record(r2, "#c", now, src, "TAGMSG", ("#c",), other, "b"))
        taken_back = {"+draft/reply": m1, "+draft/unreact": "👍"}
        store.add(Record(u1, "#c", now, src, "TAGMSG", ("#c",), taken_back, "b"))
        store.flush()
        assert store.remove("#c", m1) == 3  # the message, its reaction and the unreact
        assert [r.msgid for r in store.latest("#c", 10)] == [p1, r2]
        assert store.remove("#c", m1) == 0
    finally:
        store.close()


# --- direct messages (irctest PmRedactTestCase) ---------------------------------------------
def test_the_sender_deletes_a_direct_message(hserver, open_to) -> None:
    """irctest: testRelaySenderRedact."""
    sender = open_to(hserver, "alice", password="alice:secret")
    recipient = open_to(hserver, "bob", password="bob:secret")
    laptop = open_to(hserver, "bob2", password="bob:secret")  # bob's other connection
    msgid = _say(sender, "bob", "hello there", recipient)
    sender.send(f"REDACT bob {msgid} :oops")
    assert sender.expect("REDACT").params == ["bob", msgid, "oops"]
    relayed = recipient.expect("REDACT")
    assert relayed.source.startswith("alice!") and relayed.params == ["bob", msgid, "oops"]
    assert _redacts(laptop) == [["bob", msgid, "oops"]]
    assert _history(recipient, "alice") == []
    assert _history(sender, "bob") == []


def test_the_recipient_may_not_delete_a_direct_message(hserver, open_to) -> None:
    """irctest: testRelayRecipientRedact."""
    sender = open_to(hserver, "alice", password="alice:secret")
    recipient = open_to(hserver, "bob", password="bob:secret")
    msgid = _say(sender, "bob", "hello there", recipient)
    answer = _answer(recipient, f"REDACT alice {msgid} :oops")
    assert answer[:5] == ["FAIL", "REDACT", "REDACT_FORBIDDEN", "alice", msgid]
    assert sender.sync() == []
    assert _history(recipient, "alice") == ["hello there"]


@pytest.mark.parametrize("nick", ["alice", "bob"])
def test_a_third_party_learns_nothing_of_a_direct_message(hserver, open_to, nick) -> None:
    """irctest: testRejectRedactOtherUser."""
    sender = open_to(hserver, "alice", password="alice:secret")
    recipient = open_to(hserver, "bob", password="bob:secret")
    msgid = _say(sender, "bob", "hello there", recipient)
    censor = open_to(hserver, "carol", password="carol:secret")
    sender.sync(), recipient.sync()  # carol's arrival in #general
    answer = _answer(censor, f"REDACT {nick} {msgid} :oops")
    assert answer[:5] == ["FAIL", "REDACT", "UNKNOWN_MSGID", nick, msgid]
    assert sender.sync() == [] and recipient.sync() == []


def test_an_unknown_msgid_in_a_direct_conversation(hserver, open_to) -> None:
    """irctest: testRedactNonExistant."""
    sender = open_to(hserver, "alice", password="alice:secret")
    open_to(hserver, "bob", password="bob:secret")
    answer = _answer(sender, "REDACT bob 0123-nothing :oops")
    assert answer[:5] == ["FAIL", "REDACT", "UNKNOWN_MSGID", "bob", "0123-nothing"]


def test_direct_messages_between_connections_not_signed_in(hserver, open_to) -> None:
    alice, bob, plain = open_to(hserver, "alice"), open_to(hserver, "bob"), None
    msgid = _say(alice, "bob", "hi", bob)
    assert _answer(alice, f"REDACT bob {msgid}") == ["REDACT", "bob", msgid]
    assert _redacts(bob) == [["bob", msgid]]
    plain = open_to(hserver, "carol", PLAIN)
    other = _say(alice, "carol", "hi", plain)
    assert _answer(alice, f"REDACT carol {other}")[0] == "REDACT"
    assert plain.sync() == []


def test_a_multi_line_message_is_deleted_whole(hserver, open_to) -> None:
    caps = (*FULL, "draft/multiline")
    alice, bob = open_to(hserver, "alice", caps), open_to(hserver, "bob")
    _join(alice, bob)
    alice.send(
        "BATCH +b1 draft/multiline #chan",
        "@batch=b1 PRIVMSG #chan :first line",
        "@batch=b1 PRIVMSG #chan :second line",
        "BATCH -b1",
    )
    msgid = alice.expect("BATCH", where=lambda m: m.params[0].startswith("+")).tags["msgid"]
    alice.sync(), bob.sync()
    assert _answer(alice, f"REDACT #chan {msgid}") == ["REDACT", "#chan", msgid]
    assert _redacts(bob) == [["#chan", msgid]]
    assert _history(bob, "#chan") == []


@pytest.mark.parametrize("msgid", ["", ":colon", "with space"])
def test_a_msgid_that_cannot_be_one(hserver, open_to, msgid) -> None:
    alice = open_to(hserver, "alice")
    _join(alice)
    answer = _answer(alice, f"REDACT #chan :{msgid}")
    assert answer == [
        "FAIL",
        "REDACT",
        "UNKNOWN_MSGID",
        "#chan",
        "*",  # what cannot stand in the middle of a line is shown as *
        "This message does not exist or is too old",
    ]


def test_a_deleted_messages_reactions_leave_chathistory(hserver, open_to) -> None:
    alice, bob = open_to(hserver, "alice"), open_to(hserver, "bob")
    _join(alice, bob)
    kept = _say(alice, "#chan", "kept", bob)
    gone = _say(alice, "#chan", "gone", bob)
    for msgid in (kept, gone):
        bob.send(f"@+draft/reply={msgid};+draft/react=👍 TAGMSG #chan")
        bob.expect("TAGMSG")
    bob.send(f"@+draft/reply={gone} PRIVMSG #chan :an answer to it")
    bob.expect("PRIVMSG")
    alice.sync()
    assert _answer(alice, f"REDACT #chan {gone}")[0] == "REDACT"
    bob.send("CHATHISTORY LATEST #chan * 50")
    start = bob.expect("BATCH")
    lines = bob.until("BATCH", "-" + start.params[0][1:])[:-1]
    left = [(m.command, m.tags.get("+draft/reply", "")) for m in lines]
    # The reaction to what was deleted goes with it; the answer to it stays.
    assert left == [("PRIVMSG", ""), ("TAGMSG", kept), ("PRIVMSG", gone)]


def test_the_message_is_looked_up_on_the_stores_thread(hserver, open_to, monkeypatch) -> None:
    # As every history read: not on the reader's own thread (SQLite's deep C stack).
    read_on: list[str] = []
    store = type(hserver.history)  # either backend's
    rows = store._rows

    def recording(self: object, sql: str, args: tuple) -> list:
        read_on.append(threading.current_thread().name)
        return rows(self, sql, args)

    alice = open_to(hserver, "alice")
    _join(alice)
    msgid = _say(alice, "#chan", "hello")
    monkeypatch.setattr(store, "_rows", recording)
    assert _answer(alice, f"REDACT #chan {msgid}")[0] == "REDACT"
    assert read_on == ["kibitz-history-reads"]


def test_a_deleted_message_leaves_search_results(hserver, open_to) -> None:
    caps = (*FULL, "soju.im/search")
    alice, bob = open_to(hserver, "alice", caps), open_to(hserver, "bob", caps)
    _join(alice, bob)
    _say(alice, "#chan", "the launch code is 1234", bob)
    gone = _say(alice, "#chan", "the launch code is really 5678", bob)

    def found() -> list[str]:
        bob.send("SEARCH in=#chan;text=launch")
        start = bob.expect("BATCH")
        lines = bob.until("BATCH", "-" + start.params[0][1:])[:-1]
        return [m.params[1] for m in lines if m.command == "PRIVMSG"]

    assert len(found()) == 2  # both indexed (a search catches the index up first)
    assert _answer(alice, f"REDACT #chan {gone}")[0] == "REDACT"
    assert found() == ["the launch code is 1234"]
