"""``python -m server.cluster status --cluster redis://… [--cluster-prefix …]``."""

from __future__ import annotations

import argparse
import sys

import redis

from ..config import Config
from ..options import declared
from .status import format_status, read_status


def main(argv: list[str] | None = None) -> int:
    """Print each node of the network: address, users and lease age."""
    parser = argparse.ArgumentParser(
        prog="python -m server.cluster", description="Look at a network of Kibitz nodes."
    )
    parser.add_argument("command", choices=("status",), help="status: list the nodes")
    # The same options (and help) as the server's: declared once, in Config.
    for item, how in declared(Config):
        if item.name in ("cluster", "cluster_prefix"):
            default = Config().cluster_prefix if item.name == "cluster_prefix" else None
            parser.add_argument(
                *how.flags,
                dest=item.name,
                metavar=how.metavar,
                default=default,
                required=item.name == "cluster",
                help=(how.help or "").replace("%(default)s", str(default)),
            )
    args = parser.parse_args(argv)
    client = redis.Redis.from_url(args.cluster, decode_responses=True, socket_timeout=5)
    try:
        rows = read_status(client, args.cluster_prefix)
    except redis.RedisError as exc:
        print(f"error: cannot read {args.cluster}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    sys.stdout.write(format_status(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
