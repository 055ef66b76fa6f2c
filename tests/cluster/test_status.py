"""``python -m server.cluster status``: each node, its address, users and lease age."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.support.processes import ROOT
from tests.support.services import redis_command


def status(url: str, prefix: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cluster",
            "status",
            "--cluster",
            url,
            "--cluster-prefix",
            prefix,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_status_lists_each_node_with_its_users_and_lease(
    make_node, client_of, cluster_url, redis_prefix
) -> None:
    a, b = make_node("a"), make_node("b")
    client_of(a, "alice")
    client_of(b, "bob")
    client_of(b, "carol")
    result = status(cluster_url, redis_prefix)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["node", "address", "users", "lease"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["a"][1:3] == [f"127.0.0.1:{a.port}", "1"]
    assert rows["b"][1:3] == [f"127.0.0.1:{b.port}", "2"]
    assert rows["a"][4:] == ["s", "ago"] and float(rows["a"][3]) >= 0


def test_a_node_without_a_lease_shows_as_dead(redis_port, cluster_url, redis_prefix) -> None:
    about = json.dumps({"host": "10.0.0.9", "port": 6667, "started": time.time()})
    redis_command(redis_port, "HSET", redis_prefix + "nodes", "lost", about)
    result = status(cluster_url, redis_prefix)
    assert result.stdout.splitlines()[1].split() == [
        "lost",
        "10.0.0.9:6667",
        "0",
        "dead",
        "(not",
        "reaped",
        "yet)",
    ]


def test_status_without_redis_says_so() -> None:
    result = status("redis://127.0.0.1:1/0", "x:")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot read redis://127.0.0.1:1/0")
