"""ChatController with pytest-mock fakes for the model and the view."""

from __future__ import annotations

import queue
from datetime import datetime, timezone

import pytest

from app import events as ev
from app.controller import BATCH, POLL_MS, ChatController
from app.conversations import Conversations
from app.model import ChatModel
from app.reactions import Chip
from app.restore import Reopen, place_of, reopen_plan
from app.settings import Settings
from app.text import Line
from app.view import ChatView


@pytest.fixture
def model(mocker):
    real = ChatModel(nick="alice")
    fake = mocker.create_autospec(real, instance=True)
    fake.events = queue.Queue()
    fake.nick = fake.wanted_nick = "alice"
    fake.host, fake.port = "127.0.0.1", 5000
    fake.chantypes = "#&"
    fake.connected = True
    fake.tls, fake.tls_verify = False, True
    fake.fold.side_effect = real.fold
    fake.is_channel.side_effect = real.is_channel
    fake.is_me.side_effect = lambda nick: bool(nick) and nick.lower() == fake.nick.lower()
    for name in ("say", "send_raw", "join", "part", "set_topic", "set_away", "set_nick"):
        getattr(fake, name).return_value = True
    fake.joined.return_value = ["#general"]
    fake.wanted_channels.return_value = ["#general"]
    fake.members.return_value = [("@", "alice"), ("", "bob"), ("", "Bobby"), ("", "carol")]
    return fake


@pytest.fixture
def view(mocker):
    fake = mocker.create_autospec(ChatView, instance=True)
    conversations = Conversations()
    for key in ("", "#general"):
        conversations.add(key, key)
    conversations.current = "#general"
    fake.conversations = conversations
    fake.theme_error = ""
    fake.add_conversation.side_effect = lambda key, name, select=False: conversations.add(key, name)
    fake.schedule.return_value = "job1"
    fake.toggle_theme.return_value = "bootstrap-dark"
    fake.theme_name.return_value = "bootstrap-light"
    fake.get_cursor.return_value = 0
    return fake


@pytest.fixture
def controller(model, view):
    return ChatController(model, view, Settings())


def type_and_send(view, controller, text: str) -> None:
    view.get_message.return_value = text
    controller.send()


def appended(view, kind: str | None = None) -> list[Line]:
    lines = [c.args[1] for c in view.append.call_args_list]
    return [line for line in lines if kind is None or line.kind == kind]


def test_wires_every_view_callback(controller, view):
    handlers = {name for call in view.set_handlers.call_args_list for name in call.kwargs}
    assert handlers == {
        "send",
        "nick",
        "select",
        "theme",
        "close",
        "recall",
        "complete",
        "member",
        "focus",
        "older",
        "account",
        "joins",
        "typed",
        "send_typing",
        "notifications",
        "reading",
        "react",
        "pick_reaction",
        "reply",
        "cancel_reply",
        "quote",
        "search",
        "search_jump",
        "search_closed",
        "deletable",
        "delete",
    }


def test_showing_joins_is_remembered(controller):
    controller.remember_joins(False)
    assert Settings.load().show_joins is False
    controller.remember_joins(True)
    assert Settings.load().show_joins is True


def test_start_shows_conversations_connects_and_polls(controller, model, view):
    controller.start()
    view.set_nick.assert_called_with("alice")
    view.add_conversation.assert_any_call("", "")
    view.add_conversation.assert_any_call("#general", "#general", select=True)
    model.start.assert_called_once()
    view.schedule.assert_called_once_with(POLL_MS, controller.poll)


def test_send_text_to_the_open_channel(controller, model, view):
    type_and_send(view, controller, "hello world")
    model.say.assert_called_once_with("#general", "hello world")
    view.set_message.assert_called_with("")
    view.focus_message.assert_called()


def test_blank_input_sends_nothing(controller, model, view):
    type_and_send(view, controller, "   ")
    model.say.assert_not_called()
    view.append.assert_not_called()


def test_unknown_command_is_explained_not_sent(controller, model, view):
    type_and_send(view, controller, "/frob x")
    model.say.assert_not_called()
    model.send_raw.assert_not_called()
    (line,) = appended(view, "error")
    assert "Unknown command /frob" in line.text and "/help" in line.text


def test_not_connected_is_reported(controller, model, view):
    model.say.return_value = False
    type_and_send(view, controller, "hello")
    assert "Not connected" in appended(view, "error")[0].text


@pytest.mark.parametrize(
    ("typed", "method", "args", "kwargs"),
    [
        ("/me waves", "say", ("#general", "waves"), {"action": True}),
        ("/msg bob hi", "say", ("bob", "hi"), {}),
        ("/notice bob hi", "say", ("bob", "hi"), {"notice": True}),
        ("/join #dev", "join", ("#dev", None), {}),
        ("/join #dev key", "join", ("#dev", "key"), {}),
        ("/part bye", "part", ("#general", "bye"), {}),
        ("/nick alice2", "set_nick", ("alice2",), {}),
        ("/topic New topic", "set_topic", ("#general", "New topic"), {}),
        ("/topic", "set_topic", ("#general", None), {}),
        ("/away lunch", "set_away", ("lunch",), {}),
        ("/back", "set_away", (None,), {}),
        ("/whois bob", "send_raw", ("WHOIS bob",), {}),
        ("/names", "send_raw", ("NAMES #general",), {}),
        ("/raw PRIVMSG #x :hi there", "send_raw", ("PRIVMSG #x :hi there",), {}),
    ],
)
def test_slash_commands_reach_the_model(controller, model, view, typed, method, args, kwargs):
    type_and_send(view, controller, typed)
    getattr(model, method).assert_called_once_with(*args, **kwargs)


def test_query_opens_and_selects_a_conversation(controller, model, view):
    type_and_send(view, controller, "/query Bob hello")
    model.open_direct.assert_called_once_with("Bob")
    view.add_conversation.assert_called_with("bob", "Bob", select=True)
    model.say.assert_called_once_with("Bob", "hello")


def test_join_of_a_joined_channel_just_shows_it(controller, model, view):
    type_and_send(view, controller, "/join #GENERAL")
    model.join.assert_not_called()
    view.show_conversation.assert_called_with("#general")


def test_clear_help_and_quit(controller, model, view):
    type_and_send(view, controller, "/clear")
    view.clear_conversation.assert_called_once_with("#general")
    type_and_send(view, controller, "/help")
    assert any("/join" in line.text for line in appended(view, "info"))
    type_and_send(view, controller, "/quit gone fishing")
    model.quit.assert_called_once_with("gone fishing")
    view.destroy.assert_called_once()
    assert controller.closed


def test_close_sends_quit_cancels_polling_and_saves(controller, model, view, tmp_path):
    controller.start()
    controller.close()
    model.quit.assert_called_once_with("Leaving")
    view.cancel.assert_called_with("job1")
    saved = Settings.load()
    assert (saved.nick, saved.theme) == ("alice", "bootstrap-light")
    controller.close()  # a second close does nothing
    model.quit.assert_called_once()


def test_toggle_theme_is_remembered(controller, view):
    controller.toggle_theme()
    assert Settings.load().theme == "bootstrap-dark"


def test_name_entry_changes_nick(controller, model, view):
    view.get_name.return_value = "alice2"
    controller.change_nick()
    model.set_nick.assert_called_once_with("alice2")
    view.get_name.return_value = "bad name"
    controller.change_nick()
    assert model.set_nick.call_count == 1
    view.set_nick.assert_called_with("alice")
    assert "cannot be a name" in appended(view, "error")[0].text


def test_recall_up_and_down(controller, view):
    for text in ("one", "two"):
        type_and_send(view, controller, text)
    view.get_message.return_value = "draft"
    controller.recall(-1)
    view.set_message.assert_called_with("two")
    controller.recall(-1)
    view.set_message.assert_called_with("one")
    controller.recall(-1)
    view.set_message.assert_called_with("one")
    controller.recall(1)
    view.set_message.assert_called_with("two")
    controller.recall(1)
    view.set_message.assert_called_with("draft")


def test_tab_completes_nicks_and_cycles(controller, view):
    view.get_message.return_value = "bo"
    view.get_cursor.return_value = 2
    controller.complete()
    view.set_message.assert_called_with("bob: ", 5)
    view.get_message.return_value = "bob: "
    view.get_cursor.return_value = 5
    controller.complete()
    view.set_message.assert_called_with("Bobby: ", 7)
    controller.complete()
    view.get_message.return_value = "bob: "
    controller.complete()
    view.set_message.assert_called_with("Bobby: ", 7)


def test_tab_mid_line_channels_and_commands(controller, view):
    view.get_message.return_value = "hey ca there"
    view.get_cursor.return_value = 6
    controller.complete()
    view.set_message.assert_called_with("hey carol there", 10)
    view.get_message.return_value = "see #gen"
    view.get_cursor.return_value = 8
    controller.complete()
    view.set_message.assert_called_with("see #general ", 13)
    view.get_message.return_value = "/jo"
    view.get_cursor.return_value = 3
    controller.complete()
    view.set_message.assert_called_with("/join ", 6)
    view.get_message.return_value = "zzz"
    view.get_cursor.return_value = 3
    controller.complete()
    view.bell.assert_called_once()


def test_poll_renders_events(controller, model, view):
    when = datetime(2024, 1, 1, 12, 30, tzinfo=timezone.utc)
    events = [
        ev.Message("#general", "bob", "hi alice!", when),
        ev.Message("#general", "alice", "hi", own=True),
        ev.Message("#general", "bob", "waves", action=True),
        ev.Message("Dave", "Dave", "psst"),
        ev.Join("#general", "carol"),
        ev.Topic("#general", "New topic", "bob"),
        ev.MembersChanged("#general", (("@", "alice"),)),
        ev.Reply("401", ("No such nick",), None, error=True),
        ev.Status("connected", "x:1", nick="alice"),
    ]
    for event in events:
        model.events.put(event)
    assert controller.poll() == len(events)
    lines = appended(view)
    first = lines[0]
    assert (first.kind, first.nick, first.mention, first.time) == (
        "message",
        "bob",
        True,
        when.astimezone().strftime("%H:%M"),
    )
    assert lines[1].own and not lines[1].mention
    assert view.append.call_args_list[1].kwargs == {"count": False}
    assert lines[2].kind == "action"
    view.add_conversation.assert_any_call("dave", "Dave")
    assert view.append.call_args_list[3].args[0] == "dave"
    assert "carol joined" in lines[4].text
    view.set_topic.assert_called_with("#general", "New topic")
    view.set_members.assert_called_with("#general", (("@", "alice"),), frozenset(), False, ())
    assert lines[-1].kind == "error" and view.append.call_args_list[-1].args[0] == "#general"
    view.set_status.assert_called_with("connected", "Connected to x:1 as alice")
    view.schedule.assert_called_with(POLL_MS, controller.poll)


def test_poll_works_in_bounded_batches(controller, model, view):
    for i in range(BATCH * 2 + 5):
        model.events.put(ev.Message("#general", "bob", str(i)))
    assert controller.poll() == BATCH
    view.schedule.assert_called_with(1, controller.poll)
    assert controller.poll() == BATCH
    assert controller.poll() == 5
    view.schedule.assert_called_with(POLL_MS, controller.poll)


def test_own_join_part_and_query_rename(controller, model, view):
    type_and_send(view, controller, "/join #dev")
    model.events.put(ev.Join("#dev", "alice", own=True))
    model.events.put(ev.Part("#dev", "alice", own=True))
    model.events.put(ev.Message("dave", "dave", "x"))
    model.events.put(ev.Nick("dave", "david", "dave"))
    controller.poll()
    view.add_conversation.assert_any_call("#dev", "#dev", select=True)
    view.remove_conversation.assert_called_once_with("#dev")
    view.rename_conversation.assert_called_once_with("dave", "david", "david")


def test_disconnect_is_shown_once_and_counts_down(controller, model, view):
    boom = ev.Failure("os", "boom")
    model.events.put(ev.Registered("alice"))
    model.events.put(ev.Status("disconnected", "chat.lan:5000", failure=boom))
    model.events.put(ev.Status("reconnecting", "chat.lan:5000", failure=boom, delay=8.0))
    controller.poll()
    errors = [line for line in appended(view, "error") if "boom" in line.text]
    assert len(errors) == len(view.conversations)  # one line in every conversation
    state, text = view.set_status.call_args.args
    assert state == "reconnecting"
    assert text.startswith("Disconnected from chat.lan:5000: boom — reconnecting in ")
    view.schedule.assert_any_call(1000, controller._tick)


def test_member_double_click_opens_query(controller, model, view):
    controller.open_direct("bob")
    model.open_direct.assert_called_once_with("bob")
    view.add_conversation.assert_called_with("bob", "bob", select=True)
    controller.open_direct("alice")  # not with ourselves
    model.open_direct.assert_called_once()


def test_start_opens_the_conversations_in_order_and_shows_the_one_shown(model, view):
    controller = ChatController(
        model, view, Settings(), reopen=Reopen(("#general", "bob", "#b"), "bob")
    )
    controller.start()
    assert view.conversations.ordered_keys() == ["", "#general", "bob", "#b"]
    view.add_conversation.assert_any_call("bob", "bob", select=True)
    view.add_conversation.assert_any_call("#b", "#b", select=False)


def test_close_remembers_what_is_open(model, view):
    settings = Settings()
    view.conversations.add("bob", "bob")
    view.conversations.add("#b", "#b")
    view.conversations.current = "bob"
    ChatController(model, view, settings).close()
    assert reopen_plan(Settings.load(), place_of("127.0.0.1", 5000, "", "alice")) == Reopen(
        ("#general", "bob", "#b"), "bob"
    )


def test_a_join_the_server_makes_does_not_take_the_reopened_conversation_away(model, view):
    controller = ChatController(model, view, Settings(), reopen=Reopen(("bob",), "bob"))
    controller.start()
    view.conversations.current = "bob"
    model.events.put(ev.Join("#dev", "alice", True))  # a join the server made for us
    controller.poll()
    view.add_conversation.assert_called_with("#dev", "#dev", select=False)


def _said(controller, text: str, conversation: str = "#general", **fields) -> None:
    when = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    controller.handlers[ev.Kind.MESSAGE](ev.Message(conversation, "bob", text, when, **fields))


def test_alerts_only_for_what_someone_else_says_to_us(model, view, mocker):
    controller = ChatController(model, view, Settings())
    view.set_handlers.assert_any_call(notifications=controller.alerts.set_enabled)
    notifier = controller.alerts.notifier = mocker.Mock()
    view.has_focus.return_value = False
    _said(controller, "just chatting")
    _said(controller, "alice: a notice", notice=True)
    _said(controller, "alice: from me", own=True)
    notifier.notify.assert_not_called()
    view.set_urgent.assert_not_called()
    _said(controller, "alice: you", action=True)
    notifier.notify.assert_called_once_with("#general", "bob in #general", "* bob alice: you")
    view.set_urgent.assert_called_once_with(True)
    controller.alerts.set_enabled(False)
    _said(controller, "alice: again")
    assert notifier.notify.call_count == 1
    assert view.set_urgent.call_count == 2  # the window still asks for attention
    assert Settings.load().notifications is False
    controller.alerts.close()
    notifier.close.assert_called_once_with()


def test_a_click_for_a_conversation_gone_only_brings_the_window_forward(model, view, mocker):
    controller = ChatController(model, view, Settings())
    controller.handlers[ev.Kind.NOTIFICATION_CLICKED](ev.NotificationClicked("carol"))
    view.present.assert_called_once_with()
    view.show_conversation.assert_not_called()
    controller.handlers[ev.Kind.NOTIFICATION_CLICKED](ev.NotificationClicked("#general"))
    view.show_conversation.assert_called_once_with("#general")


def test_a_reply_under_way_goes_with_its_msgid_once(controller, model, view):
    original = Line("message", "10:00", "bob", "who has the keys?", msgid="m1")
    controller.reacting.start_reply("#general", original)
    view.set_reply.assert_called_with("#general", "bob: who has the keys?")
    type_and_send(view, controller, "I do")
    model.say.assert_called_with("#general", "I do", reply="m1")
    view.set_reply.assert_called_with("#general", "")
    type_and_send(view, controller, "and the car")
    model.say.assert_called_with("#general", "and the car")
    # A command is no reply: /me goes as it always does, the reply waits.
    controller.reacting.start_reply("#general", original)
    type_and_send(view, controller, "/me looks")
    model.say.assert_called_with("#general", "looks", action=True)
    # Offline: said so, as for any message.
    model.say.return_value = False
    type_and_send(view, controller, "later")
    model.say.assert_called_with("#general", "later", reply="m1")
    assert "Not connected" in appended(view, "error")[-1].text


def test_a_click_on_a_reaction_toggles_ours(controller, model, view):
    controller.reacting.toggle("#general", "m1", "👍")
    model.react.assert_called_with("#general", "m1", "👍", remove=False)
    model.events.put(ev.Reaction("#general", "alice", "m1", "👍", own=True))
    controller.poll()
    view.set_reactions.assert_called_with("#general", "m1", (Chip("👍", 1, True),))
    controller.reacting.toggle("#general", "m1", "👍")
    model.react.assert_called_with("#general", "m1", "👍", remove=True)
