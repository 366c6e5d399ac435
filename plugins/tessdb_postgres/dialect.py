"""The small dialect layer that lets the SQLite store's query code run on PostgreSQL.

The report and maintenance queries of ``tessdb_sqlite`` are written in SQL that both
databases understand (row values, ``||``, ``LIMIT ?``, ``IN (...)``); they differ in
the placeholder style (``?`` for sqlite3, ``%s`` for psycopg) and in how a table's
columns are listed (``PRAGMA table_info`` against ``information_schema``).
:class:`QmarkConnection` translates the placeholders, so that those modules are reused
as they are instead of being copied; PostgreSQL's ``numeric`` results (``SUM`` of
counts) are loaded as ``int`` / ``float`` like SQLite's.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import psycopg
from psycopg.adapt import Loader

from tessdb_sqlite.introspect import SchemaState

from .schema import AUX_TABLES


@lru_cache(maxsize=1024)
def qmark_to_format(sql: str) -> str:
    """``?`` placeholders -> ``%s`` (and a literal ``%`` -> ``%%``), outside quoted text."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class QmarkConnection:
    """A psycopg connection seen through the sqlite3 calling style: ``execute(sql, params)``
    with ``?`` placeholders returns a cursor (``fetchone``, ``fetchall``, iteration,
    ``rowcount``).  ``pg`` is the psycopg connection itself."""

    __slots__ = ("pg",)

    def __init__(self, pg: psycopg.Connection) -> None:
        self.pg = pg

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor:
        if params is None:
            return self.pg.execute(sql)
        return self.pg.execute(qmark_to_format(sql), list(params))


class NumericLoader(Loader):
    """``numeric`` -> int when integral (``SUM(count)``), else float (as SQLite returns them)."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:
            return float(text)


def configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_loader("numeric", NumericLoader)


# -- introspection -----------------------------------------------------------------------------------
def columns(conn: psycopg.Connection, table: str) -> dict[str, bool]:
    """Column name -> NOT NULL without default, in table order (empty if no such table),
    in the current schema: what ``tessdb_sqlite.introspect.columns`` gives for SQLite."""
    rows = conn.execute(
        "SELECT column_name, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position", (table,)).fetchall()
    return {name: nullable == "NO" and default is None for name, nullable, default in rows}


def schema_state(conn: psycopg.Connection) -> SchemaState:
    rows = conn.execute("SELECT table_name, table_type FROM information_schema.tables "
                        "WHERE table_schema = current_schema()").fetchall()
    tables = frozenset(name for name, kind in rows if kind == "BASE TABLE")
    others = frozenset(name for name, kind in rows if kind != "BASE TABLE")
    return SchemaState(tables=tables, others=others, tolerated=AUX_TABLES)
