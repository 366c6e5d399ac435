"""The PostgreSQL dialect of the star schema's shared queries (``tessdb_star``).

The queries of ``tessdb_star`` are written in SQL both databases understand (row
values, ``||``, ``LIMIT ?``, ``IN (...)``) in the ``?`` placeholder style of sqlite3;
:class:`QmarkConnection` translates the placeholders to psycopg's ``%s``, so those
queries run here as they are instead of being copied.  :class:`PostgresDialect` says
the rest PostgreSQL's way: ``information_schema`` for a table's columns, ``RETURNING``
for a new key, ``GREATEST`` for the next free id, a savepoint around a maintenance
change.  PostgreSQL's ``numeric`` results (``SUM`` of counts) are loaded as ``int`` /
``float`` like SQLite's.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any, Sequence

import psycopg
from psycopg.adapt import Loader

from tessdb_star.dialect import Dialect
from tessdb_star.layout import SchemaState

from .schema import AUX_TABLES, PG_TYPES


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


class PostgresDialect(Dialect):
    """What PostgreSQL says its own way; every ``conn`` is a :class:`QmarkConnection`."""

    name = "postgresql"
    types = PG_TYPES
    integrity_errors = (psycopg.IntegrityError,)

    def columns(self, conn: Any, table: str) -> dict[str, bool]:
        """Column name -> NOT NULL without default, in table order, in the current schema."""
        rows = conn.execute(
            "SELECT column_name, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position", (table,)).fetchall()
        return {name: nullable == "NO" and default is None for name, nullable, default in rows}

    def schema_state(self, conn: Any) -> SchemaState:
        rows = conn.execute("SELECT table_name, table_type FROM information_schema.tables "
                            "WHERE table_schema = current_schema()").fetchall()
        return SchemaState(tables=frozenset(name for name, kind in rows if kind == "BASE TABLE"),
                           others=frozenset(name for name, kind in rows if kind != "BASE TABLE"),
                           tolerated=AUX_TABLES)

    def insert(self, conn: Any, sql: str, values: Sequence[Any], key: str) -> Any:
        return conn.execute(f"{sql} RETURNING {key}", values).fetchone()[0]

    def insert_next_id(self, conn: Any, table: str, key: str, cols: Sequence[str], values: Sequence[Any]) -> int:
        return conn.execute(f"INSERT INTO {table} ({key}, {', '.join(cols)}) VALUES ("
                            f"(SELECT GREATEST(1, COALESCE(MAX({key}), 0) + 1) FROM {table}), "
                            f"{', '.join('?' * len(cols))}) RETURNING {key}", values).fetchone()[0]

    def savepoint(self, conn: Any) -> AbstractContextManager[Any]:
        """A failed statement aborts a PostgreSQL transaction: a savepoint leaves a clean error."""
        return conn.pg.transaction()


POSTGRES = PostgresDialect()


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
