"""Server settings: one dataclass, filled from the command line or by tests."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field


def _default_name() -> str:
    name = socket.gethostname() or "kibitz"
    # A server name must look like a host name: it is used as a message source.
    cleaned = "".join(c for c in name if c.isalnum() or c in ".-")
    return cleaned or "kibitz"


@dataclass
class Config:
    """Everything the server can be told; the defaults are what `python -m server` uses."""

    host: str = "0.0.0.0"
    port: int = 5000
    name: str = field(default_factory=_default_name)
    network: str = "Kibitz"
    #: One line about this server (WHOIS, LINKS, VERSION, ADMIN); "" for the default.
    description: str = ""
    password: str | None = None
    motd: list[str] | None = None
    autojoin: list[str] = field(default_factory=lambda: ["#general"])
    #: TLS: a second port for TLS connections, the certificate chain and key files,
    #: and whether to refuse plaintext altogether (then only the TLS port listens).
    tls_port: int | None = None
    cert: str | None = None
    key: str | None = None
    tls_only: bool = False
    #: History: where the SQLite file lives (None: no history), how much to keep
    #: (0: no limit) by target, by age and by size (MiB of database, oldest out first),
    #: how many messages a joining client without chathistory is replayed, and the
    #: most one CHATHISTORY request returns.
    data_dir: str | None = None
    history_max_per_target: int = 0
    history_days: float = 90
    history_max_mb: float = 1024
    join_replay: int = 20
    chathistory_max: int = 100
    #: Seconds of silence before the server sends PING, and then before it gives up.
    ping_interval: float = 90.0
    ping_timeout: float = 120.0
    #: Seconds a connection may take to register.
    registration_timeout: float = 60.0
    #: Outbound bytes buffered for one client before it is dropped (SendQ exceeded).
    sendq: int = 1 << 20
    #: Flood control: lines at once, lines per second after that (0 turns it off),
    #: and the backlog of lines that gets a client dropped for Excess Flood.
    flood_burst: int = 20
    flood_rate: float = 5.0
    flood_excess: int = 100
    #: Connections in all and from one address; 0 means no limit. Both count a
    #: connection from accept on (a TLS handshake in progress included).
    max_clients: int = 10000
    max_per_ip: int = 10
    #: Addresses or CIDR blocks ("127.0.0.1/8") free of max_per_ip and the throttle.
    exempt: list[str] = field(default_factory=list)
    #: New connections one address may open in throttle_window seconds; 0: no throttle.
    throttle: int = 20
    throttle_window: float = 60.0
    #: Seconds a TLS handshake may take in all.
    tls_handshake_timeout: float = 5.0
    #: Failed PASS/OPER: the first delay before the answer, doubling with each failure
    #: from the address (0: none); OPER failures before the connection is closed; and
    #: failures from one address before it is refused new connections until it has
    #: not failed for 10 minutes (0: never refused).
    login_delay: float = 1.0
    oper_attempts: int = 3
    login_ban: int = 10
    #: Lines a connection may send before it has registered.
    max_unregistered_lines: int = 50
    #: Operator names and their passwords (OPER).
    opers: dict[str, str] = field(default_factory=dict)
    nicklen: int = 30
    channellen: int = 64
    topiclen: int = 390
    kicklen: int = 255
    awaylen: int = 200
    #: Longest realname (USER, SETNAME).
    namelen: int = 128
    #: Channels one client may be in (ISUPPORT CHANLIMIT); 0 means no limit.
    max_channels: int = 50
    #: Targets accepted in one PRIVMSG/NOTICE/TAGMSG.
    max_targets: int = 4
    created: float = field(default_factory=time.time)
    #: ADMIN replies: where the server is (RPL_ADMINLOC1) and how to reach its admin.
    admin_location: str = "Location not configured"
    admin_email: str = "root@localhost"

    def info(self) -> str:
        """The server's one-line description: ``description``, or one naming the network."""
        return self.description or f"Kibitz server of the {self.network} network"
