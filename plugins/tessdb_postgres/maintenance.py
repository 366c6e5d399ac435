"""The queries of the operator's maintenance commands (``tessdb_maint``) on PostgreSQL.

Reads reuse the SQL of ``tessdb_sqlite.maintenance`` (portable; run through the ``?``
placeholder connection of :mod:`.dialect`).  A change is ONE transaction that first
takes the catalogue advisory lock exclusively (``PostgresStore.run(write=True)``): it
waits for the registrations in progress in every collector and they wait for it, the
rule decides on a view read after the lock, and new location / observer ids (max + 1,
never below 1) cannot collide.  Rows are written with ``RETURNING`` for the new keys;
the triggers on ``tess_t`` / ``name_to_mac_t`` notify the running collectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import psycopg

from tessdb_sqlite.maintenance import SqliteMaintenance, _apply, _Reader

from .dialect import QmarkConnection, columns
from .store import PostgresStore


class PgReader(_Reader):
    """The reads of one transaction (the rules' view inside a change)."""

    conn: QmarkConnection

    def columns(self, table: str) -> dict[str, bool]:
        if table not in self._columns:
            self._columns[table] = columns(self.conn.pg, table)
        return self._columns[table]


class PgMaintenance(SqliteMaintenance):
    """The ``"maintenance"`` queries (``tessdb_maint.protocol.MaintenanceQueries``) for a PostgresStore."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store)  # type: ignore[arg-type]  # same run() contract

    def _read(self, what: str, action: Callable[[Any], Any]) -> Any:
        return self.store.run(f"maintenance: {what}", lambda conn: action(PgReader(conn)))

    def change(self, what: str, decide: Callable[[Any], Any]) -> Any:
        def action(conn: QmarkConnection) -> Any:
            view = PgReader(conn)
            change = decide(view)
            try:
                with conn.pg.transaction():  # a savepoint: a refused row leaves a clean error
                    created = _apply(view, change, PgKeys)
            except psycopg.IntegrityError as exc:
                raise ValueError(f"{what}: the database refused the change ({_first_line(exc)})") from None
            return replace(change, created=created)

        return self.store.run(f"maintenance: {what}", action, write=True)


class PgKeys:
    """New rows' keys in PostgreSQL: ``RETURNING``, ids never below 1."""

    @staticmethod
    def insert_with_id(conn: QmarkConnection, table: str, key: str, cols: list[str], values: list) -> int:
        return _insert_with_id(conn.pg, table, key, cols, values)

    @staticmethod
    def insert_row(conn: QmarkConnection, table: str, columns: Any, present: dict[str, bool], row: tuple, key: str,
                   optional: Any = frozenset()) -> int:
        return conn.pg.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_marks(columns)}) "
                               f"RETURNING {key}", row).fetchone()[0]


def _insert_with_id(pg: psycopg.Connection, table: str, key: str, cols: list[str], values: list) -> int:
    """Insert with the next id, never below 1 (the preload holds -1, Unknown); the exclusive
    catalogue lock of the change keeps two tools from taking the same id."""
    return pg.execute(f"INSERT INTO {table} ({key}, {', '.join(cols)}) VALUES ("
                      f"(SELECT GREATEST(1, COALESCE(MAX({key}), 0) + 1) FROM {table}), {_marks(cols)}) "
                      f"RETURNING {key}", values).fetchone()[0]


def _marks(cols: Any) -> str:
    return ", ".join(["%s"] * len(cols))


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
