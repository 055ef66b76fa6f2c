"""`python -m server.bench_compare` (``make bench``): Kibitz against ngIRCd, one table.

Each scenario starts a fresh server for every run (a fresh process, so its peak RSS is
that scenario's), Kibitz and ngIRCd taking turns run by run so a change in the
machine's load falls on both, and runs ``server.bench`` against it. Kibitz runs with
flood control and the per-address limits off (``--flood-rate 0 --exempt 127.0.0.1``),
history on in a data directory of its own; ngIRCd (Debian's ``/usr/sbin/ngircd``) with
``MaxConnectionsIP = 0`` and ``MaxPenaltyTime = 0``, from a configuration written to a
temporary directory. The table gives each server's figures (the median run where a
scenario runs more than once), the load generator's CPU share while sending (near 100 %
it, not the server, is the limit) and Kibitz's figure over ngIRCd's. A scenario that
measures Kibitz against itself (``fanout-nohistory``, what history costs) takes its
turns within the runs of the one it is compared with, so both see the same load.
``--only cluster`` runs ``server.bench_cluster``'s two nodes against one (after the
others, when more scenarios are named).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import bench, bench_cluster
from .bench_report import generator_cpu
from .bench_servers import ServerKind, kibitz, machine, running

NGIRCD = shutil.which("ngircd") or "/usr/sbin/ngircd"

_NGIRCD_CONF = """[Global]
\tName = ngircd.bench
\tInfo = bench
\tListen = 127.0.0.1
\tPorts = {port}
\tAdminInfo1 = bench
\tAdminInfo2 = bench
\tAdminEMail = root@localhost
[Limits]
\tMaxConnections = 0
\tMaxConnectionsIP = 0
\tMaxJoins = 0
\tMaxNickLength = 30
\tMaxPenaltyTime = 0
\tPingTimeout = 600
[Options]
\tDNS = no
\tIdent = no
\tPAM = no
"""


#: Clients the held scenario asks for, where the open-file limit allows.
HELD = 20000
#: Descriptors each process keeps beside the held clients: the server's own (its
#: ``RESERVE``), the bystander, the generator's selector and standard streams.
_FD_MARGIN = 100


def held_clients() -> int:
    """How many idle clients the held scenario holds: 20,000, or as many as this
    machine's hard open-file limit lets both the server and the generator open."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return HELD
    return max(2, min(HELD, hard - _FD_MARGIN))


def ngircd() -> ServerKind:
    """ngIRCd, its configuration written to the scratch directory."""

    def command(port: int, scratch: Path) -> list[str]:
        conf = scratch / "ngircd.conf"
        conf.write_text(_NGIRCD_CONF.format(port=port))
        return [NGIRCD, "-n", "-f", str(conf)]

    return ServerKind("ngIRCd", command)


@dataclass
class Scenario:
    """One line of the table: bench options, how many runs, which servers."""

    key: str
    title: str
    options: bench.Options
    runs: int = 1
    #: Kibitz's extra arguments (its autojoin, say).
    kibitz_args: tuple[str, ...] = ("--autojoin", "")
    #: Whether ngIRCd runs it too.
    with_ngircd: bool = True
    #: The scenario this one is compared with (its key): when both run, their runs
    #: take turns, so a change in the machine's load falls on both alike.
    paired_with: str | None = None


def scenarios(scale: float = 1.0, runs: int = 3, fanout_runs: int = 5) -> list[Scenario]:
    """The issue's scenarios; ``scale`` shortens the durations and client counts (tests).

    The three at max rate run ``fanout_runs`` times: they move most from run to run,
    and history's share is the difference of two of them, turn by turn (in three turns
    it read 8 % in one full run and 16 % in the next; five turns after those, 8 %).
    """

    def opts(**how: object) -> bench.Options:
        o = bench.Options(duration=10.0 * scale, size=100, **how)  # type: ignore[arg-type]
        o.settle = min(o.settle, 0.5 * scale + 0.1)
        return o

    many = max(2, int(1000 * scale))
    held = max(2, int(held_clients() * scale))
    return [
        Scenario(
            "fanout",
            "Fan-out: 100 receivers, 4 senders at max rate, 100-byte messages",
            opts(receivers=max(2, int(100 * scale)), senders=4),
            fanout_runs,
        ),
        Scenario(
            "fanout-caps",
            "The same, every client with " + " ".join(bench.CAPS),
            opts(receivers=max(2, int(100 * scale)), senders=4, caps=True),
            fanout_runs,
        ),
        Scenario(
            "fanout-nohistory",
            "Fan-out with --no-history (what history costs)",
            opts(receivers=max(2, int(100 * scale)), senders=4),
            fanout_runs,
            ("--autojoin", "", "--no-history"),
            with_ngircd=False,
            paired_with="fanout",
        ),
        Scenario(
            "many",
            f"{many:,} receivers, 2 senders at 20 msg/s",
            opts(receivers=many, senders=2, rate=20.0),
            runs,
        ),
        Scenario(
            "idle",
            f"{max(2, int(5000 * scale)):,} idle clients (Kibitz --autojoin '')",
            replace(
                opts(receivers=max(2, int(5000 * scale)), senders=0),
                connect_only=True,
                duration=3.0 * scale,
            ),
            runs,  # one run's registration time moves with the load the one before left
        ),
        Scenario(
            "held",
            f"{held:,} held idle clients, a bystander's PING round trip (Kibitz --autojoin '')",
            replace(
                opts(receivers=held, senders=0),
                connect_only=True,
                duration=3.0 * scale,
                bystander_pings=max(5, int(500 * scale)),
                setup_timeout=600.0,
            ),
        ),
        Scenario(
            "default",
            f"{max(2, int(2000 * scale)):,} clients, default configuration (all in #general)",
            replace(
                opts(receivers=max(2, int(2000 * scale)), senders=0),
                connect_only=True,
                duration=3.0 * scale,
            ),
            kibitz_args=(),
            with_ngircd=False,
        ),
    ]


@dataclass
class Result:
    """What one scenario gave: each server's reports (one per run)."""

    scenario: Scenario
    reports: dict[str, list[dict]] = field(default_factory=dict)


def run_scenario(scenario: Scenario, log: Callable[[str], None] = lambda _: None) -> Result:
    """Run ``scenario`` against Kibitz (and ngIRCd), the servers taking turns by run."""
    return run_together([scenario], log)[0]


def run_together(
    together: list[Scenario], log: Callable[[str], None] = lambda _: None
) -> list[Result]:
    """Run scenarios of as many runs each with their runs in turn: run 1 of every
    scenario's every server, then run 2 in the reverse order, and so on."""
    results = [Result(scenario) for scenario in together]
    turns: list[tuple[Result, ServerKind]] = []
    for result in results:
        turns.append((result, kibitz(*result.scenario.kibitz_args)))
        if result.scenario.with_ngircd:
            turns.append((result, ngircd()))
    for number in range(max(s.runs for s in together)):
        for result, kind in turns if number % 2 == 0 else turns[::-1]:
            scenario = result.scenario
            if number >= scenario.runs:
                continue
            with running(kind) as (port, pid):
                options = replace(scenario.options, port=port, server_pid=pid)
                report = bench.run(options)
            result.reports.setdefault(kind.name, []).append(report)
            log(f"{scenario.key} run {number + 1} {kind.name}: {summary(report)}")
    return results


def run_all(chosen: list[Scenario], log: Callable[[str], None] = lambda _: None) -> list[Result]:
    """Run every chosen scenario, a paired one together with its partner (when that is
    chosen too); the results in the order chosen."""
    keys = {s.key for s in chosen}
    partners: dict[str, list[Scenario]] = {}
    for s in chosen:
        if s.paired_with in keys and s.paired_with != s.key:
            partners.setdefault(s.paired_with, []).append(s)
    done: dict[str, Result] = {}
    for s in chosen:
        if s.key in done or (s.paired_with in keys and s.paired_with != s.key):
            continue
        for result in run_together([s, *partners.get(s.key, [])], log):
            done[result.scenario.key] = result
    return [done[s.key] for s in chosen]


def summary(report: dict) -> str:
    """One run in a few words (the progress lines)."""
    if report["mode"] == "connect-only":
        text = (
            f"{report['clients']['held']} held in {report['register_seconds']:.2f} s,"
            f" {per_client_kib(report):.1f} KiB/client"
        )
        ping = report.get("bystander")
        if ping is not None:
            text += f", bystander PING p50 {ping['p50']:.1f} ms, p99 {ping['p99']:.1f} ms"
        return text
    lat = report["latency_ms"]
    return (
        f"{report['deliveries_per_second']:,.0f} deliveries/s, p99 {lat['p99']:.1f} ms,"
        f" {report['deliveries_lost']} lost, generator CPU {generator_cpu(report):.0%}"
    )


def per_client_kib(report: dict) -> float:
    """The server's peak RSS over the clients it held (KiB)."""
    held = report["clients"].get("held") or 0
    peak = report.get("server", {}).get("peak_rss_kib", 0)
    return peak / held if held else 0.0


def median_report(reports: list[dict]) -> dict:
    """The run with the median figure: deliveries/s, or the time to register everyone
    (memory per client moves by less than 1 % from run to run, that time by up to a
    quarter); at a fixed rate (every run delivers the same), the latency p99."""
    if reports[0]["mode"] == "connect-only":
        ordered = sorted(reports, key=lambda r: r["register_seconds"])
    elif reports[0].get("options", {}).get("rate"):
        ordered = sorted(reports, key=lambda r: r["latency_ms"]["p99"])
    else:
        ordered = sorted(reports, key=lambda r: r["deliveries_per_second"])
    return ordered[(len(ordered) - 1) // 2]


#: A table cell: (label, how to read it from a report, how to print it, higher is better).
Figure = tuple[str, Callable[[dict], float], str, bool]

_MESSAGES: list[Figure] = [
    ("deliveries/s", lambda r: r["deliveries_per_second"], "{:,.0f}", True),
    ("latency p50 / ms", lambda r: r["latency_ms"]["p50"], "{:.1f}", False),
    ("latency p99 / ms", lambda r: r["latency_ms"]["p99"], "{:.1f}", False),
    ("lost", lambda r: r["deliveries_lost"], "{:.0f}", False),
    ("server CPU s / M deliveries", lambda r: cpu_per_million(r), "{:.2f}", False),
    ("generator CPU", generator_cpu, "{:.0%}", False),
]
_CONNECT: list[Figure] = [
    ("held", lambda r: r["clients"]["held"], "{:,.0f}", True),
    ("time to register all / s", lambda r: r["register_seconds"], "{:.2f}", False),
    ("peak RSS / clients, KiB", per_client_kib, "{:.1f}", False),
]
_BYSTANDER: list[Figure] = [
    ("bystander PING p50 / ms", lambda r: r["bystander"]["p50"], "{:.1f}", False),
    ("bystander PING p99 / ms", lambda r: r["bystander"]["p99"], "{:.1f}", False),
]


def cpu_per_million(report: dict) -> float:
    """Server CPU seconds per million deliveries while sending."""
    got = report.get("deliveries_received") or 0
    return report.get("server_cpu_seconds_messages", 0) / got * 1e6 if got else 0.0


def table(results: list[Result]) -> str:
    """The markdown table: scenario, figure, Kibitz, ngIRCd, Kibitz / ngIRCd."""
    out = ["| scenario | figure | Kibitz | ngIRCd | Kibitz / ngIRCd |", "|---|---|---:|---:|---:|"]
    for result in results:
        scenario = result.scenario
        names = list(result.reports)
        kibitz_name = names[0]
        mine = median_report(result.reports[kibitz_name])
        theirs = median_report(result.reports["ngIRCd"]) if "ngIRCd" in result.reports else None
        figures = _CONNECT if mine["mode"] == "connect-only" else _MESSAGES
        if "bystander" in mine:
            figures = figures + _BYSTANDER
        runs = f" (median of {scenario.runs})" if scenario.runs > 1 else ""
        title = scenario.title + runs
        for label, read, fmt, _higher in figures:
            a = read(mine)
            b = read(theirs) if theirs is not None else None
            ratio = f"{a / b:.2f}" if b else "—"
            out.append(
                f"| {title} | {label} | {fmt.format(a)} | "
                f"{fmt.format(b) if b is not None else '—'} | {ratio} |"
            )
            title = ""
        if mine.get("caps_acked") is not None:
            acked = {n: median_report(r).get("caps_acked") or [] for n, r in result.reports.items()}
            text = "; ".join(f"{n}: {' '.join(c) or 'none'}" for n, c in acked.items())
            out.append(f"| | capabilities acknowledged | {text} | | |")
    extra = _history_share(results)
    if extra:
        out.append(extra)
    return "\n".join(out)


def _history_share(results: list[Result]) -> str:
    """A row saying what share of the relay's CPU history costs, when both runs exist:
    run by run, Kibitz's CPU per delivery without history against that of the run with
    it made in the same turn (so a change in the machine's load falls on both), the
    median of those shares and their spread (each run's figure moves with the batches
    its throughput made, by several per cent)."""
    by_key = {r.scenario.key: r for r in results}
    if "fanout" not in by_key or "fanout-nohistory" not in by_key:
        return ""
    with_history = next(iter(by_key["fanout"].reports.values()))
    without = next(iter(by_key["fanout-nohistory"].reports.values()))
    shares = sorted(
        1 - cpu_per_million(b) / cpu_per_million(a)
        for a, b in zip(with_history, without, strict=False)
        if cpu_per_million(a)
    )
    if not shares:
        return ""
    median = shares[(len(shares) - 1) // 2]
    spread = f" (runs: {shares[0]:.0%} to {shares[-1]:.0%})" if len(shares) > 1 else ""
    return (
        "| History's share of the relay's CPU (fan-out) | CPU per delivery |"
        f" {median:.0%}{spread} | | |"
    )


def _progress(line: str) -> None:
    print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios (all, or those named) and print the table."""
    p = argparse.ArgumentParser(prog="python -m server.bench_compare", description=__doc__)
    p.add_argument(
        "--only",
        action="append",
        help="run only this scenario (repeatable); cluster: two nodes against one",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs of the 1,000-receiver and 5,000-idle scenarios",
    )
    p.add_argument(
        "--fanout-runs",
        type=int,
        default=5,
        help="runs of each fan-out scenario at max rate (with --caps, without history)",
    )
    p.add_argument("--scale", type=float, default=1.0, help="shorter, smaller runs (< 1)")
    p.add_argument(
        "--redis",
        metavar="HOST:PORT",
        help="with --only cluster: use this Redis instead of a private redis-server",
    )
    p.add_argument("--prefix", help="with --redis: the key prefix (default: one of the run's own)")
    p.add_argument("--json", metavar="FILE", help="also write every report to FILE")
    a = p.parse_args(argv)
    # "cluster": make bench-cluster's two nodes against one (server.bench_cluster), only
    # when named.
    cluster = a.only is not None and "cluster" in a.only
    named = [key for key in a.only or [] if key != "cluster"]
    chosen = [s for s in scenarios(a.scale, a.runs, a.fanout_runs) if not named or s.key in named]
    if cluster and not named:
        chosen = []
    if chosen and not Path(NGIRCD).exists():
        p.error(f"{NGIRCD} is missing (Debian: apt-get install ngircd)")
    try:
        redis_at = bench_cluster.redis_address(a.redis) if a.redis else None
    except ValueError as exc:
        p.error(str(exc))
    bench.raise_fd_limit()
    before = machine()
    results = run_all(chosen, _progress)
    network = None
    if cluster:
        network = bench_cluster.run_all(
            a.scale, None, redis_at, a.prefix, log=_progress, runs=max(1, a.runs)
        )
    print(f"Machine: {before}")
    print(f"After: load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    if results:
        print(table(results))
    if network is not None:
        print(("\n" if results else "") + bench_cluster.report(*network))
    if a.json:
        data: dict = {r.scenario.key: r.reports for r in results}
        if network is not None:
            data["cluster"] = bench_cluster.reports(*network)
        Path(a.json).write_text(json.dumps(data, indent=1))
    return 1 if network is not None and bench_cluster.lost(network[0]) else 0


if __name__ == "__main__":
    sys.exit(main())
