"""The configuration file: every option a key, the command line over the file, each
mistake a clear error naming the file, the line and the key (exit status 2)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import platformdirs
import pytest

from server.__main__ import config_from_args, main, parse_args
from server.config import Config
from server.configfile import ConfigError, _parsed, example, load
from server.options import Option, declared
from tests.support.ircclient import IRCClient
from tests.support.processes import run_server, start_server


def _write(tmp_path: Path, text: str, name: str = "kibitz.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _from(argv: list[str]) -> Config:
    return config_from_args(parse_args(argv))


def test_the_file_sets_each_kind_of_option(tmp_path: Path) -> None:
    (tmp_path / "motd.txt").write_text("from the file\n", encoding="utf-8")
    path = _write(
        tmp_path,
        """
        port = 6000
        network = "Team"
        motd = "motd.txt"               # relative: from the file's directory
        autojoin = ["#lobby", "#help"]  # an array, or "#lobby,#help" as on the command line
        history = false                 # --no-history
        require_account = true
        history_days = 30               # an integer where a number is wanted
        flood_rate = 2.5
        opers = ["root:pa:ss", "ops:word"]
        exempt = ["127.0.0.1/8", "::1"]
        cert = "/etc/kibitz/chain.pem"  # absolute: as it is
        log_level = "debug"
        """.replace("\n        ", "\n"),
    )
    config = _from(["--config", path])
    assert config.port == 6000 and config.network == "Team"
    assert config.motd == ["from the file"]
    assert config.autojoin == ["#lobby", "#help"]
    assert config.history is False and config.require_account is True
    assert config.history_days == 30.0 and isinstance(config.history_days, float)
    assert config.flood_rate == 2.5
    assert config.opers == {"root": "pa:ss", "ops": "word"}
    assert config.exempt == ["127.0.0.1/8", "::1"]
    assert config.cert == "/etc/kibitz/chain.pem"
    assert config.log_level == "DEBUG"
    assert config.config_file == path
    assert _from(["--config", _write(tmp_path, 'autojoin = "#a,#b"\n')]).autojoin == ["#a", "#b"]


def test_the_command_line_overrides_the_file_and_replaces_its_lists(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'port = 6000\nnetwork = "Team"\nopers = ["root:pw", "ops:pw"]\n'
        'exempt = ["10.0.0.0/8"]\nautojoin = ["#lobby"]\nhistory = true\n',
    )
    config = _from(
        ["--config", path, "-p", "7000", "--oper", "me:x", "--autojoin", "#mine", "--no-history"]
    )
    assert config.port == 7000 and config.network == "Team"
    assert config.opers == {"me": "x"}  # not added to the file's two
    assert config.exempt == ["10.0.0.0/8"]  # not given: the file's
    assert config.autojoin == ["#mine"]
    assert config.history is False
    assert config.command_line == {
        "port": 7000,
        "opers": ["me:x"],
        "autojoin": "#mine",
        "history": False,
    }
    # The order does not matter: --config after the options is the same.
    assert _from(["-p", "7000", "--config", path]).port == 7000


def test_no_file_and_an_empty_file_give_the_defaults(tmp_path: Path) -> None:
    expected = Config(data_dir=platformdirs.user_data_dir("kibitz"))
    empty = _from(["--config", _write(tmp_path, "# nothing yet\n")])
    for config in (_from([]), empty):
        for item, _ in declared(Config):
            assert getattr(config, item.name) == getattr(expected, item.name), item.name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port = 70x\n", r"kibitz\.toml: Expected newline .* \(at line 1, column 10\)$"),
        ("port =\n", r"kibitz\.toml: Invalid value \(at line 1, column 7\)$"),
        ('host = "a"\nhost = "b"\n', r"Cannot overwrite a value \(at line 2, column 11\)"),
        ("\n\nprot = 5000\n", r"kibitz\.toml:3: prot: unknown key \(python -m server "),
        ("[limits]\nsendq = 1\n", r"kibitz\.toml:1: limits: unknown key"),
        ('port = "5000"\n', r":1: port: expected an integer, not the string '5000'$"),
        ("port = 5000.5\n", r":1: port: expected an integer, not the number 5000\.5$"),
        ("port = true\n", r":1: port: expected an integer, not true/false$"),
        ("flood_rate = false\n", r":1: flood_rate: expected a number, not true/false$"),
        ("network = 5\n", r":1: network: expected a string, not the number 5$"),
        ('history = "no"\n', r":1: history: expected true or false, not the string 'no'$"),
        ('opers = "root:pw"\n', r":1: opers: expected an array, not the string 'root:pw'$"),
        ("opers = [1]\n", r":1: opers: expected a string, not the number 1$"),
        ("autojoin = [[]]\n", r":1: autojoin: expected a string, not an array$"),
        ("port = 1979-05-27\n", r":1: port: expected an integer, not a date or time$"),
        ("network = {}\n", r":1: network: expected a string, not a table$"),
        ('log_level = "loud"\n', r":1: log_level: expected one of DEBUG, INFO, WARNING, ERROR"),
        ('\nopers = ["nopassword"]\n', r":2: opers: --oper takes NAME:PASSWORD, not 'nopassword'"),
        ('network = "a\\nb"\n', r":1: network: --network must be one line of printable text"),
        ('motd = "absent.txt"\n', r":1: motd: cannot read the file: .*absent\.txt"),
        ('"port" = "x"\n', r":1: port: expected an integer"),
        # An escape in a quoted key: no line is found for it, but the key is named safely.
        ('"a\\nb" = 1\n', r"kibitz\.toml: 'a\\nb': unknown key"),
    ],
)
def test_each_mistake_names_the_file_the_line_and_the_key(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        load(path, {})
    assert main(["--config", path]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {path}") and error.count("\n") == 1
    assert re.search(message, error.rstrip())


def test_a_file_that_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    missing = run_server("--config", str(tmp_path / "absent.toml"))
    assert missing.returncode == 2
    assert (
        missing.stderr
        == f"error: cannot read {tmp_path / 'absent.toml'}: No such file or directory\n"
    )
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'network = "caf\xe9"\n')
    result = run_server("--config", str(latin))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {latin}: not UTF-8 text (invalid continuation byte")
    assert run_server("--config", str(tmp_path)).returncode == 2  # a directory


def test_a_motd_from_the_command_line_names_its_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--motd: cannot read the file: "):
        _from(["--config", _write(tmp_path, ""), "--motd", str(tmp_path / "absent.txt")])


def test_an_off_switch_is_false_in_the_file() -> None:
    switch = Option(("--where",), off=("--nowhere", "nowhere at all"))
    assert _parsed("where", switch, str | None, False, Path("."), "") == {"where__off": True}
    assert _parsed("where", switch, str | None, "here", Path("."), "") == {"where": "here"}


def test_print_config_writes_every_key_with_its_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--print-config"]) == 0
    text = capsys.readouterr().out
    keys = re.findall(r"^# (\w+) = ", text, re.MULTILINE)
    assert keys == [item.name for item, _ in declared(Config)]
    assert '# opers = ["alice:secret"]' in text and "# tls_port = 6697" in text
    # Uncommented, it is a valid file; where it gives a default, the default.
    examples = {"password", "motd", "tls_port", "cert", "key", "opers", "database"}
    examples |= {"cluster", "node"}
    lines = [
        line[2:]
        for line in text.splitlines()
        if re.match(r"# \w+ = ", line) and line.split()[1] not in examples
    ]
    config = load(_write(tmp_path, "\n".join(lines) + "\n"), {})
    defaults = Config(data_dir=platformdirs.user_data_dir("kibitz"))
    for item, _ in declared(Config):
        assert getattr(config, item.name) == getattr(defaults, item.name), item.name
    assert example() == text


def test_help_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--config FILE read the settings from this TOML file first;" in text
    assert "(--max-per-ip is max_per_ip); --print-config writes a file" in text


def test_the_file_reaches_a_server_process(tmp_path: Path) -> None:
    (tmp_path / "motd.txt").write_text("Hello from the file\n", encoding="utf-8")
    path = _write(
        tmp_path,
        'motd = "motd.txt"\nautojoin = ["#lobby"]\nopers = ["root:pw"]\n'
        'description = "Team chat"\nport = 1\n',  # the command line's -p 0 wins
    )
    proc, port = start_server("--config", path)
    try:
        client = IRCClient(port)
        client.send("NICK alice", "USER a 0 * :A")
        assert client.expect("372").params[1] == "- Hello from the file"
        assert client.expect("JOIN").params == ["#lobby"]
        client.send("OPER root pw", "WHOIS alice")
        client.expect("381")
        assert client.expect("312").params[-1] == "Team chat"
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    wrong = run_server("--config", _write(tmp_path, "port = 70000\n", "wrong.toml"))
    assert wrong.returncode == 2 and "port 70000 is not between 0 and 65535" in wrong.stderr


def test_every_option_has_a_key() -> None:
    parser_dests = {item.name for item, _ in declared(Config)}
    assert {"log_level", "max_per_ip", "opers", "history"} <= parser_dests
    fields = {f.name for f in dataclasses.fields(Config)}
    assert "config_file" in fields and "config_file" not in parser_dests
