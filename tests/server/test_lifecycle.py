"""Framing, timeouts, errors and shutdown, over real sockets and a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from server.commands import COMMANDS, Command
from tests.support.ircclient import IRCClient
from tests.support.processes import run_server, start_server


def test_a_line_sent_byte_by_byte_is_one_line(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    for byte in "PRIVMSG #general :sl\u00f6w \U0001f40c\r\n".encode():
        alice.send_raw(bytes([byte]))
    assert bob.expect("PRIVMSG").params == ["#general", "sl\u00f6w \U0001f40c"]


def test_ten_lines_in_one_packet_are_ten_lines(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send_raw(b"".join(f"PRIVMSG #general :line {i}\n".encode() for i in range(10)))
    assert [bob.expect("PRIVMSG").params[1] for _ in range(10)] == [f"line {i}" for i in range(10)]


def test_empty_lines_are_ignored(server, connect) -> None:
    alice = connect("alice")
    alice.send_raw(b"\r\n\n   \r\n")
    assert [m for m in alice.sync() if m.command.isdigit()] == []


def test_overlong_line_gets_417_and_the_connection_stays(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send("PRIVMSG #general :" + "x" * 600)
    assert alice.expect("417").params == ["alice", "Input line was too long"]
    alice.send("PRIVMSG #general :" + "y" * 20000)  # longer than any buffer the reader keeps
    assert alice.expect("417")
    alice.send("PRIVMSG #general :still here")
    assert bob.expect("PRIVMSG").params[1] == "still here"


def test_the_longest_relayable_line_is_relayed(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    # As relayed, with alice's prefix, the line is exactly 512 bytes.
    relayed = ":alice!~alice@127.0.0.1 PRIVMSG #general :"
    text = "z" * (510 - len(relayed))
    alice.send("PRIVMSG #general :" + text)
    assert bob.expect("PRIVMSG").params[1] == text
    alice.send("PRIVMSG #general :" + text + "z")  # one byte more would not fit: 417
    alice.expect("417")


def test_oversized_client_tags_get_417(server, connect) -> None:
    alice = connect("alice", caps=("message-tags",))
    alice.send("@+big=" + "a" * 4100 + " PRIVMSG #general :hi")
    assert alice.expect("417")


def test_invalid_utf8_is_refused_with_fail(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send_raw(b"PRIVMSG #general :bad \xff\xfe bytes\r\n")
    fail = alice.expect("FAIL")
    assert fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    alice.send("PRIVMSG #general :good")
    assert bob.expect("PRIVMSG").params[1] == "good"  # the bad line never arrived


def test_ping_timeout_drops_a_silent_client(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    bob.sync()
    now = time.monotonic()
    server.check_timeouts(now + server.config.ping_interval + 1)
    assert alice.expect("PING").params == ["kibitz.test"]
    alice.send("PONG :kibitz.test")
    bob.send("PONG :kibitz.test")  # bob answers too; only alice goes quiet below
    alice.sync()
    bob.sync()
    server.check_timeouts(now + 2 * server.config.ping_interval)  # PING to both again
    alice.expect("PING")
    bob.expect("PING")
    bob.send("PONG :kibitz.test")
    bob.sync()
    server.check_timeouts(now + 2 * server.config.ping_interval + server.config.ping_timeout + 1)
    assert alice.wait_closed()[-1].command == "ERROR"
    quit_ = bob.expect("QUIT")
    assert quit_.source.startswith("alice!")
    assert quit_.params[0].startswith("Ping timeout: ")


def test_registration_timeout(server) -> None:
    lurker = IRCClient(server.port)
    lurker.send("NICK lurker")
    lurker.sync()
    server.check_timeouts(time.monotonic() + server.config.registration_timeout + 1)
    error = lurker.wait_closed()[-1]
    assert error.command == "ERROR" and "Registration timed out" in error.params[0]
    lurker.close()


def test_a_crashing_handler_ends_only_that_connection(server, connect, monkeypatch, caplog):
    def explode(server, client, msg, reply):
        raise RuntimeError("boom")

    monkeypatch.setitem(COMMANDS, "EXPLODE", Command(explode))
    alice, bob = connect("alice"), connect("bob")
    alice.send("EXPLODE")
    alice.wait_closed()
    assert bob.expect("QUIT").source.startswith("alice!")
    bob.send("PRIVMSG #general :still fine")
    carol = connect("carol")
    bob.send("PRIVMSG #general :hi carol")
    assert carol.expect("PRIVMSG").params[1] == "hi carol"
    # The handler thread logs after its connection is cleaned up: wait for the record.
    deadline = time.monotonic() + 5
    while not (logged := [r for r in caplog.records if r.name == "server" and r.exc_info]):
        assert time.monotonic() < deadline, "the exception was not logged"
        time.sleep(0.01)
    assert "boom" in str(logged[0].exc_info[1])
    caplog.clear()  # the traceback was expected here


def test_a_stalled_reader_is_dropped_and_others_keep_chatting(make_server) -> None:
    server = make_server(sendq=64 * 1024, flood_rate=0)
    talker, listener = IRCClient(server.port), IRCClient(server.port)
    talker.register("talker")
    listener.register("listener")
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", server.port))
    stalled.sendall(b"NICK stalled\r\nUSER s 0 * :S\r\n")
    listener.expect("JOIN", "#general", where=lambda m: m.source.startswith("stalled!"))
    text = "x" * 400
    # The kernel buffers a few MiB for the stalled socket before the server's own
    # SendQ starts to fill, so send up to 12 MiB in batches until the drop.
    quits = []
    for batch in range(300):
        numbers = range(batch * 100, batch * 100 + 100)
        talker.send(*(f"PRIVMSG #general :{i} {text}" for i in numbers))
        for i in numbers:
            message = listener.next()
            while message is not None and message.command in ("QUIT", "PING"):
                if message.command == "PING":  # a long run on a busy machine: keepalive
                    listener.send(f"PONG :{message.params[-1]}")
                else:
                    quits.append(message)
                message = listener.next()
            assert message is not None and message.command == "PRIVMSG", message
            assert message.params[1] == f"{i} {text}"
        if quits:
            break
    assert len(quits) == 1
    assert quits[0].source.startswith("stalled!") and quits[0].params == ["SendQ exceeded"]
    talker.send("PRIVMSG #general :after the drop")
    assert listener.expect("PRIVMSG").params[1] == "after the drop"
    for sock in (stalled, talker, listener):
        sock.close()


def _start_process(*args: str) -> tuple[subprocess.Popen, int]:
    return start_server("--name", "proc.test", *args)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_tells_every_client_and_exits_cleanly(sig: signal.Signals) -> None:
    proc, port = _start_process()
    try:
        clients = [IRCClient(port) for _ in range(3)]
        for i, client in enumerate(clients):
            client.register(f"user{i}")
        os.kill(proc.pid, sig)
        for client in clients:
            assert client.wait_closed()[-1].params == ["Server shutting down"]
            client.close()
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


def test_command_line_options_reach_the_server(tmp_path: Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("Hello from the file\n", encoding="utf-8")
    proc, port = _start_process(
        "--motd",
        str(motd),
        "--autojoin",
        "#lobby,#help",
        "--oper",
        "root:pa:ss",
        "--log-level",
        "debug",  # any case, as users type it
        "--description",
        "Team chat, 3rd floor",
    )
    try:
        client = IRCClient(port)
        client.send("NICK alice", "USER a 0 * :A")
        assert client.expect("372").params[1] == "- Hello from the file"
        assert client.expect("JOIN").params == ["#lobby"]
        assert client.expect("JOIN").params == ["#help"]
        client.send("OPER root pa:ss")
        client.expect("381")
        client.send("WHOIS alice", "LINKS")
        assert client.expect("312").params[-1] == "Team chat, 3rd floor"
        assert client.expect("364").params[-1] == "0 Team chat, 3rd floor"
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_port_in_use_is_a_clear_error(server) -> None:
    result = run_server("-H", "127.0.0.1", "-p", str(server.port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{server.port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_shutdown_with_a_full_room_tells_everyone() -> None:
    proc, port = _start_process()
    clients = [IRCClient(port) for _ in range(300)]
    try:
        for i, client in enumerate(clients):
            client.send(f"NICK crowd{i}", f"USER c 0 * :Crowd {i}")
        for client in clients:
            client.expect("366")
        proc.terminate()
        for client in clients:
            assert client.wait_closed()[-1].params == ["Server shutting down"]
        assert proc.wait(timeout=10) == 0
    finally:
        for client in clients:
            client.close()
        proc.kill()
        proc.wait()


def test_a_description_must_be_one_line() -> None:
    result = run_server("--description", "two\nlines")
    assert result.returncode == 2
    assert "--description must be one line" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_oper_option_is_a_clear_error() -> None:
    result = run_server("-p", "0", "--oper", "nopassword")
    assert result.returncode == 2
    assert "--oper takes NAME:PASSWORD" in result.stderr


def test_nul_in_a_line_is_refused_with_fail(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send_raw(b"PRIVMSG #general :nul\x00byte\r\n")
    assert alice.expect("FAIL").params[:2] == ["PRIVMSG", "INVALID_CHARACTERS"]
    alice.send("PRIVMSG #general :clean")
    assert bob.expect("PRIVMSG").params[1] == "clean"


def test_unknown_commands_are_named_back_without_control_characters(server, connect) -> None:
    alice = connect("alice")
    alice.send_raw(b"\x0b\x0cBEEP\r\nFROB-NICATE now\r\n")
    assert alice.expect("421").params == ["alice", "*", "Unknown command"]
    assert alice.expect("421").params == ["alice", "FROB-NICATE", "Unknown command"]


def test_a_lone_cr_cannot_smuggle_a_second_line(server, connect) -> None:
    alice, bob = connect("alice"), connect("bob")
    alice.send_raw(b"PRIVMSG #general :hello\rPRIVMSG #general :second\r\n")
    assert bob.expect("PRIVMSG").params[1] == "hello"
    assert bob.expect("PRIVMSG").params[1] == "second"


def test_an_http_request_is_turned_away(server) -> None:
    browser = IRCClient(server.port)
    browser.send_raw(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    closing = browser.wait_closed()
    assert [m.command for m in closing] == ["ERROR"]
    assert closing[0].params == ["This is an IRC server, not a web server"]
    browser.close()


def test_too_many_lines_before_registration(make_server) -> None:
    server = make_server(max_unregistered_lines=10)
    chatty = IRCClient(server.port)
    chatty.send(*(f"NICK try{i}" for i in range(11)))
    assert "Too many lines before registration" in chatty.wait_closed()[-1].params[0]
    chatty.close()


def test_connection_limits(make_server) -> None:
    server = make_server(max_per_ip=2, exempt=[])
    first, second = IRCClient(server.port), IRCClient(server.port)
    first.register("first")
    second.register("second")
    third = IRCClient(server.port)
    refused = third.wait_closed()
    assert refused[-1].params[0].endswith("(Too many connections from your address)")
    second.send("QUIT")
    second.wait_closed()
    fourth = IRCClient(server.port)
    fourth.register("fourth")  # a freed slot can be used again
    for client in (first, second, third, fourth):
        client.close()


def test_a_full_server_says_so(make_server) -> None:
    server = make_server(max_clients=1)
    first = IRCClient(server.port)
    first.register("first")
    second = IRCClient(server.port)
    assert second.wait_closed()[-1].params[0].endswith("(Server is full)")
    first.close()
    second.close()
