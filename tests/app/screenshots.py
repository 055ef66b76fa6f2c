"""Take the README screenshots: ``python -m tests.app.screenshots assets``.

Starts its own virtual display (Xvfb on a free display number) and its own server on a
free port, whatever ``DISPLAY`` says: it types into the window it opens, so it must never
find a real desktop's windows. Scripts a short conversation with raw peers, runs
``python -m app`` in light and dark, and saves ``kibitz-light.png`` and ``kibitz-dark.png``;
then a conversation with reactions, a reply, someone typing and the "— new —" line,
``kibitz-conversation.png``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import ImageGrab

from app.settings import Settings
from server.config import Config
from server.server import ChatServer
from tests.app.helpers import wait_for
from tests.support.ircclient import IRCClient

ROOT = Path(__file__).resolve().parents[2]


#: The virtual screen: room for the window (1040 x 660) and its screenshot.
SCREEN = "1280x800x24"
#: Where the reactions under the conversation scene's first message are in the window.
CHIP = ("336", "124")
#: Where the message box is in the window.
MESSAGE_BOX = ("600", "598")


@contextmanager
def own_display() -> Iterator[str]:
    """A fresh Xvfb on a display number nobody uses (Xvfb picks it: ``-displayfd``)."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as announced:
            number = announced.readline().strip()
        if not number:
            raise RuntimeError(f"Xvfb did not start (exit status {xvfb.wait(10)})")
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(10)


class Screen:
    """One X display, and the only one every command here is run on."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        self.env["DISPLAY"] = display

    def xdotool(self, *args: str) -> str:
        """Run xdotool on this display and return its output."""
        done = subprocess.run(["xdotool", *args], capture_output=True, text=True, env=self.env)
        return done.stdout.strip()

    def save(self, window: str, out: Path) -> None:
        """Save a screenshot of ``window`` (no window manager: no frame around it)."""
        shape = dict(
            line.split("=", 1)
            for line in self.xdotool("getwindowgeometry", "--shell", window).split()
        )
        left, top = int(shape["X"]), int(shape["Y"])
        box = (left, top, left + int(shape["WIDTH"]), top + int(shape["HEIGHT"]))
        ImageGrab.grab(bbox=box, xdisplay=self.display).save(out)


def shoot(screen: Screen, theme: str, out: Path) -> None:
    """Open a window as alice in ``theme``, script a chat around it, save a screenshot."""
    server = ChatServer(Config(host="127.0.0.1", port=0, name="kibitz.lan"))
    server.start()
    port = server.port
    xdotool = screen.xdotool
    bob = IRCClient(port)
    bob.register("bob", ["echo-message"])
    bob.send("TOPIC #general :Release week — checklist at https://kibitz.example/release")
    carol = IRCClient(port)
    carol.register("carol", [])
    dave = IRCClient(port)
    dave.register("dave", [])
    carol.send("JOIN #dev")
    bob.send("MODE #general +v carol")
    bob.sync()
    with tempfile.TemporaryDirectory() as config:
        # Its own display, but the desktop's session bus: no notifications on your desktop.
        Settings(notifications=False).save(Path(config) / "settings.json")
        env = dict(screen.env, KIBITZ_CONFIG_DIR=config)
        app = subprocess.Popen(
            [sys.executable, "-m", "app", "--port", str(port), "--nick", "alice", "--theme", theme],
            cwd=ROOT,
            env=env,
        )
        try:
            bob.expect("JOIN", "#general", where=lambda m: m.nick == "alice", timeout=20)
            window = wait_for(lambda: xdotool("search", "--name", "Kibitz").split())[0]
            xdotool("windowfocus", "--sync", window)
            xdotool("type", "--delay", "20", "/join #dev")
            xdotool("key", "Return")
            carol.expect("JOIN", "#dev", timeout=10)
            xdotool("key", "alt+Up")
            time.sleep(0.3)
            bob.send("PRIVMSG #general :morning! the build for 2.1 is green")
            time.sleep(0.3)
            carol.send("PRIVMSG #general :\x01ACTION brings coffee\x01")
            time.sleep(0.3)
            xdotool("type", "--delay", "20", "great, I'll tag the release after lunch")
            xdotool("key", "Return")
            bob.expect("PRIVMSG", "#general", timeout=10)
            time.sleep(0.3)
            carol.send("PRIVMSG #general :alice: can you review the changelog first?")
            time.sleep(0.3)
            dave.send("PRIVMSG #general :notes are on https://kibitz.example/notes/2-1")
            time.sleep(0.3)
            xdotool("type", "--delay", "20", "/me looks at the changelog")
            xdotool("key", "Return")
            bob.expect("PRIVMSG", "#general", timeout=10)
            dave.send("PART #general :lunch")
            carol.send("PRIVMSG alice :psst — cake in the kitchen")
            carol.send("PRIVMSG #dev :deploy at 3?", "PRIVMSG #dev :or after the review?")
            time.sleep(1.0)
            screen.save(window, out)
        finally:
            app.terminate()
            app.wait(10)
            for peer in (bob, carol, dave):
                peer.close()
            server.stop()


def shoot_conversation(screen: Screen, out: Path) -> None:
    """A conversation as it goes now: reactions under messages, a reply under its quote,
    "— new —" where alice stopped reading, and someone typing."""
    server = ChatServer(Config(host="127.0.0.1", port=0, name="kibitz.lan"))
    server.start()
    port = server.port
    xdotool = screen.xdotool
    tagged = ["echo-message", "message-tags"]
    bob, carol, dave = IRCClient(port), IRCClient(port), IRCClient(port)
    bob.register("bob", tagged)
    carol.register("carol", tagged)
    dave.register("dave", tagged)
    bob.send("TOPIC #general :Release week — checklist at https://kibitz.example/release")
    carol.send("JOIN #dev")
    bob.sync()

    def said(peer: IRCClient, text: str) -> str:
        """``peer`` says ``text`` in #general; its msgid (from the echo)."""
        peer.send(f"PRIVMSG #general :{text}")
        return peer.expect("PRIVMSG", "#general", text).tags["msgid"]

    def showing(name: str) -> None:
        """Wait until the window shows ``name`` (its title begins with it)."""
        wait_for(
            lambda: xdotool("getwindowname", window).startswith(f"{name} "),
            timeout=10,
            what=f"{name} shown",
        )

    def react(peer: IRCClient, msgid: str, emoji: str) -> None:
        peer.send(f"@+draft/reply={msgid};+draft/react={emoji} TAGMSG #general")
        time.sleep(0.2)

    with tempfile.TemporaryDirectory() as config:
        Settings(notifications=False).save(Path(config) / "settings.json")
        env = dict(screen.env, KIBITZ_CONFIG_DIR=config)
        app = subprocess.Popen(
            [sys.executable, "-m", "app", "--port", str(port), "--nick", "alice"],
            cwd=ROOT,
            env=env,
        )
        try:
            bob.expect("JOIN", "#general", where=lambda m: m.nick == "alice", timeout=20)
            window = wait_for(lambda: xdotool("search", "--name", "Kibitz").split())[0]
            xdotool("windowfocus", "--sync", window)
            xdotool("type", "--delay", "20", "/join #dev")
            xdotool("key", "Return")
            carol.expect("JOIN", "#dev", timeout=10)
            showing("#dev")
            xdotool("key", "alt+Up")
            showing("#general")
            green = said(bob, "morning! the build for 2.1 is green")
            react(carol, green, "✔")
            react(dave, green, "✔")
            time.sleep(0.3)
            xdotool("type", "--delay", "20", "great, I'll tag the release after lunch")
            xdotool("key", "Return")
            tag = bob.expect("PRIVMSG", "#general", timeout=10).tags["msgid"]
            react(bob, tag, "❤")
            time.sleep(0.3)
            carol.send(f"@+draft/reply={tag} PRIVMSG #general :can you review the changelog first?")
            carol.expect("PRIVMSG", "#general")
            time.sleep(0.5)
            xdotool("key", "alt+Down")  # over to #dev: what #general says next is unread
            showing("#dev")
            notes = said(dave, "notes are on https://kibitz.example/notes/2-1")
            react(bob, notes, "☕")
            said(bob, "I'll do the changelog, alice")
            time.sleep(0.3)
            xdotool("key", "alt+Up")  # back: "— new —" above what came meanwhile
            showing("#general")
            time.sleep(0.5)
            # alice joins the reactions to bob's first message (a click on them; the
            # layout is the same each time), so one is highlighted as hers.
            xdotool("mousemove", "--window", window, *CHIP, "click", "1")
            bob.expect("TAGMSG", "#general", where=lambda m: m.nick == "alice", timeout=10)
            xdotool("mousemove", "--window", window, *MESSAGE_BOX, "click", "1")  # its focus
            carol.send("@+typing=active TAGMSG #general")
            time.sleep(1.0)
            screen.save(window, out)
        finally:
            app.terminate()
            app.wait(10)
            for peer in (bob, carol, dave):
                peer.close()
            server.stop()


def main() -> None:
    """Write the screenshots into the directory named on the command line."""
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "assets")
    with own_display() as display:
        screen = Screen(display)
        shoot(screen, "light", target / "kibitz-light.png")
        shoot(screen, "dark", target / "kibitz-dark.png")
        shoot_conversation(screen, target / "kibitz-conversation.png")


if __name__ == "__main__":
    main()
