"""Server settings: one dataclass, filled from a configuration file and the command line,
or by tests.

Each field that is a command-line option declares its flag, help and help group here
(``server.options``); ``python -m server`` derives its parser from this class, and the
field's name is its key in a configuration file (``server.configfile``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from .database import check_url
from .options import option
from .penalty import parse_networks


def _default_name() -> str:
    name = socket.gethostname() or "kibitz"
    # A server name must look like a host name: it is used as a message source.
    cleaned = "".join(c for c in name if c.isalnum() or c in ".-")
    return cleaned or "kibitz"


def _one_line(flag: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if not text.isprintable():
            raise ValueError(f"{flag} must be one line of printable text")
        return text

    return check


def _read_lines(path: Path | None) -> list[str] | None:
    # OSError propagates: the caller says the MOTD file cannot be read.
    return None if path is None else path.read_text(encoding="utf-8").splitlines()


def _comma_list(text: str) -> list[str]:
    return [item for item in text.split(",") if item]


def _networks(entries: list[str]) -> list[str]:
    try:
        parse_networks(entries)
    except ValueError as exc:
        raise ValueError(f"--exempt: {exc}") from None
    return entries


def _database_url(url: str | None) -> str | None:
    return None if url is None else check_url(url)


def _redis_url(url: str | None) -> str | None:
    # Checked without redis-py: it is imported only once a server joins a network.
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"--cluster takes redis://HOST[:PORT][/DB], not {url!r}")
    try:
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
        int(parts.path.strip("/") or 0)
    except ValueError:
        raise ValueError(f"--cluster takes redis://HOST[:PORT][/DB], not {url!r}") from None
    return url


def _positive(flag: str) -> Callable[[float], float]:
    def check(value: float) -> float:
        if not value > 0:
            raise ValueError(f"{flag} must be more than 0, not {value}")
        return value

    return check


def _node_name(text: str) -> str:
    # A node's name is part of Redis keys and channel names: no spaces, no separators.
    if not text or not all(c.isalnum() or c in "-_." for c in text):
        raise ValueError(f"--node takes letters, digits, '-', '_' and '.', not {text!r}")
    return text


def _registration_mode(text: str) -> str:
    if text not in ("open", "closed"):
        raise ValueError(f"--registration is open or closed, not {text!r}")
    return text


def _oper_logins(entries: list[str]) -> dict[str, str]:
    logins = {}
    for entry in entries:
        name, sep, password = entry.partition(":")
        if not sep or not name or not password:
            raise ValueError(f"--oper takes NAME:PASSWORD, not {entry!r}")
        logins[name] = password
    return logins


@dataclass
class Config:
    """Everything the server can be told; the defaults are what `python -m server` uses."""

    host: str = field(
        default="0.0.0.0",
        metadata=option(
            "-H", "--host", help="address to listen on (default: %(default)s, every IPv4 address)"
        ),
    )
    port: int = field(
        default=5000,
        metadata=option("-p", "--port", help="TCP port to listen on (default: %(default)s)"),
    )
    name: str = field(
        default_factory=_default_name,
        metadata=option("--name", help="server name shown to clients (default: this host's name)"),
    )
    network: str = field(
        default="Kibitz",
        metadata=option(
            "--network",
            help="network name shown in the welcome (default: %(default)s)",
            convert=_one_line("--network"),
        ),
    )
    #: One line about this server (WHOIS, LINKS, VERSION, ADMIN); "" for the default.
    description: str = field(
        default="",
        metadata=option(
            "--description",
            help="one line about this server, shown in WHOIS, LINKS, VERSION and ADMIN "
            '(default: "Kibitz server of the NETWORK network")',
            convert=_one_line("--description"),
        ),
    )
    password: str | None = field(
        default=None,
        metadata=option(
            "--password",
            help="connection password clients must send with PASS",
            example="secret",
        ),
    )
    #: Who may create accounts: "open" (anyone, by REGISTER or NickServ) or "closed"
    #: (only the admin command, ``python -m server.accounts``).
    registration: str = field(
        default="open",
        metadata=option(
            "--registration",
            metavar="open|closed",
            help="open: anyone may create an account (REGISTER, NickServ REGISTER); "
            "closed: only the admin command python -m server.accounts (default: %(default)s)",
            convert=_registration_mode,
        ),
    )
    #: Whether an account's name is reserved to those signed in to it (as Ergo's
    #: nick-reservation); tests of sign-in by itself turn it off.
    reserve_nicks: bool = True
    #: Only clients signed in to an account (SASL or PASS account:password) may register.
    require_account: bool = field(
        default=False,
        metadata=option(
            "--require-account",
            action="store_true",
            help="let only clients signed in to an account finish connecting",
        ),
    )
    motd: list[str] | None = field(
        default=None,
        metadata=option(
            "--motd",
            help="file whose lines are the message of the day",
            type=Path,
            convert=_read_lines,
            path=True,
            example="motd.txt",
        ),
    )
    autojoin: list[str] = field(
        default_factory=lambda: ["#general"],
        metadata=option(
            "--autojoin",
            help="comma-separated channels every user joins on connect "
            "(default: %(default)s; '' for none)",
            parser_default=",".join,
            convert=_comma_list,
        ),
    )
    #: Seconds of silence before the server sends PING, and then before it gives up.
    ping_interval: float = field(
        default=90.0,
        metadata=option(
            "--ping-interval",
            help="seconds of silence before the server sends PING (default: %(default)s)",
        ),
    )
    ping_timeout: float = field(
        default=120.0,
        metadata=option(
            "--ping-timeout",
            help="seconds to wait for an answer to PING before dropping the "
            "client (default: %(default)s)",
        ),
    )
    #: TLS: a second port for TLS connections, the certificate chain and key files,
    #: and whether to refuse plaintext altogether (then only the TLS port listens).
    tls_port: int | None = field(
        default=None,
        metadata=option(
            "--tls-port",
            group="TLS",
            help="also listen for TLS connections on this port (e.g. 6697)",
            example=6697,
        ),
    )
    cert: str | None = field(
        default=None,
        metadata=option(
            "--cert",
            group="TLS",
            help="certificate chain file (PEM) for TLS",
            path=True,
            example="cert.pem",
        ),
    )
    key: str | None = field(
        default=None,
        metadata=option(
            "--key",
            group="TLS",
            help="private key file (PEM) for TLS",
            path=True,
            example="key.pem",
        ),
    )
    tls_only: bool = field(
        default=False,
        metadata=option(
            "--tls-only",
            group="TLS",
            action="store_true",
            help="refuse plaintext: listen only on the TLS port",
        ),
    )
    #: The data directory (None: nothing on disk, so no history and no accounts), whether
    #: to keep history there (accounts live there either way), how much to keep
    #: (0: no limit) by target, by age and by size (MiB of database, oldest out first),
    #: how many messages a joining client without chathistory is replayed, and the
    #: most one CHATHISTORY request returns.
    data_dir: str | None = field(
        default=None,
        metadata=option(
            "--data-dir",
            group="history",
            help="where the history and accounts databases live (default: %(default)s)",
            # The command line keeps history unless told not to; tests and code, not.
            parser_default=lambda _: platformdirs.user_data_dir("kibitz"),
            path=True,
        ),
    )
    #: A PostgreSQL database for the accounts, read markers, registered rooms and the
    #: history (None: they live in accounts.sqlite3 and history.sqlite3 in the data
    #: directory).
    database: str | None = field(
        default=None,
        metadata=option(
            "--database",
            group="history",
            metavar="URL",
            help="keep the accounts, read markers, registered rooms and history in this "
            "PostgreSQL database (postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME) instead "
            "of the data directory",
            convert=_database_url,
            example="postgresql://kibitz@db.example.org/kibitz",
        ),
    )
    history: bool = field(
        default=True,
        metadata=option(
            "--no-history",
            group="history",
            action="store_false",
            help="keep no history at all (accounts still live in the data directory)",
        ),
    )
    history_max_per_target: int = field(
        default=0,
        metadata=option(
            "--history-max-per-target",
            group="history",
            metavar="N",
            help="messages kept per channel or conversation; 0 for no limit",
        ),
    )
    history_days: float = field(
        default=90,
        metadata=option(
            "--history-days",
            group="history",
            metavar="D",
            help="days messages are kept; 0 for no limit (default: %(default)s)",
        ),
    )
    history_max_mb: float = field(
        default=1024,
        metadata=option(
            "--history-max-mb",
            group="history",
            metavar="MB",
            help="size the history database may reach before the oldest messages are "
            "removed; 0 for no limit (default: %(default)s)",
        ),
    )
    join_replay: int = field(
        default=20,
        metadata=option(
            "--join-replay",
            group="history",
            metavar="N",
            help="recent messages shown to a joining client that cannot fetch "
            "history itself (default: %(default)s)",
        ),
    )
    chathistory_max: int = 100
    #: Seconds one SEARCH may spend in the database before it fails (INTERNAL_ERROR).
    search_timeout: float = 2.0
    #: How long (seconds) a sender may delete its own message (REDACT); 0: always.
    #: A channel operator may delete any of the channel's messages, whatever its age.
    redact_window: int = field(
        default=86400,
        metadata=option(
            "--redact-window",
            group="history",
            metavar="SECONDS",
            help="how long senders may delete their own messages; 0 for no limit "
            "(default: %(default)s)",
        ),
    )
    #: Outbound bytes buffered for one client before it is dropped (SendQ exceeded).
    sendq: int = field(
        default=1 << 20,
        metadata=option(
            "--sendq",
            group="limits",
            metavar="BYTES",
            help="bytes queued for a client that does not read before it is "
            "dropped (default: %(default)s)",
        ),
    )
    #: Flood control: lines at once, lines per second after that (0 turns it off),
    #: and the backlog of lines that gets a client dropped for Excess Flood.
    flood_burst: int = field(
        default=20,
        metadata=option(
            "--flood-burst",
            group="limits",
            metavar="LINES",
            help="lines a client may send at once (default: %(default)s)",
        ),
    )
    flood_rate: float = field(
        default=5.0,
        metadata=option(
            "--flood-rate",
            group="limits",
            metavar="LINES",
            help="lines per second after the burst; 0 turns flood control off "
            "(default: %(default)s)",
        ),
    )
    flood_excess: int = 100
    #: Connections in all and from one address; 0 means no limit. Both count a
    #: connection from accept on (a TLS handshake in progress included).
    max_clients: int = field(
        default=10000,
        metadata=option(
            "--max-clients",
            group="limits",
            help="connections in all; 0 for no limit (default: %(default)s)",
        ),
    )
    max_per_ip: int = field(
        default=10,
        metadata=option(
            "--max-per-ip",
            group="limits",
            help="connections from one address; 0 for no limit (default: %(default)s; "
            "load tests from one machine need --exempt or 0)",
        ),
    )
    #: Addresses or CIDR blocks ("127.0.0.1/8") free of max_per_ip and the throttle.
    exempt: list[str] = field(
        default_factory=list,
        metadata=option(
            "--exempt",
            group="limits",
            action="append",
            metavar="CIDR[,CIDR...]",
            help="addresses free of --max-per-ip, --throttle and the failed-login ban, "
            "e.g. 127.0.0.1/8 (may be given several times; default: none)",
            convert=_networks,
        ),
    )
    #: New connections one address may open in throttle_window seconds; 0: no throttle.
    throttle: int = field(
        default=20,
        metadata=option(
            "--throttle",
            group="limits",
            metavar="N",
            help="new connections one address may open per --throttle-window; "
            "0 turns the throttle off (default: %(default)s)",
        ),
    )
    throttle_window: float = field(
        default=60.0,
        metadata=option(
            "--throttle-window",
            group="limits",
            metavar="SECONDS",
            help="the throttle's window (default: %(default)s)",
        ),
    )
    #: Seconds a TLS handshake may take in all.
    tls_handshake_timeout: float = field(
        default=5.0,
        metadata=option(
            "--tls-handshake-timeout",
            group="limits",
            metavar="SECONDS",
            help="seconds a whole TLS handshake may take (default: %(default)s)",
        ),
    )
    #: Failed PASS/OPER: the first delay before the answer, doubling with each failure
    #: from the address (0: none); OPER failures before the connection is closed; and
    #: failures from one address before it is refused new connections until it has
    #: not failed for 10 minutes (0: never refused).
    login_delay: float = field(
        default=1.0,
        metadata=option(
            "--login-delay",
            group="limits",
            metavar="SECONDS",
            help="delay before answering a failed PASS or OPER, doubling with each failure "
            "from the address up to 30 s; 0 for none (default: %(default)s)",
        ),
    )
    oper_attempts: int = field(
        default=3,
        metadata=option(
            "--oper-attempts",
            group="limits",
            metavar="N",
            help="failed OPER attempts before the connection is closed; 0 for no limit "
            "(default: %(default)s)",
        ),
    )
    login_ban: int = field(
        default=10,
        metadata=option(
            "--login-ban",
            group="limits",
            metavar="N",
            help="failed logins from one address before it is refused new connections "
            "until it has not failed for 10 minutes; 0 never (default: %(default)s)",
        ),
    )
    #: Channels one client may be in (ISUPPORT CHANLIMIT); 0 means no limit.
    max_channels: int = field(
        default=50,
        metadata=option(
            "--max-channels",
            group="limits",
            help="channels one user may join; 0 for no limit (default: %(default)s)",
        ),
    )
    #: +b/+e/+I entries that connections from one address may have set in all the
    #: channels together (each list also holds at most MAXLIST); 0 means no limit.
    max_list_entries_per_ip: int = field(
        default=1000,
        metadata=option(
            "--max-list-entries-per-ip",
            group="limits",
            metavar="N",
            help="ban, exception and invite-exception entries that users from one address "
            "may have set in all channels together; 0 for no limit (default: %(default)s)",
        ),
    )
    #: Seconds a connection may take to register.
    registration_timeout: float = field(
        default=60.0,
        metadata=option(
            "--registration-timeout",
            group="limits",
            metavar="SECONDS",
            help="seconds a connection may take to register (default: %(default)s)",
        ),
    )
    #: Lines a connection may send before it has registered.
    max_unregistered_lines: int = 50
    #: Operator names and their passwords (OPER).
    opers: dict[str, str] = field(
        default_factory=dict,
        metadata=option(
            "--oper",
            action="append",
            metavar="NAME:PASSWORD",
            help="an IRC operator login for OPER (may be given several times)",
            parser_default=lambda _: [],
            convert=_oper_logins,
            example=["alice:secret"],
        ),
    )
    #: The Redis server through which several nodes form one network (None: this
    #: server is a network of its own), this node's name in it, and the prefix of
    #: every Redis key and pub/sub channel the network uses.
    cluster: str | None = field(
        default=None,
        metadata=option(
            "--cluster",
            group="cluster",
            metavar="URL",
            help="form one network with the other nodes using this Redis server "
            "(redis://HOST[:PORT][/DB])",
            convert=_redis_url,
            example="redis://127.0.0.1:6379/0",
        ),
    )
    node: str | None = field(
        default=None,
        metadata=option(
            "--node",
            group="cluster",
            metavar="NAME",
            help="this node's name in the network, unique among its nodes; without it, "
            "the server name (--name)",
            convert=lambda text: None if text is None else _node_name(text),
            example="node1",
        ),
    )
    cluster_prefix: str = field(
        default="kibitz:",
        metadata=option(
            "--cluster-prefix",
            group="cluster",
            metavar="PREFIX",
            help="what every Redis key and channel of the network starts with "
            "(default: %(default)s)",
        ),
    )
    #: Seconds a node's lease lives unless renewed (see ``cluster_refresh``): a node
    #: that stops renewing is gone from the network within that and one check more.
    cluster_lease: float = field(
        default=10.0,
        metadata=option(
            "--cluster-lease",
            group="cluster",
            metavar="SECONDS",
            type=float,
            help="how long a node that stops answering stays in the network before the "
            "others show its users quitting; renewed every 0.3 of it (default: %(default)s)",
            convert=_positive("--cluster-lease"),
        ),
    )
    #: How long a sender's command waits for its channel message to come back from
    #: Redis (the network's order) before it finishes anyway.
    cluster_echo_wait: float = 2.0
    #: How often a node whose Redis link is down tries again, first and at most.
    cluster_retry: tuple[float, float] = (0.5, 15.0)
    #: How much the server logs (``python -m server`` sets up logging with it).
    log_level: str = field(
        default="INFO",
        metadata=option(
            "--log-level",
            type=str.upper,
            choices=("DEBUG", "INFO", "WARNING", "ERROR"),
            help="logging level (default: %(default)s)",
        ),
    )
    nicklen: int = 30
    channellen: int = 64
    topiclen: int = 390
    kicklen: int = 255
    awaylen: int = 200
    #: Longest realname (USER, SETNAME).
    namelen: int = 128
    #: Targets accepted in one PRIVMSG/NOTICE/TAGMSG.
    max_targets: int = 4
    created: float = field(default_factory=time.time)
    #: ADMIN replies: where the server is (RPL_ADMINLOC1) and how to reach its admin.
    admin_location: str = "Location not configured"
    admin_email: str = "root@localhost"
    #: The configuration file these settings were read from (REHASH reads it again).
    config_file: str | None = None
    #: What the command line gave, in the parser's form: it overrides the file at every
    #: reading of it (see ``server.configfile``).
    command_line: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def cluster_refresh(self) -> float:
        """How often a node renews its lease and checks the others' (0.3 of a lease:
        two renewals may fail before it runs out)."""
        return self.cluster_lease * 0.3

    @property
    def node_name(self) -> str:
        """This node's name in the network: ``node``, else the server name."""
        return self.node or self.name

    def info(self) -> str:
        """The server's one-line description: ``description``, or one naming the network."""
        return self.description or f"Kibitz server of the {self.network} network"
