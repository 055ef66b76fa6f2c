"""The history writer: rows queued in groups that share their values."""

from __future__ import annotations

import time
from pathlib import Path

from server import history as history_module
from server.history import (
    NO_TAGS,
    Group,
    HistoryStore,
    params_json,
)

NOW = int(time.time() * 1000)


def _group(target: str, millis: int, verb: str, texts: list[str], prefix: str) -> Group:
    pairs: list[str] = []
    for i, text in enumerate(texts):
        pairs += (f"{prefix}{i}", params_json((target, text)))
    return (target, millis, "n!u@h", "Acc", verb, NO_TAGS, None, None), pairs


def test_groups_of_every_size_are_stored_in_order_with_their_shared_values(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    sizes = [1, 3, 4, 250, 2, 99, 100]  # alone, among whole rows, one and several statements
    groups = [
        _group(
            "#c",
            NOW + n,
            "NOTICE" if n % 2 else "PRIVMSG",
            [f"{n}.{i}" for i in range(k)],
            f"g{n}-",
        )
        for n, k in enumerate(sizes)
    ]
    store.add_groups(groups[:3])
    store.add_rows(
        [
            history_module.row(
                "r0", "#c", NOW + 50, "m!u@h", None, "PRIVMSG", ("#c", "row"), {"+x": "1"}
            )
        ]
    )
    store.add_groups(groups[3:])
    assert store.flush()
    got = store.latest("#c", 1000)
    want: list[tuple] = []
    for n, k in enumerate(sizes):
        verb = "NOTICE" if n % 2 else "PRIVMSG"
        want += [
            (f"g{n}-{i}", NOW + n, "n!u@h", verb, ("#c", f"{n}.{i}"), {}, "Acc") for i in range(k)
        ]
        if n == 2:
            want.append(("r0", NOW + 50, "m!u@h", "PRIVMSG", ("#c", "row"), {"+x": "1"}, None))
    assert [
        (r.msgid, r.time_ms, r.source, r.command, r.params, r.tags, r.account) for r in got
    ] == want
    store.close()
