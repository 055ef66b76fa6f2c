"""``make bench``'s orchestration: real Kibitz and ngIRCd processes in tiny runs, and the
table built from reports (no figure is checked, only that each is there and read right)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from server import bench, bench_compare
from server.bench_compare import Result, Scenario, median_report, run_scenario, table


def _messages(per_second: float, p99: float = 10.0, caps: list[str] | None = None) -> dict:
    report = {
        "mode": "messages",
        "deliveries_per_second": per_second,
        "deliveries_received": 1000,
        "deliveries_lost": 0,
        "latency_ms": {"p50": 1.0, "p99": p99},
        "server_cpu_seconds_messages": per_second / 1000,
        "bench_cpu_seconds_messages": 1.0,
        "send_seconds": 4.0,
    }
    if caps is not None:
        report["caps_acked"] = caps
    return report


def _held(held: int, peak_kib: int, register: float = 1.5) -> dict:
    return {
        "mode": "connect-only",
        "clients": {"held": held},
        "register_seconds": register,
        "server": {"peak_rss_kib": peak_kib},
    }


def _scenario(key: str, runs: int = 3) -> Scenario:
    return Scenario(key, f"scenario {key}", bench.Options(), runs)


def test_the_median_run_is_chosen_by_its_main_figure() -> None:
    runs = [_messages(300.0), _messages(100.0), _messages(200.0)]
    assert median_report(runs)["deliveries_per_second"] == 200.0
    # Held clients: the time to register them all decides (their memory hardly moves).
    held = [_held(10, 300, 2.9), _held(10, 301, 2.1), _held(10, 299, 2.4)]
    assert median_report(held)["register_seconds"] == 2.4
    assert median_report(held)["server"]["peak_rss_kib"] == 299  # that run's memory
    assert median_report(runs[:2])["deliveries_per_second"] == 100.0  # the lower of two
    # At a fixed rate every run delivers alike: the latency decides.
    paced = [_messages(40.0, p99) | {"options": {"rate": 20.0}} for p99 in (30.0, 10.0, 20.0)]
    assert median_report(paced)["latency_ms"]["p99"] == 20.0


def test_the_table_has_each_server_the_ratio_and_the_generator_cpu() -> None:
    fanout = Result(_scenario("fanout"))
    fanout.reports["Kibitz"] = [_messages(v, caps=["echo-message"]) for v in (90.0, 110.0, 100.0)]
    fanout.reports["ngIRCd"] = [_messages(v, caps=[]) for v in (400.0, 200.0, 300.0)]
    quiet = Result(_scenario("fanout-nohistory"))
    quiet.reports["Kibitz"] = [_messages(100.0)]
    quiet.reports["Kibitz"][0]["server_cpu_seconds_messages"] = 0.072  # history: 20 %
    idle = Result(_scenario("idle", runs=1))
    idle.reports["Kibitz"] = [_held(1000, 24_000)]
    idle.reports["ngIRCd"] = [_held(1000, 3_000)]
    text = table([fanout, quiet, idle])
    lines = text.splitlines()
    assert lines[0] == "| scenario | figure | Kibitz | ngIRCd | Kibitz / ngIRCd |"
    assert "| scenario fanout (median of 3) | deliveries/s | 100 | 300 | 0.33 |" in lines
    assert "|  | generator CPU | 25% | 25% | 1.00 |" in lines
    assert "|  | latency p99 / ms | 10.0 | 10.0 | 1.00 |" in lines
    assert "| | capabilities acknowledged | Kibitz: echo-message; ngIRCd: none | | |" in lines
    assert "| scenario idle | held | 1,000 | 1,000 | 1.00 |" in lines
    assert "|  | peak RSS / clients, KiB | 24.0 | 3.0 | 8.00 |" in lines
    assert "| scenario fanout-nohistory (median of 3) | deliveries/s | 100 | — | — |" in lines
    assert lines[-1].startswith("| History's share") and "| 20% |" in lines[-1]


def test_the_scenarios_are_the_issues() -> None:
    keys = {s.key: s for s in bench_compare.scenarios()}
    assert keys["fanout"].options.receivers == 100 and keys["fanout"].options.senders == 4
    assert keys["fanout"].runs == 5 and not keys["fanout"].options.caps
    assert keys["fanout-caps"].runs == keys["fanout-nohistory"].runs == 5
    assert keys["many"].runs == 3
    assert keys["fanout-caps"].options.caps
    assert "--no-history" in keys["fanout-nohistory"].kibitz_args
    assert keys["many"].options.receivers == 1000 and keys["many"].options.rate == 20.0
    assert keys["idle"].options.connect_only and keys["idle"].options.receivers == 5000
    assert keys["idle"].kibitz_args == ("--autojoin", "") and keys["idle"].runs == 3
    assert keys["default"].options.receivers == 2000 and keys["default"].kibitz_args == ()
    held = keys["held"].options
    assert held.connect_only and held.bystander_pings > 0
    assert held.receivers == bench_compare.held_clients()
    assert keys["held"].kibitz_args == ("--autojoin", "") and keys["held"].with_ngircd


def test_the_held_scenario_holds_20000_where_the_open_file_limit_allows(monkeypatch) -> None:
    import resource

    for hard, held in ((resource.RLIM_INFINITY, 20000), (65536, 20000), (20000, 19900)):
        monkeypatch.setattr(resource, "getrlimit", lambda _which, h=hard: (1024, h))
        assert bench_compare.held_clients() == held


def test_the_held_rows_give_the_bystanders_round_trips() -> None:
    held = Result(_scenario("held", runs=1))
    mine, theirs = _held(19900, 600_000), _held(19900, 90_000)
    mine["bystander"] = {"pings": 500, "answered": 500, "p50": 0.4, "p99": 12.5}
    theirs["bystander"] = {"pings": 500, "answered": 500, "p50": 0.2, "p99": 2.5}
    held.reports = {"Kibitz": [mine], "ngIRCd": [theirs]}
    lines = table([held]).splitlines()
    assert "|  | bystander PING p50 / ms | 0.4 | 0.2 | 2.00 |" in lines
    assert "|  | bystander PING p99 / ms | 12.5 | 2.5 | 5.00 |" in lines
    assert "bystander PING p50 0.4 ms, p99 12.5 ms" in bench_compare.summary(mine)


@pytest.mark.skipif(not Path(bench_compare.NGIRCD).exists(), reason="needs ngircd")
def test_both_servers_run_in_turn_and_lose_nothing() -> None:
    options = bench.Options(receivers=3, senders=1, duration=0.5, settle=0.1, caps=True)
    result = run_scenario(Scenario("tiny", "tiny", options, runs=2))
    assert list(result.reports) == ["Kibitz", "ngIRCd"]
    for name, reports in result.reports.items():
        assert len(reports) == 2, name
        for report in reports:
            assert report["clients"]["failed"] == 0
            assert report["deliveries_lost"] == 0 and report["deliveries_received"] > 0
            assert report["server"]["peak_rss_kib"] > 0
    assert set(result.reports["Kibitz"][0]["caps_acked"]) == set(bench.CAPS)
    assert result.reports["ngIRCd"][0]["caps_acked"] == []  # ngIRCd refuses them
    assert "| tiny (median of 2) | deliveries/s |" in table([result])


def test_idle_clients_are_held_on_a_fresh_kibitz_with_its_own_data_dir() -> None:
    options = bench.Options(receivers=20, senders=0, duration=0.2, connect_only=True)
    scenario = Scenario("idle", "idle", options, kibitz_args=(), with_ngircd=False)
    report = run_scenario(scenario).reports["Kibitz"][0]
    assert report["clients"]["held"] == 20
    assert bench_compare.per_client_kib(report) > 0


def test_a_paired_scenario_takes_its_turns_within_its_partners_runs() -> None:
    options = bench.Options(receivers=2, senders=1, duration=0.3, settle=0.1)
    fanout = Scenario("fanout", "with history", options, 2, with_ngircd=False)
    quiet = Scenario(
        "fanout-nohistory",
        "without",
        options,
        2,
        ("--autojoin", "", "--no-history"),
        with_ngircd=False,
        paired_with="fanout",
    )
    other = Scenario("idle", "idle", replace(options, connect_only=True), with_ngircd=False)
    order: list[str] = []
    results = bench_compare.run_all([other, quiet, fanout], lambda line: order.append(line))
    assert [r.scenario.key for r in results] == ["idle", "fanout-nohistory", "fanout"]
    runs = [line.split(":")[0] for line in order]
    assert runs == [
        "idle run 1 Kibitz",
        "fanout run 1 Kibitz",
        "fanout-nohistory run 1 Kibitz",
        "fanout-nohistory run 2 Kibitz",
        "fanout run 2 Kibitz",
    ]
    for result in results[1:]:
        for report in result.reports["Kibitz"]:
            assert report["deliveries_lost"] == 0 and report["deliveries_received"] > 0
    assert table(results).splitlines()[-1].startswith("| History's share")


def test_the_history_share_is_the_median_of_the_runs_taken_in_the_same_turn() -> None:
    fanout = Result(_scenario("fanout"))
    fanout.reports["Kibitz"] = [_messages(v) for v in (100.0, 200.0, 300.0)]
    for report, cpu in zip(fanout.reports["Kibitz"], (0.4, 0.1, 0.3), strict=True):
        report["server_cpu_seconds_messages"] = cpu
    quiet = Result(_scenario("fanout-nohistory"))
    quiet.reports["Kibitz"] = [_messages(100.0) for _ in range(3)]
    # Turn by turn: 10 %, 20 %, 0 %. The medians of each side (0.3 and 0.3) would say 0.
    for report, cpu in zip(quiet.reports["Kibitz"], (0.36, 0.08, 0.3), strict=True):
        report["server_cpu_seconds_messages"] = cpu
    row = table([fanout, quiet]).splitlines()[-1]
    assert row.endswith("| CPU per delivery | 10% (runs: 0% to 20%) | | |")


def test_only_cluster_runs_two_nodes_against_one_and_no_ngircd(
    redis_port, redis_prefix, tmp_path, capsys
) -> None:
    out = tmp_path / "reports.json"
    args = ["--only", "cluster", "--scale", "0.03", "--runs", "1"]
    args += ["--redis", f"127.0.0.1:{redis_port}"]
    assert bench_compare.main([*args, "--prefix", redis_prefix, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| scenario | figure | one node | two nodes |" in text
    assert "ngIRCd" not in text
    reports = json.loads(out.read_text())
    assert list(reports) == ["cluster"]
    assert set(reports["cluster"]) == {"fanout", "paced", "redis_benchmark"}
    for key in ("fanout", "paced"):
        assert reports["cluster"][key]["two"][0]["cross_node"]["deliveries_lost"] == 0
