"""Offload: short calls run on a few threads of their own for every caller."""

from __future__ import annotations

import threading

import pytest

from server.dbpool import Offload


def test_a_call_runs_on_the_offload_thread_and_returns_its_result() -> None:
    offload = Offload("test-offload")
    try:
        idents = [offload.run(threading.get_ident) for _ in range(3)]
        assert len(set(idents)) == 1 and idents[0] != threading.get_ident()
        assert offload.run(lambda a, b: a + b, 2, 3) == 5
    finally:
        offload.close()


def test_an_exception_is_raised_in_the_caller() -> None:
    offload = Offload("test-offload")

    def fail() -> None:
        raise KeyError("nope")

    try:
        with pytest.raises(KeyError, match="nope"):
            offload.run(fail)
        assert offload.run(lambda: "still serving") == "still serving"
    finally:
        offload.close()


def test_after_close_the_thread_is_gone_and_calls_run_on_the_caller() -> None:
    offload = Offload("test-offload")
    offload.run(lambda: None)
    assert any(t.name == "test-offload" for t in threading.enumerate())
    offload.close()
    assert not any(t.name == "test-offload" for t in threading.enumerate())
    assert offload.run(threading.get_ident) == threading.get_ident()


def test_many_threads_calling_at_once_each_get_their_own_answer() -> None:
    offload = Offload("test-offload")
    answers: dict[int, int] = {}

    def ask(n: int) -> None:
        answers[n] = offload.run(lambda: n * n)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    offload.close()
    assert answers == {n: n * n for n in range(20)}


def test_a_slow_call_does_not_hold_up_the_calls_behind_it() -> None:
    offload = Offload("test-offload", threads=2)
    release = threading.Event()
    slow_started = threading.Event()

    def slow() -> str:
        slow_started.set()
        release.wait(10)
        return "slow"

    result: list[str] = []
    caller = threading.Thread(target=lambda: result.append(offload.run(slow)))
    caller.start()
    try:
        assert slow_started.wait(10)
        # The second thread answers while the first is still inside the slow call.
        assert offload.run(lambda: "quick") == "quick"
        assert not result
    finally:
        release.set()
        caller.join()
        offload.close()
    assert result == ["slow"]


def test_calls_made_on_an_offload_thread_run_there_instead_of_waiting() -> None:
    offload = Offload("test-offload", threads=2)
    try:
        # A call that itself calls the offload would deadlock a full pool if it queued.
        outer, inner = offload.run(
            lambda: (threading.get_ident(), offload.run(threading.get_ident))
        )
        assert outer == inner
    finally:
        offload.close()
    assert not any(t.name == "test-offload" for t in threading.enumerate())
