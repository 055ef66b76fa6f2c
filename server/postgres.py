"""The PostgreSQL backend of :mod:`server.database`: psycopg 3 with a connection pool.

Imported only when ``--database postgresql://…`` is given, so a server on SQLite never
loads psycopg. The stores' SQL is the same as on SQLite; the only translation, made here
once per statement, is the placeholder style (``?`` becomes ``%s``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from .dbbase import Cursor, DatabaseError, Unreachable, redact

log = logging.getLogger(__name__)
# The pool logs a warning for every failed attempt to reconnect (several a second during
# an outage); the backend logs the outage once when it starts and once when it ends.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

#: Connections the pool keeps open at least, and lends at most (the stores share it).
MIN_SIZE = 1
MAX_SIZE = 4
#: Seconds the first connection at startup may take (a slow network is no outage yet).
STARTUP_CONNECT_TIMEOUT = 10
#: Seconds to connect, and to wait for a working connection before the call fails with
#: :class:`~server.database.Unreachable`: a command waits at most this long while the
#: database is down, so a client gets its answer quickly.
CONNECT_TIMEOUT = 2
WAIT_TIMEOUT = 2.0
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

    def copy(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run ``COPY … FROM STDIN``, sending ``rows`` (the fastest way to insert many)."""
        with self._conn.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

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

    def __init__(
        self,
        url: str,
        max_size: int = MAX_SIZE,
        what: str = "accounts are",
        logger: logging.Logger = log,
    ) -> None:
        self.where = redact(url)
        #: What the log says is unavailable during an outage, and the log it goes to (a
        #: store with a pool of its own logs its outage once, under its own name).
        self.what = what
        self._log = logger
        self._max_size = max_size
        # One connection first, outside the pool: a database that cannot be reached is
        # an error now, with libpq's reason, rather than the pool retrying quietly.
        try:
            psycopg.connect(url, connect_timeout=STARTUP_CONNECT_TIMEOUT).close()
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to {self.where}: {_reason(exc)}") from None
        self._url = url
        self._pool = self._new_pool()
        #: Whether the database was found unreachable (logged once each way).
        self._down = False
        self._state = threading.Lock()

    def _new_pool(self) -> ConnectionPool:
        return ConnectionPool(
            self._url,
            min_size=MIN_SIZE,
            max_size=self._max_size,
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
        when it raises; :class:`~server.database.Unreachable` while the database is down."""
        if self._down:
            self._probe()
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield _Transaction(conn)
        except (PoolTimeout, PoolClosed):
            # Every connection is broken and none could be made within WAIT_TIMEOUT.
            self._went_down(f"no connection within {WAIT_TIMEOUT:.0f} s")
            raise Unreachable(f"{self.where} cannot be reached") from None
        except psycopg.OperationalError as exc:
            # The server went away under a lent connection; the pool drops that one.
            if not conn_lost(exc):
                raise
            self._went_down(_reason(exc))
            raise Unreachable(f"{self.where} cannot be reached") from None

    def _went_down(self, why: str) -> None:
        with self._state:
            if self._down:
                return
            self._down = True
        self._log.warning(
            "PostgreSQL at %s is unreachable (%s): %s unavailable", self.where, why, self.what
        )

    def _probe(self) -> None:
        """While the database is down, one connection decides each call (at most
        CONNECT_TIMEOUT): still down is :class:`~server.database.Unreachable` at once,
        back is a fresh pool. The old pool's reconnection attempts back off to minutes
        apart; a fresh one works from the first call."""
        with self._state:
            if not self._down:
                return
            try:
                psycopg.connect(self._url, connect_timeout=CONNECT_TIMEOUT).close()
            except psycopg.Error:
                raise Unreachable(f"{self.where} cannot be reached") from None
            old, self._pool = self._pool, self._new_pool()
            self._down = False
        self._log.info("PostgreSQL at %s is reachable again: %s available", self.where, self.what)
        old.close(timeout=0)

    def lock_schema(self, tx: Any) -> None:
        """Hold the schema lock until ``tx`` ends (servers sharing the database may start
        together; CREATE TABLE IF NOT EXISTS alone races)."""
        tx.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))

    def close(self) -> None:
        """Close the pool's connections."""
        self._pool.close()


def conn_lost(exc: psycopg.OperationalError) -> bool:
    """Whether ``exc`` means the connection is gone (rather than, say, a lock timeout)."""
    sqlstate = exc.sqlstate or ""
    # No SQLSTATE: libpq's own error (refused, reset, closed); class 08: connection
    # exception; 57P01-57P03: the server is shutting down or starting.
    return not sqlstate or sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")


def _reason(exc: BaseException) -> str:
    """libpq's message, on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__
