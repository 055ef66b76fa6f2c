"""`python -m server.bench_cluster` (``make bench-cluster``): the bench against a network
of two Kibitz nodes, next to one node alone, in the same run.

Each scenario runs ``server.bench`` against one Kibitz (no ``--cluster``) and against two
nodes sharing one Redis (``--ports A,B``: receivers split over the nodes, senders on
both), ``--runs`` times each, taking turns. Every server is a fresh process with flood
control and the per-address limits off (``--flood-rate 0 --exempt 127.0.0.1``) and
history on in a data directory of its own (or, with ``--database``, in one PostgreSQL
database the nodes share). Redis is a private ``redis-server`` on a free port (nothing
saved to disk), or an existing one given with ``--redis HOST:PORT``, whose keys the nodes
make under a prefix of their own are deleted afterwards.

The table gives, for one node and for two: deliveries per second (and those that crossed
from one node to the other), latency, loss, the CPU seconds of each node and of Redis
while sending, and the PUBLISH commands Redis served (per second, and its own
microseconds per call, from ``INFO commandstats``). Below it, the publish rate Redis
sustains on this machine, measured with ``redis-benchmark`` when it is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import bench
from .bench_report import generator_cpu
from .bench_servers import ServerKind, free_port, kibitz, machine, running

#: Seconds a private redis-server may take to answer.
_REDIS_START = 20.0


@dataclass
class Redis:
    """The Redis the network uses: where it is, its process, and the key prefix."""

    host: str
    port: int
    pid: int
    prefix: str

    @property
    def url(self) -> str:
        """The nodes' ``--cluster`` URL."""
        return f"redis://{self.host}:{self.port}/0"

    def client(self) -> Any:
        """A redis-py client (imported here: only this tool needs it)."""
        import redis

        return redis.Redis(host=self.host, port=self.port, socket_timeout=10)

    def publishes(self) -> tuple[int, int]:
        """PUBLISH commands served so far, and the microseconds Redis spent on them."""
        stats = self.client().info("commandstats").get("cmdstat_publish", {})
        return int(stats.get("calls", 0)), int(stats.get("usec", 0))

    def delete_keys(self) -> int:
        """Delete every key under the prefix; how many there were."""
        client = self.client()
        keys = list(client.scan_iter(match=self.prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return len(keys)


def redis_pid(host: str, port: int) -> int:
    """The process id of the Redis server at ``host:port`` (its ``INFO server``)."""
    import redis

    # Any: redis-py's annotations mix its blocking and its asyncio answers.
    client: Any = redis.Redis(host=host, port=port, socket_timeout=10)
    return int(client.info("server")["process_id"])


@contextlib.contextmanager
def private_redis() -> Iterator[Redis]:
    """A redis-server of its own on a free port (no persistence), stopped afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="kibitz-bench-redis-") as tmp:
        port = free_port()
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--daemonize", "no", "--dir", tmp]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + _REDIS_START
            while True:
                try:
                    redis_pid("127.0.0.1", port)
                    break
                except Exception:  # not answering yet: any redis-py error
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.05)  # poll until it answers
            yield Redis("127.0.0.1", port, proc.pid, "kibitz-bench:")
        finally:
            proc.terminate()
            proc.wait(timeout=15)


@contextlib.contextmanager
def existing_redis(host: str, port: int, prefix: str | None = None) -> Iterator[Redis]:
    """A Redis that already runs, the nodes' keys under ``prefix`` (default: one of this
    run's own), deleted afterwards."""
    prefix = prefix or f"kibitz-bench:{os.getpid()}:{os.urandom(4).hex()}:"
    place = Redis(host, port, redis_pid(host, port), prefix)
    try:
        yield place
    finally:
        place.delete_keys()


def node(name: str, redis: Redis, *extra: str) -> ServerKind:
    """A Kibitz node of the network on ``redis``, named ``name`` (``extra``: more
    options)."""
    kind = kibitz(
        "--autojoin",
        "",
        "--name",
        f"{name}.bench",
        "--cluster",
        redis.url,
        "--node",
        name,
        "--cluster-prefix",
        redis.prefix,
        *extra,
    )
    return replace(kind, name=f"node {name}")


@dataclass
class Scenario:
    """One part of the table: what the bench runs, alone and on two nodes."""

    key: str
    title: str
    options: bench.Options


def scenarios(scale: float = 1.0) -> list[Scenario]:
    """Scaled for a 2-core machine; ``scale`` shortens and shrinks them (tests)."""

    def opts(**how: Any) -> bench.Options:
        o = bench.Options(duration=10.0 * scale, size=100, **how)
        o.settle = min(o.settle, 0.5 * scale + 0.1)
        return o

    fanout, paced = max(2, int(100 * scale)), max(2, int(200 * scale))
    return [
        Scenario(
            "fanout",
            f"{fanout} receivers, 4 senders at max rate",
            opts(receivers=fanout, senders=4),
        ),
        Scenario(
            "paced",
            f"{paced} receivers, 2 senders at 20 msg/s",
            opts(receivers=paced, senders=2, rate=20.0),
        ),
    ]


@dataclass
class Result:
    """One scenario's reports, run by run: on one node, and on two (each of those with
    ``redis_publishes``: the PUBLISH calls Redis served during it and its microseconds)."""

    scenario: Scenario
    singles: list[dict] = field(default_factory=list)
    networks: list[dict] = field(default_factory=list)

    @property
    def single(self) -> dict:
        """The median run on one node."""
        return median(self.singles)

    @property
    def network(self) -> dict:
        """The median run on two nodes."""
        return median(self.networks)


def median(reports: list[dict]) -> dict:
    """The run with the median main figure: p99 latency at a fixed rate (every run
    delivers the same then), else deliveries per second."""
    if reports[0]["options"]["rate"] > 0:
        ordered = sorted(reports, key=lambda r: r["latency_ms"]["p99"])
    else:
        ordered = sorted(reports, key=lambda r: r["deliveries_per_second"])
    return ordered[(len(ordered) - 1) // 2]


def run_scenario(
    scenario: Scenario,
    redis: Redis,
    log: Callable[[str], None] = lambda _: None,
    runs: int = 1,
    database: str | None = None,
) -> Result:
    """Run ``scenario`` ``runs`` times on one Kibitz and on two nodes sharing ``redis``,
    taking turns (one node first in odd runs), so a change in the machine's load falls
    on both; with ``database``, every server keeps its history (and accounts) there."""
    extra = ("--database", database) if database else ()
    result = Result(scenario)
    for number in range(runs):
        for two in (False, True) if number % 2 == 0 else (True, False):
            if two:
                result.networks.append(_on_two_nodes(scenario, redis, extra))
                log(f"{scenario.key} run {number + 1} two nodes: {_summary(result.networks[-1])}")
            else:
                with running(kibitz("--autojoin", "", *extra)) as (port, pid):
                    options = replace(scenario.options, port=port, server_pid=pid)
                    result.singles.append(bench.run(options))
                log(f"{scenario.key} run {number + 1} one node: {_summary(result.singles[-1])}")
    return result


def _on_two_nodes(scenario: Scenario, redis: Redis, extra: tuple[str, ...]) -> dict:
    a, b = node("a", redis, *extra), node("b", redis, *extra)
    with running(a) as (port_a, pid_a), running(b) as (port_b, pid_b):
        options = replace(
            scenario.options,
            ports=[port_a, port_b],
            server_pid=pid_a,
            watch_pids=[pid_b, redis.pid],
        )
        calls, usec = redis.publishes()
        report = bench.run(options)
        after_calls, after_usec = redis.publishes()
    report["redis_publishes"] = {"calls": after_calls - calls, "usec": after_usec - usec}
    return report


def _summary(report: dict) -> str:
    lat = report["latency_ms"]
    return (
        f"{report['deliveries_per_second']:,.0f} deliveries/s, p99 {lat['p99']:.1f} ms,"
        f" {report['deliveries_lost']} lost"
    )


def cpu(report: dict, which: str) -> float | None:
    """CPU seconds while sending: ``node a`` (the server), ``node b`` or ``redis`` (the
    watched pids, in that order); None when the report has no such process."""
    if which == "node a":
        return report.get("server_cpu_seconds_messages")
    watched = list(report.get("watched_cpu_seconds_messages", {}).values())
    index = {"node b": 0, "redis": 1}[which]
    return watched[index] if index < len(watched) else None


def cpu_per_million(report: dict) -> float:
    """CPU seconds of every server process (nodes and Redis) per million deliveries."""
    total = sum(cpu(report, w) or 0.0 for w in ("node a", "node b", "redis"))
    got = report.get("deliveries_received") or 0
    return total / got * 1e6 if got else 0.0


def table(results: list[Result]) -> str:
    """The markdown table: scenario, figure, one node, two nodes."""
    out = ["| scenario | figure | one node | two nodes |", "|---|---|---:|---:|"]
    for result in results:
        one, two = result.single, result.network
        cross = two.get("cross_node", {})
        seconds = two.get("send_seconds") or 0
        calls = two.get("redis_publishes", {}).get("calls", 0)
        rows: list[tuple[str, str, str]] = [
            ("deliveries/s", f"{one['deliveries_per_second']:,.0f}", _n(two, "deliveries")),
            ("of which cross-node /s", "—", f"{cross.get('deliveries_per_second', 0):,.0f}"),
            ("latency p50 / ms", _ms(one, "p50"), _ms(two, "p50")),
            ("latency p99 / ms", _ms(one, "p99"), _ms(two, "p99")),
            ("cross-node latency p99 / ms", "—", f"{cross['latency_ms']['p99']:.1f}"),
            (
                "lost (cross-node)",
                f"{one['deliveries_lost']}",
                f"{two['deliveries_lost']} ({cross.get('deliveries_lost', 0)})",
            ),
            ("CPU s, node a", _cpu(one, "node a"), _cpu(two, "node a")),
            ("CPU s, node b", "—", _cpu(two, "node b")),
            ("CPU s, Redis", "—", _cpu(two, "redis")),
            (
                "server CPU s / M deliveries",
                f"{cpu_per_million(one):.2f}",
                f"{cpu_per_million(two):.2f}",
            ),
            (
                "Redis PUBLISH /s (µs each)",
                "—",
                f"{calls / seconds:,.0f} ({_per_call(two)})" if seconds else "—",
            ),
            ("generator CPU", f"{generator_cpu(one):.0%}", f"{generator_cpu(two):.0%}"),
        ]
        runs = len(result.singles)
        title = result.scenario.title + (f" (median of {runs})" if runs > 1 else "")
        for label, a, b in rows:
            out.append(f"| {title} | {label} | {a} | {b} |")
            title = ""
    return "\n".join(out)


def _n(report: dict, what: str) -> str:
    return f"{report[f'{what}_per_second']:,.0f}"


def _ms(report: dict, which: str) -> str:
    return f"{report['latency_ms'][which]:.1f}"


def _cpu(report: dict, which: str) -> str:
    seconds = cpu(report, which)
    return "—" if seconds is None else f"{seconds:.2f}"


def _per_call(report: dict) -> str:
    publishes = report.get("redis_publishes", {})
    calls = publishes.get("calls", 0)
    return f"{publishes['usec'] / calls:.1f}" if calls else "—"


def publish_rate(redis: Redis, size: int = 300, requests: int = 100_000) -> dict[str, float]:
    """PUBLISH commands per second ``redis-benchmark`` gets from this Redis with two
    subscribers (a two-node network's fan-out), one command per round trip on 8
    connections and pipelined 16 deep; empty when redis-benchmark is not installed."""
    tool, cli = shutil.which("redis-benchmark"), shutil.which("redis-cli")
    if tool is None or cli is None:
        return {}
    channel = redis.prefix + "bench-publish"
    where = ["-h", redis.host, "-p", str(redis.port)]
    subscribers = [
        subprocess.Popen(
            [cli, *where, "SUBSCRIBE", channel],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    rates: dict[str, float] = {}
    try:
        payload = "x" * size
        for label, pipeline in (("one at a time", "1"), ("pipelined 16", "16")):
            args = [tool, *where, "-q", "-n", str(requests), "-c", "8", "-P", pipeline]
            done = subprocess.run(
                [*args, "PUBLISH", channel, payload],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            found = re.findall(r"([\d.]+) requests per second", done.stdout)
            if found:
                rates[label] = float(found[-1])
    finally:
        for proc in subscribers:
            proc.terminate()
            proc.wait(timeout=15)
    return rates


def redis_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``:PORT`` for 127.0.0.1) as a pair; ValueError if it is not one."""
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"--redis takes HOST:PORT, not {text!r}")
    return host or "127.0.0.1", int(port)


def run_all(
    scale: float = 1.0,
    only: list[str] | None = None,
    redis_at: tuple[str, int] | None = None,
    prefix: str | None = None,
    publish_requests: int = 100_000,
    log: Callable[[str], None] = lambda _: None,
    runs: int = 1,
    database: str | None = None,
) -> tuple[list[Result], dict[str, float]]:
    """Run the scenarios (all, or those named ``only``) on a private redis-server, or on
    the one at ``redis_at`` under ``prefix``; their results, and redis-benchmark's rates."""
    chosen = [s for s in scenarios(scale) if not only or s.key in only]
    place = existing_redis(*redis_at, prefix) if redis_at is not None else private_redis()
    with place as redis:
        results = [run_scenario(s, redis, log, runs, database) for s in chosen]
        rates = publish_rate(redis, requests=publish_requests) if publish_requests else {}
    return results, rates


def report(results: list[Result], rates: dict[str, float]) -> str:
    """The table, and the publish rate redis-benchmark measured (when it ran)."""
    text = table(results)
    if rates:
        figures = ", ".join(f"{rate:,.0f}/s {label}" for label, rate in rates.items())
        text += f"\n\nredis-benchmark PUBLISH (300 bytes, 2 subscribers, 8 connections): {figures}"
    return text


def reports(results: list[Result], rates: dict[str, float]) -> dict:
    """Every report, by scenario (``one`` node and ``two``), and redis-benchmark's rates."""
    data: dict = {r.scenario.key: {"one": r.singles, "two": r.networks} for r in results}
    data["redis_benchmark"] = rates
    return data


def lost(results: list[Result]) -> bool:
    """Whether any run lost a delivery."""
    return any(report["deliveries_lost"] for r in results for report in r.singles + r.networks)


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios and print the table; exit 1 when a delivery was lost."""
    p = argparse.ArgumentParser(prog="python -m server.bench_cluster", description=__doc__)
    p.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    p.add_argument("--scale", type=float, default=1.0, help="shorter, smaller runs (< 1)")
    p.add_argument(
        "--runs", type=int, default=1, help="runs of each scenario; the table shows the median"
    )
    p.add_argument(
        "--redis",
        metavar="HOST:PORT",
        help="use this Redis (keys under a prefix of the run's own, deleted afterwards) "
        "instead of a private redis-server",
    )
    p.add_argument("--prefix", help="with --redis: the key prefix (default: one of the run's own)")
    p.add_argument(
        "--publish-requests",
        type=int,
        default=100_000,
        metavar="N",
        help="PUBLISH commands each redis-benchmark run sends; 0 skips it",
    )
    p.add_argument(
        "--database",
        metavar="URL",
        help="every server keeps its history and accounts in this PostgreSQL database "
        "(the nodes share it) instead of a data directory of its own",
    )
    p.add_argument("--json", metavar="FILE", help="also write every report to FILE")
    a = p.parse_args(argv)
    try:
        redis_at = redis_address(a.redis) if a.redis else None
    except ValueError as exc:
        p.error(str(exc))
    bench.raise_fd_limit()
    before = machine()
    results, rates = run_all(
        a.scale,
        a.only,
        redis_at,
        a.prefix,
        a.publish_requests,
        lambda t: print(t, file=sys.stderr),
        max(1, a.runs),
        a.database,
    )
    print(f"Machine: {before}")
    print(f"After: load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(report(results, rates))
    if a.json:
        Path(a.json).write_text(json.dumps(reports(results, rates), indent=1))
    return 1 if lost(results) else 0


if __name__ == "__main__":
    sys.exit(main())
