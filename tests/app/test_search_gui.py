"""The search panel on the virtual display: Ctrl+F opens it and Escape closes it; the
loaded transcript is searched everywhere, the server's history where it offers
soju.im/search (a real Kibitz server with a data directory); a click on a result shows
it in its conversation, loaded or fetched with the messages around it."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.reacting import GAP_LINE
from server.history_records import Record
from server.msgids import new_msgid
from tests.app.helpers import press_return, pump
from tests.support.ircclient import IRCClient


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _store(server, texts: list[str], start: datetime) -> None:
    """bob said ``texts`` in #general, a second apart from ``start`` (straight into history)."""
    for index, text in enumerate(texts):
        when = _millis(start + timedelta(seconds=index))
        # A msgid as the server makes them: its number is the row's id.
        server.history.add(
            Record(new_msgid(), "#general", when, "bob!b@h", "PRIVMSG", ("#general", text), {})
        )
    assert server.history.flush()


def _ctrl_f(view, widget=None) -> None:
    widget = widget or view.message_entry
    view.root.focus_force()
    widget.focus_force()
    view.root.update()
    widget.event_generate("<Control-f>")
    view.root.update()


def _search(view, text: str) -> None:
    _ctrl_f(view)
    entry = view.search_panel.search_entry
    entry.delete(0, "end")
    entry.insert(0, text)
    entry.event_generate("<Return>")
    view.root.update()


def _click(view, index: int) -> None:
    """Click the ``index``-th result, as the user does."""
    results = view.search_panel.results
    view.root.update()
    row = results.get_children()[index]
    results.see(row)
    view.root.update()
    x, y, _w, h = results.bbox(row, "#4")
    results.event_generate("<ButtonPress-1>", x=x + 5, y=y + h // 2)
    results.event_generate("<ButtonRelease-1>", x=x + 5, y=y + h // 2)
    view.root.update()


def _found_text(view) -> str:
    """The message the jump lit up ("" once it is no longer lit)."""
    return view.transcript.flashed()


def _in_view(view) -> bool:
    text = view.chat_area.text
    span = text.tag_ranges("flash")
    return bool(span) and text.dlineinfo(span[0]) is not None


def test_ctrl_f_opens_the_panel_and_escape_closes_it(chat) -> None:
    _controller, view = chat("alice")
    panel = view.search_panel
    assert not panel.winfo_ismapped()
    _ctrl_f(view, view.chat_area.text)  # from the transcript as from the message box
    pump(view, panel.winfo_ismapped, what="the panel shown")
    assert view.root.focus_get() is panel.search_entry
    panel.search_entry.event_generate("<Escape>")
    pump(view, lambda: not panel.winfo_ismapped(), what="the panel hidden")
    assert view.root.focus_get() is view.message_entry


def test_loaded_messages_are_found_and_a_click_shows_one(chat, connect) -> None:
    _controller, view = chat("alice")
    bob = connect("bob")
    bob.send("PRIVMSG #general :the cake is a lie", "PRIVMSG #general :nothing here")
    bob.send("PRIVMSG alice :cake in private")
    pump(view, lambda: "nothing here" in view.transcript_text(), what="bob's lines")
    pump(view, lambda: "bob" in view.conversations, what="bob's direct message")
    _search(view, "CAKE")
    rows = view.search_panel.rows()
    assert [row[1:] for row in rows] == [
        ("bob", "bob", "cake in private"),
        ("#general", "bob", "the cake is a lie"),
    ]
    # This server keeps no history to search: the panel says so.
    assert "does not search" in view.search_panel.status_label.cget("text")
    _click(view, 1)
    assert view.conversations.current == "#general"
    assert _found_text(view).endswith("the cake is a lie\n")
    _click(view, 0)  # the other conversation is opened for it
    assert view.conversations.current == "bob"
    assert "cake in private" in _found_text(view)
    assert _in_view(view)


def test_the_server_finds_what_is_not_loaded_and_the_jump_fetches_it(
    make_server, make_chat, tmp_path
) -> None:
    server = make_server(data_dir=str(tmp_path))
    start = datetime.now().astimezone() - timedelta(hours=3)
    texts = [f"m{i:03}" for i in range(300)]
    texts[20] = "the needle in the haystack"
    texts[290] = "another needle, loaded"
    _store(server, texts, start)
    _controller, view = make_chat(server.port, "alice")
    pump(view, lambda: "m299" in view.transcript_text(), what="the latest page")
    assert "the needle in the haystack" not in view.transcript_text()
    _search(view, "needle")
    panel = view.search_panel
    pump(view, lambda: "found" in panel.status_label.cget("text"), what="the server's answer")
    rows = panel.rows()
    # Newest first; the loaded one once, though both the transcript and the server have it.
    assert [row[3] for row in rows] == ["another needle, loaded", "the needle in the haystack"]
    assert [row[1:3] for row in rows] == [("#general", "bob")] * 2
    expected = start + timedelta(seconds=20)
    assert rows[1][0] == f"{expected.date().isoformat()} {expected.strftime('%H:%M')}"
    _click(view, 0)  # loaded: shown where it is
    assert "another needle, loaded" in _found_text(view)
    _click(view, 1)  # not loaded: fetched with the messages around it, then shown
    pump(view, lambda: "haystack" in _found_text(view), what="the result fetched and shown")
    shown = view.transcript_text()
    assert "m019" in shown and "m021" in shown  # its context, before and after it
    assert shown.index("haystack") < shown.index(GAP_LINE) < shown.index("m200")
    assert _in_view(view)


def test_the_server_search_fails_and_loaded_results_stay(make_server, make_chat, tmp_path):
    server = make_server(data_dir=str(tmp_path), search_timeout=0)
    start = datetime.now().astimezone() - timedelta(hours=1)
    _store(server, [f"word {i}" for i in range(3000)], start)
    _controller, view = make_chat(server.port, "alice")
    pump(view, lambda: "word 2999" in view.transcript_text(), what="the latest page")
    _search(view, "word")
    panel = view.search_panel
    pump(view, lambda: "could not search" in panel.status_label.cget("text"), what="FAIL")
    assert len(panel.rows()) == 100  # the loaded page's, all of them matching


def test_a_result_in_a_closed_conversation_opens_it(make_server, make_chat, tmp_path) -> None:
    server = make_server(data_dir=str(tmp_path))
    controller, view = make_chat(server.port, "alice")
    pump(view, lambda: view.conversations["#general"].members, what="joined")
    bob = IRCClient(server.port)
    bob.register("bob", ("echo-message",))
    bob.send("PRIVMSG alice :the secret handshake")
    bob.expect("PRIVMSG")
    pump(view, lambda: "bob" in view.conversations, what="bob's message")
    # The conversation's first chathistory page has come (it was asked for on opening).
    chathistory = controller.model.session.chathistory
    pump(view, lambda: not chathistory.waiting("bob"), what="its page")
    controller.select("bob")
    press_return(view, "/close")
    pump(view, lambda: "bob" not in view.conversations, what="the conversation closed")
    _search(view, "handshake")
    panel = view.search_panel
    pump(view, lambda: panel.rows(), what="the server's result")
    assert [row[1:] for row in panel.rows()] == [("bob", "bob", "the secret handshake")]
    _click(view, 0)
    pump(view, lambda: "handshake" in _found_text(view), what="the message shown")
    assert view.conversations.current == "bob"
    bob.close()
