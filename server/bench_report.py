"""What the bench reads about processes (CPU seconds, memory, open-file limit) and how it
prints its report; no sockets."""

from __future__ import annotations

import contextlib
import math
import os
import resource
from dataclasses import dataclass

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class ProcStats:
    """CPU seconds and memory of a process, read from /proc."""

    cpu_seconds: float
    rss_kib: int
    hwm_kib: int


def proc_stats(pid: int) -> ProcStats | None:
    """CPU seconds (user + system), current and peak RSS of ``pid``; None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open(f"/proc/{pid}/status", "rb") as f:
            status = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: count fields after its ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime
    memory = {}
    for line in status.splitlines():
        key, _, value = line.partition(b":")
        if key in (b"VmRSS", b"VmHWM"):
            memory[key] = int(value.split()[0])
    return ProcStats(cpu, memory.get(b"VmRSS", 0), memory.get(b"VmHWM", 0))


def own_cpu() -> float:
    """CPU seconds (user + system) this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(ordered: list[int], fraction: float) -> int:
    """The nearest-rank percentile of an ascending list (empty: 0)."""
    if not ordered:
        return 0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_figures(ordered: list[int]) -> dict:
    """Percentiles (ms) of ascending one-way latencies in nanoseconds."""
    ms = 1e-6
    return {
        "samples": len(ordered),
        "p50": round(percentile(ordered, 0.50) * ms, 3),
        "p90": round(percentile(ordered, 0.90) * ms, 3),
        "p99": round(percentile(ordered, 0.99) * ms, 3),
        "max": round(ordered[-1] * ms, 3) if ordered else 0.0,
    }


def cpu_between(before: dict[int, ProcStats | None]) -> dict[str, float]:
    """CPU seconds each process used since ``before`` (pid -> its stats then), by pid
    as text; a process that cannot be read (then or now) is left out."""
    out = {}
    for pid, start in before.items():
        end = proc_stats(pid)
        if start is not None and end is not None:
            out[str(pid)] = round(end.cpu_seconds - start.cpu_seconds, 3)
    return out


def node_figures(
    ports: list[int],
    senders: list,
    receivers: list,
    from_node: list[list[int]],
    active_seconds: float,
) -> dict:
    """Each node's share of a run over several (``--ports``) and the deliveries that
    crossed from one node to another: expected (what the senders of the other nodes
    sent, times the receivers here), received, lost, per second.

    ``senders`` and ``receivers`` are the clients ready when sending began (each with
    ``node`` and, for senders, ``sent``); ``from_node[r][o]`` counts the messages the
    receivers on node r got from senders on node o."""
    sent = [sum(c.sent for c in senders if c.node == n) for n in range(len(ports))]
    nodes = []
    cross_expected = cross_received = 0
    for n, port in enumerate(ports):
        here = sum(1 for c in receivers if c.node == n)
        from_others = sum(got for origin, got in enumerate(from_node[n]) if origin != n)
        expected = (sum(sent) - sent[n]) * here
        cross_expected += expected
        cross_received += from_others
        nodes.append(
            {
                "port": port,
                "senders": sum(1 for c in senders if c.node == n),
                "receivers": here,
                "messages_sent": sent[n],
                "deliveries_received": sum(from_node[n]),
                "cross_node_received": from_others,
                "cross_node_expected": expected,
            }
        )
    per_second = round(cross_received / active_seconds, 1) if cross_received else 0
    return {
        "nodes": nodes,
        "cross_node": {
            "deliveries_expected": cross_expected,
            "deliveries_received": cross_received,
            "deliveries_lost": cross_expected - cross_received,
            "deliveries_per_second": per_second,
        },
    }


def generator_cpu(report: dict) -> float:
    """The load generator's CPU share of one core while it sent."""
    seconds = report.get("send_seconds") or 0
    return report.get("bench_cpu_seconds_messages", 0) / seconds if seconds else 0.0


def raise_fd_limit() -> int:
    """Raise this process's open-file soft limit to its hard limit; return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


def _node_lines(report: dict) -> list[str]:
    """The lines about each node and the cross-node deliveries (runs over --ports)."""
    if "cross_node" not in report:
        return []
    out = [
        f"node :{n['port']}: {n['senders']} senders sent {n['messages_sent']},"
        f" {n['receivers']} receivers got {n['deliveries_received']}"
        f" ({n['cross_node_received']} of {n['cross_node_expected']} from other nodes)"
        for n in report["nodes"]
    ]
    cross = report["cross_node"]
    lat = cross["latency_ms"]
    out.append(
        f"cross-node deliveries: {cross['deliveries_received']} of"
        f" {cross['deliveries_expected']} expected, {cross['deliveries_lost']} lost,"
        f" {cross['deliveries_per_second']:.0f}/s; latency ms ({lat['samples']} samples):"
        f" p50 {lat['p50']:.2f}  p99 {lat['p99']:.2f}"
    )
    return out


def format_report(report: dict) -> str:
    """The report as readable text."""
    out = []
    clients = report.get("clients", {})
    out.append(
        f"clients: {clients.get('ready', 0)}/{clients.get('requested', 0)} ready, "
        f"{clients.get('registered', 0)} registered, {clients.get('failed', 0)} failed"
        + (f", {clients['held']} held" if "held" in clients else "")
    )
    if clients.get("errors"):
        out.append(f"errors: {clients['errors']}")
    if "caps_acked" in report:
        out.append("capabilities acknowledged: " + (" ".join(report["caps_acked"]) or "none"))
    out.append(f"connect+register all: {report.get('register_seconds', 0):.3f} s")
    if "join_seconds" in report:
        out.append(f"connect+register+join all: {report['join_seconds']:.3f} s")
    if "messages_sent" in report:
        lat = report["latency_ms"]
        out += [
            f"messages sent: {report['messages_sent']} in {report['send_seconds']:.2f} s"
            f" = {report['messages_per_second']:.0f}/s",
            f"deliveries: {report['deliveries_received']} of {report['deliveries_expected']}"
            f" expected, {report['deliveries_lost']} lost,"
            f" {report['deliveries_per_second']:.0f}/s",
            f"latency ms ({lat['samples']} samples): p50 {lat['p50']:.2f}  p90 {lat['p90']:.2f}"
            f"  p99 {lat['p99']:.2f}  max {lat['max']:.2f}",
            f"bench CPU while sending: {report['bench_cpu_seconds_messages']:.2f} s",
        ]
        if "server_cpu_seconds_messages" in report:
            out.append(f"server CPU while sending: {report['server_cpu_seconds_messages']:.2f} s")
        for pid, seconds in report.get("watched_cpu_seconds_messages", {}).items():
            out.append(f"pid {pid} CPU while sending: {seconds:.2f} s")
        out += _node_lines(report)
    if "bystander" in report:
        ping = report["bystander"]
        out.append(
            f"bystander PING round trip ms ({ping['answered']} of {ping['pings']} answered):"
            f" p50 {ping['p50']:.2f}  p90 {ping['p90']:.2f}  p99 {ping['p99']:.2f}"
            f"  max {ping['max']:.2f}" + (f"  error: {ping['error']}" if "error" in ping else "")
        )
    if "server_rss_per_client_kib" in report:
        out.append(f"server RSS per client: {report['server_rss_per_client_kib']:.1f} KiB")
    out.append(
        f"bench CPU: {report['bench_cpu_seconds']:.2f} s in {report['bench_wall_seconds']:.2f} s"
    )
    server = report.get("server")
    if server and "cpu_seconds" in server:
        out.append(
            f"server pid {server['pid']}: CPU {server['cpu_seconds']:.2f} s,"
            f" RSS {server['rss_before_kib']} -> {server['rss_kib']} KiB,"
            f" peak {server['peak_rss_kib']} KiB"
        )
    elif server:
        out.append(f"server pid {server['pid']}: {server['error']}")
    return "\n".join(out)
