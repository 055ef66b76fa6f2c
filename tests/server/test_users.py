"""User queries and presence over real sockets: WHO, WHOIS, WHOWAS, USERHOST, ISON,
AWAY, SETNAME, MONITOR."""

from __future__ import annotations

import pytest


def test_whois_reports_user_server_idle_channels_and_away(server, connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    bob.send("JOIN #side", "AWAY :out for lunch")
    bob.expect("306")
    alice.send("WHOIS bob")
    replies = alice.until("318")
    by_code = {m.command: m.params for m in replies}
    assert by_code["311"] == ["alice", "bob", "~bob", "127.0.0.1", "*", "bob Tester"]
    assert by_code["312"][:3] == ["alice", "bob", "kibitz.test"]
    assert by_code["317"][:2] == ["alice", "bob"] and by_code["317"][2].isdigit()
    assert by_code["317"][-1] == "seconds idle, signon time"
    assert set(by_code["319"][2].split()) == {"#general", "@#side"}
    assert by_code["301"] == ["alice", "bob", "out for lunch"]
    assert by_code["318"] == ["alice", "bob", "End of /WHOIS list"]
    assert next(m.command for m in replies if m.command.isdigit()) == "311"


def test_whois_unknown_nick_and_no_nick(server, connect) -> None:
    alice = connect("alice")
    alice.send("WHOIS ghost")
    assert alice.expect("401").params == ["alice", "ghost", "No such nick/channel"]
    assert alice.expect("318").params == ["alice", "ghost", "End of /WHOIS list"]
    alice.send("WHOIS")
    assert alice.expect("431").params == ["alice", "No nickname given"]


def test_whois_shows_operator_and_bot(make_server) -> None:
    from tests.support.ircclient import IRCClient

    server = make_server(opers={"root": "hunter2"})
    alice, bob = IRCClient(server.port), IRCClient(server.port)
    alice.register("alice")
    bob.register("bob")
    bob.send("OPER root hunter2", "MODE bob +B")
    bob.expect("MODE", "bob", "+B")
    alice.send("WHOIS bob")
    codes = {m.command: m.params for m in alice.until("318")}
    assert codes["313"] == ["alice", "bob", "is an IRC operator"]
    assert codes["335"][:2] == ["alice", "bob"]
    alice.send("WHO bob")
    assert alice.expect("352").params[6] == "H*B"
    alice.close()
    bob.close()


def test_whowas_remembers_nicks_that_left(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    bob.send("NICK robert")
    alice.expect("NICK", "robert")
    alice.send("WHOWAS bob")
    assert alice.expect("314").params == ["alice", "bob", "~bob", "127.0.0.1", "*", "bob Tester"]
    assert alice.expect("312").params[:3] == ["alice", "bob", "kibitz.test"]
    assert alice.expect("369").params == ["alice", "bob", "End of WHOWAS"]
    alice.send("WHOWAS nobody")
    assert alice.expect("406").params == ["alice", "nobody", "There was no such nickname"]
    assert alice.expect("369")


def test_who_mask_hides_invisible_strangers(server, connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    bob.send("MODE bob +i", "PART #general")
    bob.expect("PART")
    carol = connect("carol")
    alice.send("WHO *")
    nicks = {m.params[5] for m in alice.until("315") if m.command == "352"}
    assert nicks == {"alice", "carol"}
    alice.send("WHO bob")  # an exact nick is always answered
    assert alice.expect("352").params[5] == "bob"
    carol.send("WHO * o")
    assert [m for m in carol.until("315") if m.command == "352"] == []


def test_whox_fields_and_token(server, connect) -> None:
    alice = connect("alice")
    alice.send("WHO #general %tnuhfr,77")
    reply = alice.expect("354")
    assert reply.params == ["alice", "77", "~alice", "127.0.0.1", "alice", "H@", "alice Tester"]
    assert alice.expect("315").params == ["alice", "#general", "End of WHO list"]


def test_away_replies_and_away_notify(server, connect) -> None:
    alice = connect("alice", caps=("away-notify",))
    bob = connect("bob")
    bob.send("AWAY :brb")
    assert bob.expect("306").params == ["bob", "You have been marked as being away"]
    assert alice.expect("AWAY").params == ["brb"]
    alice.send("PRIVMSG bob :you there?")
    assert alice.expect("301").params == ["alice", "bob", "brb"]
    alice.send("USERHOST bob alice")
    assert alice.expect("302").params == ["alice", "bob=-~bob@127.0.0.1 alice=+~alice@127.0.0.1"]
    alice.send("WHO bob")
    assert alice.expect("352").params[6] == "G"
    bob.send("AWAY")
    assert bob.expect("305").params == ["bob", "You are no longer marked as being away"]
    assert alice.expect("AWAY").params == []


def test_ison(server, connect) -> None:
    alice = connect("alice")
    connect("Bob")
    alice.send("ISON bob carol alice")
    assert alice.expect("303").params == ["alice", "Bob alice"]


def test_setname(server, connect) -> None:
    alice = connect("alice", caps=("setname",))
    bob = connect("bob", caps=("setname",))
    carol = connect("carol")
    alice.send("SETNAME :Alice Pleasance Liddell")
    assert alice.expect("SETNAME").params == ["Alice Pleasance Liddell"]
    assert bob.expect("SETNAME").params == ["Alice Pleasance Liddell"]
    assert [m for m in carol.sync() if m.command == "SETNAME"] == []
    carol.send("WHOIS alice")
    assert carol.expect("311").params[-1] == "Alice Pleasance Liddell"
    alice.send("SETNAME :" + "x" * 300)
    assert alice.expect("FAIL").params[:2] == ["SETNAME", "INVALID_REALNAME"]


def test_monitor_tracks_presence(server, connect) -> None:
    alice = connect("alice")
    alice.send("MONITOR + bob,Carol")
    assert alice.expect("731").params == ["alice", "bob,Carol"]
    bob = connect("bob")
    assert alice.expect("730").params == ["alice", "bob!~bob@127.0.0.1"]
    bob.send("NICK carol")
    assert alice.expect("731").params == ["alice", "bob"]
    assert alice.expect("730").params == ["alice", "carol!~bob@127.0.0.1"]
    alice.send("MONITOR L")
    assert alice.expect("732").params == ["alice", "bob,Carol"]
    assert alice.expect("733").params == ["alice", "End of MONITOR list"]
    bob.send("QUIT")
    assert alice.expect("731").params == ["alice", "carol"]
    alice.send("MONITOR - bob", "MONITOR S")
    assert alice.expect("731").params == ["alice", "Carol"]
    alice.send("MONITOR C", "MONITOR L")
    assert alice.expect("733")


@pytest.mark.parametrize("name", ["extended-monitor", "draft/extended-monitor"])
def test_extended_monitor_tells_watchers_of_presence(server, connect, name) -> None:
    watcher = connect("watcher", caps=(name, "away-notify"))
    plain = connect("plain", caps=("away-notify",))
    for client in (watcher, plain):
        client.send("PART #general", "MONITOR + bob")
        client.sync()
    bob = connect("bob")
    bob.send("AWAY :lunch")
    bob.sync()
    away = [m for m in watcher.sync() if m.command == "AWAY"]
    assert [(m.source.split("!")[0], m.params) for m in away] == [("bob", ["lunch"])]
    # Without extended-monitor, watching is not sharing a channel: no AWAY.
    assert [m for m in plain.sync() if m.command == "AWAY"] == []


def test_monitor_list_is_bounded(server, connect) -> None:
    alice = connect("alice")
    alice.send("MONITOR + " + ",".join(f"n{i}" for i in range(99)))
    alice.sync()
    alice.send("MONITOR + a1,a2,a3")
    full = alice.expect("734")
    assert full.params == ["alice", "100", "a2,a3", "Monitor list is full."]


def test_who_by_mask_matches_nicks_case_insensitively(server, connect) -> None:
    cool = connect()
    cool.send("NICK coolNick", "USER myusernam 0 * :My UniqueReal Name")
    cool.expect("366")
    other = connect("otherNick")
    for mask in ("*", "coolni*", "coolnick"):
        other.send(f"WHO {mask}")
        rows = [m for m in other.until("315") if m.command == "352"]
        cool_row = next(m for m in rows if m.params[5] == "coolNick")
        assert cool_row.params == [
            "otherNick",
            "*",
            "~myusernam",
            "127.0.0.1",
            "kibitz.test",
            "coolNick",
            "H",
            "0 My UniqueReal Name",
        ]
        assert other.consumed[-1].params == ["otherNick", mask, "End of WHO list"]
    other.send("WHO idontexist")
    assert [m.command for m in other.until("315") if m.command.isdigit()] == ["315"]


def test_lusers_counts_follow_modes_and_departures(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send("MODE alice +i")
    alice.expect("MODE")
    bob.send("LUSERS")
    assert bob.expect("251").params[1] == "There are 1 users and 1 invisible on 1 servers"
    alice.send("QUIT")
    alice.wait_closed()
    bob.send("LUSERS")
    assert bob.expect("251").params[1] == "There are 1 users and 0 invisible on 1 servers"
    assert bob.expect("255").params[1] == "I have 1 clients and 0 servers"
    lurker = connect()  # connected, not registered
    lurker.send("NICK lurker")
    lurker.sync()
    bob.send("LUSERS")
    assert bob.expect("253").params[1] == "1"
