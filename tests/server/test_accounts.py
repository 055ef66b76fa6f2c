"""The account store and its admin command, on both backends: a real SQLite file in a
temporary directory, and a real PostgreSQL database (a schema of the test's own)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from server.accounts import (
    FILENAME,
    AccountError,
    AccountExists,
    AccountStore,
    InvalidName,
    InvalidPassword,
    NoSuchAccount,
    check_password,
    hash_password,
)
from tests.support.services import free_port

FP = "AB:" * 31 + "AB"


@pytest.fixture
def store(store_place):
    accounts = AccountStore(store_place)
    yield accounts
    accounts.close()


def _column(place: str, sql: str) -> list[object]:
    """The first column of a query's rows, read straight from the database."""
    if place.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(place) as db:
            return [row[0] for row in db.execute(sql)]
    db = sqlite3.connect(f"{place}/{FILENAME}")
    try:
        return [row[0] for row in db.execute(sql)]
    finally:
        db.close()


def test_an_account_signs_in_with_its_password_only(store):
    created = store.create("Alice", "correct horse")
    assert (created.name, created.display) == ("alice", "Alice")
    assert store.authenticate("ALICE", "correct horse") == created
    assert store.authenticate("alice", "wrong") is None
    assert store.authenticate("nobody", "correct horse") is None
    assert store.find("aLiCe") == created and store.find("bob") is None


def test_names_follow_the_nick_rules_and_are_unique_casefolded(store):
    store.create("Alice", "pw")
    with pytest.raises(AccountExists):
        store.create("aLICE", "other")
    for bad in ("9lives", "-dash", "with space", "", "x" * 31, "é"):
        with pytest.raises(InvalidName):
            store.create(bad, "pw")
    for bad in ("", "x" * 301, "nul\0", "line\nbreak"):
        with pytest.raises(InvalidPassword):
            store.create("bob", bad)
    assert [a.display for a in store.accounts()] == ["Alice"]


def test_the_password_is_never_stored_only_a_memory_hard_hash(store, store_place):
    store.create("alice", "sup3r-secret-pw")
    store.close()
    if not store_place.startswith("postgresql://"):
        assert b"sup3r-secret-pw" not in (Path(store_place) / FILENAME).read_bytes()
    columns = [
        "name",
        "display",
        "password_hash",
        "scram_salt",
        "scram_stored_key",
        "scram_server_key",
    ]
    for column in columns:
        assert "sup3r-secret-pw" not in _column(store_place, f"SELECT {column} FROM accounts")
    (stored,) = _column(store_place, "SELECT password_hash FROM accounts")
    assert isinstance(stored, str)
    assert stored.startswith("scrypt$") and check_password("sup3r-secret-pw", stored)
    assert hash_password("same") != hash_password("same")  # salted
    assert not check_password("x", "md5$abc") and not check_password("x", "garbage")


def test_scram_credentials_change_with_the_password(store):
    store.create("alice", "one")
    first = store.scram("alice")
    assert first is not None and first.iterations >= 4096 and len(first.salt) == 16
    store.set_password("Alice", "two")
    second = store.scram("alice")
    assert second is not None and second.stored_key != first.stored_key
    assert store.authenticate("alice", "two") and not store.authenticate("alice", "one")
    assert store.scram("nobody") is None
    with pytest.raises(NoSuchAccount):
        store.set_password("nobody", "x")


def test_certificates_sign_in_and_go_with_their_account(store):
    store.create("alice", "pw")
    assert store.add_certfp("alice", FP) == "ab" * 32
    assert store.by_certfp(FP.lower().replace(":", "")).name == "alice"
    with pytest.raises(AccountExists):
        store.add_certfp("alice", FP)
    with pytest.raises(AccountError):
        store.add_certfp("alice", "not-a-fingerprint")
    with pytest.raises(NoSuchAccount):
        store.add_certfp("bob", "cd" * 32)
    store.remove("alice")
    assert store.by_certfp(FP) is None and store.find("alice") is None
    with pytest.raises(NoSuchAccount):
        store.remove("alice")


def test_two_stores_on_one_database_see_each_others_changes(store_place):
    server_side, admin_side = AccountStore(store_place), AccountStore(store_place)
    try:
        assert server_side.find("carol") is None
        admin_side.create("carol", "pw")
        assert server_side.authenticate("carol", "pw") is not None
        admin_side.remove("carol")
        assert server_side.find("carol") is None
    finally:
        server_side.close()
        admin_side.close()


def test_whether_a_name_is_taken_follows_every_change_at_once(store_place):
    # Registration asks ``taken`` for every nick; an SQLite store answers from memory,
    # so every way a name comes or goes must be seen by the very next question.
    server_side, other = AccountStore(store_place), AccountStore(store_place)
    try:
        assert not server_side.taken("Carol")
        other.create("carol", "pw")  # another connection (as another server's)
        assert server_side.taken("CAROL") and server_side.taken("carol")
        assert _admin(store_place, "add", "Dave", "--password", "pw").returncode == 0
        assert server_side.taken("dave")  # another process: the admin command
        server_side.create("erin", "pw")  # the store's own change
        assert server_side.taken("Erin")
        other.set_password("carol", "pw2")  # a change that renames nothing
        assert server_side.taken("carol") and not server_side.taken("frank")
        assert _admin(store_place, "remove", "dave").returncode == 0
        other.remove("carol")
        assert not server_side.taken("dave") and not server_side.taken("carol")
        assert server_side.taken("erin")
    finally:
        server_side.close()
        other.close()


def test_a_failed_check_of_the_file_asks_the_table_instead(tmp_path, mocker):
    # The check of the SQLite file cannot be made to fail for real without breaking
    # the store as well: its error is injected, and the answer must still be right.
    import server.account_names

    store = AccountStore(tmp_path)
    try:
        store.create("carol", "pw")
        assert store.taken("carol")
        mocker.patch.object(
            server.account_names.AccountNames,
            "__contains__",
            side_effect=sqlite3.OperationalError("disk I/O error"),
        )
        assert store.taken("Carol") and not store.taken("dave")
    finally:
        store.close()


def _admin(place: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    where = "--database" if place.startswith("postgresql://") else "--data-dir"
    return subprocess.run(
        [sys.executable, "-m", "server.accounts", where, place, *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def test_the_admin_command_adds_lists_changes_and_removes(store_place):
    tmp_path = store_place
    done = _admin(tmp_path, "add", "Dave", "--password", "pw1")
    assert done.returncode == 0 and "Dave" in done.stdout
    again = _admin(tmp_path, "add", "dave", "--password", "x")
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = _admin(tmp_path, "add", "9x", "--password", "x")
    assert bad.returncode == 1 and "cannot be an account name" in bad.stderr
    assert "Dave" in _admin(tmp_path, "list").stdout
    assert _admin(tmp_path, "passwd", "dave", "--password", "pw2").returncode == 0
    assert _admin(tmp_path, "certfp", "add", "dave", FP).returncode == 0
    assert "ab" * 32 in _admin(tmp_path, "certfp", "list", "dave").stdout
    store = AccountStore(tmp_path)
    try:
        assert store.authenticate("dave", "pw2") and not store.authenticate("dave", "pw1")
    finally:
        store.close()
    assert _admin(tmp_path, "remove", "dave").returncode == 0
    missing = _admin(tmp_path, "remove", "dave")
    assert missing.returncode == 1 and "no account" in missing.stderr
    assert _admin(tmp_path, "list").stdout == ""


def test_the_admin_command_without_a_password_and_no_terminal_fails_cleanly(tmp_path):
    done = _admin(str(tmp_path), "add", "erin", stdin="")
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_the_admin_command_refuses_a_database_that_is_no_postgresql_url(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "server.accounts", "--database", "mysql://x@y/z", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--database takes a postgresql://USER@HOST:PORT/DBNAME URL" in done.stderr


def test_the_admin_command_names_a_database_it_cannot_reach():
    port = free_port()  # nothing listens there
    done = _admin(f"postgresql://kibitz:s3cret@127.0.0.1:{port}/kibitz", "list")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"cannot connect to postgresql://kibitz:***@127.0.0.1:{port}/kibitz" in done.stderr
    assert "s3cret" not in done.stderr
