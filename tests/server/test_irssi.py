"""A real IRC client (irssi, in a tmux terminal) chatting with a scripted peer."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.accounts import AccountStore
from tests.support.ircclient import IRCClient


class Irssi:
    """irssi running in its own tmux server; keys in, screen text out."""

    def __init__(self, home: Path, port: int, nick: str, connect: bool = True) -> None:
        missing = [tool for tool in ("irssi", "tmux") if shutil.which(tool) is None]
        assert not missing, f"install {missing} (make test does this with apt-get)"
        home.mkdir(parents=True, exist_ok=True)
        # irssi paces its own output (cmd_queue_speed, 2.2 s by default); a test needs no pacing.
        (home / "config").write_text(
            'settings = { core = { real_name = "Irssi User"; user_name = "irssi"; '
            f'nick = "{nick}"; }}; "irc/core" = {{ cmd_queue_speed = "10msec"; }}; }};\n'
        )
        self.socket = f"kibitz-test-{os.getpid()}-{port}-{nick}"
        self._tmux(
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "50",
            "-s",
            "irc",
            f"TERM=xterm irssi --home={home} -n {nick}"
            + (f" -c 127.0.0.1 -p {port}" if connect else ""),
        )

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return result.stdout

    def type(self, text: str) -> None:
        """Type a line and press Enter."""
        self._tmux("send-keys", "-t", "irc", "-l", text)
        self._tmux("send-keys", "-t", "irc", "Enter")

    def show_window(self, name: str, timeout: float = 10.0) -> None:
        """Switch to a window (it may open a moment after the server's JOIN)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.type(f"/window goto {name}")
            if f"[{name}]" in self.screen().splitlines()[-1]:
                return
            time.sleep(0.2)
        raise AssertionError(f"irssi never showed {name}:\n{self.screen()}")

    def screen(self) -> str:
        """The visible terminal text."""
        return self._tmux("capture-pane", "-p", "-t", "irc")

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        """Poll the screen until ``text`` shows up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared on irssi's screen:\n{self.screen()}")

    def close(self) -> None:
        """Stop irssi and its tmux server."""
        self._tmux("kill-server")


@pytest.fixture
def start_irssi(server, tmp_path: Path) -> Iterator[Callable[[str], Irssi]]:
    """Start irssi instances (as the given nicks) against ``server``."""
    started: list[Irssi] = []

    def start(nick: str) -> Irssi:
        client = Irssi(tmp_path / nick, server.port, nick)
        started.append(client)
        return client

    try:
        yield start
    finally:
        for client in started:
            client.close()


@pytest.fixture
def irssi(start_irssi) -> Irssi:
    return start_irssi("irssiuser")


def test_irssi_and_a_raw_client_chat(server, irssi: Irssi) -> None:
    bob = IRCClient(server.port)
    bob.register("bob")
    joined = bob.expect("JOIN", "#general", timeout=15)
    assert joined.source == "irssiuser!~irssi@127.0.0.1"

    irssi.show_window("#general")
    bob.send("PRIVMSG #general :hello irssi, bob here")
    irssi.wait_for("hello irssi, bob here")

    irssi.type("hi bob, from a real client")
    message = bob.expect("PRIVMSG")
    assert message.source.startswith("irssiuser!")
    assert message.params == ["#general", "hi bob, from a real client"]

    irssi.type("/msg bob a private word")
    assert bob.expect("PRIVMSG").params == ["bob", "a private word"]

    bob.send("MODE #general +o irssiuser")  # bob joined first, so bob is the op
    irssi.wait_for("[+o irssiuser] by bob")
    irssi.type("/topic Kibitz meets irssi")
    assert bob.expect("TOPIC").params == ["#general", "Kibitz meets irssi"]

    irssi.type("/nick irssi2")
    assert bob.expect("NICK").params == ["irssi2"]
    irssi.wait_for("You're now known as irssi2")

    irssi.type("/quit off to lunch")
    assert bob.expect("QUIT").params == ["Quit: off to lunch"]
    bob.close()


def test_two_irssi_users_and_a_raw_client_see_each_other(server, start_irssi) -> None:
    carol = IRCClient(server.port)
    carol.register("carol")
    ann, ben = start_irssi("ann"), start_irssi("ben")
    joined = {carol.expect("JOIN", "#general").nick for _ in range(2)}
    assert joined == {"ann", "ben"}
    ann.show_window("#general")
    ben.show_window("#general")

    ann.type("ann says hi")
    ben.wait_for("ann says hi")
    assert carol.expect("PRIVMSG").params == ["#general", "ann says hi"]

    ben.type("ben waves back")
    ann.wait_for("ben waves back")
    assert carol.expect("PRIVMSG").params == ["#general", "ben waves back"]

    carol.send("PRIVMSG #general :carol joins in")
    ann.wait_for("carol joins in")
    ben.wait_for("carol joins in")
    carol.close()


def test_irssi_sets_modes_kicks_and_whois(server, irssi: Irssi) -> None:
    bob = IRCClient(server.port)
    bob.register("bob")
    bob.expect("JOIN", "#general", timeout=15)
    irssi.type("/join #irssiroom")
    irssi.wait_for("#irssiroom: Total of 1 nicks")  # irssi is in first, so it is op
    bob.send("JOIN #irssiroom")
    bob.expect("366", "bob", "#irssiroom")

    irssi.type("/mode #irssiroom +m")
    assert bob.expect("MODE").params == ["#irssiroom", "+m"]
    irssi.type("/voice bob")
    assert bob.expect("MODE").params == ["#irssiroom", "+v", "bob"]

    bob.send("AWAY :reading the manual")
    bob.expect("306")
    irssi.type("/whois bob")
    irssi.type("/window 1")  # irssi shows WHOIS replies in its status window
    screen = irssi.wait_for("reading the manual")
    assert "bob Tester" in screen and "kibitz.test" in screen

    irssi.type("/window goto #irssiroom")
    irssi.type("/kick bob enough for today")
    kick = bob.expect("KICK")
    assert kick.params == ["#irssiroom", "bob", "enough for today"]
    assert kick.source.startswith("irssiuser!")
    bob.close()


def test_irssi_signs_in_with_a_connect_password_and_keeps_its_nick(make_server, tmp_path) -> None:
    AccountStore(tmp_path / "data").create("alice", "secret")
    server = make_server(data_dir=str(tmp_path / "data"))
    bob = IRCClient(server.port)
    bob.register("bob")
    alice = Irssi(tmp_path / "alice", server.port, "alice", connect=False)
    try:
        alice.wait_for("Irssi")  # started: its window is up and takes commands
        # irssi 1.4 has no -password switch: the password follows the port.
        alice.type(f"/connect 127.0.0.1 {server.port} alice:secret")
        joined = bob.expect("JOIN", "#general", timeout=15)
        assert joined.nick == "alice"
        alice.wait_for("You are now logged in as alice")
        session = server.registry.find_nick("alice")
        assert session is not None and session.account.name == "alice"
    finally:
        alice.close()
        bob.close()
