"""Server queries: VERSION, TIME, ADMIN, INFO, LINKS, HELP, STATS."""

from __future__ import annotations
