"""The node's connections to Redis: one for commands (a pool, any thread), one for
pub/sub read by one subscriber thread, which reconnects with capped exponential backoff.

The subscriber thread blocks in its read (woken at most every ``idle`` seconds, to see
whether it should stop); every message is handed to ``on_message`` in the order Redis
sent it, on that thread: all that has arrived is read before any is handed on, the
messages in a row to one channel in one list (one run). ``on_state`` is told when the
link goes down and when it is up again (after the channels wanted are subscribed once
more, before anything else is read through it), ``on_live`` once the link counts as up
again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import redis

from .. import msgids

log = logging.getLogger("server.cluster")

#: What a read or write of a lost connection raises: redis-py's errors, the socket's,
#: and ValueError from a socket file that was closed as the connection went down.
_BROKEN = (redis.RedisError, OSError, ValueError)

#: Seconds a Redis command may take before the link counts as down.
COMMAND_TIMEOUT = 2.0
# KEYS: the counter, the pub/sub channel; ARGV: the message (a JSON object), the epoch,
# the step, how many positions it takes (a batch: its first is returned and published).
# Lua numbers are doubles: exact up to 2^53, and a position stays below 2^50 for 69
# years; "%d" writes it without an exponent. TIME before a write needs effects
# replication (the default since Redis 5; asked for where the call exists).
_SEQUENCE = """
if redis.replicate_commands then redis.replicate_commands() end
local now = redis.call('TIME')
local millis = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local seq = (millis - tonumber(ARGV[2])) * tonumber(ARGV[3])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq <= last then seq = last + 1 end
local text = string.format('%d', seq)
redis.call('SET', KEYS[1], string.format('%d', seq + tonumber(ARGV[4]) - 1))
redis.call('PUBLISH', KEYS[2], string.sub(ARGV[1], 1, -2) .. ',"seq":' .. text .. '}')
return seq
"""
# KEYS: the counter; ARGV: the least value it may hold.
_RAISE = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if last < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
"""

#: Most messages the subscriber thread reads before it delivers them (what has
#: arrived already, in a row, up to this many: a burst is delivered in runs).
DRAIN = 500


class Link:
    """Redis for one node: ``redis`` for commands, and the subscriptions."""

    def __init__(
        self,
        url: str,
        on_message: Callable[[str, list[dict[str, Any]]], None],
        on_state: Callable[[bool], None],
        on_live: Callable[[], None],
        retry: tuple[float, float],
        idle: float,
    ) -> None:
        # Any: redis-py's annotations mix its blocking and its asyncio answers.
        self.redis: Any = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=COMMAND_TIMEOUT,
            socket_connect_timeout=COMMAND_TIMEOUT,
            health_check_interval=0,
        )
        self._url = url
        self._on_message = on_message
        self._on_state = on_state
        self._on_live = on_live
        self._retry = retry
        self._idle = idle
        self._lock = threading.Lock()
        #: The channels this node wants, and those Redis confirmed.
        self._wanted: set[str] = set()
        self._confirmed: dict[str, threading.Event] = {}
        self._pubsub: Any = None
        self._stop = threading.Event()
        #: Set when a command found Redis gone: the subscriber starts over. (Its
        #: connection is never closed under it from another thread.)
        self._broken = threading.Event()
        #: Where a message wakes the subscriber thread (this node's own inbox).
        self._wake: str | None = None
        self._up = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kibitz-cluster", daemon=True)
        self._sequence: Any = None  # the sequencing script, registered on use

    def up(self) -> bool:
        """Whether the subscriptions are live (and Redis answered last time)."""
        return self._up.is_set()

    def start(self, channels: list[str], timeout: float) -> None:
        """Subscribe to ``channels`` and start reading; raises ConnectionError when
        Redis does not answer within ``timeout``. The last channel wakes the reader."""
        self.redis.ping()  # fails fast (RedisError) with a clear reason
        self._wake = channels[-1]
        with self._lock:
            self._wanted.update(channels)
        self._thread.start()
        if not self._up.wait(timeout):
            raise redis.ConnectionError(f"no subscription from {self._url}")

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Publish one message (JSON); raises redis.RedisError when Redis is unreachable."""
        self.redis.publish(channel, json.dumps(message, separators=(",", ":")))

    def _script(self) -> Any:
        """The sequencing script (registered on first use)."""
        if self._sequence is None:
            self._sequence = self.redis.register_script(_SEQUENCE)
        return self._sequence

    def load_scripts(self) -> None:
        """Load the sequencing script into Redis (as the link comes up: a pipeline
        calls it by its digest without asking first); raises redis.RedisError."""
        self.redis.script_load(self._script().script)

    @staticmethod
    def _sequence_args(body: str, count: int) -> list[Any]:
        return [body, msgids.EPOCH_MS, 1 << msgids.SEQ_BITS, count]

    def raise_counter(self, counter: str, least: int) -> None:
        """Make the counter of the sequencing script at least ``least``; raises
        redis.RedisError."""
        self.redis.eval(_RAISE, 1, counter, least)

    def publish_many(self, messages: list[tuple[str, str, int]], counter: str) -> list[Any]:
        """Publish (channel, JSON text, positions) triples in this order, in one round
        trip: with positions (not 0), through the sequencing script, which takes that
        many of the network's next positions from ``counter`` and publishes the message
        with the first (its ``seq`` field): a number above every
        earlier one and at least Redis's clock in milliseconds since
        ``msgids.EPOCH_MS``, times ``2**msgids.SEQ_BITS``; both happen in one script,
        so the positions increase in the order the channel's subscribers receive the
        messages. Redis's answers, in order: a sequenced message's first position, or
        the error that refused it. Raises redis.RedisError when Redis is unreachable."""
        if len(messages) == 1 and not messages[0][2]:
            channel, data, _ = messages[0]
            return [self.redis.publish(channel, data)]
        pipe = self.redis.pipeline(transaction=False)
        digest = self._script().sha
        for channel, data, count in messages:
            if not count:
                pipe.publish(channel, data)
            else:
                pipe.evalsha(digest, 2, counter, channel, *self._sequence_args(data, count))
        answers: list[Any] = pipe.execute(raise_on_error=False)
        if any(isinstance(answer, redis.exceptions.NoScriptError) for answer in answers):
            # Redis lost its scripts (SCRIPT FLUSH): those messages were refused (not
            # run at all); the next ones find it again.
            self.load_scripts()
        return answers

    def subscribe(self, channel: str, timeout: float = COMMAND_TIMEOUT) -> None:
        """Subscribe to ``channel`` (kept across reconnections) and wait until Redis
        confirms it, so what is published there from now on arrives here."""
        with self._lock:
            if channel in self._wanted:
                return
            self._wanted.add(channel)
            event = self._confirmed.setdefault(channel, threading.Event())
            pubsub = self._pubsub
        if pubsub is None:
            return  # subscribed on reconnection
        try:
            pubsub.subscribe(channel)
        except (*_BROKEN, AttributeError):
            return  # the subscriber thread reconnects and subscribes again
        event.wait(timeout)

    def unsubscribe(self, channel: str) -> None:
        """Stop receiving ``channel``."""
        with self._lock:
            if channel not in self._wanted:
                return
            self._wanted.discard(channel)
            self._confirmed.pop(channel, None)
            pubsub = self._pubsub
        if pubsub is not None:
            try:
                pubsub.unsubscribe(channel)
            except (*_BROKEN, AttributeError):
                pass  # gone with the connection

    def down(self) -> None:
        """A command failed for want of Redis: the subscriber starts over."""
        self._broken.set()
        self._nudge()

    def _nudge(self) -> None:
        """Wake the subscriber thread from its read (it also wakes every ``idle`` s)."""
        if self._wake is not None and self._up.is_set():
            try:
                self.redis.publish(self._wake, "{}")
            except redis.RedisError:
                pass  # the read fails by itself then

    def stop(self) -> None:
        """Stop the subscriber thread (the command connections stay: see close)."""
        self._stop.set()
        self._nudge()
        if self._thread.is_alive():
            self._thread.join(timeout=self._idle + COMMAND_TIMEOUT + 1)

    def close(self) -> None:
        """Close the command connections (once no thread may use them any more)."""
        self.redis.close()

    def _run(self) -> None:
        delay = self._retry[0]
        while not self._stop.is_set():
            try:
                self._serve()
                delay = self._retry[0]
            except _BROKEN as exc:
                if self._stop.is_set():
                    break
                log.warning("Redis link down (%s); again in %.1f s", exc, delay)
            with self._lock:
                self._pubsub = None
            if self._up.is_set():
                self._up.clear()
                self._on_state(False)
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self._retry[1])

    def _serve(self) -> None:
        """Subscribe to what is wanted and read until the connection fails or stop."""
        pubsub = self.redis.pubsub()
        try:
            with self._lock:
                wanted = list(self._wanted)
                for name in wanted:
                    self._confirmed.setdefault(name, threading.Event()).clear()
            pubsub.subscribe(*wanted)
            pending = set(wanted)
            while pending:
                message = pubsub.get_message(timeout=COMMAND_TIMEOUT)
                if message is None:
                    raise redis.ConnectionError("Redis did not confirm the subscriptions")
                self._handle(message, pending)
            with self._lock:
                self._pubsub = pubsub
                # What was asked for while reconnecting.
                late = self._wanted - set(wanted)
            if late:
                pubsub.subscribe(*late)
            if not self._up.is_set():
                self._on_state(True)
                self._up.set()
                self._on_live()
            self._broken.clear()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=self._idle)
                if message is not None:
                    self._handle_all(self._drain(pubsub, message))
                if self._broken.is_set():
                    raise redis.ConnectionError("a command could not reach Redis")
        finally:
            try:
                pubsub.close()
            except (redis.RedisError, OSError):
                pass

    @staticmethod
    def _drain(pubsub: Any, first: dict[str, Any]) -> list[dict[str, Any]]:
        """``first`` and whatever else has arrived already (read without waiting)."""
        messages = [first]
        while len(messages) < DRAIN:
            message = pubsub.get_message(timeout=0)
            if message is None:
                break
            messages.append(message)
        return messages

    def _handle_all(self, messages: list[dict[str, Any]]) -> None:
        """Hand on what was read, the messages in a row to one channel as one run."""
        run: list[dict[str, Any]] = []
        channel = ""
        for message in messages:
            data = self._decode(message, None)
            if data is None:
                continue
            if message["channel"] != channel and run:
                self._apply(channel, run)
                run = []
            channel = str(message["channel"])
            run.append(data)
        if run:
            self._apply(channel, run)

    def _apply(self, channel: str, run: list[dict[str, Any]]) -> None:
        try:
            self._on_message(channel, run)
        except Exception:
            log.exception("failed to apply a message from %s", channel)

    def _handle(self, message: dict[str, Any], pending: set[str] | None) -> None:
        data = self._decode(message, pending)
        if data is not None:
            self._apply(message["channel"], [data])

    def _decode(self, message: dict[str, Any], pending: set[str] | None) -> dict[str, Any] | None:
        """A message's data; None for what is no message (confirmations, wake-ups),
        having noted a confirmed subscription."""
        kind, channel = message["type"], message["channel"]
        if kind == "subscribe":
            if pending is not None:
                pending.discard(channel)
            with self._lock:
                event = self._confirmed.get(channel)
            if event is not None:
                event.set()
            return None
        if kind != "message":
            return None
        try:
            data = json.loads(message["data"])
        except (TypeError, ValueError):
            log.warning("not a message of this network on %s", channel)
            return None
        if not data:
            return None  # a wake-up (``_nudge``)
        return data
