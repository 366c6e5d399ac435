"""SQLite, the database of every tessdb before this one: its dialect, its files and URLs.

Why here and not in the SQLite store: a tessdb SQLite file is read by more than the
store (``tessdb-core copy`` reads one into PostgreSQL), and the PostgreSQL store
must not import the SQLite one.  Everything here is the standard library.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tessdb_core import StoreError

from .ddl import SQLITE_TYPES
from .dialect import Dialect
from .layout import SchemaState

SQLITE_HEADER = b"SQLite format 3\x00"


class SqliteDialect(Dialect):
    """``PRAGMA table_info``, ``sqlite_master``, ``lastrowid``."""

    name = "sqlite"
    types = SQLITE_TYPES
    integrity_errors = (sqlite3.IntegrityError,)

    def columns(self, conn: Any, table: str) -> dict[str, bool]:
        return {row[1]: bool(row[3]) and row[4] is None and not row[5]
                for row in conn.execute(f"PRAGMA table_info({table})")}

    def schema_state(self, conn: Any) -> SchemaState:
        """Read sqlite_master (internal ``sqlite_*`` objects ignored)."""
        rows = conn.execute("SELECT type, name FROM sqlite_master "
                            "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchall()
        return SchemaState(tables=frozenset(name for kind, name in rows if kind == "table"),
                           others=frozenset(name for kind, name in rows if kind != "table"))

    def insert(self, conn: Any, sql: str, values: Sequence[Any], key: str) -> Any:
        return conn.execute(sql, values).lastrowid

    def insert_next_id(self, conn: Any, table: str, key: str, cols: Sequence[str], values: Sequence[Any]) -> int:
        conn.execute(f"INSERT INTO {table} ({key}, {', '.join(cols)}) "
                     f"SELECT max(1, coalesce(max({key}), 0) + 1), {', '.join('?' * len(cols))} FROM {table}",
                     values)
        return conn.execute(f"SELECT max({key}) FROM {table}").fetchone()[0]


SQLITE = SqliteDialect()


def sqlite_path(url: str) -> Path | None:
    """The database file named by ``url``, or None when the URL is for another database.

    ``sqlite:///rel/path`` is relative and ``sqlite:////abs/path`` absolute (the
    SQLAlchemy convention the 5.x tools used; ``sqlite+driver://`` is accepted too)."""
    if not url:
        return None
    if "://" not in url:
        return Path(url).expanduser()
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme != "sqlite" and not scheme.startswith("sqlite+"):
        return None
    if not rest.startswith("/") or rest == "/":
        return None  # sqlite://host/... has no meaning here; sqlite:/// alone names no file
    return Path(rest[1:]).expanduser()


def check_sqlite_file(path: Path) -> None:
    """Raise StoreError unless ``path`` is empty, missing or starts with the SQLite header."""
    if not path.exists():
        return
    if not path.is_file():
        raise StoreError(f"{path} is not a file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head and head != SQLITE_HEADER:
        raise StoreError(f"{path} is not a SQLite database")
