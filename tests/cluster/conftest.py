"""Nodes of one network in this test process: real servers, a real Redis (the
``redis_port`` fixture), keys and channels under the test's own ``redis_prefix``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from server.server import ChatServer
from tests.conftest import ServerFactory
from tests.support.ircclient import IRCClient

#: Short leases, so a lost node is noticed within a test's patience.
LEASE = {"cluster_lease": 2.0}


@pytest.fixture
def cluster_url(redis_port: int) -> str:
    """The Redis URL the test's nodes share."""
    return f"redis://127.0.0.1:{redis_port}/0"


@pytest.fixture
def make_node(
    make_server: ServerFactory, cluster_url: str, redis_prefix: str
) -> Callable[..., ChatServer]:
    """Start a node of the test's network: ``make_node("a", **options)``."""

    def start(name: str, **options: object) -> ChatServer:
        settings = {**LEASE, "name": f"{name}.test", "cluster": cluster_url, **options}
        return make_server(node=name, cluster_prefix=redis_prefix, **settings)

    return start


@pytest.fixture
def client_of() -> Iterator[Callable[..., IRCClient]]:
    """Open a connection to a node (``client_of(node, "alice")`` registers it)."""
    clients: list[IRCClient] = []

    def open_client(
        server: ChatServer, nick: str | None = None, caps: tuple[str, ...] = ()
    ) -> IRCClient:
        client = IRCClient(server.port)
        clients.append(client)
        if nick is not None:
            client.register(nick, caps)
        return client

    yield open_client
    for client in clients:
        client.close()
