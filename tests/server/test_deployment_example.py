"""The README's three-node deployment: its kibitz.toml, read out of the README as it is,
is a configuration file the server accepts and gives what the README says, and the
HAProxy snippet beside it sends clients to those nodes' ports."""

from __future__ import annotations

import re
from pathlib import Path

from server import configfile
from server.config import Config
from server.options import declared

README = Path(__file__).resolve().parents[2] / "README.md"
_START = "<!-- three-node kibitz.toml -->\n```toml\n"
_END = "```\n<!-- end of three-node kibitz.toml -->"


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    assert text.count(_START) == 1 and text.count(_END) == 1
    return text.split(_START)[1].split(_END)[0]


def _haproxy() -> str:
    text = README.read_text(encoding="utf-8")
    after = text.split("`/etc/haproxy/haproxy.cfg`", 1)[1]
    return after.split("```\n", 1)[1].split("```\n", 1)[0]


def _load(tmp_path: Path, node: str) -> Config:
    """The example as node ``node``'s file (only its ``node`` line changed)."""
    directory = tmp_path / node
    (directory / "tls").mkdir(parents=True)
    (directory / "motd.txt").write_text("Welcome to ExampleCorp chat\n")
    text = _example()
    assert text.count('node = "kibitz1"') == 1
    path = directory / "kibitz.toml"
    path.write_text(text.replace('node = "kibitz1"', f'node = "{node}"'))
    return configfile.load(str(path), {})


def test_the_example_is_accepted_and_gives_what_it_says(tmp_path) -> None:
    config = _load(tmp_path, "kibitz1")
    here = tmp_path / "kibitz1"
    assert (config.node, config.port, config.host) == ("kibitz1", 6667, "0.0.0.0")
    assert config.cluster == "redis://10.0.0.5:6379/0"
    assert (config.cluster_prefix, config.cluster_lease) == ("kibitz:", 10.0)
    assert config.database == "postgresql://kibitz:change-me@10.0.0.5:5432/kibitz"
    assert (config.network, config.description) == ("ExampleCorp", "ExampleCorp chat")
    assert config.motd == ["Welcome to ExampleCorp chat"]  # read from the file's directory
    assert config.autojoin == ["#general"]
    assert config.registration == "closed"
    assert config.opers == {"alice": "correct-horse-battery-staple"}
    assert config.tls_port == 6697
    assert (config.cert, config.key) == (
        str(here / "tls" / "fullchain.pem"),
        str(here / "tls" / "privkey.pem"),
    )
    assert (config.data_dir, config.history, config.history_days) == ("/var/lib/kibitz", True, 90)
    assert config.max_clients == 10000
    assert config.exempt == ["10.0.0.10"]
    assert config.log_level == "INFO"
    assert config.name == Config().name  # left to its default, the machine's host name


def test_every_key_of_the_example_is_one_print_config_lists() -> None:
    listed = set(re.findall(r"^# ([a-z_]+) = ", configfile.example(), re.MULTILINE))
    keys = re.findall(r"^([a-z_]+) = ", _example(), re.MULTILINE)
    assert len(keys) >= 20 and set(keys) <= listed


def test_the_three_nodes_files_differ_only_in_node(tmp_path) -> None:
    configs = {node: _load(tmp_path, node) for node in ("kibitz1", "kibitz2", "kibitz3")}
    # Paths are each file's own directory's: the same names in each.
    skipped = {"node", "cert", "key"}

    def shared(config: Config) -> dict:
        return {
            item.name: getattr(config, item.name)
            for item, _ in declared(Config)
            if item.name not in skipped
        }

    first = shared(configs["kibitz1"])
    for node, config in configs.items():
        assert config.node == node
        assert shared(config) == first


def test_the_balancer_sends_clients_to_each_nodes_ports() -> None:
    config = _example()
    port = int(re.search(r"^port = (\d+)", config, re.MULTILINE).group(1))  # type: ignore[union-attr]
    tls_port = int(re.search(r"^tls_port = (\d+)", config, re.MULTILINE).group(1))  # type: ignore[union-attr]
    backends = re.findall(
        r"^backend (\S+)\n(.*?)(?=^backend |\Z)", _haproxy(), re.MULTILINE | re.DOTALL
    )
    servers = {
        name: re.findall(r"^\s+server (\S+) ([\d.]+):(\d+) check", body, re.MULTILINE)
        for name, body in backends
    }
    assert set(servers) == {"kibitz", "kibitz-tls"}
    for name, wanted in (("kibitz", port), ("kibitz-tls", tls_port)):
        assert [s[0] for s in servers[name]] == ["kibitz1", "kibitz2", "kibitz3"]
        assert {int(s[2]) for s in servers[name]} == {wanted}
    assert "mode tcp" in _haproxy()
    # Every connection comes from the balancer: the nodes exempt its address.
    balancer = re.search(r"^\s+bind ([\d.]+):", _haproxy(), re.MULTILINE).group(1)  # type: ignore[union-attr]
    assert f'exempt = ["{balancer}"]' in config
