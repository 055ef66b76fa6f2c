"""Shared fixtures: a real Kibitz server on an ephemeral port, and scripted IRC peers."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

import pytest

from server.config import Config
from server.server import ChatServer
from tests.support import services
from tests.support.ircclient import IRCClient


@pytest.fixture(autouse=True, scope="session")
def _private_data_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers started as processes keep their history under a temporary directory,
    never in the real user data directory."""
    old = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if old is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = old


class ServerFactory:
    """Starts servers on port 0 and stops them after the test."""

    def __init__(self) -> None:
        self.servers: list[ChatServer] = []

    def __call__(self, clock=None, sleep=None, **options: object) -> ChatServer:
        """A started server; ``clock`` and ``sleep`` replace real time when given."""
        options.setdefault("port", 0)
        options.setdefault("name", "kibitz.test")
        # Tests open many connections from 127.0.0.1; per-address rules are tested from
        # 127.0.0.2 and up (IRCClient's ``bind``), which stay subject to the defaults.
        options.setdefault("exempt", ["127.0.0.1"])
        config = Config(host="127.0.0.1", **options)
        timing = {"clock": clock} if clock is not None else {}
        server = ChatServer(config, sleep=sleep, **timing)
        server.start()
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def make_server() -> Iterator[ServerFactory]:
    """Build servers with chosen options; each is stopped at the end of the test."""
    factory = ServerFactory()
    yield factory
    factory.stop_all()


@pytest.fixture
def server(make_server: ServerFactory) -> ChatServer:
    """A server with the default options (autojoin #general) on an ephemeral port."""
    return make_server()


@pytest.fixture
def connect(server: ChatServer) -> Iterator[Callable[..., IRCClient]]:
    """Open raw connections to ``server``; all are closed after the test."""
    clients: list[IRCClient] = []

    def open_client(
        nick: str | None = None, caps: tuple[str, ...] = (), bind: str | None = None
    ) -> IRCClient:
        client = IRCClient(server.port, bind=bind)
        clients.append(client)
        if nick is not None:
            client.register(nick, caps)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture(autouse=True)
def _no_server_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which the server logged an exception."""
    caplog.set_level(logging.INFO)
    yield
    errors = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("server")
    ]
    assert not errors, [r.getMessage() for r in errors]


# --- PostgreSQL and Redis (see tests/support/services.py) ---------------------------------
@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of this test session's own PostgreSQL database, dropped at the end."""
    with services.postgres_server() as server, services.postgres_database(server) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """A URL whose connections see a schema of this test's own (dropped afterwards)."""
    with services.postgres_schema(postgres_database) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_place(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where a store keeps its tables, once per backend: a data directory (SQLite), then
    a PostgreSQL URL of the test's own."""
    if request.param == "sqlite":
        return str(tmp_path)
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def redis_port() -> Iterator[int]:
    """The port of a Redis server on 127.0.0.1 (the machine's, or one of the session's)."""
    with services.redis_server() as port:
        yield port


@pytest.fixture
def redis_prefix(redis_port: int) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"kibitz-test:{os.getpid()}:{os.urandom(4).hex()}:"
    yield prefix
    services.delete_keys(redis_port, prefix)
