"""Typing notifications in the real window on the virtual display, with a real server and
raw peers: theirs shown under the transcript and running out by the injected clock, ours
seen by a peer, at most every 3 seconds, and ``done`` once the message is sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.caps import WANTED_CAPS
from app.controller import ChatController
from app.model import ChatModel
from app.settings import Settings
from app.typing_notices import TICK_MS
from app.view import ChatView
from tests.app.helpers import pump
from tests.support.fake_time import FakeTime
from tests.support.ircclient import IRCClient

TAGS = ("message-tags",)


@pytest.fixture
def typing_chat(
    server, make_view
) -> Iterator[Callable[..., tuple[ChatController, ChatView, FakeTime]]]:
    """A window connected to the test server whose typing clock the test moves."""
    controllers: list[ChatController] = []

    def build(nick: str = "alice", **model_options: object):
        fake = FakeTime()
        model = ChatModel("127.0.0.1", server.port, nick, **model_options)  # type: ignore[arg-type]
        view = make_view()
        controller = ChatController(model, view, Settings.load())
        controller.typing.clock = fake.clock  # the typing notifications' clock, injected
        controllers.append(controller)
        controller.start()
        pump(view, lambda: model.registered and model.joined(), what="registered and joined")
        pump(view, lambda: view.conversations["#general"].members, what="member list")
        return controller, view, fake

    try:
        yield build
    finally:
        while controllers:
            controllers.pop().close()


def typing_line(view: ChatView) -> str:
    return str(view.typing_line.cget("text"))


def type_into(view: ChatView, text: str) -> None:
    """Put ``text`` in the message box as typing does (the entry's text changes)."""
    view.message_entry.delete(0, "end")
    view.message_entry.insert(0, text)
    view.root.update()


def a_tick_later(view: ChatView) -> None:
    """Run the window until the typing clock has been looked at once more."""
    ticked: list[bool] = []
    view.root.after(TICK_MS + 50, lambda: ticked.append(True))
    pump(view, lambda: ticked, what="a tick")


def typing_from(client: IRCClient, *, until: str = "PRIVMSG") -> list[tuple[str, str]]:
    """The ``(target, state)`` of every TAGMSG ``client`` gets before the next ``until``."""
    lines = client.until(until)
    return [(m.params[0], m.tags.get("+typing", "")) for m in lines if m.command == "TAGMSG"]


def test_peers_typing_is_shown_runs_out_and_ends_with_their_message(typing_chat, connect):
    bob, carol, dave = (connect(nick, caps=TAGS) for nick in ("bob", "carol", "dave"))
    _controller, view, fake = typing_chat("alice")
    assert typing_line(view) == ""
    assert view.typing_line.winfo_ismapped()
    bob.send("@+typing=active TAGMSG #general")
    pump(view, lambda: typing_line(view) == "bob is typing…", what="bob typing")
    carol.send("@+typing=paused TAGMSG #general")
    pump(view, lambda: typing_line(view) == "bob and carol are typing…", what="two typing")
    dave.send("@+typing=active TAGMSG #general")
    pump(view, lambda: typing_line(view) == "several people are typing…", what="three")
    dave.send("@+typing=done TAGMSG #general")
    pump(view, lambda: typing_line(view) == "bob and carol are typing…", what="dave done")
    # No event comes: the clock alone ends bob's (6 s after an active), not carol's (30 s).
    fake.now += 6.0
    pump(view, lambda: typing_line(view) == "carol is typing…", what="bob ran out")
    fake.now += 23.0
    a_tick_later(view)
    assert typing_line(view) == "carol is typing…"
    carol.send("PRIVMSG #general :there you go")
    pump(view, lambda: typing_line(view) == "", what="carol's message ends it")
    # Leaving ends it too.
    bob.send("@+typing=active TAGMSG #general")
    pump(view, lambda: typing_line(view) == "bob is typing…", what="bob again")
    bob.send("PART #general")
    pump(view, lambda: typing_line(view) == "", what="bob left")


def test_the_line_follows_the_conversation_shown(typing_chat, connect):
    bob = connect("bob", caps=TAGS)
    controller, view, _fake = typing_chat("alice")
    bob.send("PRIVMSG alice :psst")
    pump(view, lambda: "bob" in view.conversations, what="a direct conversation")
    bob.send("@+typing=active TAGMSG alice")
    pump(view, lambda: view.typing_line.texts.get("bob") == "bob is typing…", what="DM typing")
    assert typing_line(view) == ""  # #general is shown, where nobody types
    controller.select("bob")
    pump(view, lambda: typing_line(view) == "bob is typing…", what="shown with bob's")
    controller.select("#general")
    assert typing_line(view) == ""


def test_own_typing_reaches_peers_rate_limited_and_done_on_send(typing_chat, connect):
    bob = connect("bob", caps=TAGS)
    carol = connect("carol")  # no message-tags: never a TAGMSG
    controller, view, fake = typing_chat("alice")
    for text in ("h", "he", "hel", "hell", "hello"):  # within 3 s: one notification
        type_into(view, text)
    fake.now += 3.0
    type_into(view, "hello b")  # 3 s on: active again
    type_into(view, "hello bo")
    view.message_entry.focus_force()
    view.message_entry.event_generate("<Return>")
    view.root.update()
    assert typing_from(bob) == [("#general", "active"), ("#general", "active")]
    assert bob.consumed[-1].params == ["#general", "hello bo"]
    # The box is empty now: ``done``, but not within 3 s of the last notification.
    fake.now += 2.9
    a_tick_later(view)
    assert controller.typing.outgoing.busy
    fake.now += 0.1
    pump(view, lambda: not controller.typing.outgoing.busy, what="done sent")
    done = bob.expect("TAGMSG")
    assert (done.params, done.tags["+typing"]) == (["#general"], "done")
    assert not [m for m in carol.sync() if m.command == "TAGMSG"]


def test_paused_after_a_pause_and_nothing_from_the_server_tab(typing_chat, connect):
    bob = connect("bob", caps=TAGS)
    controller, view, fake = typing_chat("alice")
    type_into(view, "thinking")
    fake.now += 3.0
    pump(view, lambda: not controller.typing.outgoing.busy, what="paused sent")
    controller.select("")  # the Server tab: its box is typed to nobody
    type_into(view, "thinking more")
    view.message_entry.delete(0, "end")
    view.root.update()
    controller.select("#general")
    fake.now += 3.0
    type_into(view, "/nick bobby")  # a command is not typing: done
    pump(view, lambda: not controller.typing.outgoing.busy, what="done sent")
    controller.model.say("#general", "after")
    got = typing_from(bob)
    assert got == [("#general", "active"), ("#general", "paused"), ("#general", "done")]


def test_turned_off_nothing_is_sent_and_the_choice_is_remembered(typing_chat, connect):
    bob = connect("bob", caps=TAGS)
    _controller, view, fake = typing_chat("alice")
    menu = view.transcript.menu
    index = next(
        i
        for i in range(menu.index("end") + 1)
        if menu.type(i) == "checkbutton" and "typing" in str(menu.entrycget(i, "label"))
    )
    menu.invoke(index)  # "Let others see when I am typing", unticked
    assert Settings.load().send_typing is False
    type_into(view, "a secret draft")
    fake.now += 10.0
    view.root.update()
    type_into(view, "a secret draft, longer")
    view.message_entry.focus_force()
    view.message_entry.event_generate("<Return>")
    view.root.update()
    assert typing_from(bob) == []
    menu.invoke(index)
    assert Settings.load().send_typing is True
    type_into(view, "out loud")
    view.message_entry.event_generate("<Return>")
    view.root.update()
    assert typing_from(bob) == [("#general", "active")]


def test_nothing_is_sent_where_the_server_lacks_message_tags(typing_chat, connect):
    bob = connect("bob", caps=TAGS)
    caps = tuple(cap for cap in WANTED_CAPS if cap != "message-tags")
    controller, view, fake = typing_chat("alice", wanted_caps=caps)
    assert "message-tags" not in controller.model.caps
    type_into(view, "no tags here")
    fake.now += 3.0
    view.root.update()
    view.message_entry.focus_force()
    view.message_entry.event_generate("<Return>")
    view.root.update()
    assert typing_from(bob) == []
