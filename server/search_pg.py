"""Full-text search (``soju.im/search``) over the PostgreSQL history: a ``tsvector``
column of each PRIVMSG and NOTICE row, a GIN index of it, and the SQLite search's
conditions (:func:`server.search.conditions`).

The words are cut here, in Python, by the same rule for a stored text and for a query,
and the rule is FTS5's ``unicode61 remove_diacritics 2`` (what the SQLite index uses):
runs of letters and digits, case-folded, accents taken off. PostgreSQL's own parsers
read e-mail addresses, URLs and hyphenated words as units, and taking accents off needs
the ``unaccent`` extension, which a database may lack; a literal ``tsvector`` needs
neither. The history writer computes a row's words (:func:`tsvector`) as it inserts it,
so a search sees every committed message with no indexer to catch up. Each word of a
query is a prefix of a word of the text (its pieces, if punctuation splits it, a phrase
whose last piece is the prefix), and all of them must match.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import psycopg

from .database import Unreachable
from .dbpool import Offload
from .history_api import HistoryUnavailable, SearchFailed
from .history_records import Record
from .search import Query, SearchTimeout, conditions

#: Letters and digits (``\w`` without the underscore, which FTS5 splits on too).
_WORD = re.compile(r"[^\W_]+")
#: Longer pieces are not indexed (PostgreSQL refuses a lexeme of 2 KiB; nobody searches
#: for such a piece of text).
MAX_PIECE = 200
_KINDS = ("PRIVMSG", "NOTICE")
_COLUMNS = "m.msgid, m.target, m.time_ms, m.source, m.command, m.params, m.tags, m.account"


def pieces(text: str) -> list[str]:
    """The words of ``text`` as the index holds them: letters and digits, case-folded,
    without accents."""
    folded = text.casefold()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join([c for c in decomposed if not unicodedata.combining(c)])
    return [p for p in _WORD.findall(folded) if len(p) <= MAX_PIECE]


def searchable(params: Sequence[str]) -> str:
    """A message's searchable text: its last parameter, a CTCP ACTION's marker taken
    out (or every /me would match "action")."""
    if len(params) < 2:
        return ""
    return params[1].replace("\x01ACTION ", "").replace("\x01", " ")


def tsvector(command: str, params_json: str) -> str | None:
    """The ``tsvector`` literal of a row (None for a row that is not searched): each
    piece quoted, with its position (phrases need them)."""
    if command not in _KINDS:
        return None
    words = pieces(searchable(json.loads(params_json)))
    return " ".join([f"'{word}':{n}" for n, word in enumerate(words, 1)])


def tsquery(words: Sequence[str]) -> str | None:
    """The ``tsquery`` of a query's words (None: no word has a letter or a digit)."""
    terms = []
    for word in words:
        found = pieces(word)
        if found:
            terms.append(" <-> ".join([f"'{p}'" for p in found]) + ":*")
    return " & ".join(terms) if terms else None


class PostgresSearch:
    """Searches of the PostgreSQL history; ``database`` is the history's own."""

    def __init__(self, database: Any, timeout: float = 2.0) -> None:
        self._database = database
        self.timeout = timeout
        # One thread, one pooled connection: the pool has one kept for searches.
        self._queries = Offload("kibitz-search-queries")

    def find(self, query: Query) -> list[Record]:
        """The messages matching ``query``, oldest first (see :meth:`SearchIndex.search`);
        :class:`SearchTimeout` past ``timeout`` seconds."""
        try:
            return self._queries.run(self.search, query)
        except Unreachable as exc:
            raise HistoryUnavailable(str(exc)) from None

    def search(self, query: Query) -> list[Record]:
        """:meth:`find` on the caller's thread."""
        where, args = conditions(query)
        if not where:
            return []  # nowhere this client may read
        if query.words:
            text = tsquery(query.words)
            if text is None:
                return []
            where.append("m.words @@ ?::tsquery")
            args.append(text)
        forwards = query.after_ms is not None
        sql = (
            f"SELECT {_COLUMNS} FROM history_messages m WHERE {' AND '.join(where)}"
            f" ORDER BY m.id {'ASC' if forwards else 'DESC'} LIMIT ?"
        )
        args.append(query.limit)
        try:
            with self._database.transaction() as tx:
                # set_config: SET takes no parameters; ``true``: for this transaction only.
                millis = max(1, int(self.timeout * 1000))
                tx.execute("SELECT set_config('statement_timeout', ?, true)", (str(millis),))
                rows = tx.execute(sql, args).fetchall()
        except psycopg.errors.QueryCanceled:
            raise SearchTimeout from None
        except Unreachable:
            raise
        except psycopg.Error as exc:
            raise SearchFailed(str(exc)) from exc
        records = [
            Record(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), json.loads(r[6]), r[7])
            for r in rows
        ]
        if not forwards:
            records.reverse()
        # A target's ids are its relay order; across targets, time is.
        records.sort(key=lambda record: record.time_ms)
        return records

    def close(self) -> None:
        """Stop the query thread (the history closes the database)."""
        self._queries.close()
