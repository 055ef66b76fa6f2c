"""Where the accounts, read markers and registered rooms live: SQLite or PostgreSQL.

The stores write their SQL once, in the subset both engines speak: ``?`` placeholders
(the PostgreSQL backend turns them into ``%s``), ``INSERT … ON CONFLICT (…) DO …`` for
upserts, TEXT and BIGINT columns. A store gets a :class:`Database` from :func:`open_database`
(its own) or from the server (one shared by the stores): both backends lend a connection
in a transaction, committed when the block ends and rolled back when it raises.

Each store's tables are a component with a version, a row of the ``schema_version``
table; :func:`ensure_schema` creates them, runs the migrations up to the version the code
knows, and refuses a database made by a newer version.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from .dbbase import Cursor as Cursor
from .dbbase import DatabaseError as DatabaseError
from .dbbase import SchemaError as SchemaError
from .dbbase import Unreachable as Unreachable
from .dbbase import redact as redact
from .dbpool import SQLitePool

#: Connections to an SQLite file per store (lookups are short; writes take turns anyway).
SQLITE_POOL_SIZE = 2
#: URL schemes that select PostgreSQL (libpq accepts both).
POSTGRESQL_SCHEMES = ("postgresql", "postgres")

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version BIGINT NOT NULL
)
"""


class Transaction(Protocol):
    """One connection inside a transaction (``sqlite3.Connection`` is one)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor:
        """Run one statement with ``?`` placeholders."""
        ...

    def executemany(self, sql: str, parameters: Any, /) -> object:
        """Run one statement for each parameter sequence."""
        ...


class Database(Protocol):
    """A pool of connections to one database (SQLite file or PostgreSQL)."""

    #: "sqlite" or "postgresql".
    kind: str
    #: The file or the URL without its password, for messages.
    where: str
    #: The engine's exception classes: any error, and a broken constraint.
    Error: type[Exception]
    IntegrityError: type[Exception]

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A connection in a transaction: committed after the block, rolled back on error."""
        ...

    def lock_schema(self, tx: Transaction) -> None:
        """Keep other processes from changing the schema until ``tx`` ends."""
        ...

    def close(self) -> None:
        """Close the connections."""
        ...


class SQLiteDatabase(SQLitePool):
    """An SQLite file behind the :class:`Database` interface (foreign keys on)."""

    kind = "sqlite"
    Error: type[Exception] = sqlite3.Error
    IntegrityError: type[Exception] = sqlite3.IntegrityError

    def __init__(self, path: str | Path, size: int = SQLITE_POOL_SIZE) -> None:
        super().__init__(path, size, setup=_foreign_keys, isolation_level=None)
        self.where = str(self.path)

    def lock_schema(self, tx: Transaction) -> None:
        """Nothing to do: the transaction is ``BEGIN IMMEDIATE``, one writer at a time."""


def _foreign_keys(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA foreign_keys=ON")


def is_postgresql(where: str | Path) -> bool:
    """Whether ``where`` is a PostgreSQL URL (else a data directory)."""
    return isinstance(where, str) and urlsplit(where).scheme in POSTGRESQL_SCHEMES


def check_url(url: str) -> str:
    """``url`` if it selects PostgreSQL, else ValueError saying what is expected."""
    if not is_postgresql(url):
        raise ValueError(
            f"--database takes a postgresql://USER@HOST:PORT/DBNAME URL, not {redact(url)!r}"
        )
    return url


def open_database(where: str | Path, filename: str) -> Database:
    """A database of one's own: PostgreSQL when ``where`` is a URL, else the SQLite file
    ``filename`` in the data directory ``where`` (made if missing)."""
    if is_postgresql(where):
        try:
            from .postgres import PostgresDatabase  # psycopg: loaded only where it is used
        except ImportError as exc:
            raise DatabaseError(
                f"PostgreSQL needs psycopg and psycopg_pool ({exc}): "
                "pip install 'kibitz[postgresql]'"
            ) from None
        return PostgresDatabase(str(where))
    path = Path(where) / filename
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteDatabase(path)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseError(f"cannot use {path}: {exc}") from exc


def open_store(
    where: str | Path | Database,
    filename: str,
    components: Sequence[Component],
) -> tuple[Database, bool]:
    """The database a store uses, with its ``components`` made or migrated, and whether
    the store owns it (closes it): a :class:`Database` the server gives is shared, one
    opened here from a URL or a data directory is the store's. Any failure is a
    :class:`DatabaseError` naming the database."""
    db = where if not isinstance(where, (str, Path)) else open_database(where, filename)
    owned = isinstance(where, (str, Path))
    try:
        for component in components:
            ensure_schema(db, component)
    except DatabaseError:
        if owned:
            db.close()
        raise
    except (OSError, db.Error) as exc:
        if owned:
            db.close()
        raise DatabaseError(f"cannot use {db.where}: {exc}") from exc
    return db, owned


def statements(script: str) -> list[str]:
    """The statements of a schema script (they hold no ``;`` of their own)."""
    return [s.strip() for s in script.split(";") if s.strip()]


@dataclass(frozen=True)
class Component:
    """The tables of one store: a name (its ``schema_version`` row), the version this
    code knows, the schema that makes them at that version (CREATE … IF NOT EXISTS), and
    for each later version n the statements that take version n-1 to n."""

    name: str
    version: int
    schema: str
    migrations: Mapping[int, str] = field(default_factory=dict)


def ensure_schema(db: Database, component: Component) -> None:
    """Make ``component``'s tables: its schema in a database without them, else its
    migrations from the stored version on.

    One process at a time: several servers sharing a PostgreSQL database may start
    together. A database whose stored version is newer than ``version`` is refused.
    """
    with db.transaction() as tx:
        db.lock_schema(tx)
        tx.execute(_VERSION_TABLE)
        row = tx.execute(
            "SELECT version FROM schema_version WHERE component = ?", (component.name,)
        ).fetchone()
        stored = None if row is None else int(row[0])
        version = component.version
        if stored is None:
            for statement in statements(component.schema):
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_version (component, version) VALUES (?, ?)",
                (component.name, version),
            )
            return
        if stored > version:
            raise SchemaError(
                f"the {component.name} tables in {db.where} are at version {stored}, newer than "
                f"this Kibitz knows ({version}): run a newer Kibitz"
            )
        for step in range(stored + 1, version + 1):
            for statement in statements(component.migrations[step]):
                tx.execute(statement)
        if stored < version:
            tx.execute(
                "UPDATE schema_version SET version = ? WHERE component = ?",
                (version, component.name),
            )
