"""The search index as its version 1 wrote it (server/search.py before version 2): a
view and triggers over ``messages`` alone, for the tests of databases written then."""

from __future__ import annotations

import sqlite3
from pathlib import Path

_TEXT = "replace(replace(json_extract({p}params, '$[1]'), char(1) || 'ACTION ', ''), char(1), ' ')"
_KINDS = "('PRIVMSG', 'NOTICE')"
_SCHEMA_1 = f"""
CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version BIGINT NOT NULL);
CREATE TABLE search_progress (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    indexed_through INTEGER NOT NULL
);
INSERT INTO search_progress (only, indexed_through) VALUES (1, 0);
CREATE VIEW search_text AS
    SELECT id, {_TEXT.format(p="")} AS text FROM messages
    WHERE command IN {_KINDS}
    AND id <= (SELECT indexed_through FROM search_progress);
CREATE VIRTUAL TABLE search_index USING fts5(
    text, content='search_text', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER search_forget AFTER DELETE ON messages
WHEN old.command IN {_KINDS} AND old.id <= (SELECT indexed_through FROM search_progress)
BEGIN
    INSERT INTO search_index (search_index, rowid, text)
    VALUES ('delete', old.id, {_TEXT.format(p="old.")});
END;
CREATE TRIGGER search_change AFTER UPDATE OF command, params ON messages
WHEN old.id <= (SELECT indexed_through FROM search_progress)
BEGIN
    INSERT INTO search_index (search_index, rowid, text)
    SELECT 'delete', old.id, {_TEXT.format(p="old.")} WHERE old.command IN {_KINDS};
    INSERT INTO search_index (rowid, text)
    SELECT new.id, {_TEXT.format(p="new.")} WHERE new.command IN {_KINDS};
END;
INSERT INTO schema_version (component, version) VALUES ('search', 1);
"""


def index_version_1(path: Path) -> None:
    """Give the history database at ``path`` a version 1 search index of every message
    it holds."""
    db = sqlite3.connect(path)
    try:
        db.executescript(_SCHEMA_1)
        db.execute(
            f"INSERT INTO search_index (rowid, text) SELECT id, {_TEXT.format(p='')}"
            f" FROM messages WHERE command IN {_KINDS}"
        )
        db.execute("UPDATE search_progress SET indexed_through = (SELECT MAX(id) FROM messages)")
        db.commit()
    finally:
        db.close()
