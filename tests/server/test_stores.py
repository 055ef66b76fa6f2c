"""The stores beside the accounts on both backends (SQLite in a temporary directory, a
PostgreSQL schema of the test's own): registered rooms, read markers under concurrent
writers, and the schema's versions."""

from __future__ import annotations

import threading

import pytest

from server.accounts import AccountError, AccountStore
from server.database import Component, SchemaError, ensure_schema, open_database, redact
from server.readmarkers import MarkerError, ReadMarkerStore
from server.rooms import RoomState, RoomStore
from tests.support.processes import ROOT
from tests.support.services import is_postgresql

STATE = RoomState(
    modes="inst",
    key="hush",
    limit=10,
    lists={"b": [("bad!*@*", "carol", 100), ("worse!*@*", "carol", 200)], "e": []},
    topic="plans",
    topic_by="carol",
    topic_at=300,
)


@pytest.fixture
def rooms(store_place):
    store = RoomStore(store_place)
    yield store
    store.close()


def test_a_room_is_registered_once_and_found_in_any_case(rooms) -> None:
    assert rooms.find("#team") is None
    assert rooms.register("#Team", "carol", STATE, history_from=42)
    assert not rooms.register("#TEAM", "dave", RoomState(), history_from=0)
    room = rooms.find("#tEAM")
    assert (room.name, room.display, room.founder, room.history_from) == (
        "#team",
        "#Team",
        "carol",
        42,
    )
    assert room.state.modes == "inst" and (room.state.key, room.state.limit) == ("hush", 10)
    assert room.state.lists == {"b": [("bad!*@*", "carol", 100), ("worse!*@*", "carol", 200)]}
    assert (room.state.topic, room.state.topic_by, room.state.topic_at) == ("plans", "carol", 300)
    assert room.level_of("carol") == "op" and room.level_of(None) is None


def test_saving_replaces_the_modes_lists_and_topic(rooms) -> None:
    rooms.register("#team", "carol", STATE, history_from=0)
    rooms.save("#team", RoomState(modes="nt", lists={"I": [("friend!*@*", "dave", 5)]}))
    state = rooms.find("#team").state
    assert (state.modes, state.key, state.limit, state.topic) == ("nt", None, None, "")
    assert state.lists == {"I": [("friend!*@*", "dave", 5)]}
    rooms.save("#nowhere", STATE)  # not registered (dropped meanwhile): nothing is kept
    assert rooms.find("#nowhere") is None


def test_access_is_given_changed_and_taken_and_goes_with_the_room(rooms) -> None:
    rooms.register("#team", "carol", RoomState(), history_from=0)
    assert rooms.set_access("#team", "dave", "voice")
    assert not rooms.set_access("#team", "dave", "voice")  # no change
    assert rooms.set_access("#TEAM", "dave", "op")
    assert rooms.find("#team").access == {"dave": "op"}
    assert rooms.set_access("#team", "dave", None)
    assert not rooms.set_access("#team", "dave", None)
    rooms.set_access("#team", "erin", "voice")
    assert rooms.drop("#Team") and not rooms.drop("#team")
    assert rooms.find("#team") is None
    rooms.register("#team", "dave", RoomState(), history_from=0)
    assert rooms.find("#team").access == {}  # nothing of the old registration is left


def test_markers_advanced_at_once_never_move_back(store_place) -> None:
    accounts = AccountStore(store_place)
    accounts.create("alice", "secret")
    accounts.close()
    # Two stores: two servers sharing one database.
    stores = [ReadMarkerStore(store_place), ReadMarkerStore(store_place)]
    answers: list[tuple[int, bool]] = []
    start = threading.Barrier(8)

    def advance(n: int) -> None:
        start.wait()
        for step in range(10):
            answers.append(stores[n % 2].advance("alice", "#team", 1000 + step * 8 + n))

    threads = [threading.Thread(target=advance, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert stores[0].get("alice", "#team") == 1079 == stores[1].get("alice", "#team")
        assert all(stored >= 1000 for stored, _ in answers)
        assert sum(moved for _, moved in answers) >= 1
        assert stores[0].advance("alice", "#team", 1078) == (1079, False)
    finally:
        for store in stores:
            store.close()


def test_a_marker_needs_an_existing_account(store_place) -> None:
    store = ReadMarkerStore(store_place)  # made first: the accounts' tables come with it
    try:
        with pytest.raises(MarkerError):
            store.advance("nobody", "#team", 1000)
        assert store.get("nobody", "#team") is None
    finally:
        store.close()


def _versions(place: str) -> dict[str, int]:
    db = open_database(place, "accounts.sqlite3")
    try:
        with db.transaction() as tx:
            return dict(tx.execute("SELECT component, version FROM schema_version"))
    finally:
        db.close()


def test_each_store_records_its_schema_version(store_place) -> None:
    for store in (AccountStore(store_place), RoomStore(store_place), ReadMarkerStore(store_place)):
        store.close()
    assert _versions(store_place) == {"accounts": 1, "rooms": 1, "read_markers": 1}


def test_a_newer_schema_is_refused_and_an_older_one_migrated(store_place) -> None:
    AccountStore(store_place).close()
    db = open_database(store_place, "accounts.sqlite3")
    try:
        with db.transaction() as tx:
            tx.execute("UPDATE schema_version SET version = 7 WHERE component = 'accounts'")
    finally:
        db.close()
    with pytest.raises(AccountError, match="at version 7, newer than this Kibitz knows"):
        AccountStore(store_place)

    notes_v1 = Component("notes", 1, "CREATE TABLE IF NOT EXISTS notes (id BIGINT PRIMARY KEY)")
    notes_v3 = Component(
        "notes",
        3,
        notes_v1.schema,
        {
            2: "ALTER TABLE notes ADD COLUMN body TEXT",
            3: "UPDATE notes SET body = 'old'; CREATE INDEX notes_by_body ON notes (body)",
        },
    )
    db = open_database(store_place, "accounts.sqlite3")
    try:
        ensure_schema(db, notes_v1)
        with db.transaction() as tx:
            tx.execute("INSERT INTO notes (id) VALUES (?)", (1,))
        ensure_schema(db, notes_v3)
        ensure_schema(db, notes_v3)  # already there: nothing runs twice
        with db.transaction() as tx:
            assert tx.execute("SELECT id, body FROM notes").fetchall() == [(1, "old")]
        with pytest.raises(SchemaError):
            ensure_schema(db, notes_v1)
    finally:
        db.close()
    assert _versions(store_place)["notes"] == 3


def test_a_percent_sign_and_a_question_mark_in_values_are_kept(store_place) -> None:
    rooms = RoomStore(store_place)
    try:
        rooms.register("#100%", "carol", RoomState(topic="50% off? ok %s"), history_from=0)
        assert rooms.find("#100%").state.topic == "50% off? ok %s"
    finally:
        rooms.close()


def test_a_store_opened_on_a_postgresql_url_loads_psycopg_and_sqlite_does_not(
    store_place,
) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from server.accounts import AccountStore; "
        f"AccountStore({store_place!r}).close(); print('psycopg' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == str(is_postgresql(store_place))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://kibitz:s3cret@db:5433/chat", "postgresql://kibitz:***@db:5433/chat"),
        ("postgresql://kibitz@db/chat", "postgresql://kibitz@db/chat"),
        (
            "postgresql://db/chat?user=k&password=s3cret&sslmode=require",
            "postgresql://db/chat?user=k&password=***&sslmode=require",
        ),
        ("postgresql://k:s3cret@[::1/chat", "<unparsable URL>"),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redact(url) == shown
