"""The PostgreSQL backend of :mod:`server.database`: psycopg 3 with a connection pool.

Imported only when ``--database postgresql://…`` is given, so a server on SQLite never
loads psycopg. The stores' SQL is the same as on SQLite; the only translation, made here
once per statement, is the placeholder style (``?`` becomes ``%s``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from .database import Cursor, DatabaseError, redact

#: Connections the pool keeps open at least, and lends at most (the stores share it).
MIN_SIZE = 1
MAX_SIZE = 4
#: Seconds to connect, and to wait for a free connection before the call fails.
CONNECT_TIMEOUT = 10
WAIT_TIMEOUT = 10.0
#: The advisory lock that makes creating and migrating the schema one process at a time.
SCHEMA_LOCK = 0x6B6962_69747A  # "kibitz"


@functools.lru_cache(maxsize=256)
def placeholders(sql: str) -> str:
    """``sql`` in psycopg's style: each ``?`` becomes ``%s`` (a literal ``%`` is doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Transaction:
    """A pooled psycopg connection inside its transaction, taking ``?`` placeholders."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        """Run one statement."""
        return self._conn.execute(placeholders(sql), tuple(parameters))

    def executemany(self, sql: str, parameters: Any, /) -> object:
        """Run one statement for each parameter sequence."""
        rows = list(parameters)
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany(placeholders(sql), rows)
        return None


class PostgresDatabase:
    """A pool of connections to one PostgreSQL database, safe from every thread."""

    kind = "postgresql"
    Error: type[Exception] = psycopg.Error
    IntegrityError: type[Exception] = psycopg.IntegrityError

    def __init__(self, url: str) -> None:
        self.where = redact(url)
        # One connection first, outside the pool: a database that cannot be reached is
        # an error now, with libpq's reason, rather than the pool retrying quietly.
        try:
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT).close()
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to {self.where}: {_reason(exc)}") from None
        self._pool = ConnectionPool(
            url,
            min_size=MIN_SIZE,
            max_size=MAX_SIZE,
            kwargs={"connect_timeout": CONNECT_TIMEOUT},
            # A connection idle across a database restart is checked before it is lent,
            # so the restart costs no failed call.
            check=ConnectionPool.check_connection,
            timeout=WAIT_TIMEOUT,
            name="kibitz",
            open=True,
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        """A pooled connection in a transaction: committed after the block, rolled back
        when it raises."""
        with self._pool.connection() as conn, conn.transaction():
            yield _Transaction(conn)

    def lock_schema(self, tx: Any) -> None:
        """Hold the schema lock until ``tx`` ends (servers sharing the database may start
        together; CREATE TABLE IF NOT EXISTS alone races)."""
        tx.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))

    def close(self) -> None:
        """Close the pool's connections."""
        self._pool.close()


def _reason(exc: BaseException) -> str:
    """libpq's message, on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__
