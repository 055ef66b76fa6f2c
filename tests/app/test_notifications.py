"""Desktop notifications: the real window on the virtual display, a real server and a raw
peer, and a real D-Bus session bus (started here) with a notification service that records
what it is asked to show."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import pytest

from app.__main__ import build_controller, load_args
from app.controller import ChatController
from app.model import ChatModel
from app.notifications import DesktopNotifier, notification_text
from app.settings import Settings
from app.text import Line
from app.view import ChatView
from tests.app.helpers import pump
from tests.support.dbus import NotificationService, SessionBus, start_session_bus
from tests.support.waiting import wait_for
from tests.support.x11 import drop_focus, is_urgent

Chat = tuple[ChatController, ChatView, DesktopNotifier]


def line(text: str, nick: str = "bob", kind: str = "message") -> Line:
    return Line(kind, "10:00", nick, text)


def test_the_title_names_sender_and_conversation_and_the_body_is_plain_short_text():
    assert notification_text("#general", line("alice: hi")) == ("bob in #general", "alice: hi")
    assert notification_text("bob", line("psst")) == ("bob", "psst")
    _title, body = notification_text("bob", line("\x02bold\x02 \x0304red\x03 and\nmore"))
    assert body == "bold red and more"
    assert notification_text("#dev", line("waves", kind="action"))[1] == "* bob waves"
    body = notification_text("#dev", line("x" * 1000))[1]
    assert len(body) == 200 and body.endswith("…")


def test_notifications_are_on_by_default_and_remembered(tmp_path):
    assert Settings().notifications is True
    settings = Settings(notifications=False)
    settings.save(tmp_path / "s.json")
    assert Settings.load(tmp_path / "s.json").notifications is False


@pytest.fixture
def session_bus(tmp_path_factory, monkeypatch) -> Iterator[SessionBus]:
    bus = start_session_bus(tmp_path_factory.mktemp("bus"))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    try:
        yield bus
    finally:
        bus.stop()


@pytest.fixture
def service(session_bus) -> Iterator[NotificationService]:
    # body-markup: the service reads the body as markup, so the app must escape it.
    service = NotificationService(session_bus.address, ["body", "actions", "body-markup"])
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def notifying_chat(server, make_view) -> Iterator[Callable[..., Chat]]:
    """A running window whose controller notifies through the session bus (as the app
    does), connected to the test server."""
    controllers: list[ChatController] = []

    def build(nick: str = "alice") -> Chat:
        model = ChatModel("127.0.0.1", server.port, nick)
        settings = Settings.load()
        view = make_view(notifications=settings.notifications)
        controller = ChatController(model, view, settings)
        notifier = controller.alerts.notifier = DesktopNotifier(model.events)
        controllers.append(controller)
        controller.start()
        pump(view, lambda: model.registered and model.joined(), what="registered and joined")
        pump(view, lambda: view.conversations["#general"].members, what="member list")
        return controller, view, notifier

    try:
        yield build
    finally:
        while controllers:
            controller = controllers.pop()
            controller.close()
            controller.alerts.close()


def transcript(view: ChatView) -> str:
    return view.chat_area.get("1.0", "end-1c")


def unfocus(view: ChatView) -> None:
    focus(view)  # X's focus on the window first (not Tk's guess from where the pointer is)
    drop_focus(view.root.winfo_screen())
    pump(view, lambda: not view.has_focus(), what="focus gone")


def focus(view: ChatView) -> None:
    view.root.focus_force()
    view.message_entry.focus_force()
    pump(view, view.has_focus, what="focus")


def urgent(view: ChatView) -> bool:
    return is_urgent(view.root.winfo_screen(), view.root.winfo_id())


def toggle_notifications(view: ChatView) -> None:
    menu = view.transcript.menu
    index = next(
        i
        for i in range(int(menu.index("end")) + 1)
        if menu.type(i) == "checkbutton" and menu.entrycget(i, "label") == "Desktop notifications"
    )
    menu.invoke(index)


def test_a_mention_while_unfocused_notifies_once_and_asks_for_attention(
    service, notifying_chat, connect
):
    bob = connect("bob")
    _controller, view, _notifier = notifying_chat("alice")
    unfocus(view)
    assert not urgent(view)
    bob.send("PRIVMSG #general :alice: look at \x02this\x02 & <that>")
    pump(view, service.notified, what="a notification")
    (call,) = service.notified()
    assert call.app_name == "Kibitz"
    assert call.summary == "bob in #general"
    assert call.body == "alice: look at this &amp; &lt;that&gt;"  # plain text, escaped
    assert call.replaces_id == 0
    assert call.actions[::2] == ["default"]
    assert call.app_icon.startswith("file://") and call.app_icon.endswith("kibitz.png")
    assert urgent(view)  # the window's urgency hint, in its WM_HINTS
    focus(view)
    pump(view, lambda: not urgent(view), what="urgency cleared on focus")
    assert len(service.notified()) == 1


def test_no_notification_for_what_the_user_is_reading(service, notifying_chat, connect):
    bob = connect("bob")
    _controller, view, _notifier = notifying_chat("alice")
    focus(view)
    bob.send("PRIVMSG #general :alice: are you there?")
    pump(view, lambda: "are you there?" in transcript(view))
    # Focused, but a private conversation the window does not show: notified.
    bob.send("PRIVMSG alice :psst")
    pump(view, service.notified, what="the private message's notification")
    assert view.conversations.current == "#general"
    (call,) = service.notified()  # the mention before it was not
    assert (call.summary, call.body) == ("bob", "psst")
    assert not urgent(view)  # a focused window asks for no attention


def test_a_conversation_replaces_its_notification_rather_than_stacking(
    service, notifying_chat, connect
):
    bob = connect("bob")
    _controller, view, _notifier = notifying_chat("alice")
    unfocus(view)
    bob.send("PRIVMSG #general :alice: one")
    bob.send("PRIVMSG #general :alice: two")
    bob.send("PRIVMSG alice :elsewhere")
    pump(view, lambda: len(service.notified()) == 3, what="three notifications")
    one, two, other = service.notified()
    assert [c.body for c in (one, two, other)] == ["alice: one", "alice: two", "elsewhere"]
    assert one.replaces_id == 0
    assert two.replaces_id == one.id  # the same conversation: replaced
    assert other.replaces_id == 0 and other.id != one.id  # another one: its own


def test_a_dismissed_notification_is_not_replaced_but_shown_anew(service, notifying_chat, connect):
    bob, carol = connect("bob"), connect("carol")
    _controller, view, _notifier = notifying_chat("alice")
    unfocus(view)
    bob.send("PRIVMSG alice :one")
    pump(view, service.notified, what="bob's notification")
    carol.send("PRIVMSG alice :hello")
    pump(view, lambda: len(service.notified()) == 2, what="carol's notification")
    for_bob, for_carol = service.notified()
    service.dismiss(for_bob.id)
    service.click(for_carol.id)  # handled after the dismissal: a barrier
    pump(view, lambda: view.conversations.current == "carol", what="carol's conversation")
    unfocus(view)
    bob.send("PRIVMSG alice :two")
    pump(view, lambda: len(service.notified()) == 3, what="bob's new notification")
    assert service.notified()[2].replaces_id == 0


def test_clicking_a_notification_opens_its_conversation_in_the_window(
    service, notifying_chat, connect
):
    bob = connect("bob")
    _controller, view, _notifier = notifying_chat("alice")
    unfocus(view)
    bob.send("PRIVMSG alice :come and see")
    pump(view, service.notified, what="a notification")
    assert view.conversations.current == "#general"
    service.click(service.notified()[0].id)
    pump(view, lambda: view.conversations.current == "bob", what="bob's conversation opened")
    pump(view, view.has_focus, what="the window focused")
    assert view.title_label.cget("text") == "bob"


def test_only_the_default_action_of_our_own_notification_opens_anything(
    service, notifying_chat, connect
):
    bob, carol = connect("bob"), connect("carol")
    _controller, view, _notifier = notifying_chat("alice")
    unfocus(view)
    bob.send("PRIVMSG alice :from bob")
    pump(view, service.notified, what="bob's notification")
    carol.send("PRIVMSG alice :from carol")
    pump(view, lambda: len(service.notified()) == 2, what="carol's notification")
    for_bob, for_carol = service.notified()
    service.click(for_bob.id, "reply")  # an action we never offered
    service.click(for_carol.id + 100)  # another program's notification
    service.click(for_carol.id)  # handled after the two above: they did nothing
    pump(view, lambda: view.conversations.current == "carol", what="carol's conversation")
    assert view.conversations["bob"].unread == 1  # never opened


def test_the_setting_turns_notifications_off_and_on(service, notifying_chat, connect):
    bob = connect("bob")
    _controller, view, _notifier = notifying_chat("alice")
    toggle_notifications(view)  # off
    assert Settings.load().notifications is False
    unfocus(view)
    bob.send("PRIVMSG #general :alice: while off")
    pump(view, lambda: "while off" in transcript(view))
    assert urgent(view)  # the window still asks for attention
    toggle_notifications(view)  # on again
    assert Settings.load().notifications is True
    bob.send("PRIVMSG #general :alice: back on")
    pump(view, service.notified, what="a notification")
    assert [c.body for c in service.notified()] == ["alice: back on"]


def test_the_window_starts_with_the_remembered_setting(service, notifying_chat, connect):
    Settings(notifications=False).save()
    bob = connect("bob")
    _controller, view, notifier = notifying_chat("alice")
    assert view.notifications_on.get() is False
    unfocus(view)
    bob.send("PRIVMSG alice :nobody hears")
    pump(view, lambda: "bob" in view.conversations and urgent(view))
    notifier.close()  # everything queued has been shown by now
    assert service.notified() == []


def warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "app.notifications" and r.levelno == logging.WARNING
    ]


def test_no_session_bus_logs_one_line_and_the_chat_goes_on(
    notifying_chat, connect, monkeypatch, tmp_path, caplog
):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    bob = connect("bob")
    _controller, view, notifier = notifying_chat("alice")
    unfocus(view)
    bob.send("PRIVMSG #general :alice: one", "PRIVMSG alice :two")
    pump(view, lambda: "bob" in view.conversations and urgent(view))
    view.show_conversation("bob")
    pump(view, lambda: "two" in transcript(view))
    notifier.close()  # both have been tried by now
    (warning,) = warnings(caplog)
    assert "session bus" in warning
    bob.send("PRIVMSG alice :three")
    pump(view, lambda: "three" in transcript(view))


def test_a_bus_without_a_notification_service_logs_one_line(
    session_bus, notifying_chat, connect, caplog
):
    bob = connect("bob")
    _controller, view, notifier = notifying_chat("alice")
    unfocus(view)
    bob.send("PRIVMSG alice :one", "PRIVMSG alice :two")
    pump(view, lambda: "bob" in view.conversations and urgent(view))
    view.show_conversation("bob")
    pump(view, lambda: "two" in transcript(view))
    notifier.close()
    (warning,) = warnings(caplog)
    assert "no notification service" in warning


def test_the_app_notifies_through_the_session_bus(service, server, make_view, connect):
    """The controller ``python -m app`` builds (on Linux) has the D-Bus notifier."""
    bob = connect("bob")
    view = make_view()
    argv = ["--host", "127.0.0.1", "--port", str(server.port), "--nick", "alice"]
    controller = build_controller(*load_args(argv), view)
    assert isinstance(controller.alerts.notifier, DesktopNotifier)
    controller.start()
    try:
        pump(view, lambda: controller.model.joined(), what="joined")
        unfocus(view)
        bob.send("PRIVMSG alice :hello from bob")
        pump(view, service.notified, what="a notification")
        assert service.notified()[0].summary == "bob"
    finally:
        controller.close()
        controller.alerts.close()


def test_reading_the_conversation_withdraws_its_notification(service, notifying_chat, connect):
    bob = connect("bob")
    controller, view, _notifier = notifying_chat("alice")
    unfocus(view)
    bob.send("PRIVMSG #general :alice: over here", "PRIVMSG alice :and here")
    pump(view, lambda: len(service.notified()) == 2, what="two notifications")
    mention, private = service.notified()
    # The window comes into focus showing #general: the mention is read, bob's is not.
    focus(view)
    pump(view, lambda: service.closed() == [mention.id], what="the mention's withdrawn")
    controller.select("bob")  # opened: read
    pump(view, lambda: service.closed() == [mention.id, private.id], what="bob's withdrawn")
    # Nothing is shown any more: reading on withdraws nothing twice.
    controller.select("#general")
    controller.select("bob")
    bob.send("PRIVMSG alice :seen as it comes")
    pump(view, lambda: "seen as it comes" in transcript(view))
    assert len(service.notified()) == 2 and len(service.closed()) == 2


def test_a_notification_the_user_dismissed_is_not_closed_again(service, notifying_chat, connect):
    bob = connect("bob")
    controller, view, _notifier = notifying_chat("alice")
    unfocus(view)
    bob.send("PRIVMSG alice :one")
    pump(view, service.notified, what="a notification")
    service.dismiss(service.notified()[0].id)
    bob.send("PRIVMSG alice :two")  # its notification is a new one, after the dismissal
    pump(view, lambda: len(service.notified()) == 2, what="the second notification")
    second = service.notified()[1]
    assert second.replaces_id == 0
    focus(view)
    controller.select("bob")
    pump(view, lambda: service.closed() == [second.id], what="only the shown one closed")


def test_a_read_marker_from_another_window_withdraws_what_it_covers(
    service, make_server, make_chat, tmp_path
):
    from server.accounts import AccountStore
    from server.protocol.codec import format_time
    from tests.support.ircclient import IRCClient

    store = AccountStore(tmp_path / "data")
    store.create("alice", "secret")
    store.close()
    server = make_server(data_dir=str(tmp_path / "data"), flood_rate=0)
    controller, view = make_chat(server.port, "alice", account="alice", account_password="secret")
    controller.alerts.notifier = DesktopNotifier(controller.model.events)
    try:
        pump(view, lambda: controller.model.account == "alice" and controller.model.joined())
        bob = IRCClient(server.port)
        bob.register("bob")
        other = IRCClient(server.port)  # another connection of alice's account
        other.register("alice9", ("draft/read-marker",), password="alice:secret")
        unfocus(view)
        bob.send("PRIVMSG #general :alice: first")
        pump(view, service.notified, what="the first notification")
        general = view.conversations["#general"]
        first = general.lines[-1].at
        assert first is not None
        wait_for(lambda: time.time() * 1000 > round(first.timestamp() * 1000) + 1)
        bob.send("PRIVMSG #general :alice: second")
        pump(view, lambda: len(service.notified()) == 2, what="it is replaced")
        notification = service.notified()[1].id

        def markread(when) -> None:
            other.send(f"MARKREAD #general timestamp={format_time(round(when.timestamp() * 1000))}")
            pump(view, lambda: general.read_at == when, what="the marker followed")

        markread(first)  # read up to the first only: the second is still news
        assert service.closed() == []
        markread(general.lines[-1].at)
        pump(view, lambda: service.closed() == [notification], what="withdrawn")
        for client in (bob, other):
            client.close()
    finally:
        controller.alerts.close()
