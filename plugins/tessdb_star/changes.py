"""The catalogue writes every store makes: expire a Current row, apply a registration plan.

Why one copy: a plan is decided on a catalogue that may be stale (another collector,
a maintenance command or an operator's SQL changed the rows since; the live service
looks for outside changes only once a second).  Inside its write transaction, after
the store's own locks, every row the plan expires must still be Current, and the rows
it inserts must not be there already under another writer's hand; otherwise
:class:`~tessdb_core.contracts.StoreConflict` is raised, nothing is written, and the
pipeline reloads its catalogue and decides again.  So no store ever makes a second
Current row for one MAC or one name.  The very same change already in the database
(the registration applied by another collector, or replayed) is recognised and its
keys returned: applying a plan twice writes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from loguru import logger

from tessdb_core import CURRENT, EXPIRED, RegistrationPlan, StoreConflict, StoreError

from .catalog import mapping_rows
from .dialect import Connection, Dialect
from .instruments import mapping_row, version_row
from .layout import Layout
from .timestamps import format_ts

log = logger.bind(ns="dbase")


def expire_current(conn: Connection, table: str, key_col: str, key: Any, at: str, what: str) -> None:
    """``valid_until = at, valid_state = 'Expired'`` on the row ``key_col = key`` if it is still
    Current; StoreConflict (nothing changed, the caller's transaction rolls back) if it is not."""
    if key is None:
        raise StoreError(f"cannot expire {what}: it has no {key_col}")
    cur = conn.execute(f"UPDATE {table} SET valid_until = ?, valid_state = ? WHERE {key_col} = ? AND valid_state = ?",
                       (at, EXPIRED, key, CURRENT))
    if cur.rowcount != 1:
        raise StoreConflict(f"{what} ({table} {key_col} = {key}) is not Current any more "
                            "(another collector or a maintenance command changed it)")


def apply_registration(conn: Connection, dialect: Dialect, layout: Layout, plan: RegistrationPlan
                       ) -> RegistrationPlan:
    """Expire and insert as the plan says, inside the caller's write transaction (taken with
    the store's locks); return the plan with the new keys.  StoreConflict when the rows
    changed since the plan was decided."""
    at = format_ts(plan.at)
    done = already_applied(conn, layout, plan, at)
    if done is not None:
        log.info("Registration ({}) of {} already applied by another writer", plan.case,
                 plan.new_mapping.name if plan.new_mapping else plan.new_version.mac)
        return done
    for m in plan.expire_mappings:
        expire_current(conn, "name_to_mac_t", "rowid", m.key, at, f"mapping {m.name} -> {m.mac}")
    for v in plan.expire_versions:
        expire_current(conn, "tess_t", "tess_id", v.tess_id, at, f"instrument version of {v.mac}")
    new_mapping, new_version = plan.new_mapping, plan.new_version
    if new_mapping is not None:
        for row in mapping_rows(conn, " WHERE valid_state = ? AND (name = ? OR mac_address = ?) LIMIT 1",
                                (CURRENT, new_mapping.name, new_mapping.mac)):
            raise StoreConflict(
                f"{plan.case}: {row['name']} -> {row['mac_address']} became Current meanwhile (another collector "
                f"or a maintenance command); {new_mapping.name} -> {new_mapping.mac} not inserted")
        key = dialect.insert(conn, layout.mapping.sql, layout.mapping.row(mapping_row(new_mapping)), "rowid")
        new_mapping = replace(new_mapping, key=key)
    if new_version is not None:
        row = conn.execute("SELECT tess_id, valid_since FROM tess_t WHERE mac_address = ? AND valid_state = ? "
                           "AND valid_since >= ? LIMIT 1",
                           (new_version.mac, CURRENT, format_ts(new_version.since))).fetchone()
        if row is not None:
            raise StoreConflict(f"{plan.case}: {new_version.mac} got a Current version since {row[1]} meanwhile "
                                "(another collector or a maintenance command); no new version inserted")
        tess_id = dialect.insert(conn, layout.version.sql, layout.version.row(version_row(new_version)), "tess_id")
        new_version = replace(new_version, tess_id=tess_id)
    return replace(plan, new_mapping=new_mapping, new_version=new_version)


def already_applied(conn: Connection, layout: Layout, plan: RegistrationPlan, at: str) -> RegistrationPlan | None:
    """The plan with its keys when exactly this change is already in the database: every row
    to expire is Expired at ``at``, the new mapping and version are there, Current, since
    ``at``, with the same values.  None otherwise (including "not applied at all")."""
    new_mapping, new_version = plan.new_mapping, plan.new_version
    mapping_key = tess_id = None
    if new_mapping is not None:
        row = conn.execute("SELECT rowid FROM name_to_mac_t WHERE name = ? AND mac_address = ? AND "
                           "valid_since = ? AND valid_state = ? ORDER BY rowid DESC LIMIT 1",
                           (new_mapping.name, new_mapping.mac, format_ts(new_mapping.since), CURRENT)).fetchone()
        if row is None:
            return None
        mapping_key = row[0]
    if new_version is not None:
        plan_v = layout.version
        row = conn.execute(f"SELECT tess_id, {', '.join(plan_v.columns)} FROM tess_t WHERE mac_address = ? AND "
                           "valid_since = ? AND valid_state = ? ORDER BY tess_id DESC LIMIT 1",
                           (new_version.mac, format_ts(new_version.since), CURRENT)).fetchone()
        if row is None or tuple(row[1:]) != plan_v.row(version_row(new_version)):
            return None
        tess_id = row[0]
    for table, key_col, keys in (("name_to_mac_t", "rowid", [m.key for m in plan.expire_mappings]),
                                 ("tess_t", "tess_id", [v.tess_id for v in plan.expire_versions])):
        for key in keys:
            row = conn.execute(f"SELECT valid_state, valid_until FROM {table} WHERE {key_col} = ?", (key,)).fetchone()
            if row is None or tuple(row) != (EXPIRED, at):
                return None
    return replace(plan,
                   new_mapping=None if new_mapping is None else replace(new_mapping, key=mapping_key),
                   new_version=None if new_version is None else replace(new_version, tess_id=tess_id))
