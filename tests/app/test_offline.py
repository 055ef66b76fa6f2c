"""What is typed while the connection is down: messages wait, shown as pending, and go out
once the server is back (real server stopped and started again, real window); commands
say what becomes of them."""

from __future__ import annotations

import queue
import threading
import tkinter

import pytest

from app.caps import WANTED_CAPS
from app.controller import ChatController
from app.conversations import Conversations
from app.events import Kind, Message
from app.model import ChatModel
from app.pending import NOT_SENT, PendingLines
from app.settings import Settings
from app.text import Line
from app.view import ChatView
from tests.app.fakeserver import FakeServer
from tests.app.helpers import press_return, pump, wait_for
from tests.support.ircclient import IRCClient


def transcript(view) -> str:
    return view.chat_area.get("1.0", "end-1c")


def privmsgs(client: IRCClient) -> list[tuple[str, str]]:
    return [(m.nick or "", m.params[1]) for m in client.sync() if m.command == "PRIVMSG"]


@pytest.mark.parametrize("echo", [True, False], ids=["echo-message", "no-echo"])
def test_a_message_typed_while_the_server_is_down_is_sent_once_it_is_back(
    make_server, make_chat, tmp_path, echo
):
    first = make_server(data_dir=str(tmp_path))
    port = first.port
    back = threading.Event()  # the window tries again once the new server is up
    caps = (
        WANTED_CAPS
        if echo
        else tuple(c for c in WANTED_CAPS if c not in ("echo-message", "draft/chathistory"))
    )
    controller, view = make_chat(port, "alice", sleep=lambda _d: back.wait(10), wanted_caps=caps)
    model = controller.model
    pump(view, lambda: model.joined() and view.conversations.current == "#general", what="in")
    assert ("echo-message" in model.caps) is echo
    first.stop()
    pump(view, lambda: not model.connected, what="disconnected")

    press_return(view, "typed while offline")
    press_return(view, "and a second line")
    assert view.message_entry.get() == ""  # accepted, not lost
    pump(view, lambda: f"and a second line {NOT_SENT}" in transcript(view), what="pending")
    assert f"alice\ttyped while offline {NOT_SENT}" in transcript(view)

    second = make_server(data_dir=str(tmp_path), port=port)
    carol = IRCClient(second.port)
    carol.register("carol")
    back.set()
    pump(view, lambda: NOT_SENT not in transcript(view), what="the pending lines settled")
    got: list[str] = []
    pump(view, lambda: got.extend(privmsgs(carol)) or len(got) >= 2, what="carol's copy")
    got.extend(privmsgs(carol))
    # Exactly once for carol, in order, and once (as alice's message) in alice's window.
    assert got == [("alice", "typed while offline"), ("alice", "and a second line")]
    lines = transcript(view).splitlines()
    assert [ln.split("\t", 1)[1] for ln in lines if "offline" in ln or "second" in ln] == [
        "alice\ttyped while offline",
        "alice\tand a second line",
    ]
    assert not controller.pending
    carol.close()


def test_closing_the_window_with_lines_not_sent_asks_first(make_server, make_chat):
    server = make_server()
    controller, view = make_chat(server.port, "alice", sleep=lambda _d: threading.Event().wait(10))
    pump(view, lambda: view.conversations.current == "#general", what="in #general")
    server.stop()
    pump(view, lambda: not controller.model.connected, what="disconnected")
    press_return(view, "still to say")
    pump(view, lambda: f"still to say {NOT_SENT}" in transcript(view), what="the line pending")
    assert controller.model.unsent == 1

    def close_button() -> None:  # as the title bar's close button closes it
        view.root.tk.eval(view.root.protocol("WM_DELETE_WINDOW"))
        view.root.update()

    close_button()
    dialog = view.confirm_dialog
    assert dialog is not None and dialog.open
    assert dialog.question_label.cget("text") == (
        "1 line you wrote is not sent yet. Close anyway and lose them?"
    )
    assert dialog.window.title() == "Close Kibitz?" and dialog.ok_button.cget("text") == "Close"
    dialog.cancel_button.invoke()  # keep the window, and the line
    view.root.update()
    assert not controller.closed and view.root.winfo_exists()
    assert f"still to say {NOT_SENT}" in transcript(view)
    close_button()
    view.confirm_dialog.ok_button.invoke()
    assert controller.closed
    with pytest.raises(tkinter.TclError):
        view.root.winfo_exists()  # the window is gone


# --- commands typed while not connected (a real model that never connects) ------------------
@pytest.fixture
def offline(mocker):
    model = ChatModel("127.0.0.1", 1, "alice", channels=["#general"])
    view = mocker.create_autospec(ChatView, instance=True)
    conversations = Conversations()
    view.conversations = conversations
    view.theme_error = ""

    def add(key: str, name: str, select: bool = False) -> None:
        conversations.add(key, name)
        if select or conversations.current is None:
            conversations.open(key)

    view.add_conversation.side_effect = add
    view.remove_conversation.side_effect = conversations.remove
    for key in ("", "#general"):
        add(key, key, select=True)
    controller = ChatController(model, view, Settings())
    return controller, model, view


def typed(controller: ChatController, view, text: str) -> list[str]:
    """Type ``text`` and press Enter; the lines the window was given for it."""
    view.append.reset_mock()
    view.get_message.return_value = text
    controller.send()
    while True:
        try:
            event = controller.model.events.get_nowait()
        except queue.Empty:
            break
        handler = controller.handlers.get(event.kind)
        if handler is not None:
            handler(event)
    return [c.args[1].text for c in view.append.call_args_list]


@pytest.mark.parametrize(
    ("text", "key", "shown"),
    [
        ("hello", "#general", f"hello {NOT_SENT}"),
        ("/me waves", "#general", f"* alice waves {NOT_SENT}"),
        ("/msg bob see you", "bob", f"see you {NOT_SENT}"),
        ("/query bob later", "bob", f"later {NOT_SENT}"),
    ],
)
def test_said_while_offline_is_pending_not_refused(offline, text, key, shown):
    controller, model, view = offline
    assert typed(controller, view, text) == [shown]
    assert view.append.call_args.args[0] == key
    assert model.connection.unsent == 1
    assert len(controller.pending) == 1


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("/join #dev", "Not connected — you join #dev once connected."),
        ("/nick alicia", "You will be alicia when connected."),
        ("/away lunch", "Not connected — you are marked away once connected."),
        ("/topic hi", "Not connected — topic not sent. Waiting for the server…"),
        ("/whois bob", "Not connected — whois not sent. Waiting for the server…"),
        ("/raw PING x", "Not connected — line not sent. Waiting for the server…"),
    ],
)
def test_commands_typed_offline_say_what_becomes_of_them(offline, text, said):
    controller, _model, view = offline
    assert typed(controller, view, text) == [said]
    view.set_message.assert_called_with("")


def test_join_typed_offline_is_joined_once_connected(offline):
    controller, model, view = offline
    typed(controller, view, "/join #dev")
    assert model.wanted_channels() == ["#general", "#dev"]


def test_part_typed_offline_closes_the_tab_and_is_not_rejoined(offline):
    controller, model, view = offline
    assert typed(controller, view, "/part") == [
        "Not connected — #general is closed and not joined again."
    ]
    assert "#general" not in view.conversations
    assert model.wanted_channels() == []


def test_a_join_before_registration_waits_for_it(make_model):
    fake = FakeServer(welcome=False)  # connected, never registered
    try:
        model, log = make_model(fake.port, "alice", channels=[])
        wait_for(lambda: fake.received("USER"), what="registration sent")
        assert model.connected and not model.registered
        assert not model.join("#dev")
        assert model.wanted_channels() == ["#dev"]
        fake.send(":fake 001 alice :Welcome alice")
        wait_for(lambda: fake.received("JOIN"), what="the JOIN")
        assert [m.params for m in fake.received("JOIN")] == [["#dev"]]
        log.expect(Kind.JOIN, conversation="#dev", own=True)  # the fake is done answering
    finally:
        fake.close()


# --- the pending lines themselves ----------------------------------------------------------
def test_an_own_message_settles_the_oldest_pending_line_with_its_text(mocker):
    view = mocker.Mock()
    pending = PendingLines(view)
    said = [Message("#a", "alice", text, own=True) for text in ("one", "two", "one")]
    lines = [Line("message", "10:00", "alice", m.text, own=True) for m in said]
    for message, line in zip(said, lines, strict=True):
        pending.show("#a", message, line)
    shown = [c.args[1] for c in view.append.call_args_list]
    assert [line.text for line in shown] == [f"{t} {NOT_SENT}" for t in ("one", "two", "one")]
    echo = Line("message", "10:01", "alice", "one", own=True, msgid="m1")
    # Not the same conversation, or an action with that text: nothing settles.
    assert not pending.settle("#b", Message("#b", "alice", "one", own=True), echo)
    assert not pending.settle("#a", Message("#a", "alice", "one", own=True, action=True), echo)
    assert pending.settle("#a", Message("#a", "alice", "one", own=True), echo)
    view.replace_line.assert_called_once_with("#a", shown[0], echo)
    assert pending.settle("#a", Message("#a", "alice", "one", own=True), echo)
    assert view.replace_line.call_args.args[1] is shown[2]
    assert len(pending) == 1
    # The server's echo comes with its formatting stripped (as the session shows it).
    pending.show("#a", Message("#a", "alice", "\x02bold\x02 move", own=True), lines[0])
    assert pending.settle("#a", Message("#a", "alice", "bold move", own=True), echo)
    assert len(pending) == 1


def test_a_settled_line_leaves_the_reader_where_they_were(make_view):
    view = make_view()
    view.add_conversation("#a", "#a", select=True)
    for i in range(200):
        view.append("#a", Line("message", "10:00", "bob", f"line {i}"), count=False)
    waiting = Line("event", "10:01", "alice", f"hello {NOT_SENT}", own=True)
    view.append("#a", waiting, count=False)
    view.root.update()
    text = view.chat_area.text
    text.yview_moveto(0.25)  # the user scrolls up to read
    view.root.update()
    top = text.yview()[0]
    settled = Line("message", "10:01", "alice", "hello", own=True)
    view.replace_line("#a", waiting, settled)
    view.root.update()
    assert abs(text.yview()[0] - top) < 0.01
    assert not view.transcript.follow.following
    assert NOT_SENT not in view.transcript_text()
    assert view.transcript_text().endswith("alice\thello\n")
    assert list(view.conversations["#a"].lines)[-1] is settled
