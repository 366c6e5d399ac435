"""The queries of the operator's maintenance commands (``tessdb_maint``), on any store.

``StarMaintenance(store, dialect)`` implements ``tessdb_core.MaintenanceQueries``
structurally.  Every method is one call of the
store's ``run(what, action, write=False)``: one transaction, with the store's lock
waiting and retrying; a change is a write transaction that holds the store's write
lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL the exclusive catalogue lock), so it waits
for the registrations in progress and they wait for it.  The rules (what to expire,
insert or edit) are decided by the tool's pure functions on a view read inside that
same write transaction.

Rows are written with named-column INSERTs adapted to the layout found (4.x, 5.x,
tessdb-core), timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff``; a Current row is expired by
the one :func:`~.changes.expire_current`.  Reading windows use row values
``(date_id, time_id)`` so that the fact tables' ``(tess_id, date_id, time_id, ...)``
index answers them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from tessdb_core import CURRENT, FAR_FUTURE, BadValue, Catalog, NameMapping, NotFound, Version

from .catalog import read_mappings, read_versions
from .changes import expire_current
from .dialect import Connection, Dialect, Runner
from .instruments import mapping_row, version_row
from .layout import insert_plan
from .tables import (FACT_TABLES, LOCATION_COLUMNS, MAPPING_COLUMNS, OBSERVER_COLUMNS, OPTIONAL_VERSION_COLUMNS,
                     VERSION_COLUMNS)
from .timestamps import format_ts, parse_ts

#: fact table -> (model label, measure columns as freq1, mag1, ... in ReadingRow order)
_FACTS = {
    "tess_readings_t": ("TESS-W", ("frequency", "magnitude")),
    "tess_readings4c_t": ("TESS4C", ("freq1", "mag1", "freq2", "mag2", "freq3", "mag3", "freq4", "mag4")),
}
_COMMON = ("tess_id", "sequence_number", "box_temperature", "sky_temperature", "signal_strength", "units_id",
           "location_id", "observer_id")
_CHUNK = 500  # SQLite host parameters per IN (...)


def _key(dt: datetime) -> tuple[int, int]:
    """(date_id, time_id) of the first whole second at or after ``dt``."""
    if dt.microsecond:
        dt = dt.replace(microsecond=0) + timedelta(seconds=1)
    return dt.year * 10000 + dt.month * 100 + dt.day, dt.hour * 10000 + dt.minute * 100 + dt.second


def _from_key(date_id: int, time_id: int) -> datetime:
    return datetime(date_id // 10000, date_id // 100 % 100, date_id % 100,
                    time_id // 10000, time_id // 100 % 100, time_id % 100)


def _chunks(values: list, n: int = _CHUNK) -> Iterable[list]:
    for i in range(0, len(values), n):
        yield values[i:i + n]


class Reader:
    """The reads of one transaction: used by the read methods, and handed to a rule's
    ``decide`` as its view inside the write transaction."""

    def __init__(self, conn: Connection, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect
        self._columns: dict[str, dict[str, bool]] = {}

    def columns(self, table: str) -> dict[str, bool]:
        if table not in self._columns:
            self._columns[table] = self.dialect.columns(self.conn, table)
        return self._columns[table]

    # -- catalogue ---------------------------------------------------------------------------
    def catalog(self, names: Collection[str] | None = None, macs: Collection[str] | None = None) -> Catalog:
        if names is None and macs is None:
            return Catalog(mappings=self._mappings("", []), versions=self._versions("", []))
        found = {}
        for field, values in (("name", names or ()), ("mac_address", macs or ())):
            for chunk in _chunks(sorted(set(values))):
                for m in self._mappings(f" WHERE {field} IN ({','.join('?' * len(chunk))})", chunk):
                    found[m.key] = m
        all_macs = sorted({m.mac for m in found.values()} | set(macs or ()))
        versions = []
        for chunk in _chunks(all_macs):
            marks = ",".join("?" * len(chunk))
            for m in self._mappings(f" WHERE mac_address IN ({marks})", chunk):
                found[m.key] = m
            versions += self._versions(f" WHERE mac_address IN ({marks})", chunk)
        return Catalog(mappings=sorted(found.values(), key=lambda m: m.key), versions=versions)

    def _mappings(self, where: str, params: list) -> list[NameMapping]:
        return read_mappings(self.conn, f"{where} ORDER BY rowid", params)

    def _versions(self, where: str, params: list) -> list[Version]:
        return read_versions(self.conn, list(self.columns("tess_t")), f"{where} ORDER BY tess_id", params)

    # -- locations and observers ------------------------------------------------------------------
    def locations(self) -> list[dict[str, Any]]:
        present = self.columns("location_t")
        cols = [c for c in LOCATION_COLUMNS if c in present]
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM location_t ORDER BY location_id").fetchall()
        return [{c: r.get(c) for c in LOCATION_COLUMNS} for r in (dict(zip(cols, row)) for row in rows)]

    def observers(self, include_expired: bool = False) -> list[dict[str, Any]]:
        if not self.columns("observer_t"):
            return []
        where = "" if include_expired else " WHERE valid_state = 'Current'"
        rows = self.conn.execute(f"SELECT {', '.join(OBSERVER_COLUMNS)} FROM observer_t{where} "
                                 "ORDER BY observer_id").fetchall()
        out = []
        for row in rows:
            d = dict(zip(OBSERVER_COLUMNS, row))
            d["valid_since"] = parse_ts(d["valid_since"])
            d["valid_until"] = parse_ts(d["valid_until"])
            out.append(d)
        return out

    # -- readings ------------------------------------------------------------------------------------
    def fact_tables(self) -> list[str]:
        return [t for t in FACT_TABLES if self.columns(t)]

    def windows(self, name: str) -> list[tuple[NameMapping, list[int]]]:
        """Each mapping of ``name`` with the tess_ids of its MAC; LookupError if none."""
        maps = self._mappings(" WHERE name = ?", [name])
        if not maps:
            raise NotFound(f"unknown photometer {name!r}: no such name in name_to_mac_t")
        out = []
        for m in maps:
            ids = [r[0] for r in self.conn.execute("SELECT tess_id FROM tess_t WHERE mac_address = ?", (m.mac,))]
            out.append((m, ids))
        return out

    def tess_ids(self, mac: str) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT tess_id FROM tess_t WHERE mac_address = ?", (mac,))]

    def reading_locations(self, mac: str, start: datetime, end: datetime) -> dict[int, int]:
        """Readings (both fact tables) of every version of ``mac`` with ``start <= ts < end``,
        counted by location_id (one range probe of the fact tables' index per version)."""
        (d0, t0), (d1, t1) = _key(start), _key(end)
        counts: dict[int, int] = {}
        for table in self.fact_tables():
            sql = (f"SELECT location_id, count(*) FROM {table} WHERE tess_id = ? AND (date_id, time_id) >= (?, ?) "
                   "AND (date_id, time_id) < (?, ?) GROUP BY location_id")
            for tess_id in self.tess_ids(mac):
                for location_id, n in self.conn.execute(sql, (tess_id, d0, t0, d1, t1)).fetchall():
                    counts[location_id] = counts.get(location_id, 0) + n
        return counts


class StarMaintenance:
    """The ``MaintenanceQueries`` for one open store."""

    def __init__(self, store: Runner, dialect: Dialect) -> None:
        self.store = store
        self.dialect = dialect

    def _read(self, what: str, action: Callable[[Reader], Any]) -> Any:
        return self.store.run(f"maintenance: {what}", lambda conn: action(Reader(conn, self.dialect)))

    # -- reads -----------------------------------------------------------------------------------------
    def catalog(self, names: Collection[str] | None = None, macs: Collection[str] | None = None) -> Catalog:
        return self._read("catalogue", lambda r: r.catalog(names, macs))

    def locations(self) -> list[dict[str, Any]]:
        return self._read("locations", lambda r: r.locations())

    def observers(self, include_expired: bool = False) -> list[dict[str, Any]]:
        return self._read("observers", lambda r: r.observers(include_expired))

    def silent(self, since: datetime) -> list[dict[str, Any]]:
        return self._read("silent photometers", lambda r: _silent(r, since))

    def latest_readings(self, name: str | None, count: int) -> list[dict[str, Any]]:
        return self._read("latest readings", lambda r: _latest(r, name, count))

    def count_readings(self, name: str, start: datetime | None, end: datetime | None) -> int:
        return self._read("reading count", lambda r: _count(r, name, start, end))

    def reading_locations(self, mac: str, start: datetime, end: datetime) -> dict[int, int]:
        return self._read("readings by location", lambda r: r.reading_locations(mac, start, end))

    # -- the one way to change anything ----------------------------------------------------------------
    def change(self, what: str, decide: Callable[[Any], Any]) -> Any:
        def action(conn: Connection) -> Any:
            view = Reader(conn, self.dialect)
            change = decide(view)
            try:
                with self.dialect.savepoint(conn):  # a refused row leaves a clean error
                    created = apply_change(view, change)
            except self.dialect.integrity_errors as exc:
                raise BadValue(f"{what}: the database refused the change ({_first_line(exc)})") from None
            return replace(change, created=created)

        return self.store.run(f"maintenance: {what}", action, write=True)


# -- silent photometers -------------------------------------------------------------------------------
def silent_sql(tables: list[str]) -> str:
    """Current mappings whose MAC has no reading at or after (?, ?) in any of ``tables``:
    one probe of the (tess_id, date_id, time_id, ...) index per version of each MAC."""
    exists = " ".join(
        f"AND NOT EXISTS (SELECT 1 FROM tess_t t JOIN {table} f ON f.tess_id = t.tess_id "
        f"AND (f.date_id, f.time_id) >= (?, ?) WHERE t.mac_address = m.mac_address)"
        for table in tables)
    return (f"SELECT m.name, m.mac_address, m.valid_since FROM name_to_mac_t m "
            f"WHERE m.valid_state = '{CURRENT}' {exists} ORDER BY m.name")


def _silent(r: Reader, since: datetime) -> list[dict[str, Any]]:
    d, t = _key(since)
    tables = r.fact_tables()
    rows = r.conn.execute(silent_sql(tables), [d, t] * len(tables)).fetchall()
    out = []
    for name, mac, mapped_since in rows:
        last = None
        for (tess_id,) in r.conn.execute("SELECT tess_id FROM tess_t WHERE mac_address = ?", (mac,)).fetchall():
            for table in tables:
                row = r.conn.execute(f"SELECT date_id, time_id FROM {table} WHERE tess_id = ? "
                                     "ORDER BY date_id DESC, time_id DESC LIMIT 1", (tess_id,)).fetchone()
                if row is not None and (last is None or tuple(row) > last):
                    last = tuple(row)
        out.append({"name": name, "mac": mac, "mapped_since": parse_ts(mapped_since),
                    "last_reading": _from_key(*last) if last else None})
    return out


# -- readings -----------------------------------------------------------------------------------------
def reading_select(table: str) -> str:
    """The readings with their date and time from the dimensions (a LEFT JOIN, so that a
    legacy database whose date_t stops short still shows its readings)."""
    _, measures = _FACTS[table]
    cols = ", ".join(f"f.{c}" for c in (*_COMMON, *measures))
    return (f"SELECT f.date_id, f.time_id, d.sql_date, t.time, {cols} FROM {table} f "
            "LEFT JOIN date_t d ON d.date_id = f.date_id LEFT JOIN time_t t ON t.time_id = f.time_id")


def _reading_row(table: str, row: tuple, mac: str | None) -> dict[str, Any]:
    model, measures = _FACTS[table]
    date_id, time_id, sql_date, time_text, *rest = row
    common = dict(zip(_COMMON, rest[:len(_COMMON)]))
    values = dict(zip(measures, rest[len(_COMMON):]))
    if table == "tess_readings_t":
        values = {"freq1": values["frequency"], "mag1": values["magnitude"]}
    try:
        tstamp = datetime.fromisoformat(f"{sql_date} {time_text}")
    except (TypeError, ValueError):
        tstamp = _from_key(date_id, time_id)
    out: dict[str, Any] = {"name": None, "tstamp": tstamp, "mac": mac,
                           "tess_id": common["tess_id"], "model": model, "seq": common["sequence_number"]}
    for i in range(1, 5):
        out[f"freq{i}"] = values.get(f"freq{i}")
        out[f"mag{i}"] = values.get(f"mag{i}")
    for c in ("box_temperature", "sky_temperature", "signal_strength", "units_id", "location_id", "observer_id"):
        out[c] = common[c]
    return out


def _latest(r: Reader, name: str | None, count: int) -> list[dict[str, Any]]:
    if count <= 0:
        return []
    tables = r.fact_tables()
    rows: list[dict[str, Any]] = []
    if name is not None:
        for m, ids in r.windows(name):
            (d0, t0), (d1, t1) = _key(m.since), _key(m.until)
            for table in tables:
                sql = (f"{reading_select(table)} WHERE f.tess_id = ? AND (f.date_id, f.time_id) >= (?, ?) "
                       "AND (f.date_id, f.time_id) < (?, ?) ORDER BY f.date_id DESC, f.time_id DESC LIMIT ?")
                for tess_id in ids:
                    for row in r.conn.execute(sql, (tess_id, d0, t0, d1, t1, count)):
                        item = _reading_row(table, row, m.mac)
                        item["name"] = name
                        rows.append(item)
    else:
        for table in tables:
            # the primary key's order, backwards: the newest rows without sorting the table
            sql = f"{reading_select(table)} ORDER BY f.date_id DESC, f.time_id DESC, f.tess_id DESC LIMIT ?"
            rows += [_reading_row(table, row, None) for row in r.conn.execute(sql, (count,))]
        _name_readings(r, rows)
    rows.sort(key=lambda x: (x["tstamp"], x["tess_id"]), reverse=True)
    return rows[:count]


def _name_readings(r: Reader, rows: list[dict[str, Any]]) -> None:
    """Fill mac and name (the mapping valid at each reading's own time)."""
    ids = sorted({x["tess_id"] for x in rows})
    macs: dict[int, str] = {}
    for chunk in _chunks(ids):
        macs.update(r.conn.execute(f"SELECT tess_id, mac_address FROM tess_t WHERE tess_id IN "
                                   f"({','.join('?' * len(chunk))})", chunk).fetchall())
    cat = r.catalog(names=(), macs=sorted(set(macs.values())))
    by_mac: dict[str, list[NameMapping]] = {}
    for m in cat.mappings:
        by_mac.setdefault(m.mac, []).append(m)
    for x in rows:
        x["mac"] = macs.get(x["tess_id"])
        held = [m for m in by_mac.get(x["mac"], ()) if m.holds(x["tstamp"])]
        x["name"] = max(held, key=lambda m: m.since).name if held else None


def _count(r: Reader, name: str, start: datetime | None, end: datetime | None) -> int:
    total = 0
    tables = r.fact_tables()
    for m, ids in r.windows(name):
        lo = max(m.since, start) if start is not None else m.since
        hi = min(m.until, end) if end is not None else m.until
        if lo >= hi:
            continue
        (d0, t0), (d1, t1) = _key(lo), _key(hi)
        for table in tables:
            sql = (f"SELECT count(*) FROM {table} WHERE tess_id = ? AND (date_id, time_id) >= (?, ?) "
                   "AND (date_id, time_id) < (?, ?)")
            for tess_id in ids:
                total += r.conn.execute(sql, (tess_id, d0, t0, d1, t1)).fetchone()[0]
    return total


# -- applying a change ---------------------------------------------------------------------------------
def apply_change(view: Reader, change: Any) -> dict[str, Any]:
    """Write a maintenance ``Change`` on the transaction's connection; return the keys of new rows."""
    conn, dialect = view.conn, view.dialect
    created: dict[str, Any] = {}
    at = format_ts(change.at) if change.at is not None else None

    def expire(table: str, key_col: str, key: Any, what: str) -> None:
        if at is None:
            raise BadValue(f"cannot expire {what}: the change has no time")
        expire_current(conn, table, key_col, key, at, what)

    # locations
    present = view.columns("location_t")
    for loc in change.new_locations:
        cols = [c for c in loc if c != "location_id" and c in present]
        created["location_id"] = dialect.insert_next_id(conn, "location_t", "location_id", cols,
                                                        [loc[c] for c in cols])
    for location_id, fields in change.edit_locations:
        cols = [c for c in fields if c != "location_id" and c in present]
        if cols:
            cur = conn.execute(f"UPDATE location_t SET {', '.join(f'{c} = ?' for c in cols)} WHERE location_id = ?",
                               [fields[c] for c in cols] + [location_id])
            _one(cur, f"location {location_id}")

    # observers
    for observer_id in change.expire_observers:
        expire("observer_t", "observer_id", observer_id, f"observer {observer_id}")
    for new in change.new_observers:
        fields = dict(new.fields)
        fields.setdefault("valid_until", FAR_FUTURE)
        fields.setdefault("valid_state", CURRENT)
        cols = [c for c in OBSERVER_COLUMNS if c != "observer_id" and c in fields]
        values = [format_ts(fields[c]) if isinstance(fields[c], datetime) else fields[c] for c in cols]
        observer_id = dialect.insert_next_id(conn, "observer_t", "observer_id", cols, values)
        created["observer_id"] = observer_id
        if new.replaces is not None:  # the instruments' current versions follow their observer
            cur = conn.execute("UPDATE tess_t SET observer_id = ? WHERE observer_id = ? AND valid_state = ?",
                               (observer_id, new.replaces, CURRENT))
            created["instruments_moved"] = cur.rowcount

    # instruments
    for m in change.expire_mappings:
        expire("name_to_mac_t", "rowid", m.key, f"mapping {m.name} -> {m.mac}")
    for v in change.expire_versions:
        expire("tess_t", "tess_id", v.tess_id, f"instrument version {v.tess_id} of {v.mac}")
    tess_cols = view.columns("tess_t")
    for old, new in change.edit_versions:
        before, after = version_row(old), version_row(new)
        cols = [c for c, a, b in zip(VERSION_COLUMNS, before, after) if a != b and c in tess_cols]
        if cols:
            values = [after[VERSION_COLUMNS.index(c)] for c in cols]
            cur = conn.execute(f"UPDATE tess_t SET {', '.join(f'{c} = ?' for c in cols)} WHERE tess_id = ?",
                               values + [old.tess_id])
            _one(cur, f"instrument version {old.tess_id}")
    if change.new_mappings:
        plan = insert_plan("name_to_mac_t", MAPPING_COLUMNS, view.columns("name_to_mac_t"))
        for m in change.new_mappings:
            created["mapping"] = dialect.insert(conn, plan.sql, plan.row(mapping_row(m)), "rowid")
    if change.new_versions:
        plan = insert_plan("tess_t", VERSION_COLUMNS, tess_cols, OPTIONAL_VERSION_COLUMNS)
        for v in change.new_versions:
            created["tess_id"] = dialect.insert(conn, plan.sql, plan.row(version_row(v)), "tess_id")
    # stored readings moved to their site (both fact tables, every version of the MAC)
    if change.move_readings:
        created["readings_moved"] = sum(move_readings(view, move) for move in change.move_readings)
    return created


def move_readings(view: Reader, move: Any) -> int:
    """``UPDATE`` the location_id of the readings of ``move`` (a ``ReadingMove``) that are
    elsewhere; the number of rows changed."""
    (d0, t0), (d1, t1) = _key(move.start), _key(move.end)
    moved = 0
    for table in view.fact_tables():
        sql = (f"UPDATE {table} SET location_id = ? WHERE tess_id = ? AND (date_id, time_id) >= (?, ?) "
               "AND (date_id, time_id) < (?, ?) AND location_id <> ?")
        for tess_id in view.tess_ids(move.mac):
            cur = view.conn.execute(sql, (move.location_id, tess_id, d0, t0, d1, t1, move.location_id))
            moved += max(cur.rowcount, 0)
    return moved


def _one(cur: Any, what: str) -> None:
    if cur.rowcount != 1:
        raise NotFound(f"{what} is gone or not current any more: nothing changed")


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
