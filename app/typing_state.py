"""Typing notifications (the IRCv3 ``+typing`` client tag), as pure state: no I/O, no
clock of its own (every call is given ``now``, in seconds), no sentences.

:class:`Typing` decides what we tell others: ``active`` while the user edits the message
box (again every :data:`THROTTLE` seconds while the edits go on), ``paused`` once after
:data:`PAUSE_AFTER` seconds without an edit, ``done`` once when the box is emptied (by
hand, or by sending what it held). Never two notifications to one target within
:data:`THROTTLE` seconds: one that must wait goes out when the time has passed.

:class:`Typists` keeps who tells us they are typing, per conversation, until they say
``done``, :data:`ACTIVE_FOR` seconds after an ``active`` or :data:`PAUSED_FOR` after a
``paused`` (the spec's numbers), or until their message arrives or they leave.
"""

from __future__ import annotations

from dataclasses import dataclass

#: No two notifications to one target within this many seconds (the spec's MUST).
THROTTLE = 3.0
#: Seconds without an edit after which the user has paused. At most THROTTLE: an
#: ``active`` is then always followed by the ``paused`` before the others forget it.
PAUSE_AFTER = 3.0
#: How long someone counts as typing after their ``active`` / ``paused``.
ACTIVE_FOR = 6.0
PAUSED_FOR = 30.0
STATES = ("active", "paused", "done")


def is_typing(text: str) -> bool:
    """Whether the message box holds something being typed to others (not a /command)."""
    if not text.strip():
        return False
    return not text.startswith("/") or text.startswith("//")


@dataclass
class _Outgoing:
    """What one target has been told, and what it should be told."""

    want: str = "done"
    sent: str = "done"
    sent_at: float | None = None
    edited_at: float = 0.0
    edited_since: bool = False  # edits since the last notification went out


class Typing:
    """What to tell each target about our typing: ``(target, state)`` pairs to send."""

    def __init__(self) -> None:
        self._targets: dict[str, _Outgoing] = {}
        self.enabled = True

    @property
    def busy(self) -> bool:
        """True while some notification may still be due (so someone should tick)."""
        return any(o.want != o.sent or o.want == "active" for o in self._targets.values())

    def edited(self, target: str, text: str, now: float) -> list[tuple[str, str]]:
        """The message box, typed to ``target``, now holds ``text``."""
        for other, state in self._targets.items():
            if other != target:
                state.want = "done"  # typing somewhere else now
        if self.enabled and target and is_typing(text):
            state = self._targets.setdefault(target, _Outgoing())
            state.want, state.edited_at, state.edited_since = "active", now, True
        elif target in self._targets:
            self._targets[target].want = "done"
        return self.due(now)

    def disable(self, now: float) -> list[tuple[str, str]]:
        """Stop telling anyone: those told we type are told ``done`` (when allowed)."""
        self.enabled = False
        for state in self._targets.values():
            state.want = "done"
        return self.due(now)

    def forget(self) -> None:
        """A new connection: nobody there was told anything."""
        self._targets.clear()

    def due(self, now: float) -> list[tuple[str, str]]:
        """The notifications to send now (each is then taken as sent)."""
        out: list[tuple[str, str]] = []
        for target, state in list(self._targets.items()):
            if state.want == "active" and now - state.edited_at >= PAUSE_AFTER:
                state.want = "paused"
            if state.sent_at is not None and now - state.sent_at < THROTTLE:
                continue
            if state.want == "active":
                send = state.sent != "active" or state.edited_since
            elif state.want == "paused":
                send = state.sent == "active"
            else:
                send = state.sent != "done"
            if send:
                out.append((target, state.want))
                state.sent, state.sent_at, state.edited_since = state.want, now, False
            if state.want == "done" and state.sent == "done":
                del self._targets[target]
        return out


@dataclass
class _Typist:
    nick: str
    until: float
    since: float


class Typists:
    """Who is typing in each conversation (keys and folded nicks given by the caller)."""

    def __init__(self) -> None:
        self._by_key: dict[str, dict[str, _Typist]] = {}

    def notified(self, key: str, folded: str, nick: str, state: str, now: float) -> bool:
        """``nick`` says ``state`` in ``key``; True when who is typing there changed."""
        typists = self._by_key.setdefault(key, {})
        before = self.names(key)
        if state == "done":
            typists.pop(folded, None)
        else:
            lasting = ACTIVE_FOR if state == "active" else PAUSED_FOR
            since = typists[folded].since if folded in typists else now
            typists[folded] = _Typist(nick, now + lasting, since)
        if not typists:
            del self._by_key[key]
        return self.names(key) != before

    def stopped(self, key: str, folded: str) -> bool:
        """``folded`` spoke or left in ``key``; True when they were typing there."""
        typists = self._by_key.get(key, {})
        if typists.pop(folded, None) is None:
            return False
        if not typists:
            del self._by_key[key]
        return True

    def renamed(self, folded: str, new_folded: str, nick: str) -> set[str]:
        """``folded`` is now ``nick``: a direct conversation keyed by the old nick moves
        with it. The keys whose typists changed."""
        changed = set()
        for key in list(self._by_key):
            typist = self._by_key[key].pop(folded, None)
            if typist is None:
                continue
            if not self._by_key[key]:
                del self._by_key[key]
            new_key = new_folded if key == folded else key
            self._by_key.setdefault(new_key, {})[new_folded] = _Typist(
                nick, typist.until, typist.since
            )
            changed |= {key, new_key}
        return changed

    def clear(self, key: str | None = None) -> set[str]:
        """Forget ``key`` (all conversations when None); the keys that had typists."""
        keys = set(self._by_key) if key is None else {key} & set(self._by_key)
        for gone in keys:
            del self._by_key[gone]
        return keys

    def expire(self, now: float) -> set[str]:
        """Forget everyone whose notification ran out; the keys that changed."""
        changed = set()
        for key, typists in list(self._by_key.items()):
            for folded in [f for f, t in typists.items() if t.until <= now]:
                del typists[folded]
                changed.add(key)
            if not typists:
                del self._by_key[key]
        return changed

    def names(self, key: str) -> list[str]:
        """Who is typing in ``key``, the first to start first."""
        typists = self._by_key.get(key, {})
        return [t.nick for t in sorted(typists.values(), key=lambda t: t.since)]

    def __bool__(self) -> bool:
        return bool(self._by_key)
