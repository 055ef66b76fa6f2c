"""What the rest of the server uses of the history and its search, whichever backend
keeps them: an SQLite file in the data directory (:mod:`server.history`,
:mod:`server.search`) or a PostgreSQL database (:mod:`server.history_pg`,
:mod:`server.search_pg`). :mod:`server.stores` chooses; commands see only these types.

Both backends order a target's messages by the number in their msgids (a message's
*position*: ``before`` reads ``id < position``, ``after`` ``id > position``) and keep
the same privacy rules: a channel's history starts after its ``floor``, a direct
conversation is keyed by its parties' accounts (:func:`server.history.dm_target`).
"""

from __future__ import annotations

from typing import Protocol

from .accounts import StoreUnavailable
from .history import Conversation
from .history_records import Group, Record, Row
from .search import Query


class HistoryUnavailable(StoreUnavailable):
    """The history database cannot be reached now (PostgreSQL down): a read fails at
    once with this, as an account lookup does; writes stay queued."""

    text = "History is temporarily unavailable, try again in a moment"


class SearchFailed(Exception):
    """A search the database could not run (not an outage, not a timeout)."""


class History(Protocol):
    """A message store: writes queued for one writer thread, reads from any thread."""

    #: Retention (0: no limit): messages per target, days, MiB of database.
    max_per_target: int
    max_days: float
    max_mb: float

    #: The file or the database (its URL without password), for the log.
    where: str

    def add(self, record: Record) -> None:
        """Queue one message for storage; returns at once."""
        ...

    def add_rows(self, rows: list[Row]) -> None:
        """Queue messages as table rows, in order."""
        ...

    def add_groups(self, groups: list[Group], number: bool = False) -> None:
        """Queue groups of rows, in order; with ``number``, give each row its msgid."""
        ...

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything added so far is stored (False: not within ``timeout``,
        or at once while the database cannot be reached)."""
        ...

    def busy(self) -> bool:
        """Whether the writer has work."""
        ...

    def remove(self, target: str, msgid: str, timeout: float = 5.0) -> int:
        """Delete a message of ``target`` and its reactions; the rows removed."""
        ...

    def prune(self, timeout: float = 5.0) -> bool:
        """Apply the retention rules now."""
        ...

    def close(self) -> None:
        """Store what is queued and stop the writer."""
        ...

    def find(self, target: str, msgid: str, floor: int = 0) -> Record | None:
        """The message ``msgid`` of ``target`` (after ``floor``), if stored."""
        ...

    def last_id(self) -> int:
        """A position after every message relayed so far and before every later one."""
        ...

    def locate(self, target: str, ref: str, floor: int = 0) -> tuple[int, int] | None:
        """Where a ``msgid=`` or ``timestamp=`` reference falls: ``(before, after)``."""
        ...

    def before(self, target: str, position: int, limit: int, floor: int = 0) -> list[Record]:
        """Up to ``limit`` messages before ``position``, oldest first."""
        ...

    def after(self, target: str, position: int, limit: int, floor: int = 0) -> list[Record]:
        """Up to ``limit`` messages after ``position``, oldest first."""
        ...

    def between(
        self, target: str, low: int, high: int, limit: int, from_high: bool, floor: int = 0
    ) -> list[Record]:
        """Up to ``limit`` messages strictly between two positions, oldest first."""
        ...

    def latest(
        self,
        target: str,
        limit: int,
        after: int | None = None,
        floor: int = 0,
        without: str = "TOPIC",
    ) -> list[Record]:
        """The ``limit`` newest messages, oldest first (never a topic change)."""
        ...

    def targets(
        self,
        channels: list[str],
        party: str,
        start_ms: int,
        end_ms: int,
        limit: int,
        floors: dict[str, int] | None = None,
    ) -> list[Conversation]:
        """Conversations active between two times, the least recently active first."""
        ...

    def latest_topic(self, target: str, floor: int = 0) -> Record | None:
        """The last topic change stored for a channel (after ``floor``)."""
        ...


class Search(Protocol):
    """Full-text search over a :class:`History` (``soju.im/search``)."""

    def find(self, query: Query) -> list[Record]:
        """The messages matching ``query``, oldest first (SearchTimeout when too slow)."""
        ...

    def close(self) -> None:
        """Stop and close the connections."""
        ...
