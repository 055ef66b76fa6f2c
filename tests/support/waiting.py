"""Waiting in tests: on conditions and on a Tk window, with a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

DEADLINE = 5.0


def wait_for(condition: Callable[[], object], timeout: float = DEADLINE, what: str = "") -> object:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


def pump(
    view: object, condition: Callable[[], object], timeout: float = DEADLINE, what: str = ""
) -> object:
    """Run the Tk event loop of ``view`` (anything with a ``root``) until ``condition``
    holds; fail after ``timeout``."""
    root = view.root  # type: ignore[attr-defined]

    def updated() -> object:
        root.update()
        return condition()

    return wait_for(updated, timeout, what or str(condition))
