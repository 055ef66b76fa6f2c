"""Multi-line messages (IRCv3 ``draft/multiline``): a batch a client is sending, and the
lines one message becomes for each recipient, live or from history.

A recipient with the capability gets the message as one ``draft/multiline`` BATCH (the
msgid, time and account on the BATCH that opens it); any other gets the lines as
ordinary PRIVMSGs, blank ones left out, as the client composed them (a
``draft/multiline-concat`` line stays its own line: the spec asks servers to keep the
line composition), the msgid on the first line sent.

History keeps the message as one row: its lines joined by ``\\n`` (which no single
message can hold) and the ``STORED_TAG`` tag saying which lines were concatenated.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .protocol.codec import build, encode, format_time
from .sendq import Outgoing, Recipient, new_batch_id

if TYPE_CHECKING:
    from .history_records import Record

CAP = "draft/multiline"
BATCH_TYPE = "draft/multiline"
CONCAT_TAG = "draft/multiline-concat"
#: The limits, as the capability's value announces them.
MAX_BYTES = 4096
MAX_LINES = 100
CAP_VALUE = f"max-bytes={MAX_BYTES},max-lines={MAX_LINES}"
#: Seconds a batch may stay open; a later line of an older one discards it.
OPEN_SECONDS = 30.0
#: The stored tag marking a multi-line message: the indices of its concatenated lines,
#: comma-separated (empty when there are none). Never sent to anyone.
STORED_TAG = "kibitz/multiline"


class Receiver(Recipient, Protocol):
    """A recipient whose capabilities decide what it gets (a ``Session`` is one)."""

    @property
    def caps(self) -> AbstractSet[str]:
        """The capabilities it has enabled."""
        ...


@dataclass
class OpenBatch:
    """A ``draft/multiline`` batch a client has opened and not yet closed."""

    ref: str
    target: str
    #: The client-only tags sent on the opening BATCH: the message's tags.
    tags: dict[str, str]
    #: The label of the opening BATCH (labeled-response), given to its echo.
    label: str | None
    opened: float
    lines: list[str] = field(default_factory=list)
    #: Indices of the lines sent with ``draft/multiline-concat``.
    concat: list[int] = field(default_factory=list)
    #: The combined message's size in bytes, joining line feeds included.
    size: int = 0
    #: Refused already: its remaining lines and its end are dropped quietly.
    failed: bool = False

    def add(self, text: str, concat: bool) -> str | None:
        """Take one line; the FAIL code that refuses the batch, or None."""
        if concat and not text:
            return "MULTILINE_INVALID"
        size = len(text.encode("utf-8", "surrogateescape"))
        if self.lines and not concat:
            size += 1  # the line feed joining it to the line before
        if len(self.lines) >= MAX_LINES:
            return "MULTILINE_MAX_LINES"
        if self.size + size > MAX_BYTES:
            return "MULTILINE_MAX_BYTES"
        if concat:
            self.concat.append(len(self.lines))
        self.lines.append(text)
        self.size += size
        return None


def takes_batches(client: Receiver) -> bool:
    """Whether ``client`` gets multi-line messages as one batch."""
    return CAP in client.caps and "batch" in client.caps


def combined(lines: list[str], concat: list[int]) -> str:
    """The message a batch stands for: lines joined by line feeds, except the
    concatenated ones (the spec's combined message value)."""
    joined = set(concat)
    parts: list[str] = []
    for index, line in enumerate(lines):
        parts.append(line if index in joined or not index else "\n" + line)
    return "".join(parts)


def stored_concat(concat: list[int]) -> str:
    """The value of ``STORED_TAG`` for these concatenated lines."""
    return ",".join(map(str, concat))


class Delivery:
    """One multi-line message as relayed now: the bytes each kind of recipient gets."""

    def __init__(
        self,
        source: str,
        target: str,
        lines: list[str],
        concat: list[int],
        tags: dict[str, str],
        millis: int,
        account: str | None,
    ) -> None:
        #: What makes it, JSON-ready: the same message on another node of a network.
        self.fields: dict[str, Any] = {
            "source": source,
            "target": target,
            "lines": lines,
            "concat": concat,
            "tags": tags,
            "millis": millis,
            "account": account,
        }
        stamp = format_time(millis)
        self.ref = new_batch_id()
        opening = ("+" + self.ref, BATCH_TYPE, target)
        self.opening = Outgoing(
            "BATCH", *opening, source=source, tags=tags, stamped=False, account=account
        )
        self.opening.stamp(millis, stamp)
        joined = set(concat)
        inner = [
            encode(
                build(
                    "PRIVMSG",
                    target,
                    line,
                    source=source,
                    tags={"batch": self.ref, **({CONCAT_TAG: ""} if i in joined else {})},
                )
            )
            for i, line in enumerate(lines)
        ]
        inner.append(encode(build("BATCH", "-" + self.ref, source=source)))
        self.inner = b"".join(inner)
        client_tags = {k: v for k, v in tags.items() if k != "msgid"}
        self.fallback: list[Outgoing] = []
        for line in lines:
            if not line:
                continue  # never a blank line to a client without the capability
            first = not self.fallback
            out = Outgoing(
                "PRIVMSG",
                target,
                line,
                source=source,
                tags=tags if first else client_tags,
                stamped=False,
                account=account,
            )
            out.stamp(millis, stamp)
            self.fallback.append(out)
        self._cache: dict[tuple[int, bool], bytes] = {}

    def for_client(self, client: Receiver) -> bytes:
        """All of the message for ``client``, in one buffer."""
        batched = takes_batches(client)
        key = (client.tag_key, batched)
        data = self._cache.get(key)
        if data is None:
            if batched:
                data = self.opening.for_client(client) + self.inner
            else:
                data = b"".join([out.for_client(client) for out in self.fallback])
            self._cache[key] = data
        return data

    def echo(self, client: Receiver, label: str | None) -> bytes:
        """The sender's copy: the batch, its label (if any) on the opening BATCH."""
        opening = self.opening.for_client(client)
        if label is not None:
            opening = with_label(opening, label)
        return opening + self.inner


def with_label(line: bytes, label: str) -> bytes:
    """An encoded line with a ``label`` tag added (labeled-response)."""
    tag = encode(build("X", tags={"label": label})).split(b" ", 1)[0][1:]
    if line.startswith(b"@"):
        return b"@" + tag + b";" + line[1:]
    return b"@" + tag + b" " + line


def replay(client: Receiver, record: Record, outer: str | None) -> bytes:
    """A stored multi-line message for ``client``: one batch inside the ``outer`` one
    (the history batch) when it takes batches, its non-blank lines otherwise."""
    caps = client.caps
    target, text = record.params[0], record.params[1]
    lines = text.split("\n")
    marks = record.tags.get(STORED_TAG, "")
    joined = {int(i) for i in marks.split(",") if i.isdigit()}
    shown: dict[str, str] = {}
    if "server-time" in caps:
        shown["time"] = format_time(record.time_ms)
    client_tags: dict[str, str] = {}
    if "message-tags" in caps:
        client_tags = {k: v for k, v in record.tags.items() if k != STORED_TAG}
    if record.account is not None and "account-tag" in caps:
        shown["account"] = record.account
    around = {"batch": outer} if outer is not None else {}
    source = record.source
    out: list[str] = []
    if takes_batches(client):
        ref = new_batch_id()
        head = {**around, **shown}
        if "message-tags" in caps:
            head["msgid"] = record.msgid
        head.update(client_tags)
        out.append(build("BATCH", "+" + ref, BATCH_TYPE, target, source=source, tags=head))
        for index, line in enumerate(lines):
            tags = {"batch": ref, **({CONCAT_TAG: ""} if index in joined else {})}
            out.append(build("PRIVMSG", target, line, source=source, tags=tags))
        out.append(build("BATCH", "-" + ref, source=source, tags=around))
    else:
        for line in lines:
            if not line:
                continue
            tags = {**around, **shown}
            if not out and "message-tags" in caps:
                tags["msgid"] = record.msgid
            tags.update(client_tags)
            out.append(build(record.command, target, line, source=source, tags=tags))
    return b"".join(encode(line) for line in out)
