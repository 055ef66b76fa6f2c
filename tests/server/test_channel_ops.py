"""KICK, LIST with ELIST filters, STATUSMSG, operators and the IRCv3 caps that shape
channel traffic (extended-join, userhost-in-names, invite-notify, bot tags)."""

from __future__ import annotations

import pytest

from tests.support.ircclient import IRCClient


def test_kick_removes_and_tells_everyone(server, connect) -> None:
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    alice.send("KICK #general bob :mind your manners")
    for client in (alice, bob, carol):
        kick = client.expect("KICK")
        assert kick.params == ["#general", "bob", "mind your manners"]
        assert kick.source.startswith("alice!")
    bob.send("PRIVMSG #general :hello?")
    assert bob.expect("404")


def test_kick_errors(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    bob.send("KICK #general alice")
    assert bob.expect("482").params == ["bob", "#general", "You're not channel operator"]
    alice.send("KICK #general ghost")
    assert alice.expect("441").params == [
        "alice",
        "ghost",
        "#general",
        "They aren't on that channel",
    ]
    alice.send("KICK #nowhere bob")
    assert alice.expect("403").params == ["alice", "#nowhere", "No such channel"]
    alice.send("JOIN #mine")
    alice.expect("366", "alice", "#mine")
    bob.send("KICK #mine alice")
    assert bob.expect("442").params == ["bob", "#mine", "You're not on that channel"]
    alice.send("KICK #general")
    assert alice.expect("461").params == ["alice", "KICK", "Not enough parameters"]


def test_kick_pairs_channels_with_nicks(server, connect) -> None:
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    alice.send("JOIN #side")
    alice.expect("366", "alice", "#side")
    carol.send("JOIN #side")
    carol.expect("366", "carol", "#side")
    # RFC 2812: one channel per nick, in order; each KICK names one channel and one nick.
    alice.send("KICK #general,#side bob,carol :bye")
    assert bob.expect("KICK").params == ["#general", "bob", "bye"]
    kicks = [m.params for m in carol.sync() if m.command == "KICK"]
    assert kicks == [["#general", "bob", "bye"], ["#side", "carol", "bye"]]
    # Two channels for three nicks is not a pairing: refused as a whole.
    alice.send("KICK #general,#side bob,carol,dave")
    assert alice.expect("461").params == ["alice", "KICK", "Not enough parameters"]
    # A channel that does not exist or where one is not an operator is said once.
    bob.send("JOIN #general")
    bob.expect("366", "bob", "#general")
    bob.send("KICK #general alice,carol", "KICK #nowhere,#nowhere alice,carol")
    assert [m.command for m in bob.sync()] == ["482", "403"]


def test_kick_default_reason_and_kicklen(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send("KICK #general bob")
    assert bob.expect("KICK").params == ["#general", "bob", "alice"]
    carol = connect("carol")
    alice.send("KICK #general carol :" + "r" * 300)
    assert carol.expect("KICK").params[2] == "r" * 255


def test_invite_errors(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send("INVITE bob #general")
    assert alice.expect("443").params == ["alice", "bob", "#general", "is already on channel"]
    alice.send("INVITE ghost #general")
    assert alice.expect("401").params[1] == "ghost"
    alice.send("INVITE bob #nowhere")
    assert alice.expect("403").params[1] == "#nowhere"
    bob.send("JOIN #bobs")
    bob.expect("366", "bob", "#bobs")
    alice.send("INVITE bob #bobs")
    assert alice.expect("442").params == ["alice", "#bobs", "You're not on that channel"]


def test_invite_notify_tells_other_members(server, connect) -> None:
    alice = connect("alice")
    watcher = connect("watcher", caps=("invite-notify",))
    guest = connect("guest")
    guest.send("PART #general")
    guest.expect("PART")
    alice.send("INVITE guest #general")
    seen = watcher.expect("INVITE")
    assert seen.params == ["guest", "#general"] and seen.source.startswith("alice!")


def test_list_with_elist_filters(server, connect) -> None:
    alice = connect("alice")
    alice.send("JOIN #solo,#pair", "TOPIC #pair :two of us")
    alice.expect("TOPIC")
    bob = connect("bob")
    bob.send("JOIN #pair")
    bob.expect("366", "bob", "#pair")

    def listing(*params: str) -> dict[str, list[str]]:
        bob.send(" ".join(["LIST", *params]))
        rows = bob.until("323")
        assert rows[0].command == "321"
        assert rows[0].params == ["bob", "Channel", "Users  Name"]
        assert rows[-1].params == ["bob", "End of /LIST"]
        return {m.params[1]: m.params[2:] for m in rows if m.command == "322"}

    assert listing() == {"#general": ["2", ""], "#solo": ["1", ""], "#pair": ["2", "two of us"]}
    assert set(listing(">1")) == {"#general", "#pair"}
    assert set(listing("<2")) == {"#solo"}
    assert set(listing("#p*")) == {"#pair"}
    assert set(listing("!#p*")) == {"#general", "#solo"}
    assert set(listing("#solo,#pair")) == {"#solo", "#pair"}
    assert set(listing("C<60")) == {"#general", "#solo", "#pair"}
    assert set(listing("T<60")) == {"#pair"}


def test_statusmsg_reaches_only_ops(server, connect) -> None:
    alice = connect("alice", caps=("echo-message",))
    bob = connect("bob")
    carol = connect("carol")
    alice.send("MODE #general +o bob")
    carol.expect("MODE")
    alice.send("PRIVMSG @#general :ops only")
    assert bob.expect("PRIVMSG").params == ["@#general", "ops only"]
    assert alice.expect("PRIVMSG").params == ["@#general", "ops only"]
    assert [m for m in carol.sync() if m.command == "PRIVMSG"] == []


def test_extended_join_and_userhost_in_names(server, connect) -> None:
    alice = connect("alice", caps=("extended-join", "userhost-in-names"))
    bob = connect("bob")
    join = alice.expect("JOIN")
    assert join.params == ["#general", "*", "bob Tester"]
    alice.send("NAMES #general")
    names = set(alice.expect("353").params[-1].split())
    assert names == {"@alice!~alice@127.0.0.1", "bob!~bob@127.0.0.1"}
    bob.send("NAMES #general")
    assert set(bob.expect("353").params[-1].split()) == {"@alice", "bob"}


def test_away_user_joining_is_shown_as_away(server, connect) -> None:
    alice = connect("alice", caps=("away-notify",))
    bob = connect("bob")
    bob.send("AWAY :busy", "JOIN #room")
    bob.expect("366", "bob", "#room")
    alice.send("JOIN #room")
    alice.expect("366", "alice", "#room")
    bob.send("PART #room", "JOIN #room")
    assert alice.expect("JOIN", "#room").source.startswith("bob!")
    assert alice.expect("AWAY").params == ["busy"]


def test_bot_messages_carry_the_bot_tag(server, connect) -> None:
    bot = connect("helperbot")
    bot.send("MODE helperbot +B")
    bot.expect("MODE")
    tagged = connect("alice", caps=("message-tags",))
    plain = connect("bob")
    bot.send("PRIVMSG #general :beep")
    assert "bot" in tagged.expect("PRIVMSG").tags
    assert plain.expect("PRIVMSG").tags == {}


@pytest.fixture
def opered(make_server):
    server = make_server(opers={"root": "hunter2"})
    clients = []

    def client(nick: str) -> IRCClient:
        c = IRCClient(server.port)
        c.register(nick)
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.close()


def test_oper_login(opered) -> None:
    alice = opered("alice")
    alice.send("OPER root wrong")
    assert alice.expect("464").params == ["alice", "Password incorrect"]
    alice.send("OPER nobody hunter2")
    assert alice.expect("491").params == ["alice", "No O-lines for your host"]
    alice.send("OPER root hunter2")
    assert alice.expect("MODE").params == ["alice", "+o"]
    assert alice.expect("381").params == ["alice", "You are now an IRC operator"]
    alice.send("LUSERS")
    assert alice.expect("252").params[1] == "1"


def test_kill_needs_oper_and_disconnects(opered) -> None:
    alice, bob, carol = opered("alice"), opered("bob"), opered("carol")
    bob.send("KILL carol :nope")
    assert bob.expect("481").params == ["bob", "Permission Denied- You're not an IRC operator"]
    alice.send("OPER root hunter2")
    alice.expect("381")
    alice.send("KILL carol :spamming")
    assert carol.expect("KILL").params == ["carol", "spamming"]
    assert carol.wait_closed()[-1].params == [
        "Closing Link: kibitz.test (Killed (alice (spamming)))"
    ]
    assert bob.expect("QUIT").params == ["Killed (alice (spamming))"]
    alice.send("KILL ghost :x")
    assert alice.expect("401").params[1] == "ghost"


def test_wallops_reach_users_with_w(opered) -> None:
    alice, bob, carol = opered("alice"), opered("bob"), opered("carol")
    bob.send("MODE bob +w")
    bob.expect("MODE")
    carol.send("WALLOPS :not allowed")
    assert carol.expect("481")
    alice.send("OPER root hunter2", "WALLOPS :server restart at noon")
    message = bob.expect("WALLOPS")
    assert message.params == ["server restart at noon"] and message.source.startswith("alice!")
    assert [m for m in carol.sync() if m.command == "WALLOPS"] == []


def test_chanlimit_is_enforced(make_server) -> None:
    server = make_server(max_channels=3)
    alice = IRCClient(server.port)
    alice.register("alice")  # already in #general
    alice.send("JOIN #a,#b,#c")
    alice.expect("JOIN", "#b")
    assert alice.expect("405").params == ["alice", "#c", "You have joined too many channels"]
    alice.close()
