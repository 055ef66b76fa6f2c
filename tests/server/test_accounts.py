"""The account store and its admin command, on real SQLite files in a temporary directory."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from server.accounts import (
    AccountError,
    AccountExists,
    AccountStore,
    InvalidName,
    InvalidPassword,
    NoSuchAccount,
    check_password,
    hash_password,
)

FP = "AB:" * 31 + "AB"


@pytest.fixture
def store(tmp_path):
    accounts = AccountStore(tmp_path)
    yield accounts
    accounts.close()


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


def test_the_password_is_never_stored_only_a_memory_hard_hash(store, tmp_path):
    store.create("alice", "sup3r-secret-pw")
    store.close()
    raw = (tmp_path / "accounts.sqlite3").read_bytes()
    assert b"sup3r-secret-pw" not in raw
    db = sqlite3.connect(tmp_path / "accounts.sqlite3")
    (stored,) = db.execute("SELECT password_hash FROM accounts").fetchone()
    db.close()
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


def test_two_stores_on_one_directory_see_each_others_changes(tmp_path):
    server_side, admin_side = AccountStore(tmp_path), AccountStore(tmp_path)
    try:
        assert server_side.find("carol") is None
        admin_side.create("carol", "pw")
        assert server_side.authenticate("carol", "pw") is not None
        admin_side.remove("carol")
        assert server_side.find("carol") is None
    finally:
        server_side.close()
        admin_side.close()


def _admin(tmp_path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.accounts", "--data-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def test_the_admin_command_adds_lists_changes_and_removes(tmp_path):
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
    done = _admin(tmp_path, "add", "erin", stdin="")
    assert done.returncode == 1 and "Traceback" not in done.stderr
