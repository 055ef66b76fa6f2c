"""A history store (and its search) at a test's place, on either backend: the
``store_place`` fixture's data directory (SQLite) or PostgreSQL URL."""

from __future__ import annotations

from pathlib import Path

from server.history import HistoryStore
from server.history_api import History, Search
from server.search import SearchIndex
from tests.support.services import is_postgresql


def open_history(
    place: str, max_per_target: int = 0, max_days: float = 0, max_mb: float = 0
) -> History:
    """The history a server given ``place`` keeps (``history.sqlite3`` in a data
    directory, or the PostgreSQL database)."""
    if is_postgresql(place):
        from server.history_pg import PostgresHistory

        return PostgresHistory(place, max_per_target, max_days, max_mb)
    return HistoryStore(Path(place) / "history.sqlite3", max_per_target, max_days, max_mb)


def open_search(history: History) -> Search:
    """The search of ``history``, as the server opens it."""
    if isinstance(history, HistoryStore):
        return SearchIndex(history.path, history.busy)
    from server.history_pg import PostgresHistory
    from server.search_pg import PostgresSearch

    assert isinstance(history, PostgresHistory)
    return PostgresSearch(history.database)
