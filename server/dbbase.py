"""What both database backends share: their errors, a cursor's shape, a URL fit for logs.

Kept apart from ``database.py`` so that the PostgreSQL backend, which ``database.py``
opens on demand, imports nothing back from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit


class DatabaseError(Exception):
    """A database that cannot be opened or used; ``str()`` says why."""


class SchemaError(DatabaseError):
    """The database holds a schema this code cannot use."""


class Unreachable(DatabaseError):
    """The database server cannot be reached now (down, restarting, network): worth
    trying again later, unlike a broken query."""


class Cursor(Protocol):
    """What a query answers: rows as tuples, and how many rows it changed."""

    @property
    def rowcount(self) -> int:
        """Rows changed by an INSERT, UPDATE or DELETE."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """The rows left."""
        ...

    def __iter__(self) -> Iterator[Any]:
        """The rows left, one at a time."""
        ...


def redact(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (for logs and errors): the
    one after the user name and a ``password=`` parameter alike."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
        if parts.query:
            query = [
                f"{key}=***" if key == "password" else f"{key}{sep}{value}"
                for key, sep, value in (item.partition("=") for item in parts.query.split("&"))
            ]
            parts = parts._replace(query="&".join(query))
        return urlunsplit(parts)
    except ValueError:
        return "<unparsable URL>"
