"""Read markers over real sockets (IRCv3 draft/read-marker): MARKREAD get and set, the
marker after JOIN, never backwards, every FAIL, per account across connections and a
restart, per connection when not signed in. The cases of irctest's read_marker.py are
all here (test names say which)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.accounts import AccountStore
from server.protocol.codec import Message, parse_timestamp
from server.readmarkers import Markers, ReadMarkerStore
from server.server import ChatServer
from tests.support.ircclient import IRCClient
from tests.support.services import server_options

CAP = "draft/read-marker"
TS = "2019-01-04T14:33:26.123Z"
LATER = "2019-06-01T12:00:00.000Z"
EARLIER = "2019-01-01T00:00:00.000Z"


@pytest.fixture
def open_to() -> Iterator[Callable[..., IRCClient]]:
    """Register connections to any server (``password`` signs in); closed afterwards."""
    clients: list[IRCClient] = []

    def open_client(
        server: ChatServer, nick: str, caps: tuple[str, ...] = (CAP,), password: str | None = None
    ) -> IRCClient:
        client = IRCClient(server.port)
        clients.append(client)
        client.register(nick, caps, password)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def aserver(make_server, tmp_path: Path) -> ChatServer:
    """A server keeping accounts (alice, bob) in a temporary directory."""
    _accounts(tmp_path)
    return make_server(data_dir=str(tmp_path), flood_rate=0)


def _accounts(place: str | Path) -> None:
    store = AccountStore(place)
    for name in ("alice", "bob"):
        if store.find(name) is None:
            store.create(name, "secret")
    store.close()


def _markread(client: IRCClient, line: str) -> list[str]:
    """Send ``line``; the params of the one MARKREAD or FAIL that answers it."""
    client.send(line)
    answers = [m for m in client.sync() if m.command in ("MARKREAD", "FAIL")]
    assert len(answers) == 1, [m.format() for m in answers]
    return [answers[0].command, *answers[0].params]


def _join(client: IRCClient, channel: str) -> list[Message]:
    client.send(f"JOIN {channel}")
    return client.until("366")


def _markers(messages: list[Message]) -> list[list[str]]:
    return [m.params for m in messages if m.command == "MARKREAD"]


# --- the capability and the command (irctest ReadMarkerTestCase) ---------------------
def test_the_capability_is_offered(server, connect) -> None:
    client = connect()
    client.send("CAP LS 302")
    offered = " ".join(client.expect("CAP").params[-1].split())
    assert CAP in offered.split()


def test_get_with_no_marker_answers_star(server, connect) -> None:  # testGetNoReadMarker
    alice = connect("alice", (CAP,))
    assert _markread(alice, "MARKREAD #nosuchtarget") == ["MARKREAD", "#nosuchtarget", "*"]


def test_set_answers_the_marker_and_get_returns_it(server, connect) -> None:  # testSetAndGet
    alice = connect("alice", (CAP,))
    _join(alice, "#test")
    assert _markread(alice, f"MARKREAD #test timestamp={TS}") == [
        "MARKREAD",
        "#test",
        f"timestamp={TS}",
    ]
    assert _markread(alice, "MARKREAD #test") == ["MARKREAD", "#test", f"timestamp={TS}"]


def test_a_marker_never_moves_backwards(server, connect) -> None:  # testReadMarkerDoesNotDecrease
    alice = connect("alice", (CAP,))
    _join(alice, "#test")
    _markread(alice, f"MARKREAD #test timestamp={LATER}")
    stored = ["MARKREAD", "#test", f"timestamp={LATER}"]
    assert _markread(alice, f"MARKREAD #test timestamp={EARLIER}") == stored
    assert _markread(alice, f"MARKREAD #test timestamp={LATER}") == stored
    assert _markread(alice, "MARKREAD #test") == stored


def test_a_marker_in_the_future_stops_at_the_present(server, connect) -> None:
    alice = connect("alice", (CAP,))
    before = int(time.time() * 1000)
    answer = _markread(alice, "MARKREAD #test timestamp=2999-01-01T00:00:00.000Z")
    after = int(time.time() * 1000)
    assert answer[:2] == ["MARKREAD", "#test"]
    stored = parse_timestamp(answer[2].removeprefix("timestamp="))
    assert stored is not None and before - 1 <= stored <= after


def test_join_sends_the_marker_before_end_of_names(server, connect) -> None:  # testReadMarkerOnJoin
    alice = connect("alice", (CAP,))
    burst = _join(alice, "#test")
    commands = [m.command for m in burst]
    assert commands.index("JOIN") < commands.index("MARKREAD") < commands.index("366")
    assert _markers(burst) == [["#test", "*"]]


def test_rejoin_sends_the_stored_marker(server, connect) -> None:
    # testReadMarkerOnJoinWithStoredTimestamp
    alice = connect("alice", (CAP,))
    _join(alice, "#test")
    _markread(alice, f"MARKREAD #test timestamp={TS}")
    alice.send("PART #test")
    alice.expect("PART")
    assert _markers(_join(alice, "#test")) == [["#test", f"timestamp={TS}"]]


def test_the_autojoin_at_registration_sends_the_marker(server, connect) -> None:
    alice = connect()
    alice.register("alice", (CAP,))
    burst = alice.consumed
    commands = [m.command for m in burst]
    assert _markers(burst) == [["#general", "*"]]
    assert commands.index("MARKREAD") < commands.index("366")


def test_without_the_capability_join_sends_no_marker(server, connect) -> None:
    alice = connect("alice")
    assert _markers(_join(alice, "#test")) == []
    assert _markers(alice.consumed) == []
    # The command itself still answers the one who asks.
    assert _markread(alice, f"MARKREAD #test timestamp={TS}") == [
        "MARKREAD",
        "#test",
        f"timestamp={TS}",
    ]


def test_a_nick_target_is_set_and_got(server, connect) -> None:  # testReadMarkerUserTarget
    alice = connect("alice", (CAP,))
    connect("Bob")
    stored = ["MARKREAD", "Bob", "timestamp=2023-07-04T00:00:00.000Z"]
    assert _markread(alice, "MARKREAD Bob timestamp=2023-07-04T00:00:00.000Z") == stored
    assert _markread(alice, "MARKREAD Bob") == stored


def test_targets_are_casefolded(server, connect) -> None:
    alice = connect("alice", (CAP,))
    connect("Bob")
    _join(alice, "#Test")
    _markread(alice, f"MARKREAD #TEST timestamp={TS}")
    # Answered under the channel's and the nick's own names.
    assert _markread(alice, "MARKREAD #test") == ["MARKREAD", "#Test", f"timestamp={TS}"]
    _markread(alice, f"MARKREAD BOB timestamp={TS}")
    assert _markread(alice, "MARKREAD bob") == ["MARKREAD", "Bob", f"timestamp={TS}"]
    assert _markread(alice, "MARKREAD gone[1]") == ["MARKREAD", "gone[1]", "*"]
    _markread(alice, f"MARKREAD GONE{{1}} timestamp={TS}")  # ascii casemapping: [ ] stay
    assert _markread(alice, "MARKREAD gone[1]") == ["MARKREAD", "gone[1]", "*"]
    assert _markread(alice, "MARKREAD gone{1}") == ["MARKREAD", "gone{1}", f"timestamp={TS}"]


def test_missing_parameters_fail(server, connect) -> None:  # testMissingParams
    alice = connect("alice", (CAP,))
    assert _markread(alice, "MARKREAD") == [
        "FAIL",
        "MARKREAD",
        "NEED_MORE_PARAMS",
        "Missing parameters",
    ]


@pytest.mark.parametrize(
    "stamp",
    [
        "timestamp=not-a-timestamp",  # testInvalidTimestamp
        "*",  # testWildcardTimestampRejected: a client never sets '*'
        TS,  # the timestamp= prefix is required
        "timestamp=2019-13-04T14:33:26.123Z",
        "timestamp=",
    ],
)
def test_a_bad_timestamp_fails_and_changes_nothing(server, connect, stamp: str) -> None:
    alice = connect("alice", (CAP,))
    _join(alice, "#test")
    answer = _markread(alice, f"MARKREAD #test {stamp}")
    assert answer[:3] == ["FAIL", "MARKREAD", "INVALID_PARAMS"]
    assert answer[-1] == "Invalid parameters"
    assert answer[3] == (stamp or "*")
    assert _markread(alice, "MARKREAD #test") == ["MARKREAD", "#test", "*"]


@pytest.mark.parametrize("target", ["#bad,name", "9nick", "*", "#", "a" * 31])
def test_a_target_that_is_no_channel_or_nick_fails(server, connect, target: str) -> None:
    alice = connect("alice", (CAP,))
    assert _markread(alice, f"MARKREAD {target}") == [
        "FAIL",
        "MARKREAD",
        "INVALID_PARAMS",
        target,
        "Invalid parameters",
    ]
    answer = _markread(alice, f"MARKREAD {target} timestamp={TS}")
    assert answer[:4] == ["FAIL", "MARKREAD", "INVALID_PARAMS", target]


def test_markread_needs_registration(server, connect) -> None:
    client = connect()
    client.send("MARKREAD #test")
    assert client.expect("451").params[-1] == "You have not registered"


def test_help_describes_markread(server, connect) -> None:
    alice = connect("alice")
    alice.send("HELP MARKREAD")
    assert "MARKREAD <target>" in " ".join(m.params[-1] for m in alice.until("706"))


# --- whose marker it is --------------------------------------------------------------
def test_not_signed_in_a_marker_belongs_to_the_connection(server, connect) -> None:
    first = connect("alice", (CAP,))
    second = connect("alice2", (CAP,))
    _markread(first, f"MARKREAD #test timestamp={TS}")
    assert second.sync() == []  # nobody else is told
    assert _markread(second, "MARKREAD #test") == ["MARKREAD", "#test", "*"]
    first.close()
    assert second.expect("QUIT").source.startswith("alice!")  # the nick is free again
    third = connect("alice", (CAP,))  # the nick again, a new connection: nothing kept
    assert _markread(third, "MARKREAD #test") == ["MARKREAD", "#test", "*"]


def test_every_connection_of_the_account_is_told(aserver, open_to) -> None:
    # testReadMarkerPropagatedToOtherSessions
    first = open_to(aserver, "alice", password="alice:secret")
    second = open_to(aserver, "alice2", password="alice:secret")
    plain = open_to(aserver, "alice3", caps=(), password="alice:secret")
    stranger = open_to(aserver, "bob", password="bob:secret")
    _join(first, "#test")
    assert _markread(first, f"MARKREAD #test timestamp={TS}") == [
        "MARKREAD",
        "#test",
        f"timestamp={TS}",
    ]
    second.send("PING x")  # second is not in #test: told all the same
    assert second.expect("MARKREAD").params == ["#test", f"timestamp={TS}"]
    assert _markers(second.sync()) == []
    assert _markers(plain.sync()) == []  # without the capability: not told
    assert _markers(stranger.sync()) == []  # another account: never told
    assert _markread(plain, "MARKREAD #test") == ["MARKREAD", "#test", f"timestamp={TS}"]
    assert _markread(stranger, "MARKREAD #test") == ["MARKREAD", "#test", "*"]
    # A marker that does not move is answered to its sender only.
    assert _markread(second, f"MARKREAD #test timestamp={EARLIER}") == [
        "MARKREAD",
        "#test",
        f"timestamp={TS}",
    ]
    assert _markers(first.sync()) == []
    # Joining shows the account's marker.
    assert _markers(_join(second, "#test")) == [["#test", f"timestamp={TS}"]]


def test_an_account_keeps_its_markers_across_a_restart(
    make_server, tmp_path, store_place, open_to
) -> None:
    # testReadMarkerPersistsAcrossReconnect (Kibitz rejoins #general itself)
    _accounts(store_place)
    stores = server_options(store_place, tmp_path)
    first = make_server(flood_rate=0, **stores)
    alice = open_to(first, "alice", password="alice:secret")
    guest = open_to(first, "guest")
    _markread(alice, f"MARKREAD #general timestamp={TS}")
    _markread(alice, f"MARKREAD Guest timestamp={LATER}")
    _markread(guest, f"MARKREAD #general timestamp={TS}")
    port = first.port
    first.stop()

    second = make_server(flood_rate=0, port=port, **stores)
    again = open_to(second, "alice", password="alice:secret")
    assert _markers(again.consumed) == [["#general", f"timestamp={TS}"]]
    assert _markread(again, "MARKREAD guest") == ["MARKREAD", "guest", f"timestamp={LATER}"]
    guest = open_to(second, "guest")  # not signed in: nothing was kept
    assert _markers(guest.consumed) == [["#general", "*"]]


def test_a_marker_that_cannot_be_stored_fails(make_server, open_to, tmp_path, store_place) -> None:
    _accounts(store_place)
    server = make_server(flood_rate=0, **server_options(store_place, tmp_path))
    alice = open_to(server, "alice", password="alice:secret")
    _markread(alice, f"MARKREAD #general timestamp={EARLIER}")
    store = AccountStore(store_place)
    store.remove("alice")  # by the admin command, while alice is signed in
    store.close()
    assert _markread(alice, f"MARKREAD #general timestamp={TS}") == [
        "FAIL",
        "MARKREAD",
        "INTERNAL_ERROR",
        "#general",
        "The read timestamp could not be set",
    ]
    # Its markers went with the account.
    assert _markread(alice, "MARKREAD #general") == ["MARKREAD", "#general", "*"]


# --- the bounds ----------------------------------------------------------------------
def test_an_account_keeps_the_latest_markers_only(store_place, monkeypatch) -> None:
    monkeypatch.setattr("server.readmarkers.MAX_MARKERS", 3)
    _accounts(store_place)
    store = ReadMarkerStore(store_place)
    try:
        for n, target in enumerate(["#a", "#b", "#c", "#d"]):
            assert store.advance("alice", target, 1000 + n) == (1000 + n, True)
        assert store.advance("alice", "#b", 999) == (1001, False)
        assert [store.get("alice", t) for t in ["#a", "#b", "#c", "#d"]] == [
            None,
            1001,
            1002,
            1003,
        ]
        assert store.get("bob", "#b") is None
    finally:
        store.close()


def test_a_connection_keeps_the_latest_markers_only(monkeypatch) -> None:
    monkeypatch.setattr("server.readmarkers.MAX_MARKERS", 3)
    markers = Markers()
    for n, target in enumerate(["#a", "#b", "#c", "#d"]):
        assert markers.advance(target, 1000 + n) == (1000 + n, True)
    assert markers.advance("#b", 5) == (1001, False)
    assert [markers.get(t) for t in ["#a", "#b", "#c", "#d"]] == [None, 1001, 1002, 1003]
