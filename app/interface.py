"""The chat window as the controller sees it: a Protocol, so the controller needs no Tk
(``app.view.ChatView`` is the real one; tests pass a mock of it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from app.conversations import Conversations
from app.reactions import Chip
from app.search import Row
from app.text import Line

#: Called with the password (None when cancelled) and whether to remember it.
PasswordAnswer = Callable[[str | None, bool], object]
#: Called with what the sign-in dialog was asked to do (``sign-in``, ``register``, or
#: ``cancel``), the account, the password and whether to remember it.
AccountAnswer = Callable[[str, str, str, bool], object]
#: Called with True when the user said yes.
ConfirmAnswer = Callable[[bool], object]


class ChatWindow(Protocol):
    """What the controller calls, always from the Tk thread."""

    #: The open conversations; the window draws them, the controller reads them.
    conversations: Conversations
    #: Set when the requested theme does not exist (the default is used instead).
    theme_error: str

    def set_handlers(self, **handlers: Callable[..., Any]) -> None:
        """Set the callbacks: send, nick, select, theme, close, recall, complete, member,
        focus, older, account, joins, typed, send_typing, notifications, reply,
        cancel_reply, pick_reaction, react, quote."""
        ...

    def schedule(self, ms: int, func: Callable[[], object]) -> str:
        """Run ``func`` on the Tk thread after ``ms`` milliseconds."""
        ...

    def cancel(self, job: str) -> None:
        """Cancel a job from :meth:`schedule`."""
        ...

    def run(self) -> None:
        """Run until the window closes."""
        ...

    def destroy(self) -> None:
        """Close the window (idempotent)."""
        ...

    def toggle_theme(self) -> str:
        """Switch light/dark; the new theme's name."""
        ...

    def theme_name(self) -> str:
        """The theme in use."""
        ...

    def get_message(self) -> str:
        """What is typed in the message entry."""
        ...

    def set_message(self, text: str, cursor: int | None = None) -> None:
        """Replace the message entry's text; the cursor at ``cursor`` (default: the end)."""
        ...

    def get_cursor(self) -> int:
        """The cursor position in the message entry."""
        ...

    def focus_message(self) -> None:
        """Give the message entry the keyboard focus."""
        ...

    def get_name(self) -> str:
        """What is typed in the name entry."""
        ...

    def set_nick(self, nick: str) -> None:
        """Show our nick in the name entry (and the window title)."""
        ...

    def set_server(self, address: str) -> None:
        """Name the server (``host:port``) in the window title."""
        ...

    def set_status(self, state: str, text: str) -> None:
        """Show the connection state and a sentence about it in the status bar."""
        ...

    def bell(self) -> None:
        """Ring the bell."""
        ...

    def ask_password(self, prompt: str, note: str, on_answer: PasswordAnswer) -> None:
        """Ask for the server password; ``on_answer`` gets the reply."""
        ...

    def ask_account(
        self, account: str, note: str, error: str, can_remember: bool, on_answer: AccountAnswer
    ) -> None:
        """Open the "Sign in / Create account" dialog; ``error`` says why it opens again."""
        ...

    def set_account(self, account: str) -> None:
        """Show whether (and as whom) we are signed in."""
        ...

    def confirm(
        self,
        question: str,
        on_answer: ConfirmAnswer,
        title: str = "Send a long paste?",
        yes: str = "Send",
    ) -> None:
        """Ask a yes-or-no ``question`` (the window ``title``, the ``yes`` button's text);
        ``on_answer`` gets the reply."""
        ...

    def add_conversation(self, key: str, name: str, select: bool = False) -> None:
        """Open a conversation (if it is not open yet); show it when ``select``."""
        ...

    def set_typing(self, key: str, text: str) -> None:
        """Who is typing in ``key`` ("" for nobody), shown while it is open."""
        ...

    def remove_conversation(self, key: str) -> None:
        """Close a conversation."""
        ...

    def rename_conversation(self, key: str, new_key: str, name: str) -> None:
        """A peer changed nick: its conversation follows."""
        ...

    def show_conversation(self, key: str) -> None:
        """Make ``key`` the conversation on screen."""
        ...

    def set_topic(self, key: str, topic: str) -> None:
        """A conversation's topic."""
        ...

    def set_members(
        self,
        key: str,
        members: tuple[tuple[str, str], ...],
        signed_in: frozenset[str] = frozenset(),
        topic_settable: bool = False,
        away: Sequence[tuple[str, str]] = (),
    ) -> None:
        """A channel's members, ``(prefix, nick)`` pairs; ``signed_in`` those with an
        account; ``topic_settable`` whether we may set its topic; ``away`` who is away,
        with the away text."""
        ...

    def clear_conversation(self, key: str) -> None:
        """Forget a conversation's transcript."""
        ...

    def append(self, key: str, line: Line, count: bool = True) -> None:
        """Add a line to a conversation (``count``: as unread when it is not on screen)."""
        ...

    def replace_line(self, key: str, old: Line, new: Line) -> None:
        """Show ``new`` in place of the line ``old`` of ``key`` (at the end if it is gone)."""
        ...

    def clear_mentions(self) -> None:
        """The user looks at the open conversation: its mentions are read."""
        ...

    def has_focus(self) -> bool:
        """Whether the window has the keyboard focus."""
        ...

    def set_urgent(self, urgent: bool) -> None:
        """Ask the desktop for attention (the window's urgency hint), or stop asking."""
        ...

    def present(self) -> None:
        """Bring the window forward (de-iconified, raised) with the keyboard focus."""
        ...

    def is_reading(self) -> bool:
        """Whether the user sees the open conversation's newest lines (focused, at the end)."""
        ...

    def took_focus(self) -> bool:
        """Whether the window came into focus since this was last asked."""
        ...

    def read_until(self, key: str, when: datetime, here: bool = True) -> None:
        """``key`` is read up to ``when``, here or (``here`` False) in another window."""
        ...

    def place_new_line(self, key: str, renew: bool = False) -> None:
        """Put ``key``'s "— new —" line where it goes (``renew``: at the read marker)."""
        ...

    def mark_missed(self, key: str) -> None:
        """Where messages missed while offline will go in ``key``."""
        ...

    def show_raw(self, on: bool) -> None:
        """Show the server's raw lines in place of their sentences (``on``), or the sentences."""
        ...

    def insert_chathistory(self, key: str, lines: Sequence[Line], place: str) -> None:
        """A page of chathistory at ``place``: older, latest or missed."""
        ...

    def set_tags_usable(self, on: bool) -> None:
        """Whether replies and reactions are offered (the server relays client tags)."""
        ...

    def set_reactions(self, key: str, msgid: str, chips: Sequence[Chip]) -> None:
        """The reactions under the message ``msgid`` of ``key``."""
        ...

    def open_picker(self, on_pick: Callable[[str], object]) -> None:
        """Open the reaction picker; ``on_pick`` gets the emoji chosen."""
        ...

    def set_reply(self, key: str, quote: str) -> None:
        """The reply under way in ``key``, quoted above the message box ("" for none)."""
        ...

    def jump_to(self, key: str, msgid: str) -> bool:
        """Show the message ``msgid`` of ``key``, lit up; False when it is not drawn."""
        ...

    def show_search_results(self, rows: Sequence[tuple[Row, object]], status: str) -> None:
        """List a search's results (their texts, each standing for its item)."""
        ...
