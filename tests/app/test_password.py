"""The server password: asked for when refused, used to reconnect, remembered only on request."""

from __future__ import annotations

import json
import socket
import stat

import pytest

from app.__main__ import build_model, parse_args
from app.conversations import Conversations
from app.events import Kind, PasswordWanted
from app.passwords import SERVICE, server_key
from app.settings import Settings, settings_path
from app.text import password_text, reply_text, status_text
from tests.app.fakeserver import FakeServer
from tests.app.helpers import pump

SECRET = "s3cret pass"  # a space: PASS must send it as the trailing parameter


@pytest.fixture
def server(make_server):
    """The server of this module wants a password (and knows one operator)."""
    return make_server(password=SECRET, opers={"boss": "hunter2"})


def test_missing_then_wrong_then_right_password(server, make_model):
    model, log = make_model(server.port, "alice")
    ask = log.expect(Kind.PASSWORD)
    assert password_text(ask) == "The server wants a password"
    waiting = log.expect(Kind.STATUS, state="disconnected")
    assert "wants a password" in status_text(waiting)
    model.set_password("wrong")
    log.expect(Kind.STATUS, state="connecting")
    assert password_text(log.expect(Kind.PASSWORD)) == "The server refused the password"
    again = log.expect(Kind.STATUS, state="disconnected", password_wanted=True)
    assert status_text(again) == status_text(waiting)
    model.set_password(SECRET)
    log.expect(Kind.REGISTERED, nick="alice")
    log.expect(Kind.JOIN, conversation="#general", own=True)
    # A refused password is never retried on its own: no backoff loop in between.
    assert not log.of(Kind.STATUS, state="reconnecting")
    assert len(log.of(Kind.STATUS, state="connecting")) == 3


def test_a_given_password_connects_and_oper_refusal_does_not_ask(server, make_model):
    model, log = make_model(server.port, "alice", password=SECRET)
    log.expect(Kind.REGISTERED)
    model.send_raw("OPER boss wrong")
    refusal = log.expect(Kind.REPLY, error=True)
    assert "Password incorrect" in reply_text(refusal)
    assert not log.of(Kind.PASSWORD) and model.connected


def test_a_password_error_without_464_also_asks(make_model):
    fake = FakeServer()

    def refuse(srv: FakeServer, _msg: object) -> None:
        srv.send("ERROR :Closing Link: Bad password")
        assert srv.conn is not None
        srv.conn.shutdown(socket.SHUT_RDWR)

    fake.rules["USER"] = refuse
    try:
        model, log = make_model(fake.port, "alice")
        log.expect(Kind.PASSWORD)
        log.expect(Kind.STATUS, state="disconnected")
        del fake.rules["USER"]
        model.set_password("pw")
        log.expect(Kind.REGISTERED)
        log.expect(Kind.MEMBERS, conversation="#general")  # the fake is quiet from here on
        assert fake.received("PASS")[-1].params == ["pw"]
    finally:
        fake.close()


def test_stop_while_waiting_for_a_password(server, make_model):
    model, log = make_model(server.port, "alice")
    log.expect(Kind.STATUS, state="disconnected")
    model.stop()
    log.expect(Kind.STATUS, state="closed")
    assert not model.connection.running


def dialog_of(view):
    """The open password dialog, once the window shows one."""

    def opened():
        dialog = view.password_dialog
        return dialog if dialog is not None and dialog.open else None

    return pump(view, opened, what="the password dialog")


def answer(view, password: str, remember: bool = False) -> None:
    dialog = dialog_of(view)
    dialog.entry.delete(0, "end")
    dialog.entry.insert(0, password)
    if remember:
        dialog.remember_check.invoke()
    dialog.ok_button.invoke()
    assert not dialog.open


def test_window_asks_and_remembers_in_the_keyring_when_ticked(server, make_chat, keyring_file):
    controller, view = make_chat(server.port)
    dialog = dialog_of(view)
    assert "wants a password" in dialog.prompt_label.cget("text")
    assert f"127.0.0.1:{server.port}" in dialog.prompt_label.cget("text")
    note = dialog.note_label.cget("text")
    assert "system keyring" in note and "PlaintextKeyring" in note
    assert dialog.remember.get() is False and dialog.entry.cget("show") == "•"
    key = server_key("127.0.0.1", server.port)
    answer(view, "wrong", remember=True)
    # Refused again: a new dialog; the ticked one was kept until the next answer.
    dialog = dialog_of(view)
    assert "refused" in dialog.prompt_label.cget("text")
    assert keyring_file.get_password(SERVICE, key) == "wrong"
    answer(view, SECRET, remember=True)
    pump(view, lambda: controller.model.registered, what="registered with the password")
    assert keyring_file.get_password(SERVICE, key) == SECRET
    assert keyring_file.get_password(SERVICE, server_key("127.0.0.1", server.port + 1)) is None
    controller.close()
    assert SECRET not in settings_path().read_text()  # the settings file never holds it
    assert stat.S_IMODE(settings_path().stat().st_mode) == 0o600
    # The next run finds it there.
    args = parse_args(["--port", str(server.port)], Settings.load())
    assert build_model(args, Settings.load()).password == SECRET


def test_window_keeps_an_unticked_password_for_this_run_only(server, make_chat):
    controller, view = make_chat(server.port)
    answer(view, SECRET)
    pump(view, lambda: controller.model.registered, what="registered with the password")
    controller.close()
    data = json.loads(settings_path().read_text())
    assert "password" not in data and SECRET not in json.dumps(data)


def test_window_cancel_leaves_it_disconnected(server, make_chat):
    controller, view = make_chat(server.port)
    dialog_of(view).cancel_button.invoke()
    pump(view, lambda: "wants a password" in view.status_label.cget("text"), what="status")
    lines = [line.text for line in view.conversations[""].lines]
    assert "Not connected: the server wants a password." in lines
    assert not controller.model.connected
    # An empty entry is not an answer.
    controller.model.set_password(None)
    dialog = dialog_of(view)
    dialog.ok_button.invoke()
    assert dialog.open


def test_controller_asks_the_view_and_handles_answers(mocker, tmp_path, keyring_file):
    from app.controller import ChatController
    from app.model import ChatModel
    from app.view import ChatView

    model = mocker.create_autospec(ChatModel(nick="alice"), instance=True)
    model.host, model.port, model.tls, model.tls_verify = "chat.lan", 6697, True, True
    model.wanted_nick = "alice"
    view = mocker.create_autospec(ChatView, instance=True)
    view.conversations = Conversations()
    view.conversations.current = ""
    settings = Settings()
    keyring_file.set_password(SERVICE, server_key("chat.lan", 6697), "old")
    controller = ChatController(model, view, settings)
    controller.handlers[Kind.PASSWORD](PasswordWanted(refused=True))
    key, line = view.append.call_args.args  # said in the server conversation, too
    assert (key, line.kind, line.text) == ("", "error", "The server refused the password")
    prompt, note, callback = view.ask_password.call_args.args
    assert "refused" in prompt and "chat.lan:6697" in prompt and "system keyring" in note
    callback("new", False)  # not ticked: the refused stored one is forgotten, "new" not kept
    model.set_password.assert_called_once_with("new")
    assert keyring_file.get_password(SERVICE, server_key("chat.lan", 6697)) is None
    callback("newer", True)
    assert keyring_file.get_password(SERVICE, server_key("chat.lan", 6697)) == "newer"
    assert not settings_path().exists() or "newer" not in settings_path().read_text()
    callback(None, False)
    assert model.set_password.call_count == 2
    assert view.append.call_args.args[1].text == "Not connected: the server wants a password."
