"""What a server keeps: history, its search index, accounts, rooms and read markers.

Opened together from a :class:`Config` and closed together, in an order that matters:
the stores before the database they share, the data directory's lock last.

The history lives beside the accounts: in ``history.sqlite3`` in the data directory,
or, with ``--database``, in the PostgreSQL database (:mod:`server.history_pg`, loaded
only then), where every server given that database shares it. Both backends are a
:class:`~server.history_api.History` and a :class:`~server.history_api.Search`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .accounts import FILENAME, AccountError, AccountStore
from .config import Config
from .database import Database, DatabaseError, open_database
from .datalock import DataDirInUse, DataDirLock
from .history import HistoryError, HistoryStore
from .history_api import History, Search
from .readmarkers import ReadMarkerStore
from .rooms import RoomStore
from .search import SearchIndex


@dataclass
class Stores:
    """The stores a server has open; each None when its configuration has none."""

    history: History | None = None
    #: The full-text search of the history (None when history is off).
    search: Search | None = None
    #: The accounts, kept in the data directory or the PostgreSQL database.
    accounts: AccountStore | None = None
    rooms: RoomStore | None = None  #: the registered rooms, kept beside the accounts
    markers: ReadMarkerStore | None = None  #: read markers, beside the accounts
    #: This server's hold on its data directory (None without one).
    data_lock: DataDirLock | None = None
    #: The PostgreSQL database the account stores share (None: SQLite files).
    database: Database | None = None

    def close(self) -> None:
        """Close the stores that are open, then their shared database, then let go of
        the data directory."""
        stores = (self.search, self.history, self.accounts, self.rooms, self.markers)
        for store in (*stores, self.database):
            if store is not None:
                store.close()
        if self.data_lock is not None:
            self.data_lock.release()  # last: the stores are closed


def open_stores(config: Config) -> Stores:
    """Open what ``config`` asks for; on failure close what was opened and raise
    :class:`DataDirInUse`, :class:`HistoryError` or :class:`AccountError`."""
    stores = Stores()
    if not (config.data_dir or config.database):
        return stores
    try:
        if config.data_dir:
            stores.data_lock = DataDirLock(config.data_dir)
        # The history opens first in the data directory and after the accounts in a
        # database, so a database that cannot be reached is reported as the accounts'.
        if config.history and not config.database:
            stores.history, stores.search = _open_history(config)
        where: str | Database | None = config.data_dir
        if config.database:
            # One pool for the three stores: a connection each would be idle most of the time.
            try:
                stores.database = where = open_database(config.database, FILENAME)
            except DatabaseError as exc:
                raise AccountError(f"cannot use the accounts database: {exc}") from exc
        assert where is not None
        stores.accounts = AccountStore(where)
        stores.rooms = RoomStore(where)
        stores.markers = ReadMarkerStore(where)
        if config.history and config.database:
            stores.history, stores.search = _open_history(config)
    except (DataDirInUse, HistoryError, AccountError):
        stores.close()
        raise
    return stores


def _open_history(config: Config) -> tuple[History | None, Search | None]:
    """The history and its search where ``config`` keeps them (PostgreSQL with
    ``--database``, else the data directory); raises :class:`HistoryError`."""
    # Messages per target, days, MiB: what both stores take after their place.
    retention = (config.history_max_per_target, config.history_days, config.history_max_mb)
    if config.database:
        try:
            from .history_pg import PostgresHistory  # psycopg: loaded only where it is used
            from .search_pg import PostgresSearch
        except ImportError as exc:
            raise HistoryError(
                f"PostgreSQL needs psycopg and psycopg_pool ({exc}): "
                "pip install 'kibitz[postgresql]'"
            ) from None
        shared = PostgresHistory(config.database, *retention)
        return shared, PostgresSearch(shared.database, timeout=config.search_timeout)
    if not config.data_dir:
        return None, None
    history = HistoryStore(Path(config.data_dir) / "history.sqlite3", *retention)
    try:
        search = SearchIndex(history.path, history.busy, timeout=config.search_timeout)
    except HistoryError:
        history.close()
        raise
    return history, search
