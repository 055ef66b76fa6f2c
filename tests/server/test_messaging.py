"""PRIVMSG, NOTICE and TAGMSG fan-out over real sockets."""

from __future__ import annotations

import re
import socket
import struct
import threading

from tests.support.ircclient import IRCClient

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_channel_message_reaches_everyone_and_echoes_to_sender(server, connect) -> None:
    sender = connect("alice", caps=("echo-message",))
    others = [connect(f"peer{i}") for i in range(5)]
    sender.send("PRIVMSG #general :hello, room")
    for peer in others:
        message = peer.expect("PRIVMSG")
        assert message.params == ["#general", "hello, room"]
        assert message.source == "alice!~alice@127.0.0.1"
    echo = sender.expect("PRIVMSG")
    assert echo.params == ["#general", "hello, room"]


def test_without_echo_message_the_sender_gets_no_copy(server, connect) -> None:
    sender, peer = connect("alice"), connect("bob")
    sender.send("PRIVMSG #general :quiet")
    peer.expect("PRIVMSG", "#general", "quiet")
    assert not [m for m in sender.sync() if m.command == "PRIVMSG"]


def test_server_time_and_client_tags_follow_caps(server, connect) -> None:
    sender = connect("alice", caps=("message-tags",))
    timed = connect("bob", caps=("server-time",))
    tagged = connect("carol", caps=("message-tags", "server-time"))
    plain = connect("dave")
    sender.send("@+draft/react=x;secret=1 PRIVMSG #general :tagged")
    assert TIME.match(timed.expect("PRIVMSG").tags["time"])
    got = tagged.expect("PRIVMSG").tags
    assert got["+draft/react"] == "x" and "secret" not in got and TIME.match(got["time"])
    assert list(got) == ["time", "msgid", "+draft/react"]  # server tags come first
    assert plain.expect("PRIVMSG").tags == {}


def test_msgid_is_shared_by_echo_and_relay_and_unique(server, connect) -> None:
    sender = connect("alice", caps=("message-tags", "echo-message"))
    receiver = connect("bob", caps=("message-tags",))
    sender.send("PRIVMSG #general :one", "PRIVMSG #general :two", "PRIVMSG bob :three")
    relayed = [receiver.expect("PRIVMSG").tags["msgid"] for _ in range(3)]
    echoed = [sender.expect("PRIVMSG").tags["msgid"] for _ in range(3)]
    assert relayed == echoed
    assert len(set(relayed)) == 3


def test_tagmsg_goes_only_to_message_tags_clients(server, connect) -> None:
    sender = connect("alice", caps=("message-tags", "echo-message"))
    tagged = connect("bob", caps=("message-tags",))
    plain = connect("carol")
    sender.send("@+typing=active TAGMSG #general")
    relayed = tagged.expect("TAGMSG")
    assert relayed.tags["+typing"] == "active" and set(relayed.tags) == {"msgid", "+typing"}
    echoed = sender.expect("TAGMSG")
    assert echoed.params == ["#general"] and echoed.tags["msgid"] == relayed.tags["msgid"]
    assert not [m for m in plain.sync() if m.command == "TAGMSG"]
    # A client without message-tags never gets a TAGMSG, not even the echo of its own.
    echo_only = connect("dave", caps=("echo-message",))
    for target in ("#general", "bob", "dave"):
        echo_only.send(f"TAGMSG {target}")
    assert not [m for m in echo_only.sync() if m.command == "TAGMSG"]
    assert [m.params for m in tagged.sync() if m.command == "TAGMSG"] == [["#general"], ["bob"]]


def test_private_message_and_errors(server, connect) -> None:
    alice = connect("alice", caps=("echo-message",))
    bob = connect("bob")
    alice.send("PRIVMSG Bob :psst")
    assert bob.expect("PRIVMSG").params == ["bob", "psst"]
    assert alice.expect("PRIVMSG").params == ["bob", "psst"]
    alice.send("PRIVMSG nobody :hello?")
    assert alice.expect("401").params == ["alice", "nobody", "No such nick/channel"]
    alice.send("PRIVMSG #nowhere :hello?")
    assert alice.expect("403").params == ["alice", "#nowhere", "No such channel"]
    alice.send("PRIVMSG")
    assert alice.expect("411").params == ["alice", "No recipient given (PRIVMSG)"]
    alice.send("PRIVMSG bob")
    assert alice.expect("412").params == ["alice", "No text to send"]
    alice.send("PRIVMSG bob :")
    assert alice.expect("412")


def test_no_external_messages_to_a_channel(server, connect) -> None:
    alice = connect("alice")
    alice.send("JOIN #private")
    alice.expect("366", "alice", "#private")
    bob = connect("bob")
    bob.send("PRIVMSG #private :let me in")
    assert bob.expect("404").params == ["bob", "#private", "Cannot send to channel"]
    assert not [m for m in alice.sync() if m.command == "PRIVMSG"]


def test_notice_never_gets_an_error_reply(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send("NOTICE nobody :x", "NOTICE #nowhere :x", "NOTICE bob :", "NOTICE")
    assert [m.command for m in alice.sync() if m.command.isdigit()] == []
    alice.send("NOTICE bob :heads up")
    assert bob.expect("NOTICE").params == ["bob", "heads up"]


def test_several_targets_and_the_limit(server, connect) -> None:
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    alice.send("PRIVMSG bob,carol :both of you")
    assert bob.expect("PRIVMSG").params == ["bob", "both of you"]
    assert carol.expect("PRIVMSG").params == ["carol", "both of you"]
    alice.send("PRIVMSG bob,carol,x1,x2,x3 :too many")
    assert alice.expect("407").params[1] == "x3"


def test_nick_change_reaches_each_peer_once(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    for client in (alice, bob):
        client.send("JOIN #two")
        client.expect("366", client.nick, "#two")
    alice.sync()
    bob.sync()
    alice.send("NICK alicia")
    assert alice.expect("NICK").params == ["alicia"]
    change = bob.expect("NICK")
    assert change.source == "alice!~alice@127.0.0.1" and change.params == ["alicia"]
    assert not [m for m in bob.sync() if m.command == "NICK"]
    bob.send("PRIVMSG alicia :found you")
    assert alice.expect("PRIVMSG").params == ["alicia", "found you"]


def test_nick_case_change_is_allowed(server, connect) -> None:
    alice = connect("alice")
    alice.send("NICK Alice")
    assert alice.expect("NICK").params == ["Alice"]


def test_quit_reaches_each_peer_once_with_reason(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    for client in (alice, bob):
        client.send("JOIN #a,#b")
        client.expect("366", client.nick, "#b")
    bob.sync()
    alice.send("QUIT :gotta go")
    quit_ = bob.expect("QUIT")
    assert quit_.source.startswith("alice!") and quit_.params == ["Quit: gotta go"]
    assert not [m for m in bob.sync() if m.command == "QUIT"]
    bob.send("NAMES #a")
    assert [m.params[-1] for m in bob.until("366") if m.command == "353"] == ["bob"]


def test_dropped_connection_is_shown_as_quit(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.sync()  # read everything, so closing sends FIN rather than RST
    alice.close()
    assert bob.expect("QUIT").params == ["Connection closed"]


def test_reset_connection_is_shown_as_quit(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.sync()  # nothing more is on its way to alice, so no send can meet the reset first
    bob.sync()
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    alice.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    alice.close()
    assert bob.expect("QUIT").params == ["Read error: Connection reset by peer"]


def test_unicode_survives_the_relay(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    text = "h\u00e9llo \U0001f600 \u05e9\u05dc\u05d5\u05dd \u4f60\u597d"
    alice.send(f"PRIVMSG #general :{text}")
    assert bob.expect("PRIVMSG").params[1] == text


def test_concurrent_senders_every_member_sees_one_order(make_server) -> None:
    server = make_server(flood_rate=0)  # a burst of 200 lines each, as a benchmark would

    def connect(nick: str, caps: tuple[str, ...] = ()) -> IRCClient:
        client = IRCClient(server.port)
        client.register(nick, caps)
        return client

    senders = [connect(f"sender{i}", caps=("echo-message",)) for i in range(4)]
    receivers = [connect(f"receiver{i}") for i in range(3)]
    for client in senders + receivers:
        client.sync()
    count = 200

    def blast(client) -> None:
        client.send(*(f"PRIVMSG #general :{client.nick} {n}" for n in range(count)))

    threads = [threading.Thread(target=blast, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = count * len(senders)
    orders = []
    for client in receivers + senders:
        texts = [client.expect("PRIVMSG").params[1] for _ in range(total)]
        orders.append(texts)
        for sender in senders:  # each sender's own messages arrive in the order sent
            mine = [t for t in texts if t.startswith(sender.nick + " ")]
            assert mine == [f"{sender.nick} {n}" for n in range(count)]
    assert all(order == orders[0] for order in orders)
    for client in senders + receivers:
        client.close()
