"""The Server tab on the virtual display, against a real server: its replies read as
sentences, the raw lines stay reachable, and the server's own notices reach the open
conversation, highlighted."""

from __future__ import annotations

import re

from app.conversations import SERVER
from server import admin
from tests.app.helpers import pump
from tests.app.test_gui import press, transcript, type_into


def command(view, text: str) -> None:
    type_into(view, view.message_entry, text)
    press(view, view.message_entry, "<Return>")


def test_the_server_tab_reads_as_sentences_with_the_raw_lines_at_hand(chat):
    controller, view = chat("alice")
    controller.select(SERVER)
    pump(view, lambda: "on 1 server" in transcript(view), what="the LUSERS sentence")
    shown = transcript(view)
    assert re.search(r"\b\d+ users? on 1 server\b", shown)
    assert "Welcome to Kibitz, alice" in shown
    assert shown.count("The Kibitz server allows nicks up to 30 characters") == 1
    # No raw numeric and none of the server's own LUSERS wording (a numeric as a word:
    # the port in "Connected to 127.0.0.1:35005" may hold the digits).
    assert "There are" not in shown and " 251 " not in shown and " 005 " not in shown
    # Hovering a sentence shows the line it was made from.
    text = view.chat_area.text
    index = text.search("on 1 server", "1.0")
    raw = view.transcript.raw_at(index)
    assert re.fullmatch(r":\S+ 251 alice :There are \d+ users and \d+ invisible on 1 servers", raw)
    text.see(index)
    view.root.update()
    x, y, _w, _h = text.bbox(index)
    text.event_generate("<Motion>", x=x + 1, y=y + 1)
    view.root.update()
    assert view.transcript.rawtip.shown == raw
    text.event_generate("<Leave>")
    view.root.update()
    assert view.transcript.rawtip.shown == ""
    # /raw on shows the raw lines in their place (the folded ISUPPORT lines each), /raw off not.
    command(view, "/raw on")
    pump(view, lambda: " 251 alice :There are" in transcript(view), what="raw lines")
    isupport = re.findall(r" 005 alice .*:are supported by this server", transcript(view))
    assert len(isupport) >= 2  # the server sends a dozen tokens a line
    assert not re.search(r"\d+ users? on 1 server\b", transcript(view))
    command(view, "/raw off")
    pump(view, lambda: " 251 alice " not in transcript(view), what="sentences again")
    assert re.search(r"\d+ users? on 1 server\b", transcript(view))


def test_a_server_notice_shows_highlighted_in_the_open_conversation(chat, server):
    controller, view = chat("alice")
    assert view.conversations.current == "#general"
    for send, text in (
        (lambda text: admin.broadcast(server, text), "Maintenance at noon"),
        (lambda text: admin.notice(server, "alice", text), "Only you see this"),
    ):
        send(text)
        pump(view, lambda text=text: text in transcript(view), what=text)
        chat_text = view.chat_area.text
        start = chat_text.search(text, "1.0")
        assert "server_notice" in chat_text.tag_names(start)
        assert view.conversations[SERVER].lines[-1].text == text  # the Server tab has it too
    light = view.chat_area.text.tag_cget("server_notice", "background")
    controller.toggle_theme()
    view.root.update()
    dark = view.chat_area.text.tag_cget("server_notice", "background")
    assert light and dark and light != dark
