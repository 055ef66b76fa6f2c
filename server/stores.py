"""What a server keeps: history, its search index, accounts, rooms and read markers.

Opened together from a :class:`Config` and closed together, in an order that matters:
the stores before the database they share, the data directory's lock last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .accounts import FILENAME, AccountError, AccountStore
from .config import Config
from .database import Database, DatabaseError, open_database
from .datalock import DataDirInUse, DataDirLock
from .history import HistoryError, HistoryStore
from .readmarkers import ReadMarkerStore
from .rooms import RoomStore
from .search import SearchIndex


@dataclass
class Stores:
    """The stores a server has open; each None when its configuration has none."""

    history: HistoryStore | None = None
    #: The full-text index of the history (None when history is off).
    search: SearchIndex | None = None
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
        if config.data_dir and config.history:
            stores.history = HistoryStore(
                Path(config.data_dir) / "history.sqlite3",
                max_per_target=config.history_max_per_target,
                max_days=config.history_days,
                max_mb=config.history_max_mb,
            )
            stores.search = SearchIndex(
                stores.history.path, stores.history.busy, timeout=config.search_timeout
            )
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
    except (DataDirInUse, HistoryError, AccountError):
        stores.close()
        raise
    return stores
