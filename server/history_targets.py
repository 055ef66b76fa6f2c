"""What both history backends share of CHATHISTORY TARGETS: a conversation's row, the
storage key of a private conversation, and how the newest private rows are merged."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import NamedTuple


class Conversation(NamedTuple):
    """One TARGETS row: where, its newest message's time, and that message's parties,
    source and first parameter (whom it was addressed to)."""

    target: str
    newest_ms: int
    sender: str | None
    recipient: str | None
    source: str
    addressed: str


def newest_private(found: dict[str, Conversation], rows: Iterable[Sequence]) -> None:
    """Add to ``found`` each private conversation of ``rows`` (target, newest time, the
    parties, source, parameters' JSON) unless it holds a newer one already."""
    for target, newest_ms, party_a, party_b, source, params_text in rows:
        if target not in found or found[target].newest_ms < newest_ms:
            params = json.loads(params_text)
            addressed = params[0] if params else ""
            found[target] = Conversation(target, newest_ms, party_a, party_b, source, addressed)


def dm_target(a: str, b: str) -> tuple[str, str, str]:
    """The storage key of a conversation between two parties (a casefolded account name,
    or ``~`` and a connection's own random name), and the parties sorted."""
    first, second = sorted((a, b))
    return f"dm:{first}:{second}", first, second
