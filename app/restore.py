"""The conversations open when the window closed, reopened when it starts again.

Kept in :class:`app.settings.Settings` per server (``host:port``) and identity (the
account signed in with, else the nick): the channels and private conversations in sidebar
order, and the one shown. A settings file from before (only ``channel``) reopens that
channel. No Tk here.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.settings import Settings
from app.text import address_text
from server.protocol.names import casefold

#: Servers and identities whose conversations are kept (the most recently closed win).
KEPT = 20
#: What starts a channel name before the server says otherwise (the IRC default); a nick
#: never starts with one of these.
CHANNEL_START = "#&"


def place_of(host: str, port: int, account: str, nick: str) -> str:
    """Whose conversations these are: ``host:port`` and the account (else the nick)."""
    return f"{address_text(host, port)} {_fold(account or nick)}"


def _fold(name: str) -> str:
    return casefold(name, "rfc1459")  # the IRC default: the server's is not known yet


@dataclass(frozen=True)
class Reopen:
    """Conversations to open at start: ``names`` in sidebar order, ``selected`` shown
    ("" for the server conversation)."""

    names: tuple[str, ...]
    selected: str = ""

    @property
    def channels(self) -> list[str]:
        """The channels among :attr:`names`, to join."""
        return [name for name in self.names if name[:1] in CHANNEL_START]

    @property
    def directs(self) -> list[str]:
        """The private conversations among :attr:`names` (nicks)."""
        return [name for name in self.names if name[:1] not in CHANNEL_START]


def reopen_plan(settings: Settings, place: str, channel: str | None = None) -> Reopen:
    """What to open for ``place``: what was open last time (or the remembered channel);
    ``channel`` (given on the command line) is joined too and shown."""
    names: list[str] = []
    selected = ""
    record = settings.conversations.get(place)
    if isinstance(record, dict) and isinstance(record.get("open"), list):
        names = [n for n in record["open"] if isinstance(n, str) and n.strip() == n and n]
        shown = record.get("selected")
        selected = shown if isinstance(shown, str) and shown in names else ""
    elif settings.channel:
        names, selected = [settings.channel], settings.channel
    if channel:
        same = [n for n in names if _fold(n) == _fold(channel)]
        if not same:
            names.append(channel)
        selected = same[0] if same else channel
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(_fold(name), name)
    return Reopen(tuple(unique.values()), selected)


def remember(settings: Settings, place: str, names: list[str], selected: str) -> None:
    """Keep ``names`` (sidebar order) and ``selected`` as what was open at ``place``."""
    kept = dict(settings.conversations)
    kept.pop(place, None)
    kept[place] = {"open": list(names), "selected": selected if selected in names else ""}
    settings.conversations = dict(list(kept.items())[-KEPT:])
