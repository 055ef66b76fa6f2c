"""The names of the accounts of an SQLite store, in memory, checked against the file.

Every registration asks whether its nick is an account's name (nick reservation), when
it completes (and so does every NICK after it). Asked of the database, that is a query on
the accounts store's own thread (see :class:`~server.dbpool.Offload`) and two thread
hand-offs per question, each waiting for the interpreter lock while the other
connections' threads want it too: a burst of clients connecting at once queued on
them. The names are few and change rarely, so they are kept here.

Nothing is ever stale: before each answer the cache asks SQLite whether anything was
committed to the file since the names were read (``PRAGMA data_version``, on a
connection of the cache's own that never writes, so that every commit, this server's
included, counts as another connection's). That costs no query of a table and runs
on the asking thread without deepening its C stack (a table query would leave a page
more on every idle client's thread). After a commit, to any table of the file (read
markers and rooms live there too), the names are read again, once, on the store's
thread. So an account the admin command (``python -m server.accounts``) makes while
the server runs is reserved for the very next registration.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from .protocol.names import casefold


class AccountNames:
    """Whether a name is an account's, for a store in the SQLite file ``path``."""

    def __init__(self, path: str | Path, load: Callable[[], set[str]]) -> None:
        #: Reads every account's (casefolded) name; the store runs it on its own thread.
        self._load = load
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA query_only=1")
        self._version: int | None = None
        self._names: set[str] = set()

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = casefold(name)
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                # Read after the version: a commit in between is read now and seen as a
                # change next time (one read too many, never one too few).
                self._names = self._load()
                self._version = version
            return key in self._names

    def close(self) -> None:
        """Close the cache's connection."""
        with self._lock:
            self._db.close()
