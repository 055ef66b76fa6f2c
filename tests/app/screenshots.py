"""Take the README screenshots: ``DISPLAY=:N python -m tests.app.screenshots assets``.

Starts a server, scripts a short conversation with raw peers, runs ``python -m app`` in
light and dark, and saves ``kibitz-light.png`` and ``kibitz-dark.png`` with ImageMagick.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from server.config import Config
from server.server import ChatServer
from tests.app.helpers import wait_for
from tests.support.ircclient import IRCClient

ROOT = Path(__file__).resolve().parents[2]


def xdotool(*args: str) -> str:
    """Run xdotool and return its output."""
    return subprocess.run(["xdotool", *args], capture_output=True, text=True).stdout.strip()


def shoot(port: int, theme: str, out: Path) -> None:
    """Open a window as alice in ``theme``, script a chat around it, save a screenshot."""
    server = ChatServer(Config(host="127.0.0.1", port=port, name="kibitz.lan"))
    server.start()
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
        env = dict(os.environ, KIBITZ_CONFIG_DIR=config)
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
            subprocess.run(["import", "-window", window, str(out)], check=True)
        finally:
            app.terminate()
            app.wait(10)
            for peer in (bob, carol, dave):
                peer.close()
            server.stop()


def main() -> None:
    """Write both screenshots into the directory named on the command line."""
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "assets")
    shoot(5077, "light", target / "kibitz-light.png")
    shoot(5078, "dark", target / "kibitz-dark.png")


if __name__ == "__main__":
    main()
