"""Looking at a database file before touching it: is it SQLite, is it ours, which columns.

Everything here only reads, so ``initialise`` can decide to change nothing and
``open`` can adapt to 4.x and 5.x layouts without altering them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from tessdb_core.contracts import StoreError

from .schema import LEGACY_TABLES, OUR_TABLES

SQLITE_HEADER = b"SQLite format 3\x00"


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


@dataclass(slots=True)
class SchemaState:
    """What a database holds, compared with the tessdb schema."""

    tables: frozenset[str]
    others: frozenset[str] = field(default_factory=frozenset)  # views, indexes, triggers
    #: tables that may sit beside ours without making the database foreign
    tolerated: frozenset[str] = LEGACY_TABLES

    @property
    def empty(self) -> bool:
        return not self.tables and not self.others

    @property
    def missing(self) -> list[str]:
        return sorted(OUR_TABLES - self.tables)

    @property
    def foreign(self) -> list[str]:
        return sorted(self.tables - OUR_TABLES - self.tolerated)

    @property
    def complete(self) -> bool:
        return not self.missing


def schema_state(conn: sqlite3.Connection) -> SchemaState:
    """Read sqlite_master (internal ``sqlite_*`` objects ignored)."""
    rows = conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchall()
    tables = frozenset(name for kind, name in rows if kind == "table")
    others = frozenset(name for kind, name in rows if kind != "table")
    return SchemaState(tables=tables, others=others)


def columns(conn: sqlite3.Connection, table: str) -> dict[str, bool]:
    """Column name -> NOT NULL without default, in table order (empty if no such table)."""
    return {row[1]: bool(row[3]) and row[4] is None and not row[5]
            for row in conn.execute(f"PRAGMA table_info({table})")}
