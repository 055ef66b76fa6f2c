"""Users of other nodes: seen arriving, renaming, going away and leaving, as local
users are; direct messages reach them on their node with their capabilities."""

from __future__ import annotations

from tests.support.waiting import wait_for


def test_nick_away_and_quit_on_one_node_are_announced_on_the_other(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    bob = client_of(b, "bob", caps=("away-notify",))
    alice = client_of(a, "alice")
    joined = bob.expect("JOIN", "#general")
    assert joined.source == "alice!~alice@127.0.0.1"
    alice.send("AWAY :lunch")
    assert bob.expect("AWAY").params == ["lunch"]
    alice.send("AWAY")
    assert bob.expect("AWAY").params == []
    alice.send("NICK alicia")
    renamed = bob.expect("NICK")
    assert (renamed.source, renamed.params) == ("alice!~alice@127.0.0.1", ["alicia"])
    alice.send("QUIT :gone fishing")
    gone = bob.expect("QUIT")
    assert (gone.source, gone.params) == ("alicia!~alice@127.0.0.1", ["Quit: gone fishing"])
    bob.send("WHOIS alicia")
    assert bob.expect("401").params[1] == "alicia"


def test_direct_messages_reach_the_other_node_with_the_recipients_caps(
    make_node, client_of
) -> None:
    a, b = make_node("a"), make_node("b")
    alice = client_of(a, "alice", caps=("echo-message", "message-tags", "server-time"))
    tagged = client_of(b, "bob", caps=("message-tags", "server-time"))
    plain = client_of(b, "carol")
    wait_for(lambda: a.registry.find_nick("carol") is not None, what="carol known on a")
    alice.send("@+draft/reply=x PRIVMSG bob :hi bob", "PRIVMSG carol :hi carol")
    echo = alice.expect("PRIVMSG", "bob")
    got = tagged.expect("PRIVMSG", "bob")
    assert got.params[1] == "hi bob" and got.source == "alice!~alice@127.0.0.1"
    # One msgid and one time, given at the origin.
    assert got.tags["msgid"] == echo.tags["msgid"] and got.tags["time"] == echo.tags["time"]
    assert got.tags["+draft/reply"] == "x"
    untagged = plain.expect("PRIVMSG", "carol")
    assert untagged.tags == {} and untagged.params[1] == "hi carol"
    # TAGMSG only to those who have message-tags.
    alice.send("@+typing=active TAGMSG carol", "@+typing=active TAGMSG bob")
    assert tagged.expect("TAGMSG", "bob").tags["+typing"] == "active"
    assert [m.command for m in plain.sync()] == []


def test_away_of_a_remote_user_answers_a_direct_message(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    client_of(a, "alice").send("AWAY :out")
    bob = client_of(b, "bob")
    wait_for(lambda: (u := b.registry.find_nick("alice")) is not None and u.away, what="away")
    bob.send("PRIVMSG alice :there?")
    assert bob.expect("301").params[1:] == ["alice", "out"]


def test_monitor_follows_users_of_other_nodes(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    watcher = client_of(b, "bob")
    watcher.send("MONITOR + alice")
    assert watcher.expect("731").params[1] == "alice"
    alice = client_of(a, "alice")
    assert watcher.expect("730").params[1] == "alice!~alice@127.0.0.1"
    alice.send("QUIT")
    assert watcher.expect("731").params[1] == "alice"


def test_who_a_nick_on_another_node(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    client_of(a, "alice")
    bob = client_of(b, "bob")
    bob.send("WHO alice")
    row = bob.expect("352")
    assert row.params[1:7] == ["*", "~alice", "127.0.0.1", "a.test", "alice", "H"]
    assert bob.expect("315").params[1] == "alice"


def test_a_new_node_loads_the_users_already_there(make_node, client_of) -> None:
    a = make_node("a")
    client_of(a, "alice").send("AWAY :brb")
    wait_for(lambda: a.registry.find_nick("alice").away, what="away set")
    b = make_node("b")
    bob = client_of(b, "bob")
    bob.send("WHOIS alice", "NAMES #general")
    lines = bob.until("366")
    assert any(m.command == "301" and m.params[2] == "brb" for m in lines)
    assert [m.params[3] for m in lines if m.command == "353"] == ["@alice bob"]


def test_an_operator_kills_a_user_of_another_node(make_node, client_of) -> None:
    a = make_node("a", opers={"root": "secret"})
    b = make_node("b")
    oper = client_of(a, "oper")
    oper.send("OPER root secret")
    oper.expect("381")
    victim = client_of(b, "victim")
    witness = client_of(b, "witness")
    wait_for(lambda: a.registry.find_nick("victim") is not None, what="victim known on a")
    oper.send("KILL victim :spam")
    lines = victim.wait_closed()
    assert [m.command for m in lines][-2:] == ["KILL", "ERROR"]
    quit_ = witness.expect("QUIT")
    assert quit_.source.startswith("victim!") and quit_.params == ["Killed (oper (spam))"]
    assert oper.expect("QUIT").params == ["Killed (oper (spam))"]


def test_user_modes_of_another_node_show_in_whois_and_lusers(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    client_of(a, "alice").send("MODE alice +i")
    bob = client_of(b, "bob")
    wait_for(lambda: "i" in b.registry.find_nick("alice").modes, what="+i known on b")
    bob.send("LUSERS")
    assert bob.expect("251").params[1] == "There are 1 users and 1 invisible on 2 servers"


def test_setname_on_one_node_is_shown_on_the_other(make_node, client_of) -> None:
    a, b = make_node("a"), make_node("b")
    alice = client_of(a, "alice", caps=("setname",))
    bob = client_of(b, "bob", caps=("setname",))
    wait_for(lambda: b.registry.find_nick("alice") is not None, what="alice known on b")
    alice.send("SETNAME :Alice Liddell")
    changed = bob.expect("SETNAME")
    assert (changed.source, changed.params) == ("alice!~alice@127.0.0.1", ["Alice Liddell"])
    bob.send("WHOIS alice")
    assert bob.expect("311").params[5] == "Alice Liddell"


def test_lusers_gives_this_nodes_own_count_and_peak_next_to_the_networks(
    make_node, client_of
) -> None:
    a, b = make_node("a"), make_node("b")
    alice = client_of(a, "alice")
    client_of(b, "bob")
    client_of(b, "carol")
    wait_for(lambda: a.registry.find_nick("carol") is not None, what="carol known on a")
    alice.send("LUSERS")
    local = alice.expect("265")
    assert local.params[1:] == ["1", "1", "Current local users 1, max 1"]
    every = alice.expect("266")
    assert every.params[1:] == ["3", "3", "Current global users 3, max 3"]
