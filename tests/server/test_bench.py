"""The load generator: against a real Kibitz server on port 0, and against scripted fakes."""

from __future__ import annotations

import json
import os
import socketserver
import threading
from collections.abc import Iterator

import pytest

from server import bench
from server.bench import Options, main, percentile, proc_stats, run


def _quick(port: int, **changes: object) -> Options:
    """Small, short runs: the figures are not checked, only that they are complete."""
    options = Options(port=port, receivers=5, senders=2, duration=1.0, settle=0.1, drain=5.0)
    for name, value in changes.items():
        setattr(options, name, value)
    return options


def _check_latencies(report: dict) -> None:
    lat = report["latency_ms"]
    assert lat["samples"] > 0
    assert 0 <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]


def test_max_rate_against_kibitz_loses_nothing(make_server) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    report = run(_quick(server.port, server_pid=os.getpid()))
    assert report["mode"] == "messages"
    assert report["clients"] == {
        "requested": 7,
        "registered": 7,
        "ready": 7,
        "failed": 0,
        "dropped": 0,
        "errors": {},
    }
    assert report["messages_sent"] > 0
    assert report["deliveries_expected"] == report["messages_sent"] * 5
    assert report["deliveries_received"] == report["deliveries_expected"]
    assert report["deliveries_lost"] == 0
    assert report["messages_per_second"] > 0
    assert report["deliveries_per_second"] > 0
    assert report["register_seconds"] >= 0
    assert report["join_seconds"] >= report["register_seconds"]
    _check_latencies(report)
    assert report["bench_cpu_seconds"] >= report["bench_cpu_seconds_messages"] >= 0
    assert report["server"]["pid"] == os.getpid()
    assert report["server"]["cpu_seconds"] >= report["server_cpu_seconds_messages"] >= 0
    assert report["server"]["peak_rss_kib"] >= report["server"]["rss_kib"] > 0


def test_fixed_rate_times_every_message(make_server) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    report = run(_quick(server.port, receivers=3, rate=20.0))
    # 20 a second for one second, per sender: give or take the last one.
    assert 2 * 19 <= report["messages_sent"] <= 2 * 22
    assert report["deliveries_received"] == report["deliveries_expected"]
    assert report["deliveries_expected"] == report["messages_sent"] * 3
    assert report["latency_ms"]["samples"] == report["deliveries_received"]
    _check_latencies(report)


def test_message_size_is_the_text_size(make_server) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    report = run(_quick(server.port, receivers=2, senders=1, size=400, window=5))
    assert report["deliveries_lost"] == 0
    b = bench.Bench(_quick(server.port, size=400))
    conn = bench.Conn(None, 0, 0, "x")  # type: ignore[arg-type]
    line = b._message(conn, 7, 123)
    text = line.split(b" :", 1)[1]
    assert len(text) == 400 + 2  # and CRLF
    assert text.startswith(b"0|u 7 ")
    assert b._message(conn, 10, 123).split(b" :", 1)[1].startswith(b"0|T 10 123 ")


def test_connect_only_holds_the_clients(make_server) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    options = _quick(
        server.port, connect_only=True, receivers=30, senders=0, duration=0.5, connect_batch=8
    )
    options.server_pid = os.getpid()
    report = run(options)
    assert report["mode"] == "connect-only"
    assert report["clients"]["registered"] == 30
    assert report["clients"]["held"] == 30
    assert report["clients"]["failed"] == 0
    assert report["register_seconds"] >= 0
    assert "server_rss_per_client_kib" in report
    assert "messages_sent" not in report


def test_a_bystander_pings_while_the_held_clients_idle(make_server) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    options = _quick(server.port, connect_only=True, receivers=10, senders=0, duration=0.2)
    options.bystander_pings = 5
    options.bystander_interval = 0.0
    report = run(options)
    assert report["clients"]["held"] == 10
    ping = report["bystander"]
    assert ping["pings"] == 5 and ping["answered"] == 5 and "error" not in ping
    assert 0 < ping["p50"] <= ping["p90"] <= ping["p99"] <= ping["max"]
    assert "bystander PING round trip ms (5 of 5 answered)" in bench.format_report(report)


def test_json_output_parses(make_server, capsys) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    args = ["--port", str(server.port), "--receivers", "3", "--senders", "1"]
    code = main([*args, "--duration", "0.5", "--settle", "0.1", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["deliveries_lost"] == 0
    assert report["options"]["receivers"] == 3


def test_text_output_names_every_figure(make_server, capsys) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    args = ["--port", str(server.port), "--receivers", "2", "--senders", "1"]
    assert main([*args, "--duration", "0.5", "--settle", "0.1", "--server-pid", "1"]) == 0
    out = capsys.readouterr().out
    for words in ("connect+register all", "messages sent", "deliveries", "0 lost", "p99"):
        assert words in out
    assert "bench CPU" in out and "server pid 1" in out


def test_bad_arguments_are_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--senders", "0"])
    with pytest.raises(SystemExit):
        main(["--bystander-pings", "3"])  # only while clients are held
    with pytest.raises(SystemExit):
        main(["--window", "0"])
    assert "error" in capsys.readouterr().err


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7], 0.9) == 7
    assert percentile([], 0.5) == 0


def test_proc_stats_reads_this_process() -> None:
    stats = proc_stats(os.getpid())
    assert stats is not None
    assert stats.cpu_seconds > 0
    assert stats.hwm_kib >= stats.rss_kib > 0
    assert proc_stats(2**22 + 12345) is None


# --- a scripted server: refuses the first nick, PINGs before the welcome, may drop lines ---
class FakeIRC(socketserver.ThreadingTCPServer):
    """A tiny relay with scripted misbehaviour, just enough IRC for the bench."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, drop_every: int = 0, hub: FakeIRC | None = None) -> None:
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.drop_every = drop_every
        # A hub's servers relay to each other's members: one network of several nodes.
        self.lock = hub.lock if hub is not None else threading.Lock()
        self.members: list[FakeHandler] = hub.members if hub is not None else []
        #: Drop every message that would cross to another server of the hub.
        self.drop_crossing = False
        self.nicks_refused: list[str] = []
        self.pongs: list[str] = []
        self.relayed = 0

    @property
    def port(self) -> int:
        """The bound port."""
        return self.server_address[1]


class FakeHandler(socketserver.StreamRequestHandler):
    """One fake connection."""

    server: FakeIRC

    def setup(self) -> None:
        """Streams, and a lock so lines from several threads never interleave."""
        super().setup()
        self.write_lock = threading.Lock()

    def send(self, line: str) -> None:
        """Write one line; a closed peer is ignored."""
        try:
            with self.write_lock:
                self.wfile.write(line.encode() + b"\r\n")
        except OSError:
            pass

    def handle(self) -> None:
        """Read lines and answer them."""
        fake = self.server
        nick = None
        for raw in self.rfile:
            parts = raw.decode().rstrip("\r\n").split(" ")
            command = parts[0]
            if command == "NICK":
                first = nick is None
                if first:  # each connection's first choice is "in use"
                    fake.nicks_refused.append(parts[1])
                    nick = ""
                    self.send(f":fake 433 * {parts[1]} :Nickname is already in use")
                elif nick == "":
                    nick = parts[1]
                    self.send("PING :check-" + nick)
            elif command == "PONG":
                fake.pongs.append(parts[-1].lstrip(":"))
                self.send(f":fake 001 {nick} :Welcome")
            elif command == "PING":
                self.send(f":fake PONG fake :{parts[-1].lstrip(':')}")
            elif command == "JOIN":
                with fake.lock:
                    fake.members.append(self)
                self.send(f":{nick}!u@h JOIN {parts[1]}")
                self.send(f":fake 353 {nick} = {parts[1]} :{nick}")
                self.send(f":fake 366 {nick} {parts[1]} :End of /NAMES list.")
            elif command == "PRIVMSG":
                with fake.lock:
                    fake.relayed += 1
                    drop = fake.drop_every and fake.relayed % fake.drop_every == 0
                    members = [
                        m
                        for m in fake.members
                        if m is not self and not (fake.drop_crossing and m.server is not fake)
                    ]
                if not drop:
                    line = f":{nick}!u@h " + raw.decode().rstrip("\r\n")
                    for member in members:
                        member.send(line)


@pytest.fixture
def fake() -> Iterator[FakeIRC]:
    """A scripted server that drops no line."""
    server = FakeIRC()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_nick_in_use_and_a_ping_before_welcome_are_handled(fake) -> None:
    report = run(_quick(fake.port, receivers=3, senders=1, rate=10.0, duration=0.5))
    assert report["clients"]["ready"] == 4
    assert len(fake.nicks_refused) == 4  # every first choice was refused ...
    assert len(fake.pongs) == 4  # ... and every PING answered
    assert all(p.startswith("check-") and p not in fake.nicks_refused for p in fake.pongs)
    assert report["deliveries_lost"] == 0
    assert report["deliveries_received"] == report["messages_sent"] * 3 > 0


def test_the_bystander_takes_another_nick_and_answers_pings_before_its_welcome(fake) -> None:
    options = _quick(fake.port, connect_only=True, receivers=2, senders=0, duration=0.1)
    options.bystander_pings = 3
    options.bystander_interval = 0.0
    report = run(options)
    assert report["bystander"]["answered"] == 3
    assert "bnbystander" in fake.nicks_refused  # refused first, then another one ...
    assert len(fake.pongs) == 3  # ... and every PING before the welcome answered


def test_loss_is_reported_and_fails_the_command() -> None:
    lossy = FakeIRC(drop_every=3)
    threading.Thread(target=lossy.serve_forever, args=(0.05,), daemon=True).start()
    try:
        args = ["--port", str(lossy.port), "--receivers", "2", "--senders", "1", "--rate", "30"]
        args += ["--setup-timeout", "10"]
        options, _ = bench.parse_args([*args, "--duration", "0.5", "--settle", "0.1"])
        options.drain = 0.5
        report = run(options)
        assert report["deliveries_lost"] > 0
        assert (
            report["deliveries_received"] + report["deliveries_lost"]
            == (report["deliveries_expected"])
        )
        assert main([*args, "--duration", "0.3", "--settle", "0.1", "--drain", "0.3"]) == 1
    finally:
        lossy.shutdown()
        lossy.server_close()


def test_a_server_that_is_not_there_counts_as_failed() -> None:
    fake = FakeIRC()
    port = fake.port
    fake.server_close()  # nothing listens on this port any more
    report = run(Options(port=port, receivers=2, senders=1, duration=0.1, setup_timeout=5))
    assert report["clients"]["failed"] == 3
    assert report["clients"]["ready"] == 0
    assert any(key.startswith("connect") for key in report["clients"]["errors"])


def test_caps_are_negotiated_and_echoes_are_not_counted_as_deliveries(make_server) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    report = run(_quick(server.port, receivers=3, caps=True))
    assert set(report["caps_acked"]) == set(bench.CAPS)
    assert report["deliveries_lost"] == 0
    assert report["deliveries_received"] == report["deliveries_expected"] > 0
    _check_latencies(report)


# --- several nodes of one network: --ports --------------------------------------------------
@pytest.fixture
def network() -> Iterator[tuple[FakeIRC, FakeIRC]]:
    """Two scripted servers relaying to each other's members."""
    first = FakeIRC()
    second = FakeIRC(hub=first)
    for server in (first, second):
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield first, second
    for server in (first, second):
        server.shutdown()
        server.server_close()


def test_clients_are_spread_over_the_ports_and_cross_node_deliveries_counted(network) -> None:
    first, second = network
    options = _quick(first.port, ports=[first.port, second.port], receivers=5, senders=2)
    options.rate = 20.0
    report = run(options)
    assert report["deliveries_lost"] == 0
    by_port = {n["port"]: n for n in report["nodes"]}
    assert (by_port[first.port]["senders"], by_port[first.port]["receivers"]) == (1, 3)
    assert (by_port[second.port]["senders"], by_port[second.port]["receivers"]) == (1, 2)
    assert len(first.members) == 7  # every client joined, on one server or the other
    sent = {port: n["messages_sent"] for port, n in by_port.items()}
    assert sent[first.port] > 0 and sent[second.port] > 0
    # A receiver gets the other node's sender's messages from across.
    assert by_port[first.port]["cross_node_expected"] == sent[second.port] * 3
    assert by_port[second.port]["cross_node_expected"] == sent[first.port] * 2
    for n in by_port.values():
        assert n["cross_node_received"] == n["cross_node_expected"]
        assert n["deliveries_received"] == report["messages_sent"] * n["receivers"]
    cross = report["cross_node"]
    assert cross["deliveries_expected"] == sent[second.port] * 3 + sent[first.port] * 2
    assert cross["deliveries_received"] == cross["deliveries_expected"]
    assert cross["deliveries_lost"] == 0 and cross["deliveries_per_second"] > 0
    # At a fixed rate every message is timed: the crossing ones are timed apart.
    assert cross["latency_ms"]["samples"] == cross["deliveries_received"]
    assert "cross-node deliveries: " in bench.format_report(report)


def test_what_is_lost_between_nodes_is_reported_as_cross_node_loss(network) -> None:
    first, second = network
    first.drop_crossing = second.drop_crossing = True
    options = _quick(first.port, ports=[first.port, second.port], receivers=4, senders=2)
    options.rate, options.drain = 20.0, 0.3
    report = run(options)
    cross = report["cross_node"]
    assert cross["deliveries_received"] == 0 and cross["deliveries_expected"] > 0
    assert report["deliveries_lost"] == cross["deliveries_lost"] == cross["deliveries_expected"]
    assert all(n["deliveries_received"] == n["messages_sent"] * 2 for n in report["nodes"])


def test_a_single_server_report_has_no_node_figures(fake) -> None:
    report = run(_quick(fake.port, receivers=2, senders=1, rate=10.0, duration=0.3))
    assert "nodes" not in report and "cross_node" not in report
    assert (
        bench.Bench(_quick(fake.port))
        ._message(bench.Conn(None, 0, 0, "x"), 1, 0)
        .endswith(  # type: ignore[arg-type]
            b"x\r\n"
        )
    )


def test_watched_processes_have_their_cpu_while_sending(make_server, capsys) -> None:
    server = make_server(flood_rate=0, autojoin=[])
    args = ["--port", str(server.port), "--receivers", "2", "--senders", "1", "--rate", "20"]
    args += ["--duration", "0.3", "--settle", "0.1", "--watch-pid", str(os.getpid())]
    assert main([*args, "--watch-pid", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    watched = report["watched_cpu_seconds_messages"]
    assert set(watched) == {str(os.getpid()), "1"} and watched[str(os.getpid())] >= 0


def test_ports_must_be_numbers(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--ports", "6667,x"])
    assert "--ports takes comma-separated port numbers" in capsys.readouterr().err
