"""Pacing what the app sends: a long paste stays under the server's flood limits, says how
far it is, is confirmed first, and survives a lost connection."""

from __future__ import annotations

import re
import threading

from app.caps import WANTED_CAPS
from app.events import Sending
from app.pacing import PACE_BURST, PACE_RATE, Pacer
from app.text import sending_text
from server.config import Config
from server.flood import TokenBucket
from tests.app.helpers import pump, wait_for
from tests.support.ircclient import IRCClient

PASTE = [f"line {n:03d} of the paste" for n in range(1, 151)]
#: A client that sends a paste line by line, as it does where the server has no
#: draft/multiline (with it, a paste within the limits goes as one message).
LINE_BY_LINE = tuple(cap for cap in WANTED_CAPS if cap != "draft/multiline")


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_lets_a_burst_go_then_paces():
    clock = Clock()
    pacer = Pacer(rate=4.0, burst=10, clock=clock)
    for _ in range(10):
        assert pacer.delay() == 0.0
        pacer.spend()
    assert pacer.delay() == 0.25
    clock.now += 0.25
    assert pacer.delay() == 0.0
    pacer.spend(3)  # lines that could not wait (a PONG) go into debt
    assert pacer.delay() == 0.75
    clock.now += 100
    assert pacer.delay() == 0.0
    for _ in range(10):  # the refill stops at the burst
        pacer.spend()
    assert pacer.delay() > 0


def test_the_default_pace_never_meets_the_servers_default_flood_control():
    # The app's bucket and the server's, on one clock: a 150-line paste paced by the
    # defaults is never even delayed by the server, let alone dropped.
    defaults = Config()
    clock = Clock()
    server = TokenBucket(defaults.flood_rate, defaults.flood_burst, defaults.flood_excess, clock)
    pacer = Pacer(PACE_RATE, PACE_BURST, clock)
    for _ in PASTE:
        clock.now += pacer.delay()
        pacer.spend()
        assert server.take() == 0.0


def test_the_status_sentence():
    assert sending_text(Sending(37, 150)) == "sending 37 of 150…"
    waiting = sending_text(Sending(37, 150, waiting=True))
    assert waiting == "113 of your lines are waiting: they are sent when the connection is back."


def test_a_150_line_paste_arrives_whole_and_in_order(make_server, make_model):
    # The server's flood control is the default's shape, only faster (so the test takes
    # seconds, not 26); the app's bucket is set to match with the same margin.
    server = make_server(flood_rate=50.0)
    bob = IRCClient(server.port)
    bob.register("bob")
    model, log = make_model(server.port, pace_rate=40.0, pace_burst=10)
    log.expect("status", state="connected")
    bob.expect("JOIN", "#general", where=lambda m: m.nick == "alice")
    assert model.say("#general", "\n".join(PASTE))
    got = [bob.expect("PRIVMSG", "#general", timeout=15).params[1] for _ in PASTE]
    assert got == PASTE
    assert model.connected and not log.of("status", state="disconnected")
    log.expect("sending", sent=150, total=150)
    assert log.of("sending", sent=37, total=150)
    bob.close()


def test_lines_queued_across_a_server_restart_arrive(make_server, make_model):
    first = make_server(flood_rate=50.0)
    port = first.port
    bob = IRCClient(port)
    bob.register("bob")
    lines = PASTE[:30]
    carol_in = threading.Event()  # the app reconnects once carol can see the channel
    model, log = make_model(
        port,
        pace_rate=5.0,
        pace_burst=1,
        sleep=lambda _delay: carol_in.wait(15),
        wanted_caps=LINE_BY_LINE,
    )
    log.expect("status", state="connected")
    bob.expect("JOIN", "#general", where=lambda m: m.nick == "alice")
    assert model.say("#general", "\n".join(lines))
    got = [bob.expect("PRIVMSG", "#general", timeout=10).params[1] for _ in range(5)]
    first.stop()  # mid-paste
    got += [m.params[1] for m in bob.wait_closed() if m.command == "PRIVMSG"]
    log.expect("sending", waiting=True)
    left = model.connection.unsent
    assert left > 0
    second = make_server(port=port, flood_rate=50.0)
    carol = IRCClient(second.port)
    carol.register("carol")
    carol_in.set()
    log.expect("status", state="connected", timeout=15)
    got += [carol.expect("PRIVMSG", "#general", timeout=15).params[1] for _ in range(left)]
    # What the first server relayed, then the rest on the second: every line, once, in order.
    assert got == lines
    assert model.connection.unsent == 0
    carol.close()


def test_a_paste_longer_than_a_screenful_is_confirmed_first(server, make_chat, connect):
    bob = connect("bob")
    controller, view = make_chat(server.port, wanted_caps=LINE_BY_LINE)
    pump(view, lambda: controller.model.registered and controller.model.joined(), what="joined")
    text = "\n".join(PASTE[:30])
    # Pasted as a person pastes: through the clipboard into the message entry.
    view.root.clipboard_clear()
    view.root.clipboard_append(text)
    view.message_entry.focus_set()
    view.message_entry.event_generate("<<Paste>>")
    pump(view, lambda: view.get_message() == text, what="the pasted text")
    controller.send()
    dialog = wait_for(lambda: view.confirm_dialog, what="the question")
    assert dialog.open and "30 lines" in dialog.question_label.cget("text")
    assert view.get_message() == text  # nothing sent yet, nothing cleared
    dialog.cancel_button.invoke()
    assert view.get_message() == text
    assert not [m for m in bob.sync() if m.command == "PRIVMSG"]
    controller.send()
    view.confirm_dialog.ok_button.invoke()
    assert view.get_message() == ""
    # Ten go at once, the rest a few a second, and the status bar counts them.
    status = view.status_label.cget
    pump(view, lambda: re.fullmatch(r"sending \d+ of 30…", status("text")), what="status")
    got = []
    pump(
        view,
        lambda: (
            got.extend(m.params[1] for m in bob.sync() if m.command == "PRIVMSG") or len(got) >= 30
        ),
        what="the paste",
        timeout=20,
    )
    assert got == PASTE[:30]
    pump(view, lambda: "Connected to" in status("text"), what="the status after")
