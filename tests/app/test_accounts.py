"""The app and accounts: the keyring, the migration of an old saved password, the "Sign in /
Create account" dialog on the virtual display, and who is marked as signed in. The server
side of SASL is played over a real socket by :mod:`server.sasl` with a real account store."""

from __future__ import annotations

import base64
import json

import keyring.backends.fail
import pytest

from app.__main__ import build_model, parse_args
from app.events import Kind
from app.passwords import SERVICE, PasswordStore, account_key, server_key
from app.settings import Settings, settings_path
from server.accounts import AccountStore
from server.protocol.codec import Message
from server.protocol.sasl import CHUNK
from server.sasl import Challenge, Success, server_mechanism
from tests.app.fakeserver import FakeServer
from tests.app.helpers import pump

PASSWORD = "correct horse"


# --- the keyring and the migration -------------------------------------------------------
def test_passwords_go_to_a_real_keyring_backend(keyring_file):
    store = PasswordStore()
    assert store.available and store.backend is keyring_file
    key = account_key("Alice", "chat.lan", 6697)
    assert store.set(key, PASSWORD) is True
    assert keyring_file.get_password(SERVICE, "account:alice@chat.lan:6697") == PASSWORD
    assert PasswordStore().get(key) == PASSWORD  # another run reads it back
    store.forget(key)
    store.forget(key)  # forgetting twice is fine
    assert PasswordStore().get(key) is None


def test_without_a_keyring_a_password_lasts_for_this_run_only():
    store = PasswordStore(keyring.backends.fail.Keyring())
    assert not store.available
    assert store.set("server:h:1", "pw") is False
    assert store.get("server:h:1") == "pw"
    assert PasswordStore(keyring.backends.fail.Keyring()).get("server:h:1") is None


def test_a_password_saved_by_the_previous_version_moves_to_the_keyring(keyring_file):
    old = {"host": "chat.lan", "port": 6697, "password": "s3cret", "password_for": "chat.lan:6697"}
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps(old))
    settings = Settings.load()
    assert PasswordStore().migrate(settings) is True
    assert keyring_file.get_password(SERVICE, server_key("chat.lan", 6697)) == "s3cret"
    data = json.loads(settings_path().read_text())
    assert "password" not in data and "s3cret" not in settings_path().read_text()
    assert data["host"] == "chat.lan"
    # The next run sends it to that server only.
    args = parse_args([], Settings.load())
    assert build_model(args, Settings.load()).password == "s3cret"
    assert PasswordStore().migrate(Settings.load()) is False  # nothing left to move


def test_without_a_keyring_the_old_password_stays_where_it_was():
    old = {"password": "s3cret", "password_for": "chat.lan:6697"}
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps(old))
    settings = Settings.load()
    assert PasswordStore(keyring.backends.fail.Keyring()).migrate(settings) is False
    assert json.loads(settings_path().read_text())["password"] == "s3cret"


def test_account_option_signs_in_with_the_keyring_password(keyring_file):
    args = parse_args(["--account", "alice", "--port", "6697"], Settings())
    assert build_model(args, Settings()).credentials is None  # nothing kept yet: asked for
    keyring_file.set_password(SERVICE, account_key("alice", "127.0.0.1", 6697), PASSWORD)
    model = build_model(args, Settings())
    assert model.credentials == ("alice", PASSWORD)
    assert model.session.plain_allowed  # loopback
    remote = parse_args(["--host", "chat.example", "--account", "alice"], Settings())
    assert not build_model(remote, Settings()).session.plain_allowed
    allowed = parse_args(["--host", "chat.example", "--allow-plain"], Settings())
    assert build_model(allowed, Settings()).session.plain_allowed
    assert parse_args([], Settings(account="bob")).account == "bob"  # remembered


# --- a server with accounts, over a real socket ---------------------------------------------
class AccountServer(FakeServer):
    """A scripted server whose SASL and REGISTER answers come from a real account store."""

    def __init__(self, store: AccountStore, registration: bool = True) -> None:
        caps = "sasl=PLAIN,SCRAM-SHA-256 account-notify extended-join account-tag"
        if registration:
            caps += " draft/account-registration"
        super().__init__(caps)
        self.store = store
        self.mechanism = None
        self.pieces = ""
        self.rules["AUTHENTICATE"] = AccountServer.authenticate
        self.rules["REGISTER"] = AccountServer.register
        self.rules["USER"] = lambda _srv, _msg: None  # welcomed after CAP END, as servers do
        self.rules["CAP"] = AccountServer.cap

    def cap(self, msg: Message) -> None:
        if msg.params[0] == "END":
            self.send(f":fake 001 {self.nick} :Welcome {self.nick}!u@h")
        else:
            self.rules.pop("CAP")
            try:
                self._answer(msg)
            finally:
                self.rules["CAP"] = AccountServer.cap

    def authenticate(self, msg: Message) -> None:
        param = msg.params[0]
        if self.mechanism is None:
            self.mechanism = server_mechanism(param, self.store)
            self.send("AUTHENTICATE +")
            return
        if param == "*":
            self.mechanism = None
            self.send(f":fake 906 {self.nick} :SASL authentication aborted")
            return
        if param != "+":
            self.pieces += param
            if len(param) == CHUNK:
                return
        data, self.pieces = base64.b64decode(self.pieces), ""
        step = self.mechanism.step(data)
        if isinstance(step, Challenge):
            self.send(f"AUTHENTICATE {base64.b64encode(step.data).decode() or '+'}")
            return
        self.mechanism = None
        if isinstance(step, Success):
            name = step.account.display
            self.send(
                f":fake 900 {self.nick} {self.nick}!u@h {name} :You are now logged in as {name}",
                f":fake 903 {self.nick} :SASL authentication successful",
            )
        else:
            self.send(f":fake 904 {self.nick} :SASL authentication failed")

    def register(self, msg: Message) -> None:
        name, password = msg.params[0], msg.params[2]
        if "draft/account-registration" not in (self.caps or ""):
            self.send(f"FAIL REGISTER DISALLOWED {name} :Account registration is disabled")
        elif self.store.find(name) is not None:
            self.send(f"FAIL REGISTER ACCOUNT_EXISTS {name} :Account already exists")
        else:
            self.store.create(name, password)
            self.send(
                f"REGISTER SUCCESS {name} :Account created",
                f":fake 900 {self.nick} {self.nick}!u@h {name} :You are now logged in as {name}",
            )


@pytest.fixture
def store(tmp_path):
    accounts = AccountStore(tmp_path / "data")
    accounts.create("alice", PASSWORD)
    yield accounts
    accounts.close()


@pytest.fixture
def accounts_server(store):
    servers: list[AccountServer] = []

    def build(registration: bool = True) -> AccountServer:
        fake = AccountServer(store, registration)
        servers.append(fake)
        return fake

    yield build
    for fake in servers:
        fake.close()


def sign_in_dialog(view):
    """The open sign-in dialog, once the window shows one."""

    def opened():
        dialog = view.sign_in_dialog
        return dialog if dialog is not None and dialog.open else None

    return pump(view, opened, what="the sign-in dialog")


def fill(view, account: str, password: str, button: str = "ok_button") -> None:
    dialog = sign_in_dialog(view)
    dialog.account_entry.delete(0, "end")
    dialog.account_entry.insert(0, account)
    dialog.entry.delete(0, "end")
    dialog.entry.insert(0, password)
    getattr(dialog, button).invoke()
    assert not dialog.open


def server_lines(view) -> list[str]:
    return [line.text for line in view.conversations[""].lines]


def test_the_dialog_signs_in_after_a_wrong_password(accounts_server, make_chat, keyring_file):
    fake = accounts_server()
    controller, view = make_chat(fake.port, "alice")
    pump(view, lambda: controller.model.registered, what="registered")
    assert view.account_button.cget("text") == "Sign in…"
    view.account_button.invoke()
    dialog = sign_in_dialog(view)
    assert dialog.account_entry.get() == "alice"  # the nick, to start with
    assert dialog.error_label.winfo_manager() == ""  # no refusal to explain yet
    assert "system keyring" in dialog.note_label.cget("text") and dialog.remember.get()
    fill(view, "alice", "wrong")
    again = sign_in_dialog(view)  # opens again, saying why
    sentence = "Not signed in as alice: the account name or the password is wrong."
    assert again.error_label.cget("text") == sentence
    assert sentence in server_lines(view)
    assert keyring_file.get_password(SERVICE, account_key("alice", "127.0.0.1", fake.port)) is None
    fill(view, "alice", PASSWORD)
    pump(view, lambda: "signed in as alice" in view.status_label.cget("text"), what="status")
    assert view.account_button.cget("text") == "Account…"
    assert "Signed in as alice" in server_lines(view)
    assert next(m.params[0] for m in fake.received("AUTHENTICATE")) == "SCRAM-SHA-256"
    key = account_key("alice", "127.0.0.1", fake.port)
    assert keyring_file.get_password(SERVICE, key) == PASSWORD
    controller.close()
    saved = json.loads(settings_path().read_text())
    assert saved["account"] == "alice" and PASSWORD not in json.dumps(saved)


def test_the_dialog_creates_an_account_or_says_the_name_is_taken(accounts_server, make_chat, store):
    fake = accounts_server()
    controller, view = make_chat(fake.port, "bob")
    pump(view, lambda: controller.model.registered, what="registered")
    view.account_button.invoke()
    fill(view, "alice", "another one", "register_button")
    taken = sign_in_dialog(view)
    assert taken.error_label.cget("text") == (
        "Could not create the account alice: that name is already taken."
    )
    fill(view, "bob", "bob's password", "register_button")
    pump(view, lambda: "signed in as bob" in view.status_label.cget("text"), what="status")
    assert "Account bob created; you are signed in as bob" in server_lines(view)
    assert store.authenticate("bob", "bob's password") is not None
    assert fake.received("REGISTER")[-1].params == ["bob", "*", "bob's password"]


def test_closed_registration_is_explained(accounts_server, make_chat):
    fake = accounts_server(registration=False)
    controller, view = make_chat(fake.port, "bob")
    pump(view, lambda: controller.model.registered, what="registered")
    view.account_button.invoke()
    fill(view, "bob", "pw", "register_button")
    dialog = sign_in_dialog(view)
    assert dialog.error_label.cget("text") == (
        "Could not create the account bob: this server does not let people create accounts."
    )
    assert not fake.received("REGISTER")  # nothing sent: the server does not offer it


def test_a_server_without_accounts_says_so(server, make_chat):
    # The Kibitz server of today's main: no SASL offered.
    controller, view = make_chat(server.port, "alice")
    pump(view, lambda: controller.model.registered, what="registered")
    view.account_button.invoke()
    fill(view, "alice", PASSWORD)
    dialog = sign_in_dialog(view)
    assert dialog.error_label.cget("text") == (
        "Not signed in as alice: this server has no accounts."
    )


def test_signs_in_while_registering_with_the_kept_password(accounts_server, make_model):
    fake = accounts_server()
    _model, log = make_model(fake.port, "alice", account="alice", account_password=PASSWORD)
    log.expect(Kind.SIGNED_IN, account="alice")
    status = log.expect(Kind.STATUS, state="connected")
    assert status.account == "alice"
    commands = [m.command for m in fake.lines]
    assert commands.index("AUTHENTICATE") < commands.index("CAP", commands.index("AUTHENTICATE"))
    assert fake.received("CAP")[-1].params == ["END"]
    wrong, wrong_log = make_model(
        accounts_server().port, "alice", account="alice", account_password="nope"
    )
    wrong_log.expect(Kind.ACCOUNT_REFUSED, reason="wrong-password")
    wrong_log.expect(Kind.REGISTERED)  # refused, and still connected as a guest
    assert wrong.account is None


def test_the_account_option_without_a_kept_password_asks_at_start(accounts_server, make_view):
    from app.controller import ChatController
    from app.model import ChatModel

    fake = accounts_server()
    model = ChatModel("127.0.0.1", fake.port, "alice")
    view = make_view()
    controller = ChatController(model, view, Settings.load(), account="alice")
    controller.start()
    try:
        fill(view, "alice", PASSWORD)
        pump(view, lambda: model.account == "alice", what="signed in")
        # Asked for after registration: signed in through a later CAP REQ sasl.
        assert next(m.params[0] for m in fake.received("AUTHENTICATE")) == "SCRAM-SHA-256"
    finally:
        controller.close()


def test_no_keyring_the_dialog_says_so(accounts_server, make_view, monkeypatch):
    from app.controller import ChatController
    from app.model import ChatModel

    fake = accounts_server()
    model = ChatModel("127.0.0.1", fake.port, "alice")
    view = make_view()
    passwords = PasswordStore(keyring.backends.fail.Keyring())
    controller = ChatController(model, view, Settings.load(), passwords)
    controller.start()
    try:
        pump(view, lambda: model.registered, what="registered")
        view.account_button.invoke()
        dialog = sign_in_dialog(view)
        assert "No system keyring is available" in dialog.note_label.cget("text")
        assert str(dialog.remember_check.cget("state")) == "disabled"
        assert not dialog.remember.get()
        fill(view, "alice", PASSWORD)
        pump(view, lambda: model.account == "alice", what="signed in")
        assert passwords.get(account_key("alice", "127.0.0.1", fake.port)) == PASSWORD
    finally:
        controller.close()


def test_members_and_senders_signed_in_are_marked(accounts_server, make_chat):
    fake = accounts_server()
    _controller, view = make_chat(fake.port, "alice")
    pump(view, lambda: view.conversations["#general"].members, what="members")
    fake.send(":carol!c@h ACCOUNT carol")
    pump(view, lambda: "carol" in view.conversations["#general"].signed_in, what="carol")
    view.show_conversation("#general")
    labels = [view.member_list.item(i, "text") for i in view.member_list.get_children()]
    assert "+ carol ✓" in labels and "  dave" in labels
    fake.send(
        "@account=carol :carol!c@h PRIVMSG #general :from carol",
        ":dave!d@h PRIVMSG #general :from dave",
    )
    text = view.transcript_text
    pump(view, lambda: "from dave" in text(), what="both messages")
    lines = text().splitlines()
    carol = next(line for line in lines if "from carol" in line)
    dave = next(line for line in lines if "from dave" in line)
    assert "✓ carol" in carol and "✓" not in dave


def test_the_app_signs_in_to_a_real_kibitz_server(make_server, make_model, tmp_path):
    """End to end: SCRAM-SHA-256 against Kibitz's own SASL; a wrong password is a guest."""
    server = make_server(data_dir=str(tmp_path / "data"))
    server.accounts.create("alice", PASSWORD)
    model, log = make_model(server.port, "alice", account="alice", account_password=PASSWORD)
    log.expect(Kind.SIGNED_IN, account="alice")
    assert log.expect(Kind.STATUS, state="connected").account == "alice"
    log.expect(Kind.JOIN, own=True)
    wrong, wrong_log = make_model(server.port, "carol", account="alice", account_password="nope")
    wrong_log.expect(Kind.ACCOUNT_REFUSED, reason="wrong-password")
    wrong_log.expect(Kind.REGISTERED)
    assert wrong.account is None and model.account == "alice"
