"""The subscriber thread survives a connection closed under it (redis-py raises
ValueError, not a RedisError, when it reads a socket file that has been closed)."""

from __future__ import annotations

import threading

import redis

from server.cluster.link import Link
from tests.support.waiting import wait_for


def test_a_read_of_a_closed_connection_reconnects_the_link(redis_port, redis_prefix, mocker):
    states: list[bool] = []
    got: list[dict] = []

    def on_message(channel: str, run: list[dict]) -> None:
        got.extend(run)

    link = Link(
        f"redis://127.0.0.1:{redis_port}/0",
        on_message,
        states.append,
        lambda: None,
        retry=(0.05, 0.1),
        idle=0.2,
    )
    channel = redis_prefix + "chat"
    link.start([channel, redis_prefix + "wake"], timeout=5)
    try:
        real = redis.client.PubSub.get_message
        failed = threading.Event()

        def closed_once(self, *args, **kwargs):
            if not failed.is_set():
                failed.set()
                raise ValueError("I/O operation on closed file.")
            return real(self, *args, **kwargs)

        mocker.patch.object(redis.client.PubSub, "get_message", closed_once)
        wait_for(lambda: failed.is_set() and states[-1:] == [True] and False in states)
        # The link is up again and subscribed: a message published now arrives.
        link.publish(channel, {"text": "after"})
        wait_for(lambda: {"text": "after"} in got)
        assert link.up()
    finally:
        link.stop()
        link.close()
