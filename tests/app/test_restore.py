"""The conversations open at close come back at the next start: the plan from the settings,
the controller's side, and two real windows one after the other against a real server."""

from __future__ import annotations

import json

import pytest

from app.__main__ import build_controller, load_args, parse_args, reopen_of
from app.passwords import PasswordStore, account_key
from app.restore import KEPT, Reopen, place_of, remember, reopen_plan
from app.settings import Settings, settings_path
from app.view.sidebar import iid_of
from server.accounts import AccountStore
from tests.app.helpers import press_return, pump
from tests.support.ircclient import IRCClient

PLACE = place_of("127.0.0.1", 5000, "", "alice")


def test_a_settings_file_from_before_reopens_its_channel(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"nick": "alice", "channel": "#team"}), encoding="utf-8")
    settings = Settings.load(path)
    assert settings.conversations == {}
    assert reopen_plan(settings, PLACE) == Reopen(("#team",), "#team")


def test_what_was_open_comes_back_in_order_with_the_one_shown(tmp_path):
    path = tmp_path / "settings.json"
    settings = Settings(nick="alice", channel="#general")
    remember(settings, PLACE, ["#general", "#a", "bob", "#b"], "#b")
    settings.save(path)
    again = Settings.load(path)
    plan = reopen_plan(again, PLACE)
    assert plan == Reopen(("#general", "#a", "bob", "#b"), "#b")
    assert (plan.channels, plan.directs) == (["#general", "#a", "#b"], ["bob"])
    # Per server and identity: another nick, or another port, has its own (here: none).
    assert reopen_plan(again, place_of("127.0.0.1", 5000, "", "carol")).names == ("#general",)
    assert reopen_plan(again, place_of("127.0.0.1", 5001, "", "alice")).names == ("#general",)
    # The account, when signed in with one, is who it is, whatever the nick.
    assert place_of("h", 1, "Alice", "al") == place_of("h", 1, "alice", "other")


def test_the_channel_on_the_command_line_is_joined_too_and_shown():
    settings = Settings()
    remember(settings, PLACE, ["#a", "bob"], "bob")
    assert reopen_plan(settings, PLACE, "#dev") == Reopen(("#a", "bob", "#dev"), "#dev")
    assert reopen_plan(settings, PLACE, "#A") == Reopen(("#a", "bob"), "#a")
    given = parse_args(["--host", "127.0.0.1", "--port", "5000", "--nick", "alice"], settings)
    assert not given.channel_given
    assert reopen_of(given, settings) == Reopen(("#a", "bob"), "bob")
    args = parse_args(["--port", "5000", "--nick", "alice", "--channel", "dev"], settings)
    assert args.channel_given and args.channel == "#dev"
    assert reopen_of(args, settings).selected == "#dev"


def test_nothing_open_but_the_server_is_remembered_too():
    settings = Settings(channel="#general")
    remember(settings, PLACE, [], "")
    assert reopen_plan(settings, PLACE) == Reopen((), "")


@pytest.mark.parametrize(
    ("record", "plan"),
    [
        ("nonsense", Reopen(("#general",), "#general")),
        ({"open": "#a"}, Reopen(("#general",), "#general")),
        ({"open": ["#a", 3, "", " b", "bob"], "selected": 7}, Reopen(("#a", "bob"), "")),
        ({"open": ["#a"], "selected": "#gone"}, Reopen(("#a",), "")),
    ],
)
def test_a_damaged_record_is_read_as_far_as_it_makes_sense(record, plan):
    settings = Settings(channel="#general")
    settings.conversations = {PLACE: record}
    assert reopen_plan(settings, PLACE) == plan


def test_only_the_last_servers_are_kept():
    settings = Settings()
    for port in range(KEPT + 5):
        remember(settings, place_of("h", port, "", "a"), ["#x"], "#x")
    assert len(settings.conversations) == KEPT
    assert place_of("h", KEPT + 4, "", "a") in settings.conversations
    assert place_of("h", 0, "", "a") not in settings.conversations


# --- two real windows, one after the other --------------------------------------------------
def _sidebar(view) -> list[tuple[str, str]]:
    """The sidebar's rows, top to bottom: item and label."""
    tree = view.conversation_list
    return [(iid, tree.item(iid, "text")) for iid in tree.get_children()]


def test_the_conversations_open_at_close_come_back_at_the_next_start(
    make_server, make_view, tmp_path
):
    # A private conversation's history belongs to an account: alice signs in to hers.
    accounts = AccountStore(tmp_path)
    accounts.create("alice", "secret")
    accounts.close()
    server = make_server(data_dir=str(tmp_path))
    assert PasswordStore().set(account_key("alice", "127.0.0.1", server.port), "secret")
    bob = IRCClient(server.port)
    bob.register("bob")
    argv = ["--host", "127.0.0.1", "--port", str(server.port), "--nick", "alice"]
    argv += ["--account", "alice"]
    view = make_view()
    controller = build_controller(*load_args(argv), view)
    controller.start()
    pump(view, lambda: "#general" in controller.model.joined(), what="#general")
    pump(view, lambda: controller.model.account == "alice", what="signed in")
    press_return(view, "/join #a")
    pump(view, lambda: view.conversations.current == "#a", what="#a")
    press_return(view, "/join #b")
    pump(view, lambda: view.conversations.current == "#b", what="#b")
    press_return(view, "/query bob")
    pump(view, lambda: view.conversations.current == "bob", what="bob")
    press_return(view, "see you at noon")
    pump(view, lambda: "see you at noon" in view.transcript_text(), what="the message to bob")
    view.conversation_list.selection_set(iid_of("#b"))  # a click on #b in the sidebar
    pump(view, lambda: view.conversations.current == "#b", what="#b shown")
    before = view.conversations.ordered_keys()
    assert before == ["", "#general", "#a", "#b", "bob"]
    shown_before = _sidebar(view)
    # Closed as the title bar's close button closes it.
    view.root.tk.eval(view.root.protocol("WM_DELETE_WINDOW"))
    assert controller.closed
    assert settings_path().exists()

    again = make_view()
    restarted = build_controller(*load_args(argv), again)
    restarted.start()
    model = restarted.model
    pump(again, lambda: {"#general", "#a", "#b"} <= set(model.joined()), what="rejoined")
    again.root.update()
    assert again.conversations.ordered_keys() == before
    assert _sidebar(again) == shown_before
    assert [iid for iid, _label in shown_before] == [iid_of(key) for key in before]
    assert again.conversation_list.selection() == (iid_of("#b"),)
    assert again.conversations.current == "#b"
    assert again.title_label.cget("text") == "#b"
    assert "bob" in model.directs
    # The private conversation's history comes back from the server's chathistory.
    said = lambda: [line.text for line in again.conversations["bob"].lines]  # noqa: E731
    pump(again, lambda: "see you at noon" in said(), what="bob's history")
    restarted.close()
    bob.close()


def test_a_channel_refused_on_rejoin_says_why(server, connect, make_view):
    bob = connect("bob")
    bob.send("JOIN #locked", "MODE #locked +k sesame")
    bob.expect("MODE", "#locked", "+k", "sesame")
    settings = Settings.load()
    remember(settings, place_of("127.0.0.1", server.port, "", "alice"), ["#locked", "#b"], "#b")
    settings.save()
    argv = ["--host", "127.0.0.1", "--port", str(server.port), "--nick", "alice"]
    view = make_view()
    controller = build_controller(*load_args(argv), view)
    controller.start()
    pump(view, lambda: "#b" in controller.model.joined(), what="#b rejoined")

    def said() -> list[str]:
        return [line.text for key in view.conversations for line in view.conversations[key].lines]

    pump(view, lambda: any("#locked" in text and "key" in text for text in said()), what="why")
    assert "#locked" not in controller.model.joined()
    assert view.conversations.current == "#b"
    controller.close()
