"""``make bench-cluster``: the bench against two real Kibitz nodes sharing the test's
Redis (its own key prefix), next to one node, in tiny runs (no figure is checked, only
that each is there, nothing is lost and the network's keys are gone afterwards)."""

from __future__ import annotations

import json

from server import bench_cluster
from server.bench_cluster import existing_redis, run_scenario, scenarios, table
from tests.support import services


def _keys(port: int, prefix: str) -> list:
    return services.redis_command(port, "KEYS", prefix + "*")  # type: ignore[return-value]


def test_two_nodes_lose_nothing_and_report_each_process(redis_port, redis_prefix) -> None:
    paced = next(s for s in scenarios(scale=0.05) if s.key == "paced")
    with existing_redis("127.0.0.1", redis_port, redis_prefix) as redis:
        result = run_scenario(paced, redis)
        # Whatever a network leaves under its prefix ...
        services.redis_command(redis_port, "SET", redis_prefix + "left-behind", "1")
    assert _keys(redis_port, redis_prefix) == []  # ... is deleted afterwards
    one, two = result.single, result.network
    for report in (one, two):
        assert report["clients"]["failed"] == 0 and report["clients"]["dropped"] == 0
        assert report["deliveries_received"] == report["deliveries_expected"] > 0
        assert report["deliveries_lost"] == 0
        assert report["server_cpu_seconds_messages"] >= 0
    assert "nodes" not in one
    assert [n["receivers"] for n in two["nodes"]] == [5, 5]
    assert [n["senders"] for n in two["nodes"]] == [1, 1]
    cross = two["cross_node"]
    assert cross["deliveries_received"] == cross["deliveries_expected"] > 0
    assert cross["deliveries_lost"] == 0 and cross["latency_ms"]["samples"] > 0
    # Node b's and Redis's CPU while sending, and the PUBLISH commands Redis served.
    assert bench_cluster.cpu(two, "node b") is not None
    assert bench_cluster.cpu(two, "redis") is not None
    assert two["redis_publishes"]["calls"] >= two["messages_sent"] > 0
    assert two["redis_publishes"]["usec"] > 0
    lines = table([result]).splitlines()
    assert lines[0] == "| scenario | figure | one node | two nodes |"
    assert lines[2].startswith(f"| {paced.title} | deliveries/s | ")
    labels = [line.split(" | ")[1] for line in lines[2:]]
    for label in ("of which cross-node /s", "cross-node latency p99 / ms", "CPU s, Redis"):
        assert label in labels
    assert "|  | lost (cross-node) | 0 | 0 (0) |" in lines


def test_the_command_prints_the_table_and_writes_the_reports(
    redis_port, redis_prefix, tmp_path, capsys
) -> None:
    out = tmp_path / "reports.json"
    args = ["--scale", "0.03", "--only", "fanout", "--redis", f"127.0.0.1:{redis_port}"]
    args += ["--prefix", redis_prefix, "--publish-requests", "2000", "--json", str(out)]
    assert bench_cluster.main([*args, "--runs", "2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Machine: ")
    assert "| 3 receivers, 4 senders at max rate (median of 2) | deliveries/s |" in text
    if bench_cluster.shutil.which("redis-benchmark"):  # Debian's redis-tools, with redis-server
        assert "redis-benchmark PUBLISH (300 bytes, 2 subscribers" in text
    reports = json.loads(out.read_text())
    assert set(reports) == {"fanout", "redis_benchmark"}
    assert len(reports["fanout"]["one"]) == len(reports["fanout"]["two"]) == 2
    for report in reports["fanout"]["two"]:
        assert report["cross_node"]["deliveries_lost"] == 0
    assert _keys(redis_port, redis_prefix) == []


def test_the_scenarios_are_scaled_for_two_cores() -> None:
    keys = {s.key: s.options for s in scenarios()}
    assert (keys["fanout"].receivers, keys["fanout"].senders, keys["fanout"].rate) == (100, 4, 0)
    assert keys["fanout"].duration == 10.0
    assert (keys["paced"].receivers, keys["paced"].senders, keys["paced"].rate) == (200, 2, 20)


def test_the_median_run_is_chosen_by_the_scenarios_main_figure() -> None:
    def run(rate: float, per_second: float, p99: float) -> dict:
        return {
            "options": {"rate": rate},
            "deliveries_per_second": per_second,
            "latency_ms": {"p99": p99},
        }

    flat_out = [run(0, 300.0, 1.0), run(0, 100.0, 3.0), run(0, 200.0, 2.0)]
    assert bench_cluster.median(flat_out)["deliveries_per_second"] == 200.0
    paced = [run(20, 80.0, 9.0), run(20, 80.0, 30.0), run(20, 80.0, 12.0)]
    assert bench_cluster.median(paced)["latency_ms"]["p99"] == 12.0


def test_with_a_database_the_nodes_share_one_history(
    redis_port, redis_prefix, postgres_url
) -> None:
    import psycopg

    paced = next(s for s in scenarios(scale=0.03) if s.key == "paced")
    with existing_redis("127.0.0.1", redis_port, redis_prefix) as redis:
        result = run_scenario(paced, redis, database=postgres_url)
    one, two = result.single, result.network
    assert one["deliveries_lost"] == two["deliveries_lost"] == 0
    assert two["cross_node"]["deliveries_received"] > 0
    # Each message stored once, by its sender's server, in the one history.
    with psycopg.connect(postgres_url) as db:
        (stored,) = db.execute("SELECT count(*) FROM history_messages").fetchone()  # type: ignore[misc]
    assert stored == one["messages_sent"] + two["messages_sent"] > 0
