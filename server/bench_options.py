"""What ``python -m server.bench`` runs: its options, declared once (the command line is
derived from them, see ``server.options``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .options import option


def _ports(text: str) -> list[int]:
    """``--ports A,B``: the ports, each a number."""
    try:
        ports = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise ValueError(f"--ports takes comma-separated port numbers, not {text!r}") from None
    return ports


#: What ``--caps`` requests: the way the Kibitz app and modern clients connect.
CAPS = ("server-time", "message-tags", "echo-message", "batch")


@dataclass
class Options:
    """What to run: the command line as a value (tests build one directly). Each field
    declares its flag; the parser is derived from them (``server.options``)."""

    host: str = field(
        default="127.0.0.1",
        metadata=option("--host", help="server address (default: %(default)s)"),
    )
    port: int = field(
        default=6667, metadata=option("--port", help="server port (default: %(default)s)")
    )
    #: Several servers of one network: clients go to them in turn, each role on its own
    #: (sender s to ``ports[s % n]``, receiver r to ``ports[r % n]``); empty: ``port``.
    ports: list[int] = field(
        default_factory=list,
        metadata=option(
            "--ports",
            metavar="A,B,...",
            type=str,
            help="spread the clients over these ports (the nodes of one network), senders "
            "and receivers each in turn; the report gives each node's figures and the "
            "cross-node deliveries",
            parser_default=lambda ports: ",".join(str(p) for p in ports),
            convert=_ports,
        ),
    )
    password: str | None = field(
        default=None, metadata=option("--password", help="connection password (PASS)")
    )
    receivers: int = field(default=100, metadata=option("--receivers", metavar="N"))
    senders: int = field(default=4, metadata=option("--senders", metavar="S"))
    #: Messages per second per sender; 0 means as fast as the window allows.
    rate: float = field(
        default=0.0,
        metadata=option(
            "--rate",
            metavar="MSGS_PER_SEC",
            help="messages per second per sender; 0 = as fast as --window allows (default)",
        ),
    )
    #: Messages per sender not yet received by every receiver (max-rate mode).
    window: int = field(
        default=200,
        metadata=option(
            "--window",
            help="max-rate mode: messages per sender not yet received by every receiver "
            "(default: %(default)s)",
        ),
    )
    #: Bytes of message text.
    size: int = field(
        default=100, metadata=option("--size", metavar="BYTES", help="message text size")
    )
    duration: float = field(default=10.0, metadata=option("--duration", metavar="SECONDS"))
    channel: str = field(default="#bench", metadata=option("--channel"))
    connect_only: bool = field(
        default=False,
        metadata=option(
            "--connect-only",
            action="store_true",
            help="only connect and register the clients, hold them for the duration",
        ),
    )
    server_pid: int | None = field(
        default=None,
        metadata=option("--server-pid", metavar="PID", help="report this process's CPU and RSS"),
    )
    #: More processes whose CPU the report gives (the other nodes, Redis).
    watch_pids: list[int] = field(
        default_factory=list,
        metadata=option(
            "--watch-pid",
            metavar="PID",
            action="append",
            help="also report this process's CPU seconds while sending (may be given "
            "several times: the other nodes of a network, Redis)",
        ),
    )
    #: Connections being opened or registered at once: below the smallest listen
    #: backlog in use (ngircd's is 10), so a burst never overflows it.
    connect_batch: int = field(
        default=8,
        metadata=option(
            "--connect-batch",
            metavar="N",
            help="connections opened and registering at once (default: %(default)s)",
        ),
    )
    #: Seconds to wait for the messages still on their way after the duration.
    drain: float = field(
        default=5.0,
        metadata=option(
            "--drain",
            metavar="SECONDS",
            help="wait this long at most for messages still on their way",
        ),
    )
    #: Seconds of quiet after everybody joined, so join traffic is not measured.
    settle: float = field(
        default=0.5,
        metadata=option(
            "--settle",
            metavar="SECONDS",
            help="quiet time after everyone joined, before sending",
        ),
    )
    #: One message in ``sample`` carries a timestamp; 0 chooses (1 with --rate, else 10).
    sample: int = field(
        default=0,
        metadata=option(
            "--sample",
            metavar="N",
            help="time one message in N (default: every one with --rate, else 1 in 10)",
        ),
    )
    #: Seconds allowed to connect, register and join every client.
    setup_timeout: float = field(
        default=120.0, metadata=option("--setup-timeout", metavar="SECONDS")
    )
    nick_prefix: str = field(default="bn", metadata=option("--nick-prefix"))
    #: Negotiate the capabilities the app and modern clients use (``CAPS``).
    caps: bool = field(
        default=False,
        metadata=option(
            "--caps",
            action="store_true",
            help="every client requests " + " ".join(CAPS) + " (a server may refuse some)",
        ),
    )

    #: With --connect-only: one more client PINGs this many times while the others idle.
    bystander_pings: int = field(
        default=0,
        metadata=option(
            "--bystander-pings",
            metavar="N",
            help="with --connect-only: one more client sends N PINGs, one at a time, while "
            "the others idle, and the report gives the round trips",
        ),
    )
    #: Seconds between the bystander's PINGs (after each PONG).
    bystander_interval: float = field(
        default=0.02,
        metadata=option(
            "--bystander-interval",
            metavar="SECONDS",
            help="pause after each PONG before the next PING (default: %(default)s)",
        ),
    )
