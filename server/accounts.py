"""Accounts: who people are, kept in ``accounts.sqlite3`` in the data directory or in a
PostgreSQL database (``--database postgresql://…``, see :mod:`server.database`).

An account has a name (it follows the nick rules; stored casefolded beside its display
form), a password kept only as a memory-hard hash (scrypt), the SCRAM-SHA-256
credentials RFC 5802/7677 need (salt, iterations, StoredKey, ServerKey — never the
password), and any number of TLS client-certificate fingerprints (SASL EXTERNAL).

Every call reads the database afresh (whether a name is taken, asked at every
registration, is answered from memory checked against the file at each question: see
:mod:`server.account_names`), so the admin command (``python -m server.accounts``) may
change accounts while a server runs and the server sees the change at once. The
SQL is the same on both engines, and the ``schema_version`` row ``accounts`` records it.

The admin command (``--database URL`` instead of ``--data-dir DIR`` for PostgreSQL)::

    python -m server.accounts --data-dir DIR add NAME [--password PW]   (prompts if omitted)
    python -m server.accounts --data-dir DIR passwd NAME [--password PW]
    python -m server.accounts --data-dir DIR remove NAME
    python -m server.accounts --data-dir DIR list
    python -m server.accounts --data-dir DIR certfp add|remove NAME FINGERPRINT
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import getpass
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from .account_names import AccountNames
from .database import (
    Component,
    Database,
    DatabaseError,
    SQLiteDatabase,
    Transaction,
    Unreachable,
    check_url,
    open_store,
)
from .dbpool import Offload
from .protocol.names import casefold, valid_nick
from .protocol.sasl import h, hmac_sha256

FILENAME = "accounts.sqlite3"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    display TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    scram_salt TEXT NOT NULL,
    scram_iterations BIGINT NOT NULL,
    scram_stored_key TEXT NOT NULL,
    scram_server_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_certfps (
    fingerprint TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS account_certfps_by_account ON account_certfps (account);
"""
#: The accounts' tables (read markers and rooms refer to them).
COMPONENT = Component("accounts", SCHEMA_VERSION, _SCHEMA)
#: scrypt cost: 2**14 x 8 x 128 bytes = 16 MiB of memory per hash, tens of milliseconds.
SCRYPT_N = 1 << 14
SCRYPT_R = 8
SCRYPT_P = 1
#: PBKDF2 iterations of the SCRAM-SHA-256 credentials (RFC 7677 asks for at least 4096).
SCRAM_ITERATIONS = 4096
#: Passwords longer than this are refused (SASL PLAIN lines are bounded anyway).
MAX_PASSWORD = 300
#: Account names are nicks: the server's NICKLEN.
MAX_NAME = 30


class AccountError(Exception):
    """An account operation that cannot be done; ``str()`` says why in a sentence."""


class StoreUnavailable(AccountError):
    """The database cannot be reached now (PostgreSQL down): try again later."""

    #: What the client is told (``FAIL … TEMPORARILY_UNAVAILABLE``).
    text = "Accounts are temporarily unavailable, try again in a moment"


#: What a client is told while the database cannot be reached.
UNAVAILABLE = StoreUnavailable.text


@contextlib.contextmanager
def guarded(pool: Database) -> Iterator[Transaction]:
    """``pool.transaction()``, an unreachable database raising :class:`StoreUnavailable`
    (the stores' one error for an outage, whatever the store)."""
    try:
        with pool.transaction() as tx:
            yield tx
    except Unreachable as exc:
        raise StoreUnavailable(str(exc)) from None


class AccountExists(AccountError):
    """The name is taken."""


class NoSuchAccount(AccountError):
    """No account has that name."""


class InvalidName(AccountError):
    """The name breaks the nick rules."""


class InvalidPassword(AccountError):
    """The password is empty, too long or not text."""


@dataclass(frozen=True, slots=True)
class Account:
    """One account as stored (no secret in it)."""

    name: str  #: casefolded, the key everything that belongs to the person uses
    display: str  #: as it was registered
    created_at: int  #: seconds since the epoch


@dataclass(frozen=True, slots=True)
class ScramCredentials:
    """What SCRAM-SHA-256 needs to check a client (RFC 5802 section 3)."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def hash_password(password: str) -> str:
    """A self-describing scrypt hash: ``scrypt$N$r$p$salt$key`` (base64 parts)."""
    import hashlib  # OpenSSL's libcrypto: loaded only when used

    salt = os.urandom(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant time)."""
    import hashlib  # OpenSSL's libcrypto: loaded only when used
    import hmac

    try:
        kind, n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        expected = _unb64(key)
        got = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=0x7FFFFFFF,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def scram_credentials(password: str, iterations: int = SCRAM_ITERATIONS) -> ScramCredentials:
    """Fresh SCRAM-SHA-256 credentials for ``password`` (a new salt)."""
    import hashlib  # OpenSSL's libcrypto: loaded only when used

    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return ScramCredentials(
        salt=salt,
        iterations=iterations,
        stored_key=h(hmac_sha256(salted, b"Client Key")),
        server_key=hmac_sha256(salted, b"Server Key"),
    )


def normalize_fingerprint(text: str) -> str:
    """A certificate's SHA-256 fingerprint as lowercase hex, with or without colons."""
    cleaned = text.strip().replace(":", "").lower()
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise AccountError("a fingerprint is 64 hexadecimal digits (SHA-256), colons allowed")
    return cleaned


def check_name(name: str) -> str:
    """``name`` if it may be an account name (the nick rules), else :class:`InvalidName`."""
    if not valid_nick(name, MAX_NAME):
        raise InvalidName(
            f"{name!r} cannot be an account name: use letters, digits and - [ ] \\ ` _ ^ {{ | }}"
            f", not starting with a digit or -, at most {MAX_NAME} characters"
        )
    return name


def check_new_password(password: str) -> str:
    """``password`` if it may be set, else :class:`InvalidPassword`."""
    if not password:
        raise InvalidPassword("the password is empty")
    if len(password) > MAX_PASSWORD:
        raise InvalidPassword(f"the password is longer than {MAX_PASSWORD} characters")
    if any(c in password for c in "\0\r\n"):
        raise InvalidPassword("the password contains a NUL or a line break")
    return password


class AccountStore:
    """The accounts of one data directory or PostgreSQL database; safe from every thread.

    ``where`` is the data directory (``accounts.sqlite3`` in it), a ``postgresql://``
    URL, or a :class:`~server.database.Database` the server shares between its stores.
    """

    def __init__(self, where: str | Path | Database) -> None:
        try:
            self._pool, self._owned = open_store(where, FILENAME, [COMPONENT])
        except DatabaseError as exc:
            raise AccountError(f"cannot use the accounts database: {exc}") from exc
        #: Where the accounts are: the SQLite file, or the URL without its password.
        self.where = self._pool.where
        self._lookups = Offload("kibitz-accounts")
        # Made at the first question (the admin command never asks): see ``taken``.
        self._names: AccountNames | None = None
        self._names_lock = threading.Lock()

    def _db(self) -> AbstractContextManager[Transaction]:
        """A pooled connection, in a transaction committed on success."""
        return guarded(self._pool)

    def close(self) -> None:
        """Close the store's connections (a shared database is closed by its owner)."""
        self._lookups.close()
        if self._names is not None:
            self._names.close()
        if self._owned:
            self._pool.close()

    # --- accounts --------------------------------------------------------------------
    def create(self, name: str, password: str) -> Account:
        """Register a new account; :class:`AccountExists` when the name is taken."""
        check_name(name)
        check_new_password(password)
        key = casefold(name)
        hashed = hash_password(password)
        scram = scram_credentials(password)
        created = int(time.time())
        with self._db() as db:
            try:
                db.execute(
                    "INSERT INTO accounts (name, display, password_hash, scram_salt,"
                    " scram_iterations, scram_stored_key, scram_server_key, created_at)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (
                        key,
                        name,
                        hashed,
                        _b64(scram.salt),
                        scram.iterations,
                        _b64(scram.stored_key),
                        _b64(scram.server_key),
                        created,
                    ),
                )
            except self._pool.IntegrityError:
                raise AccountExists(f"the account {name} already exists") from None
        return Account(key, name, created)

    def find(self, name: str) -> Account | None:
        """The account called ``name`` (any case), if there is one (asked on the lookup
        thread: every registration asks, see :class:`Offload`)."""
        return self._lookups.run(self._find, name)

    def taken(self, name: str) -> bool:
        """Whether ``name`` (any case) is an account's name, as :meth:`find` would say.

        Every registration asks. An SQLite store answers from memory, checked against
        the file at every question (see :mod:`server.account_names`); PostgreSQL, shared
        by servers that keep no such check, answers from the database.
        """
        if not isinstance(self._pool, SQLiteDatabase):
            return self.find(name) is not None
        with self._names_lock:
            if self._names is None:
                self._names = AccountNames(
                    self._pool.path, lambda: self._lookups.run(self._all_names)
                )
            names = self._names
        try:
            return name in names
        except sqlite3.Error:
            return self.find(name) is not None  # the check failed: ask the table

    def _all_names(self) -> set[str]:
        with self._db() as db:
            return {row[0] for row in db.execute("SELECT name FROM accounts")}

    def _find(self, name: str) -> Account | None:
        with self._db() as db:
            row = db.execute(
                "SELECT name, display, created_at FROM accounts WHERE name = ?",
                (casefold(name),),
            ).fetchone()
        return Account(*row) if row else None

    def accounts(self) -> list[Account]:
        """Every account, by name."""
        with self._db() as db:
            rows = db.execute(
                "SELECT name, display, created_at FROM accounts ORDER BY name"
            ).fetchall()
        return [Account(*row) for row in rows]

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account if ``password`` is its password, else None (same cost either way)."""
        with self._db() as db:
            row = db.execute(
                "SELECT name, display, created_at, password_hash FROM accounts WHERE name = ?",
                (casefold(name),),
            ).fetchone()
        if row is None:
            check_password(password, _dummy_hash())  # no timing hint that the name is free
            return None
        return Account(*row[:3]) if check_password(password, row[3]) else None

    def scram(self, name: str) -> ScramCredentials | None:
        """The SCRAM-SHA-256 credentials of ``name``'s account, if it exists."""
        with self._db() as db:
            row = db.execute(
                "SELECT scram_salt, scram_iterations, scram_stored_key, scram_server_key"
                " FROM accounts WHERE name = ?",
                (casefold(name),),
            ).fetchone()
        if row is None:
            return None
        return ScramCredentials(_unb64(row[0]), int(row[1]), _unb64(row[2]), _unb64(row[3]))

    def set_password(self, name: str, password: str) -> None:
        """Replace an account's password (its hash and its SCRAM credentials)."""
        check_new_password(password)
        hashed = hash_password(password)
        scram = scram_credentials(password)
        with self._db() as db:
            changed = db.execute(
                "UPDATE accounts SET password_hash = ?, scram_salt = ?, scram_iterations = ?,"
                " scram_stored_key = ?, scram_server_key = ? WHERE name = ?",
                (
                    hashed,
                    _b64(scram.salt),
                    scram.iterations,
                    _b64(scram.stored_key),
                    _b64(scram.server_key),
                    casefold(name),
                ),
            ).rowcount
        if not changed:
            raise NoSuchAccount(f"there is no account {name}")

    def remove(self, name: str) -> None:
        """Delete an account and its certificate fingerprints."""
        with self._db() as db:
            changed = db.execute("DELETE FROM accounts WHERE name = ?", (casefold(name),)).rowcount
        if not changed:
            raise NoSuchAccount(f"there is no account {name}")

    # --- certificates (SASL EXTERNAL) -------------------------------------------------
    def add_certfp(self, name: str, fingerprint: str) -> str:
        """Let the certificate with ``fingerprint`` sign in to ``name``; returns it normalised."""
        fp = normalize_fingerprint(fingerprint)
        with self._db() as db:
            if db.execute("SELECT 1 FROM accounts WHERE name = ?", (casefold(name),)).fetchone():
                try:
                    db.execute(
                        "INSERT INTO account_certfps (fingerprint, account) VALUES (?, ?)",
                        (fp, casefold(name)),
                    )
                except self._pool.IntegrityError:
                    raise AccountExists("that certificate already belongs to an account") from None
                return fp
        raise NoSuchAccount(f"there is no account {name}")

    def remove_certfp(self, name: str, fingerprint: str) -> None:
        """Forget one of an account's certificates."""
        fp = normalize_fingerprint(fingerprint)
        with self._db() as db:
            changed = db.execute(
                "DELETE FROM account_certfps WHERE fingerprint = ? AND account = ?",
                (fp, casefold(name)),
            ).rowcount
        if not changed:
            raise NoSuchAccount(f"the account {name} has no such certificate")

    def certfps(self, name: str) -> list[str]:
        """The fingerprints of an account's certificates."""
        with self._db() as db:
            rows = db.execute(
                "SELECT fingerprint FROM account_certfps WHERE account = ? ORDER BY fingerprint",
                (casefold(name),),
            ).fetchall()
        return [row[0] for row in rows]

    def by_certfp(self, fingerprint: str) -> Account | None:
        """The account a certificate signs in to, if any."""
        try:
            fp = normalize_fingerprint(fingerprint)
        except AccountError:
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT a.name, a.display, a.created_at FROM account_certfps c"
                " JOIN accounts a ON a.name = c.account WHERE c.fingerprint = ?",
                (fp,),
            ).fetchone()
        return Account(*row) if row else None


@functools.cache
def _dummy_hash() -> str:
    """A hash to spend the same time on when the account does not exist."""
    return hash_password(os.urandom(16).hex())


# --- the admin command ------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    import platformdirs

    parser = argparse.ArgumentParser(
        prog="python -m server.accounts",
        description="Manage Kibitz accounts. Works while the server runs; it sees changes at once.",
    )
    parser.add_argument(
        "--data-dir",
        default=platformdirs.user_data_dir("kibitz"),
        help="the server's data directory (default: %(default)s)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="the server's PostgreSQL database (its --database), instead of the data directory",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    add = verbs.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--password", help="the password (asked for when omitted)")
    passwd = verbs.add_parser("passwd", help="change an account's password")
    passwd.add_argument("name")
    passwd.add_argument("--password", help="the new password (asked for when omitted)")
    remove = verbs.add_parser("remove", help="delete an account")
    remove.add_argument("name")
    verbs.add_parser("list", help="list the accounts")
    certfp = verbs.add_parser("certfp", help="TLS client certificates that sign in (EXTERNAL)")
    certfp.add_argument("action", choices=("add", "remove", "list"))
    certfp.add_argument("name")
    certfp.add_argument("fingerprint", nargs="?", help="SHA-256, hex, colons allowed")
    return parser


def _ask_password(name: str) -> str:
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    """``python -m server.accounts``: add, passwd, remove, list, certfp."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.database is not None:
        try:
            check_url(args.database)
        except ValueError as exc:
            parser.error(str(exc))
    try:
        store = AccountStore(args.database or args.data_dir)
        try:
            return _run(store, args)
        finally:
            store.close()
    except (AccountError, EOFError, KeyboardInterrupt) as exc:
        print(f"python -m server.accounts: {exc or 'cancelled'}", file=sys.stderr)
        return 1


def _run(store: AccountStore, args: argparse.Namespace) -> int:
    if args.verb == "add":
        check_name(args.name)
        password = args.password if args.password is not None else _ask_password(args.name)
        account = store.create(args.name, password)
        print(f"account {account.display} created")
    elif args.verb == "passwd":
        if store.find(args.name) is None:
            raise NoSuchAccount(f"there is no account {args.name}")
        password = args.password if args.password is not None else _ask_password(args.name)
        store.set_password(args.name, password)
        print(f"password of {args.name} changed")
    elif args.verb == "remove":
        store.remove(args.name)
        print(f"account {args.name} removed")
    elif args.verb == "list":
        for account in store.accounts():
            created = time.strftime("%Y-%m-%d", time.gmtime(account.created_at))
            print(f"{account.display}\tcreated {created}")
    elif args.action == "list":
        for fp in store.certfps(args.name):
            print(fp)
    elif args.fingerprint is None:
        raise AccountError(f"certfp {args.action} needs a FINGERPRINT")
    elif args.action == "add":
        fp = store.add_certfp(args.name, args.fingerprint)
        print(f"certificate {fp} now signs in to {args.name}")
    else:
        store.remove_certfp(args.name, args.fingerprint)
        print(f"certificate removed from {args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
