"""The server window on the virtual display: start and stop, the lists, admin actions."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import tkinter
from collections.abc import Callable, Iterator

import pytest

from server import admin
from server.__main__ import main
from server.config import Config
from server.gui import ServerWindow
from server.gui_log import LOG_LINES
from server.gui_model import (
    RateMeter,
    config_from_form,
    format_duration,
    format_uptime,
    parse_port,
)
from tests.app.test_e2e import xdotool
from tests.support.ircclient import IRCClient
from tests.support.ports import unused_port as free_port
from tests.support.processes import ROOT, run_without_display
from tests.support.waiting import pump, wait_for


@pytest.fixture
def make_window() -> Iterator[Callable[..., ServerWindow]]:
    """Build the one Tk window of the process; closed, destroyed and collected here after.

    Exceptions raised in Tk callbacks (which Tk would only print) fail the test.
    """
    windows: list[ServerWindow] = []
    errors: list[BaseException] = []

    def build(**options: object) -> ServerWindow:
        options.setdefault("host", "127.0.0.1")
        options.setdefault("port", free_port())
        config = Config(name="kibitz.test", **options)  # type: ignore[arg-type]
        window = ServerWindow(config, tick_ms=50)
        window.root.report_callback_exception = lambda _t, exc, _tb: errors.append(exc)
        windows.append(window)
        return window

    gc.collect()  # whatever Tk garbage an earlier test left dies here, on the Tk thread
    try:
        yield build
    finally:
        while windows:
            window = windows.pop()
            window.close()
            try:
                for job in window.root.tk.splitlist(window.root.tk.call("after", "info")):
                    window.root.after_cancel(job)
            except tkinter.TclError:
                pass  # already destroyed
            # No name may keep the window past gc.collect(): collected later, it could be
            # on a server thread, and that aborts the process (see DESIGN.md).
            del window
        gc.collect()  # Tk objects must die on the Tk thread (see DESIGN.md)
    assert not errors, errors


@pytest.fixture
def peers() -> Iterator[Callable[..., IRCClient]]:
    """Raw IRC connections, all closed after the test."""
    opened: list[IRCClient] = []

    def open_peer(port: int, nick: str | None = None) -> IRCClient:
        peer = IRCClient(port)
        opened.append(peer)
        if nick is not None:
            peer.register(nick)
        return peer

    yield open_peer
    for peer in opened:
        peer.close()


def started(window: ServerWindow) -> int:
    """Press Start and return the port the server listens on."""
    window.start_button.invoke()
    assert window.running, window.error_label.cget("text")
    assert window.server is not None
    return window.server.port


def nicks(window: ServerWindow) -> list[str]:
    return [row[0] for row in window.user_rows()]


# --- through the window ------------------------------------------------------------------------
def test_start_and_stop_through_the_button(make_window, peers) -> None:
    window = make_window()
    assert window.start_button.cget("text") == "Start" and not window.running
    port = started(window)
    assert port == window.config.port
    assert window.start_button.cget("text") == "Stop"
    assert str(window.port_entry.cget("state")) == "disabled"
    pump(window, lambda: f"Listening on 127.0.0.1:{port}" in window.status_label.cget("text"))
    assert "up 0:00:0" in window.status_label.cget("text")
    alice = peers(port, "alice")

    window.start_button.invoke()
    assert not window.running
    got = alice.wait_closed()
    assert [m.params for m in got if m.command == "ERROR"] == [["Server shutting down"]]
    pump(window, lambda: window.start_button.cget("text") == "Start", what="stopped")
    assert str(window.start_button.cget("state")) == "normal"
    assert str(window.port_entry.cget("state")) == "normal"
    assert window.user_rows() == []
    assert "Stopped" in window.status_label.cget("text")
    assert "shutting down" in window.log_text()

    # The same port again: a stopped server releases it.
    assert started(window) == port
    peers(port, "bob")
    pump(window, lambda: nicks(window) == ["bob"], what="bob listed")


def test_a_client_appears_in_the_list_and_disappears(make_window, peers) -> None:
    window = make_window()
    port = started(window)
    alice = peers(port, "alice")
    pump(window, lambda: nicks(window) == ["alice"], what="alice listed")
    nick, address, channels, idle, _signon = window.user_rows()[0]
    assert (nick, address, channels) == ("alice", "127.0.0.1", "#general")
    assert idle.endswith("s")
    assert window.channel_rows() == [("#general", "1", "+nt", "")]
    assert window.counters["users"].cget("text") == "1"

    alice.send("JOIN #dev", "TOPIC #dev :ship it", "NICK alicia")
    alice.expect("NICK")
    pump(window, lambda: window.user_rows()[0][2] == "#dev #general", what="channels")
    assert nicks(window) == ["alicia"]
    pump(window, lambda: ("#dev", "1", "+nt", "ship it") in window.channel_rows())
    assert "alice is now known as alicia" in window.log_text()

    alice.close()
    pump(window, lambda: window.user_rows() == [], what="alicia gone")
    pump(window, lambda: window.channel_rows() == [], what="channels gone")
    assert "alicia (127.0.0.1) left" in window.log_text()
    assert window.counters["users"].cget("text") == "0"


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("0", "Port 0 is out of range"),
        ("70000", "Port 70000 is out of range"),
        ("five", "Port must be a number"),
        ("", "Port must be a number"),
    ],
)
def test_a_bad_port_shows_an_error_and_starts_nothing(make_window, port, message) -> None:
    window = make_window()
    window.port_entry.delete(0, "end")
    window.port_entry.insert(0, port)
    window.start_button.invoke()
    assert not window.running and window.server is None
    assert message in window.error_label.cget("text")
    assert window.start_button.cget("text") == "Start"
    pump(window, lambda: message in window.log_text(), what="the refusal logged")


def test_a_port_in_use_shows_an_error_and_starts_nothing(make_window) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        window = make_window(port=port)
        window.start_button.invoke()
        assert not window.running
        assert f"port {port} is already in use" in window.error_label.cget("text")
        # The form stays editable: another port works.
        window.port_entry.delete(0, "end")
        window.port_entry.insert(0, str(free_port()))
        started(window)
        assert window.error_label.cget("text") == ""


def test_a_data_dir_in_use_shows_who_holds_it_and_starts_nothing(
    make_window, make_server, tmp_path
) -> None:
    make_server(data_dir=str(tmp_path))
    window = make_window(data_dir=str(tmp_path))
    window.start_button.invoke()
    assert not window.running and window.server is None
    shown = window.error_label.cget("text")
    assert f"in use by another Kibitz server (pid {os.getpid()})" in shown
    assert "--data-dir" in shown


def test_a_damaged_accounts_database_is_explained_and_starts_nothing(make_window, tmp_path) -> None:
    (tmp_path / "accounts.sqlite3").write_bytes(b"this is not a database" * 100)
    window = make_window(data_dir=str(tmp_path))
    window.start_button.invoke()
    assert not window.running and window.server is None
    assert "cannot use the accounts database" in window.error_label.cget("text")


def test_kick_and_broadcast_through_the_window_reach_raw_clients(make_window, peers) -> None:
    window = make_window()
    port = started(window)
    alice, bob = peers(port, "alice"), peers(port, "bob")
    pump(window, lambda: nicks(window) == ["alice", "bob"], what="both listed")
    assert str(window.kick_button.cget("state")) == "disabled"  # nobody selected

    assert window.select_user("bob")
    window.root.update()
    assert window.kick_channel.get() == "#general"
    window.action_entry.insert(0, "be nice")
    window.kick_button.invoke()
    for peer in (alice, bob):
        kick = peer.expect("KICK", "#general", "bob")
        assert kick.source == "kibitz.test" and kick.params[-1] == "be nice"
    pump(window, lambda: window.user_rows()[1][2] == "", what="bob out of #general")
    assert "Kicked bob from #general" in window.action_status.cget("text")
    assert str(window.kick_button.cget("state")) == "disabled"  # bob is in no channel now

    window.broadcast_entry.insert(0, "restart in 5 minutes")
    window.broadcast_button.invoke()
    for peer in (alice, bob):
        notice = peer.expect("NOTICE", peer.nick)
        assert notice.source == "kibitz.test"
        assert notice.params[-1] == "restart in 5 minutes"
    assert window.broadcast_entry.get() == ""
    pump(window, lambda: "broadcast to 2 users: restart in 5 minutes" in window.log_text())


def test_notice_and_disconnect_a_selected_user(make_window, peers) -> None:
    window = make_window()
    port = started(window)
    alice, bob = peers(port, "alice"), peers(port, "bob")
    pump(window, lambda: nicks(window) == ["alice", "bob"], what="both listed")
    window.select_user("alice")
    window.notice_button.invoke()  # nothing typed: refused, nothing sent
    assert "Type the notice" in window.action_status.cget("text")
    window.action_entry.insert(0, "please read the rules")
    window.notice_button.invoke()
    assert alice.expect("NOTICE", "alice").params[-1] == "please read the rules"
    assert not any(m.command == "NOTICE" for m in bob.sync())

    window.action_entry.insert(0, "flooding")
    window.kill_button.invoke()
    got = alice.wait_closed()
    assert any(
        m.command == "ERROR" and "Killed (kibitz.test (flooding))" in m.params[0] for m in got
    )
    bob.expect("QUIT", where=lambda m: m.nick == "alice")
    pump(window, lambda: nicks(window) == ["bob"], what="alice gone")
    assert window.selected_user() is None
    assert str(window.kill_button.cget("state")) == "disabled"


def test_closing_the_window_stops_the_server_and_tells_clients(make_window, peers) -> None:
    window = make_window()
    port = started(window)
    alice = peers(port, "alice")
    server = window.server
    # What the title bar's close button runs (ttkbootstrap then destroys the window).
    window.root.tk.call(window.root.protocol("WM_DELETE_WINDOW"))
    assert window.closed and not window.running
    got = alice.wait_closed()
    assert [m.params for m in got if m.command == "ERROR"] == [["Server shutting down"]]
    assert server is not None and server.stopping
    with pytest.raises(OSError):
        IRCClient(port)
    assert window.log_handler not in logging.getLogger("server").handlers


def test_the_log_view_shows_server_records_from_any_thread(make_window) -> None:
    window = make_window()
    worker = threading.Thread(
        target=lambda: logging.getLogger("server.client").warning("sendq of %s high", "bob")
    )
    worker.start()
    worker.join()
    pump(window, lambda: "sendq of bob high" in window.log_text(), what="the record")
    ranges = window.log_view.text.tag_ranges("warning")
    assert ranges and "sendq of bob high" in window.log_view.text.get(ranges[0], ranges[-1])


def test_the_log_view_keeps_its_newest_lines(make_window) -> None:
    window = make_window()
    for index in range(LOG_LINES + 250):
        window.note(f"note {index}")
    lines = window.log_text().split("\n")
    assert LOG_LINES <= len(lines) <= LOG_LINES + 100
    assert lines[-1].endswith(f"note {LOG_LINES + 249}") and "note 0" not in lines[0]


def test_the_theme_switch_names_the_other_theme(make_window) -> None:
    window = make_window()
    assert window.theme_button.cget("text") == "Dark mode"
    assert "dark" in window.toggle_theme()
    window.root.update_idletasks()
    assert window.theme_button.cget("text") == "Light mode"
    assert "light" in window.toggle_theme()
    window.root.update_idletasks()
    assert window.theme_button.cget("text") == "Dark mode"


def test_messages_per_second_counter(make_window, peers) -> None:
    window = make_window()
    port = started(window)
    alice = peers(port, "alice")
    alice.send(*[f"PRIVMSG #general :{i}" for i in range(5)])
    alice.sync()
    pump(window, lambda: window.counters["messages"].cget("text") == "5", what="5 messages")
    assert float(window.counters["rate"].cget("text")) > 0


def test_the_form_is_prefilled_from_the_command_line(make_window) -> None:
    window = make_window(host="127.0.0.1", port=6111, password="s3cret", data_dir="/tmp/kz")
    form = window.form()
    assert form["host"] == "127.0.0.1" and form["port"] == "6111"
    assert form["password"] == "s3cret" and form["history"] is True
    assert form["data_dir"] == "/tmp/kz" and form["tls_port"] == ""


def test_python_m_server_gui_hands_the_config_to_the_window(mocker) -> None:
    run = mocker.patch("server.gui.run", return_value=0)
    assert main(["--gui", "-p", "6112", "--password", "pw", "--no-history"]) == 0
    config = run.call_args.args[0]
    assert (config.port, config.password, config.history) == (6112, "pw", False)


# --- the window's pure helpers -------------------------------------------------------------------
def test_parse_port() -> None:
    assert parse_port(" 5000 ") == 5000
    assert parse_port("65535") == 65535
    for bad in ("0", "65536", "-1", "x", ""):
        with pytest.raises(ValueError):
            parse_port(bad)


def test_config_from_form(tmp_path) -> None:
    base = Config(host="0.0.0.0", port=5000, name="kibitz.test")
    form = {"host": "", "port": "6000", "password": "", "tls_port": "", "cert": "", "key": ""}
    config = config_from_form(base, {**form, "history": False, "data_dir": "/x"})
    assert (config.host, config.port, config.password, config.data_dir) == (
        "0.0.0.0",
        6000,
        None,
        None,
    )
    assert config.name == "kibitz.test"
    assert config_from_form(base, {**form, "history": True, "data_dir": "/x"}).data_dir == "/x"
    with pytest.raises(ValueError, match="folder"):
        config_from_form(base, {**form, "history": True, "data_dir": " "})
    with pytest.raises(ValueError, match="certificate and a key"):
        config_from_form(base, {**form, "tls_port": "6697"})
    with pytest.raises(ValueError, match="No such certificate"):
        config_from_form(base, {**form, "cert": str(tmp_path / "nope.pem")})
    with pytest.raises(ValueError, match="differ"):
        config_from_form(base, {**form, "tls_port": "6000"})


def test_durations() -> None:
    assert [format_duration(s) for s in (0, 42, 185, 7500, 183600)] == [
        "0s",
        "42s",
        "3m 05s",
        "2h 05m",
        "2d 03h",
    ]
    assert format_uptime(3723) == "1:02:03"
    assert format_uptime(90000) == "1d 1:00:00"


def test_rate_meter() -> None:
    meter = RateMeter(window=5.0)
    assert meter.add(100.0, 0) == 0.0
    assert meter.add(101.0, 10) == pytest.approx(10.0)
    assert meter.add(102.0, 30) == pytest.approx(15.0)
    for t in range(103, 120):
        meter.add(float(t), 30)
    assert meter.add(120.0, 30) == 0.0


def test_admin_snapshot_keys_are_the_window_rows(make_window, peers) -> None:
    window = make_window()
    port = started(window)
    peers(port, "alice")
    pump(window, lambda: nicks(window) == ["alice"])
    assert window.server is not None
    assert list(window.user_list.get_children()) == [u.key for u in admin.users(window.server)]


def test_nasty_names_and_topics_are_shown_safely(make_window, peers) -> None:
    window = make_window()
    port = started(window)
    alice = peers(port, "alice")
    alice.send("JOIN #Ünïcode", "TOPIC #Ünïcode :\u202eevil\u202c \x02bold\x02 \U0001f600 {x} \\")
    alice.expect("TOPIC")
    pump(window, lambda: len(window.channel_rows()) == 2, what="the channel")
    name, members, _modes, topic = window.channel_rows()[1]  # "#g" < "#Ü"
    assert (name, members) == ("#Ünïcode", "1")
    assert "\u202e" not in topic and "\x02" not in topic
    assert "evil" in topic and "bold" in topic and "{x} \\" in topic


def test_without_a_display_the_window_says_what_to_do() -> None:
    done = run_without_display("server", "--gui", "--no-history")
    assert done.returncode == 1
    assert "cannot open a window" in done.stderr and "without --gui" in done.stderr
    assert "Traceback" not in done.stderr


def test_failed_logins_counter(make_window, peers) -> None:
    window = make_window(opers={"root": "hunter2"}, login_delay=0)
    port = started(window)
    assert window.counters["failed"].cget("text") == "0"
    guesser = peers(port, "guesser")
    guesser.send("OPER root guess")
    guesser.expect("464")
    pump(window, lambda: window.counters["failed"].cget("text") == "1", what="1 failed login")


def test_the_server_window_has_the_kibitz_class_and_its_own_title(make_window) -> None:
    window = make_window()
    window.root.update()
    assert window.root.winfo_class() == "Kibitz"
    assert window.root.title() == "Kibitz server"


def test_sighup_reads_the_file_again_under_the_window(tmp_path) -> None:
    port = free_port()
    motd = tmp_path / "motd.txt"
    motd.write_text("before the hangup\n", encoding="utf-8")
    config = tmp_path / "kibitz.toml"
    settings = f'host = "127.0.0.1"\nport = {port}\nhistory = false\nmotd = "motd.txt"\n'
    config.write_text(settings, encoding="utf-8")
    env = dict(os.environ, KIBITZ_CONFIG_DIR=str(tmp_path))  # the theme: not the user's
    command = [sys.executable, "-m", "server", "--gui", "--config", str(config)]
    window = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    logged: list[str] = []
    reader = threading.Thread(target=lambda: logged.extend(window.stderr or ()), daemon=True)
    reader.start()

    def said(text: str) -> bool:
        return any(text in line for line in logged)

    clients: list[IRCClient] = []
    try:
        found = wait_for(
            lambda: xdotool("search", "--name", "^Kibitz server$").split(), 20, "the window"
        )
        listening = f"listening on 127.0.0.1:{port}"
        # Enter in the port field starts the server (and does nothing once it runs). A key
        # sent before Tk has given the field the focus is lost, as on a loaded machine:
        # then it is pressed again.
        for _ in range(5):
            xdotool("windowfocus", "--sync", found[0])
            xdotool("key", "Return")
            with contextlib.suppress(AssertionError):
                wait_for(lambda: said(listening), 4, "listening")
                break
        assert said(listening), f"listening: {logged}"
        alice = IRCClient(port)
        clients.append(alice)
        alice.register("alice")
        alice.send("MOTD")
        assert alice.expect("372").params == ["alice", "- before the hangup"]

        motd.write_text("after the hangup\n", encoding="utf-8")
        window.send_signal(signal.SIGHUP)
        rehashed = "REHASH by SIGHUP: Applied: motd"
        wait_for(lambda: said(rehashed) or window.poll() is not None, 20, f"the rehash: {logged}")
        assert window.poll() is None, f"SIGHUP ended it ({window.returncode}): {logged}"
        bob = IRCClient(port)
        clients.append(bob)
        bob.register("bob")
        assert [m.params[1] for m in bob.consumed if m.command == "372"] == ["- after the hangup"]
        alice.sync()  # still connected
    finally:
        for client in clients:
            client.close()
        window.send_signal(signal.SIGTERM)  # the window leaves as the close button does
        try:
            window.wait(timeout=15)
        except subprocess.TimeoutExpired:
            window.kill()
            window.wait()
        reader.join(timeout=10)
    assert window.returncode == 0, logged
    assert not said("Traceback"), logged


def test_a_sighup_before_start_reads_nothing(make_window) -> None:
    window = make_window()
    window.hangups.append(signal.SIGHUP)  # what the process's SIGHUP handler does
    pump(window, lambda: "SIGHUP: no server is running" in window.log_text(), what="the note")
    assert not window.running and window.hangups == []
