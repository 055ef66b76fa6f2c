"""Dialogs of the chat window: the server password, signing in to an account, and a
yes-or-no question (before a long paste is sent)."""

from __future__ import annotations

import tkinter
from collections.abc import Callable

import ttkbootstrap as ttk

from app.interface import AccountAnswer, ConfirmAnswer, PasswordAnswer
from app.text import sanitize
from app.ui import then_break


def _noop(*_args: object) -> None:
    return None


class Dialog:
    """What the dialogs share: their window, open until answered, closed once."""

    window: ttk.Toplevel

    @property
    def open(self) -> bool:
        """True until the dialog is answered or cancelled."""
        try:
            return bool(self.window.winfo_exists())
        except tkinter.TclError:
            return False

    def _close(self) -> None:
        try:
            self.window.destroy()
        except tkinter.TclError:
            pass


def answer_row(
    body: ttk.Frame, ok: str, on_ok: Callable[[], object], on_cancel: Callable[[], object]
) -> tuple[ttk.Button, ttk.Button]:
    """A row with the primary button at the right and Cancel left of it."""
    buttons = ttk.Frame(body)
    buttons.pack(fill=tkinter.X)
    ok_button = ttk.Button(buttons, text=ok, bootstyle="primary", command=on_ok)
    ok_button.pack(side=tkinter.RIGHT)
    cancel_button = ttk.Button(buttons, text="Cancel", bootstyle="secondary", command=on_cancel)
    cancel_button.pack(side=tkinter.RIGHT, padx=(0, 8))
    return ok_button, cancel_button


class PasswordDialog(Dialog):
    """A small window asking for the server password; it never blocks the chat window.

    Not modal on purpose: the chat keeps running (and tests fill it in and ``invoke()``
    its buttons) while it is open.
    """

    def __init__(
        self, root: tkinter.Misc, prompt: str, note: str, on_answer: PasswordAnswer
    ) -> None:
        self.on_answer = on_answer
        self.window = ttk.Toplevel(
            title="Server password", master=root, transient=root, resizable=(False, False)
        )
        self.window.protocol("WM_DELETE_WINDOW", self.cancel)
        self.window.geometry(f"+{root.winfo_rootx() + 80}+{root.winfo_rooty() + 80}")
        body = ttk.Frame(self.window, padding=16)
        body.pack(fill=tkinter.BOTH, expand=True)
        self.create_fields(body, prompt, note)
        self.create_buttons(body)
        self.entry.bind("<Return>", then_break(self.confirm))
        self.entry.bind("<KP_Enter>", then_break(self.confirm))
        self.window.bind("<Escape>", then_break(self.cancel))
        self.entry.focus_set()

    def create_fields(self, body: ttk.Frame, prompt: str, note: str) -> None:
        """The prompt, the hidden entry, "Remember password" and the note about storage."""
        self.prompt_label = ttk.Label(body, text=sanitize(prompt, 300), wraplength=360)
        self.prompt_label.pack(anchor="w")
        self.entry = ttk.Entry(body, show="•", width=32)
        self.entry.pack(fill=tkinter.X, pady=(10, 8))
        self.remember = ttk.BooleanVar(master=self.window, value=False)
        self.remember_check = ttk.Checkbutton(
            body, text="Remember password", variable=self.remember
        )
        self.remember_check.pack(anchor="w")
        self.note_label = ttk.Label(
            body, text=sanitize(note, 300), wraplength=360, bootstyle="secondary"
        )
        self.note_label.pack(anchor="w", pady=(4, 12))

    def create_buttons(self, body: ttk.Frame) -> None:
        """Connect and Cancel."""
        self.ok_button, self.cancel_button = answer_row(body, "Connect", self.confirm, self.cancel)

    def confirm(self) -> None:
        """Connect with the typed password (an empty entry only rings the bell)."""
        password = self.entry.get()
        if not password:
            self.window.bell()
            return
        remember = bool(self.remember.get())
        self._close()
        self.on_answer(password, remember)

    def cancel(self) -> None:
        """Close without a password."""
        self._close()
        self.on_answer(None, False)

    def supersede(self) -> None:
        """A newer dialog replaces this one: close it; its answer no longer counts."""
        self.on_answer = _noop
        self.cancel()


class SignInDialog(Dialog):
    """ "Sign in / Create account": the account name, its password, and the sentence that
    says why the last try did not work. Not modal, like :class:`PasswordDialog`."""

    def __init__(
        self,
        root: tkinter.Misc,
        account: str,
        note: str,
        error: str,
        can_remember: bool,
        on_answer: AccountAnswer,
    ) -> None:
        self.on_answer = on_answer
        self.window = ttk.Toplevel(
            title="Sign in / Create account",
            master=root,
            transient=root,
            resizable=(False, False),
        )
        self.window.protocol("WM_DELETE_WINDOW", self.cancel)
        self.window.geometry(f"+{root.winfo_rootx() + 80}+{root.winfo_rooty() + 80}")
        body = ttk.Frame(self.window, padding=16)
        body.pack(fill=tkinter.BOTH, expand=True)
        self.create_fields(body, account, note, error, can_remember)
        self.create_buttons(body)
        for entry in (self.account_entry, self.entry):
            entry.bind("<Return>", then_break(self.sign_in))
            entry.bind("<KP_Enter>", then_break(self.sign_in))
        self.window.bind("<Escape>", then_break(self.cancel))
        (self.entry if account else self.account_entry).focus_set()

    def create_fields(
        self, body: ttk.Frame, account: str, note: str, error: str, can_remember: bool
    ) -> None:
        """The refusal (if any), the account, the hidden password, "Remember password" and
        the note about where the password goes."""
        self.error_label = ttk.Label(
            body, text=sanitize(error, 400), wraplength=380, bootstyle="danger"
        )
        if error:
            self.error_label.pack(anchor="w", pady=(0, 10))
        ttk.Label(body, text="Account").pack(anchor="w")
        self.account_entry = ttk.Entry(body, width=32)
        self.account_entry.insert(0, sanitize(account, 60))
        self.account_entry.pack(fill=tkinter.X, pady=(2, 8))
        ttk.Label(body, text="Password").pack(anchor="w")
        self.entry = ttk.Entry(body, show="•", width=32)
        self.entry.pack(fill=tkinter.X, pady=(2, 8))
        self.remember = ttk.BooleanVar(master=self.window, value=can_remember)
        self.remember_check = ttk.Checkbutton(
            body, text="Remember password", variable=self.remember
        )
        if not can_remember:
            self.remember_check.configure(state="disabled")
        self.remember_check.pack(anchor="w")
        self.note_label = ttk.Label(
            body, text=sanitize(note, 300), wraplength=380, bootstyle="secondary"
        )
        self.note_label.pack(anchor="w", pady=(4, 12))

    def create_buttons(self, body: ttk.Frame) -> None:
        """Sign in, Create account and Cancel."""
        buttons = ttk.Frame(body)
        buttons.pack(fill=tkinter.X)
        self.ok_button = ttk.Button(
            buttons, text="Sign in", bootstyle="primary", command=self.sign_in
        )
        self.ok_button.pack(side=tkinter.RIGHT)
        self.register_button = ttk.Button(
            buttons, text="Create account", bootstyle="secondary", command=self.register
        )
        self.register_button.pack(side=tkinter.RIGHT, padx=(0, 8))
        self.cancel_button = ttk.Button(
            buttons, text="Cancel", bootstyle="link", command=self.cancel
        )
        self.cancel_button.pack(side=tkinter.LEFT)

    def sign_in(self) -> None:
        """Sign in with what is typed."""
        self._answer("sign-in")

    def register(self) -> None:
        """Create the account with what is typed."""
        self._answer("register")

    def _answer(self, action: str) -> None:
        account, password = self.account_entry.get().strip(), self.entry.get()
        if not account or not password:  # both are needed: ring, keep the dialog open
            self.window.bell()
            return
        remember = bool(self.remember.get())
        self._close()
        self.on_answer(action, account, password, remember)

    def cancel(self) -> None:
        """Close without signing in."""
        self._close()
        self.on_answer("cancel", "", "", False)

    def supersede(self) -> None:
        """A newer dialog replaces this one: close it; its answer no longer counts."""
        self.on_answer = _noop
        self.cancel()


class ConfirmDialog(Dialog):
    """A yes-or-no question, such as "Send these 150 lines?"; not modal, like the others."""

    def __init__(
        self,
        root: tkinter.Misc,
        question: str,
        on_answer: ConfirmAnswer,
        title: str = "Send a long paste?",
        yes: str = "Send",
    ) -> None:
        self.on_answer = on_answer
        self.window = ttk.Toplevel(
            title=title, master=root, transient=root, resizable=(False, False)
        )
        self.window.protocol("WM_DELETE_WINDOW", self.cancel)
        self.window.geometry(f"+{root.winfo_rootx() + 80}+{root.winfo_rooty() + 80}")
        body = ttk.Frame(self.window, padding=16)
        body.pack(fill=tkinter.BOTH, expand=True)
        self.question_label = ttk.Label(body, text=sanitize(question, 300), wraplength=360)
        self.question_label.pack(anchor="w", pady=(0, 12))
        self.ok_button, self.cancel_button = answer_row(body, yes, self.yes, self.cancel)
        self.window.bind("<Return>", then_break(self.yes))
        self.window.bind("<KP_Enter>", then_break(self.yes))
        self.window.bind("<Escape>", then_break(self.cancel))
        self.ok_button.focus_set()

    def yes(self) -> None:
        """Answer yes."""
        self._close()
        self.on_answer(True)

    def cancel(self) -> None:
        """Answer no."""
        self._close()
        self.on_answer(False)

    def supersede(self) -> None:
        """A newer question replaces this one: its answer no longer counts."""
        self.on_answer = _noop
        self.cancel()
