"""PostgreSQL and Redis for the tests: the machine's when they answer, else private ones.

The machine's services are used when they answer (PostgreSQL on 127.0.0.1:5432 with
trust authentication for the user postgres, Redis on 127.0.0.1:6379). Otherwise a
private instance is started on a free port in a temporary directory and stopped at the
end of the session (PostgreSQL as the user postgres when the tests run as root: it
refuses to run as root). Tests never touch data they did not make: a session has a
PostgreSQL database of its own (``kibitz_test_<random>``, dropped afterwards), and Redis
keys under a prefix of their own (deleted afterwards).

``python -m tests.support.services missing`` prints the Debian packages needed for a
service that neither answers nor can be started here (``make system-deps`` installs them).
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.ports import unused_port

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: Seconds a private instance may take to start.
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port nothing listens on now, on loopback (for a private instance)."""
    return unused_port()


def answers(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def _wait_until(ready: object, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():  # type: ignore[operator]
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {START_TIMEOUT:.0f} s")
        time.sleep(0.05)


# --- PostgreSQL ---------------------------------------------------------------------------
def postgres_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, if PostgreSQL is installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(candidate).parent
    return None


def _pg_ready(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def _as_postgres(command: list[str]) -> list[str]:
    """``command`` run as the user postgres when this is root (postgres refuses root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


class PrivatePostgres:
    """A PostgreSQL instance of one's own on a free port in a temporary directory, which
    can be stopped and started again (same port, same data) to play a database outage."""

    def __init__(self) -> None:
        binaries = postgres_binaries()
        if binaries is None:
            raise RuntimeError(
                "PostgreSQL neither answers on 127.0.0.1:5432 nor is installed: "
                "make system-deps installs it (apt-get install postgresql)"
            )
        self.directory = Path(tempfile.mkdtemp(prefix="kibitz-pg-"))
        self._data = self.directory / "data"
        self.port = free_port()
        self._pg_ctl = str(binaries / "pg_ctl")
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        initdb = [str(binaries / "initdb"), "-D", str(self._data), "-U", PG_USER, "-A", "trust"]
        self._run(initdb, check=True)
        #: The URL of its ``postgres`` database.
        self.url = f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, command: list[str], check: bool) -> None:
        # The directory is the postgres user's: the working directory may not be.
        subprocess.run(
            _as_postgres(command),
            check=check,
            capture_output=True,
            timeout=START_TIMEOUT,
            cwd=self.directory,
        )

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        options += " -c fsync=off"
        log = str(self.directory / "log")
        self._run(
            [self._pg_ctl, "-D", str(self._data), "-o", options, "-l", log, "-w", "start"], True
        )
        _wait_until(lambda: _pg_ready(self.url), "PostgreSQL")

    def stop(self) -> None:
        """Stop it at once (its clients' connections are cut, as in a crash)."""
        self._run([self._pg_ctl, "-D", str(self._data), "-m", "immediate", "-w", "stop"], False)

    def remove(self) -> None:
        """Stop it and delete its directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started :class:`PrivatePostgres`, removed after the block."""
    instance = PrivatePostgres()
    try:
        instance.start()
        yield instance
    finally:
        instance.remove()


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's ``postgres`` database: the machine's if it answers,
    else a private instance started for the duration of the block."""
    machine = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
    if answers(PG_HOST, PG_PORT) and _pg_ready(machine):
        yield machine
        return
    with private_postgres() as instance:
        yield instance.url


def with_database(url: str, name: str) -> str:
    """``url`` (a server's URL) naming the database ``name`` instead."""
    return url.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new database of its own (``kibitz_test_<random>``) on the server, dropped after
    the block; its URL."""
    import psycopg

    name = f"kibitz_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def postgres_schema(database_url: str) -> Iterator[str]:
    """A new schema of its own in the database, dropped after the block; a URL whose
    connections see only it (their ``search_path``)."""
    import psycopg

    name = f"t_{secrets.token_hex(4)}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{database_url}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')


def is_postgresql(place: str) -> bool:
    """Whether a store's place (see the ``store_place`` fixture) is a PostgreSQL URL."""
    return place.startswith("postgresql://")


def server_options(place: str, data_dir: object) -> dict[str, object]:
    """A server's options keeping its accounts at ``place`` (its history in ``data_dir``)."""
    return {"data_dir": str(data_dir), "database": place if is_postgresql(place) else None}


# --- Redis --------------------------------------------------------------------------------
def redis_command(port: int, *args: str, host: str = REDIS_HOST) -> object:
    """Send one command to Redis (RESP) and return its answer (bytes, int, list, None);
    an error reply raises RuntimeError."""
    request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request.encode())
        reader = sock.makefile("rb")
        return _resp(reader)


def _resp(reader: object) -> object:
    line = reader.readline()  # type: ignore[attr-defined]
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2]  # type: ignore[attr-defined]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_resp(reader) for _ in range(count)]
    raise RuntimeError(f"not a RESP reply: {line!r}")


def _redis_ready(port: int) -> bool:
    try:
        return redis_command(port, "PING") == b"PONG"
    except (OSError, RuntimeError):
        return False


class PrivateRedis:
    """A redis-server of one's own on a free port in a temporary directory (nothing
    saved to disk), which can be stopped and started again on the same port to play a
    Redis outage."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "Redis neither answers on 127.0.0.1:6379 nor is installed: "
                "make system-deps installs it (apt-get install redis-server)"
            )
        self.directory = tempfile.mkdtemp(prefix="kibitz-redis-")
        self.port = free_port()
        self._command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self._command += ["--appendonly", "no", "--daemonize", "no", "--dir", self.directory]
        self._proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start it and wait until it answers."""
        self._proc = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_until(lambda: _redis_ready(self.port), "redis-server", self._proc)

    def stop(self) -> None:
        """Stop it at once (SIGKILL: its clients' connections are cut, as in a crash)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=START_TIMEOUT)
            self._proc = None

    def remove(self) -> None:
        """Stop it and delete its directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A started :class:`PrivateRedis`, removed after the block."""
    instance = PrivateRedis()
    try:
        instance.start()
        yield instance
    finally:
        instance.remove()


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    """The port of a Redis server: the machine's if it answers, else a private instance
    (nothing saved to disk) for the duration of the block."""
    if _redis_ready(REDIS_PORT):
        yield REDIS_PORT
        return
    with private_redis() as instance:
        yield instance.port


def delete_keys(port: int, prefix: str) -> int:
    """Delete every key under ``prefix``; how many there were."""
    deleted, cursor = 0, "0"
    while True:
        cursor_bytes, keys = redis_command(port, "SCAN", cursor, "MATCH", prefix + "*")  # type: ignore[misc]
        if keys:
            deleted += int(redis_command(port, "DEL", *(k.decode() for k in keys)))  # type: ignore[call-overload]
        cursor = cursor_bytes.decode()
        if cursor == "0":
            return deleted


# --- what make system-deps installs ------------------------------------------------------
def missing_packages() -> list[str]:
    """Debian packages for the services that neither answer nor are installed."""
    missing = []
    if not answers(PG_HOST, PG_PORT) and postgres_binaries() is None:
        missing.append("postgresql")
    if not answers(REDIS_HOST, REDIS_PORT) and shutil.which("redis-server") is None:
        missing.append("redis-server")
    return missing


if __name__ == "__main__":
    if sys.argv[1:] != ["missing"]:
        sys.exit("usage: python -m tests.support.services missing")
    print(" ".join(missing_packages()))
