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
from datetime import datetime
from typing import Any

import psycopg

from tessdb_core.catalog import CURRENT, EXPIRED, FAR_FUTURE
from tessdb_sqlite.instruments import MAPPING_COLUMNS, VERSION_COLUMNS, mapping_row, version_row
from tessdb_sqlite.maintenance import OBSERVER_COLUMNS, SqliteMaintenance, _Reader
from tessdb_sqlite.timestamps import format_ts

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
                    created = apply_change(conn.pg, view, change)
            except psycopg.IntegrityError as exc:
                raise ValueError(f"{what}: the database refused the change ({_first_line(exc)})") from None
            return replace(change, created=created)

        return self.store.run(f"maintenance: {what}", action, write=True)


def apply_change(pg: psycopg.Connection, view: PgReader, change: Any) -> dict[str, Any]:
    """Write ``change`` (a ``tessdb_maint.protocol.Change``); return the keys of new rows."""
    created: dict[str, Any] = {}
    at = format_ts(change.at) if change.at is not None else None

    # locations
    present = view.columns("location_t")
    for loc in change.new_locations:
        cols = [c for c in loc if c != "location_id" and c in present]
        created["location_id"] = _insert_with_id(pg, "location_t", "location_id", cols, [loc[c] for c in cols])
    for location_id, fields in change.edit_locations:
        cols = [c for c in fields if c != "location_id" and c in present]
        if cols:
            cur = pg.execute(f"UPDATE location_t SET {', '.join(f'{c} = %s' for c in cols)} WHERE location_id = %s",
                             [fields[c] for c in cols] + [location_id])
            _one(cur, f"location {location_id}")

    # observers
    for observer_id in change.expire_observers:
        _expire(pg, at, "observer_t", "observer_id", observer_id, f"observer {observer_id}")
    for new in change.new_observers:
        fields = dict(new.fields)
        fields.setdefault("valid_until", FAR_FUTURE)
        fields.setdefault("valid_state", CURRENT)
        cols = [c for c in OBSERVER_COLUMNS if c != "observer_id" and c in fields]
        values = [format_ts(fields[c]) if isinstance(fields[c], datetime) else fields[c] for c in cols]
        observer_id = _insert_with_id(pg, "observer_t", "observer_id", cols, values)
        created["observer_id"] = observer_id
        if new.replaces is not None:  # the instruments' current versions follow their observer
            cur = pg.execute("UPDATE tess_t SET observer_id = %s WHERE observer_id = %s AND valid_state = %s",
                             (observer_id, new.replaces, CURRENT))
            created["instruments_moved"] = cur.rowcount

    # instruments
    for m in change.expire_mappings:
        _expire(pg, at, "name_to_mac_t", "rowid", m.key, f"mapping {m.name} -> {m.mac}")
    for v in change.expire_versions:
        _expire(pg, at, "tess_t", "tess_id", v.tess_id, f"instrument version {v.tess_id} of {v.mac}")
    for old, new in change.edit_versions:
        before, after = version_row(old), version_row(new)
        cols = [c for c, a, b in zip(VERSION_COLUMNS, before, after) if a != b]
        if cols:
            values = [after[VERSION_COLUMNS.index(c)] for c in cols]
            cur = pg.execute(f"UPDATE tess_t SET {', '.join(f'{c} = %s' for c in cols)} WHERE tess_id = %s",
                             values + [old.tess_id])
            _one(cur, f"instrument version {old.tess_id}")
    for m in change.new_mappings:
        created["mapping"] = pg.execute(
            f"INSERT INTO name_to_mac_t ({', '.join(MAPPING_COLUMNS)}) VALUES ({_marks(MAPPING_COLUMNS)}) "
            "RETURNING rowid", mapping_row(m)).fetchone()[0]
    for v in change.new_versions:
        created["tess_id"] = pg.execute(
            f"INSERT INTO tess_t ({', '.join(VERSION_COLUMNS)}) VALUES ({_marks(VERSION_COLUMNS)}) "
            "RETURNING tess_id", version_row(v)).fetchone()[0]
    return created


def _insert_with_id(pg: psycopg.Connection, table: str, key: str, cols: list[str], values: list) -> int:
    """Insert with the next id, never below 1 (the preload holds -1, Unknown); the exclusive
    catalogue lock of the change keeps two tools from taking the same id."""
    return pg.execute(f"INSERT INTO {table} ({key}, {', '.join(cols)}) VALUES ("
                      f"(SELECT GREATEST(1, COALESCE(MAX({key}), 0) + 1) FROM {table}), {_marks(cols)}) "
                      f"RETURNING {key}", values).fetchone()[0]


def _expire(pg: psycopg.Connection, at: str | None, table: str, key_col: str, key: Any, what: str) -> None:
    if at is None or key is None:
        raise ValueError(f"cannot expire {what}: no time or no key")
    cur = pg.execute(f"UPDATE {table} SET valid_until = %s, valid_state = %s WHERE {key_col} = %s "
                     "AND valid_state = %s", (at, EXPIRED, key, CURRENT))
    _one(cur, what)


def _one(cur: psycopg.Cursor, what: str) -> None:
    if cur.rowcount != 1:
        raise LookupError(f"{what} is gone or not current any more: nothing changed")


def _marks(cols: Any) -> str:
    return ", ".join(["%s"] * len(cols))


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
