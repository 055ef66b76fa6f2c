"""A small pool of SQLite connections shared by every thread.

A connection per handler thread would cost descriptors and page cache for as long as
the thread object lives; a bounded pool costs ``size`` of each, whatever the number of
threads, and closes them deterministically.
"""

from __future__ import annotations

import _thread
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")


class SQLitePool:
    """At most ``size`` connections to one database file, lent one at a time."""

    def __init__(
        self,
        path: str | Path,
        size: int,
        setup: Callable[[sqlite3.Connection], None] | None = None,
        isolation_level: Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None = "DEFERRED",
    ) -> None:
        self.path = Path(path)
        self._setup = setup
        self._isolation_level = isolation_level
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    def connect(self) -> sqlite3.Connection:
        """A new connection with the pool's settings (not lent: the caller owns it)."""
        db = sqlite3.connect(
            self.path, timeout=30, check_same_thread=False, isolation_level=self._isolation_level
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if self._setup is not None:
            self._setup(db)
        return db

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection (waiting while all are lent); it goes back afterwards."""
        with self._slots:
            with self._lock:
                db = self._idle.pop() if self._idle else None
            if db is None:
                db = self.connect()
            try:
                yield db
            finally:
                with self._lock:
                    keep = not self._closed
                    if keep:
                        self._idle.append(db)
                if not keep:
                    db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection inside ``BEGIN IMMEDIATE``: committed when the block ends,
        rolled back when it raises (for pools made with ``isolation_level=None``)."""
        with self.connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close the idle connections; those still lent close when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()


class Offload:
    """One thread that runs short calls for the others, each caller waiting for its answer.

    SQLite's C stack is deep: a query run on a connection's reader thread leaves that
    thread's stack a page larger (4 KiB of every idle client, for as long as it is
    connected). Queries every connection makes, such as registration's accounts
    lookup, run here instead. ``threads`` threads (started with the first call) take the
    calls in turn, so one slow call does not hold up the others behind it; after
    :meth:`close`, calls run on the caller's thread.
    """

    def __init__(self, name: str, threads: int = 1) -> None:
        self._name = name
        self._size = max(1, threads)
        self._lock = threading.Lock()
        self._calls: queue.SimpleQueue[tuple[Callable[..., Any], tuple, list, Any] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._closed = False

    def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the offload thread: its result, or its exception raised here."""
        done = _thread.allocate_lock()
        done.acquire()
        answer: list[tuple[bool, Any]] = []
        with self._lock:
            me = threading.get_ident()
            here = self._closed or any(t.ident == me for t in self._threads)
            if not here:
                if not self._threads:
                    for _ in range(self._size):
                        thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                        thread.start()
                        self._threads.append(thread)
                self._calls.put((fn, args, answer, done))
        if here:
            return fn(*args)
        done.acquire()
        ok, value = answer[0]
        if ok:
            return value
        raise value

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            fn, args, answer, done = call
            try:
                answer.append((True, fn(*args)))
            except BaseException as exc:  # handed to the caller, raised there
                answer.append((False, exc))
            done.release()

    def close(self) -> None:
        """Stop the threads once the calls already queued have run."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            for _ in threads:
                self._calls.put(None)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join()
