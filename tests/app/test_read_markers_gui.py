"""Read markers on the virtual display: the "— new —" line where you stopped reading, kept
local where the server has no markers, and two windows of one account in step (the other
one ``python -m app`` as its own process, focused with xdotool)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from keyrings.alt.file import PlaintextKeyring

from app.caps import WANTED_CAPS
from app.passwords import SERVICE, account_key
from app.view.sidebar import iid_of
from app.view.transcript import NEW_LINE
from server.accounts import AccountStore
from server.protocol.codec import format_time
from tests.app.helpers import pump
from tests.app.test_e2e import xdotool
from tests.support.ircclient import IRCClient
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
APP = (sys.executable, "-m", "app", "--host", "127.0.0.1")


def _focus(view) -> None:
    view.root.focus_force()
    view.message_entry.focus_force()
    pump(view, view.is_reading, what="the window focused, at the end")


def _unthrottled(controller) -> None:
    """Each MARKREAD may go at once (the clock jumps past the interval every time)."""
    controller.reading.clock = itertools.count(0, 100).__next__


def _past(line) -> None:
    """Wait until the server's clock has passed ``line``'s millisecond: a read marker is a
    time, so what is said next must not share it."""
    stamp = round(line.at.timestamp() * 1000)
    wait_for(lambda: time.time() * 1000 > stamp + 1, what="the next millisecond")


def _shows(view, *texts: str) -> bool:
    shown = view.transcript_text()
    return all(text in shown for text in texts)


def _order(view, *texts: str) -> list[int]:
    shown = view.transcript_text()
    return [shown.index(text) for text in texts]


def test_the_new_line_is_where_you_stopped_reading(chat, connect, server) -> None:
    controller, view = chat("alice")
    _unthrottled(controller)
    bob = connect("bob")
    _focus(view)
    bob.send("PRIVMSG #general :one", "PRIVMSG #general :two")
    pump(view, lambda: _shows(view, "two"), what="two shown")
    general = view.conversations["#general"]
    read = general.lines[-1].at
    pump(view, lambda: general.read_at == read, what="two read")
    alice = server.registry.find_nick("alice")
    # The server keeps the marker too (per connection: alice is not signed in).
    wait_for(
        lambda: alice.read_markers is not None and alice.read_markers.get("#general"),
        what="MARKREAD sent",
    )
    assert NEW_LINE not in view.transcript_text()  # read as it came: no line
    _past(general.lines[-1])

    controller.select("")  # away from #general: what comes now is unread
    bob.send("PRIVMSG #general :three", "PRIVMSG #general :four")
    pump(view, lambda: general.unread == 2, what="two unread")
    controller.select("#general")
    pump(view, lambda: _shows(view, "four"))
    two, new, three = _order(view, "two", NEW_LINE, "three")
    assert two < new < three
    text = view.transcript.chat_area.text
    assert "new_line" in text.tag_names(text.search(NEW_LINE, "1.0"))
    # Focus moving inside the window leaves the line where it is.
    view.name_entry.focus_force()
    pump(view, lambda: view.root.focus_get() is view.name_entry, what="the name entry focused")
    view.message_entry.focus_force()
    pump(view, lambda: view.root.focus_get() is view.message_entry, what="back in the entry")
    assert _order(view, "two", NEW_LINE, "three") == sorted(_order(view, "two", NEW_LINE, "three"))

    # Read now: the next time it opens, nothing is new.
    controller.select("")
    controller.select("#general")
    pump(view, lambda: _shows(view, "four"))
    assert NEW_LINE not in view.transcript_text()


def test_without_the_capability_the_line_is_local(make_chat, server, connect) -> None:
    without = [cap for cap in WANTED_CAPS if cap != "draft/read-marker"]
    controller, view = make_chat(server.port, "alice", wanted_caps=without)
    pump(view, lambda: view.conversations["#general"].members, what="joined")
    _unthrottled(controller)
    bob = connect("bob")
    _focus(view)
    bob.send("PRIVMSG #general :one")
    general = view.conversations["#general"]
    pump(view, lambda: general.read_at is not None, what="one read")
    _past(general.lines[-1])
    controller.select("")
    bob.send("PRIVMSG #general :two")
    pump(view, lambda: general.unread == 1)
    controller.select("#general")
    one, new, two = _order(view, "one", NEW_LINE, "two")
    assert one < new < two
    assert server.registry.find_nick("alice").read_markers is None  # no MARKREAD came


def test_reading_in_one_window_clears_the_count_in_the_other(
    make_server, make_chat, tmp_path
) -> None:
    store = AccountStore(tmp_path / "data")
    store.create("alice", "secret")
    store.close()
    server = make_server(data_dir=str(tmp_path / "data"), flood_rate=0)
    # This window: signed in to alice, looking at the server conversation.
    controller, view = make_chat(server.port, "alice", account="alice", account_password="secret")
    pump(view, lambda: view.conversations["#general"].members, what="joined")
    pump(view, lambda: controller.model.account == "alice", what="signed in")
    controller.select("")
    bob = IRCClient(server.port)
    bob.register("bob")
    bob.send("PRIVMSG #general :hello alice", "PRIVMSG #general :are you there")
    general = view.conversations["#general"]
    pump(view, lambda: general.unread == 2, what="two unread here")
    assert general.read_at is None

    # The other window: python -m app, signed in to the same account (password in its keyring).
    home = tmp_path / "other"
    keyring_file = PlaintextKeyring()
    keyring_file.file_path = str(home / "data" / "python_keyring" / "keyring_pass.cfg")
    keyring_file.set_password(SERVICE, account_key("alice", "127.0.0.1", server.port), "secret")
    env = dict(
        os.environ,
        KIBITZ_CONFIG_DIR=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
    )
    command = [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", str(server.port)]
    command += ["--nick", "alice2", "--account", "alice", "--channel", "#general"]
    other = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(
            lambda: [s for s in server.registry.signed_in("alice") if s.nick == "alice2"],
            timeout=20,
            what="the other window signed in",
        )
        window = wait_for(
            lambda: xdotool("search", "--name", "alice2").split(), timeout=10, what="its window"
        )[0]
        # The other window gets the focus and shows #general at its end: it reads it.
        xdotool("windowfocus", "--sync", window)
        pump(view, lambda: general.unread == 0, timeout=20, what="read in the other window")
        stored = server.markers.get("alice", "#general")  # what the other window sent
        assert stored is not None and general.read_at is not None
        assert round(general.read_at.timestamp() * 1000) == stored
        assert general.mentions == 0
        row = view.sidebar.conversation_list.item(iid_of("#general"))
        assert [str(value) for value in row["values"]] == [""]  # no count shown
        # Opened here, nothing is new: the other window read it all.
        controller.select("#general")
        pump(view, lambda: _shows(view, "are you there"))
        assert NEW_LINE not in view.transcript_text()
    finally:
        other.send_signal(signal.SIGTERM)
        try:
            _out, err = other.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            other.kill()
            _out, err = other.communicate()
        bob.close()
    assert "Traceback" not in err, err


def _format(when) -> str:
    return "timestamp=" + format_time(round(when.timestamp() * 1000))


def test_counts_and_the_line_follow_another_connection_of_the_account(
    make_server, make_chat, tmp_path
) -> None:
    store = AccountStore(tmp_path / "data")
    store.create("alice", "secret")
    store.close()
    server = make_server(data_dir=str(tmp_path / "data"), flood_rate=0, autojoin=[])
    controller, view = make_chat(
        server.port, "alice", channels=("#general",), account="alice", account_password="secret"
    )
    _unthrottled(controller)
    pump(view, lambda: controller.model.account == "alice" and controller.model.joined())
    bob = IRCClient(server.port)
    bob.register("bob")
    bob.send("JOIN #general")
    bob.expect("366")
    other = IRCClient(server.port)  # another connection of alice's account
    other.register("alice9", ("draft/read-marker",), password="alice:secret")
    _focus(view)
    controller.select("")
    general = view.conversations["#general"]
    for n in range(1, 5):
        bob.send(f"PRIVMSG #general :m{n}")
        pump(view, lambda n=n: general.unread == n, what=f"m{n} unread")
        _past(general.lines[-1])

    # Read up to m2 elsewhere: two are left unread here.
    other.send(f"MARKREAD #general {_format(general.lines[-3].at)}")
    pump(view, lambda: general.unread == 2, what="the count follows")
    controller.select("#general")
    m2, new, m3 = _order(view, "m2", NEW_LINE, "m3")
    assert m2 < new < m3

    # The window loses the focus (another program's window takes it): it reads nothing.
    thief = subprocess.Popen(
        [*APP, "--port", str(server.port), "--nick", "thief", "--channel", "#elsewhere"],
        cwd=ROOT,
        env=dict(os.environ, KIBITZ_CONFIG_DIR=str(tmp_path / "thief")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = wait_for(
            lambda: xdotool("search", "--name", "thief").split(), timeout=20, what="its window"
        )[0]
        xdotool("windowfocus", "--sync", window)
        pump(view, lambda: not view.is_reading(), what="the focus gone")
        for n in (5, 6):
            bob.send(f"PRIVMSG #general :m{n}")
            pump(view, lambda n=n: _shows(view, f"m{n}"))
            _past(general.lines[-1])
        assert _order(view, NEW_LINE, "m3") == sorted(_order(view, NEW_LINE, "m3"))
        # Read up to m5 elsewhere: on screen here, the line moves down to m6.
        other.send(f"MARKREAD #general {_format(general.lines[-2].at)}")
        pump(view, lambda: _order(view, "m5")[0] < _order(view, NEW_LINE)[0], what="moved")
        assert _order(view, NEW_LINE)[0] < _order(view, "m6")[0]
        assert view.transcript_text().count(NEW_LINE) == 1
    finally:
        thief.send_signal(signal.SIGTERM)
        try:
            _out, err = thief.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            thief.kill()
            _out, err = thief.communicate()
        for client in (bob, other):
            client.close()
    assert "Traceback" not in err, err
