"""Multi-line messages (IRCv3 ``draft/multiline``): the lines one message is sent as, and
the batches received turned back into one message. Pure: lines in, lines out.

A received ``draft/multiline`` batch becomes one PRIVMSG whose text holds its lines
joined by ``\\n`` (concatenated lines joined directly, as the spec combines them), with
the tags of the opening BATCH (msgid, time, account, and the batch it sits in, such as a
chathistory page): the session then handles it as any message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.protocol.codec import Message, build, split_utf8

CAP = "draft/multiline"
BATCH_TYPE = "draft/multiline"
CONCAT_TAG = "draft/multiline-concat"
#: Lines one received batch may hold before the rest is dropped (a server gone wild).
MAX_RECEIVED = 1000


def limits(value: str) -> tuple[int, int | None] | None:
    """The ``max-bytes`` and ``max-lines`` of the capability's value (None: no max-bytes,
    which the spec requires, so the capability is not used)."""
    found: dict[str, str] = {}
    for token in value.split(","):
        key, _, setting = token.partition("=")
        found[key] = setting
    max_bytes, max_lines = found.get("max-bytes", ""), found.get("max-lines", "")
    if not max_bytes.isdigit():
        return None
    return int(max_bytes), int(max_lines) if max_lines.isdigit() else None


def batch_lines(
    target: str,
    text: str,
    ref: str,
    budget: int,
    max_bytes: int,
    max_lines: int | None,
    tags: dict[str, str] | None = None,
) -> tuple[list[str], str] | None:
    """``text`` as one multi-line batch to ``target``: BATCH +ref (carrying the message's
    client tags ``tags``, such as ``+draft/reply``: the spec puts them on the opening BATCH,
    never on the lines inside), its PRIVMSG lines (each longer line split to ``budget``
    bytes, the pieces after the first concatenated), BATCH -ref; and the message as it will
    show. None when it has a single line, or passes the server's limits."""
    lines = text.replace("\0", "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()  # trailing blank lines carry nothing
    while lines and not lines[0].strip():
        lines.pop(0)
    if len(lines) < 2:
        return None
    out = [build("BATCH", "+" + ref, BATCH_TYPE, target, tags=tags or None)]
    size = 0
    for index, line in enumerate(lines):
        pieces = split_utf8(line, budget) if line else [""]
        size += sum(len(piece.encode()) for piece in pieces) + (1 if index else 0)
        for number, piece in enumerate(pieces):
            tags = {"batch": ref, **({CONCAT_TAG: ""} if number else {})}
            out.append(build("PRIVMSG", target, piece, tags=tags))
    out.append(build("BATCH", "-" + ref))
    if size > max_bytes or (max_lines is not None and len(out) - 2 > max_lines):
        return None
    return out, "\n".join(lines)


@dataclass
class _Open:
    opening: Message
    lines: list[str] = field(default_factory=list)
    joined: list[bool] = field(default_factory=list)


class MultilineBatches:
    """The multi-line batches being received on this connection."""

    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}

    def clear(self) -> None:
        """The connection ended: its open batches died with it."""
        self._open.clear()

    def feed(self, msg: Message) -> tuple[bool, Message | None]:
        """Whether ``msg`` belongs to a multi-line batch (taken), and the whole message
        once its batch has ended."""
        command = msg.command.upper()
        if command == "BATCH":
            ref = msg.param(0)
            if ref.startswith("+") and msg.param(1).lower() == BATCH_TYPE:
                self._open[ref[1:]] = _Open(msg)
                return True, None
            if ref.startswith("-") and ref[1:] in self._open:
                return True, self._finish(self._open.pop(ref[1:]))
            return False, None
        batch = self._open.get(msg.tags.get("batch", ""))
        if batch is None:
            return False, None
        if command == "PRIVMSG" and len(batch.lines) < MAX_RECEIVED:
            batch.lines.append(msg.param(1))
            batch.joined.append(CONCAT_TAG in msg.tags)
        return True, None

    @staticmethod
    def _finish(batch: _Open) -> Message | None:
        opening = batch.opening
        if not batch.lines:
            return None
        text = batch.lines[0]
        for line, joined in zip(batch.lines[1:], batch.joined[1:], strict=True):
            text += line if joined else "\n" + line
        return Message(
            command="PRIVMSG",
            params=[opening.param(2), text],
            source=opening.source,
            tags=dict(opening.tags),
        )
