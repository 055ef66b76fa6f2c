"""The connection layer alone: backoff, failures as data, TLS helpers."""

from __future__ import annotations

import socket

from app.connection import BACKOFF_CAP, ConnectionFailed, backoff_delay, failure_of
from app.events import Failure


def test_backoff_grows_and_is_capped():
    assert backoff_delay(0, 1.0) == 1.0
    assert backoff_delay(3, 1.0) == 8.0
    assert backoff_delay(10, 1.0) == BACKOFF_CAP
    assert backoff_delay(100, 1.0) == BACKOFF_CAP
    assert backoff_delay(3, 0.0) == 4.0  # jitter keeps at least half
    for attempt in range(20):
        for rand in (0.0, 0.3, 0.99):
            assert 0.5 <= backoff_delay(attempt, rand) <= BACKOFF_CAP


def test_failures_are_data_for_the_sentence_written_later():
    assert failure_of(ConnectionRefusedError()) == Failure("refused")
    assert failure_of(TimeoutError()) == Failure("timeout")
    assert failure_of(socket.gaierror(-2, "Name or service not known")) == Failure(
        "unknown-host", "Name or service not known"
    )
    assert failure_of(ConnectionFailed(Failure("ping-timeout"))) == Failure("ping-timeout")
    assert failure_of(OSError(5, "Input/output error")) == Failure("os", "Input/output error")
