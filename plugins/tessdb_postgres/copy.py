"""Copy a SQLite tessdb database (4.x, 5.x or tessdb-core) into a PostgreSQL one.

Every table is read from SQLite (read-only, named columns, the columns the source lacks
take the target's defaults) in primary-key order, in chunks; each chunk is COPied into a
temporary table and inserted with ``ON CONFLICT DO NOTHING`` in ONE transaction together
with the progress row of that table (``tessdb_copy_t``: the last key copied).  A second
run goes on after the last committed key of each table: it finishes an interrupted copy,
and catches up with the rows added since (new readings have later keys); ``restart``
forgets the progress and reads everything again (rows already there are skipped).
Keys are kept (tess_id, rowid, location_id, observer_id), validity timestamps are
rewritten in the one format ``YYYY-MM-DD HH:MM:SS.ffffff`` (the 4.x ``+00:00`` and ``T``
forms too), the SERIAL sequences are moved past the highest key, and the row counts of
both databases are compared at the end.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
from loguru import logger

from tessdb_core import BadValue, StoreError
from tessdb_star.instruments import as_flag
from tessdb_star.sqlite import SQLITE, check_sqlite_file
from tessdb_star.tables import PRIMARY_KEYS
from tessdb_star.timestamps import format_ts, parse_ts

from . import schema
from .dialect import POSTGRES, QmarkConnection
from .store import ROW_ERRORS, PostgresStore

log = logger.bind(ns="copy")

#: copy order: the dimensions first, the fact tables last
TABLES: tuple[str, ...] = ("date_t", "time_t", "tess_units_t", "location_t", "observer_t", "tess_t",
                           "name_to_mac_t", "tess_readings_t", "tess_readings4c_t")
#: tables whose every key set is compared (small); the fact tables are compared by count
_BY_KEYS = frozenset(TABLES) - {"tess_readings_t", "tess_readings4c_t"}
_TIMESTAMPS = ("valid_since", "valid_until")
_REQUIRED = ("tess_t", "name_to_mac_t", "tess_readings_t")


@dataclass
class TableCopy:
    """What happened to one table."""

    table: str
    source_rows: int = 0
    read: int = 0          # source rows read by this run
    inserted: int = 0      # new rows in the target (this run)
    target_rows: int = 0
    missing: int = 0       # source keys not in the target (key-compared tables)
    failed: list[str] = field(default_factory=list)
    absent: bool = False   # not in the source
    resumed: bool = False

    @property
    def ok(self) -> bool:
        if self.absent:
            return True
        if self.table in _BY_KEYS:
            return self.missing == 0
        return self.target_rows >= self.source_rows

    def line(self) -> str:
        if self.absent:
            return f"{self.table}: not in the source, skipped"
        skipped = self.read - self.inserted - len(self.failed)
        if self.resumed and not self.read:
            return (f"{self.table}: {self.source_rows} source rows, nothing new since the last run; target "
                    f"{self.target_rows} rows: {'ok' if self.ok else 'MISMATCH'}")
        text = (f"{self.table}: {self.source_rows} source rows, {self.inserted} copied"
                f"{f', {skipped} already there' if skipped else ''}"
                f"{f', {len(self.failed)} refused' if self.failed else ''}"
                f"{' (resumed)' if self.resumed else ''}; target {self.target_rows} rows")
        if not self.ok:
            lacking = self.missing if self.table in _BY_KEYS else self.source_rows - self.target_rows
            return text + f": MISMATCH, {lacking} source rows missing"
        return text + ": ok"


class Copier:
    """``Copier(source_path, store).run()`` -> one :class:`TableCopy` per table."""

    def __init__(self, source: Path, store: PostgresStore, chunk: int = 10_000, progress: bool | None = None,
                 restart: bool = False, echo: Callable[[str], None] = print) -> None:
        if chunk < 1:
            raise BadValue("--chunk must be at least 1")
        self.source = Path(source).expanduser()
        self.store = store
        self.chunk = chunk
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.restart = restart
        self.echo = echo
        self.source_id = str(self.source.resolve())
        self._src: sqlite3.Connection | None = None

    # -- the whole copy ----------------------------------------------------------------------------
    def run(self) -> list[TableCopy]:
        src = self._open_source()
        try:
            self.store.session("copy: progress table", self._prepare)
            plans = [self._plan(src, t) for t in TABLES]
            bar = _bar(sum(p.total for p in plans), self.progress)
            try:
                for plan in plans:
                    if not plan.result.absent:
                        self._copy_table(src, plan, bar)
            finally:
                bar.close()
            self.store.session("copy: sequences", _reset_sequences)
            for plan in plans:
                if not plan.result.absent:
                    self._verify(src, plan.result)
            return [p.result for p in plans]
        finally:
            src.close()

    def _open_source(self) -> sqlite3.Connection:
        path = self.source
        if not path.is_file():
            raise StoreError(f"{path}: no such SQLite database")
        check_sqlite_file(path)
        try:
            src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from None
        missing = [t for t in _REQUIRED if t not in tables]
        if missing:
            src.close()
            raise StoreError(f"{path} is not a tessdb database: missing table(s) {', '.join(missing)}")
        return src

    def _prepare(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            conn.execute(schema.COPY_TABLE_DDL)
            if self.restart:
                conn.execute(f"DELETE FROM {schema.COPY_TABLE} WHERE source = %s", (self.source_id,))

    # -- one table ---------------------------------------------------------------------------------
    def _plan(self, src: sqlite3.Connection, table: str) -> "_Plan":
        result = TableCopy(table)
        src_cols = SQLITE.columns(src, table)
        if not src_cols:
            result.absent = True
            return _Plan(result)
        if table == "name_to_mac_t":
            src_cols.setdefault("rowid", False)  # 4.x: the implicit rowid
        target = self.store.session("copy: layout", lambda conn: POSTGRES.columns(QmarkConnection(conn), table))
        cols = tuple(c for c in target if c in src_cols)
        lacking = [c for c, required in target.items() if required and c not in src_cols]
        if lacking:
            raise StoreError(f"{self.source}: table {table} lacks column(s) {', '.join(lacking)}")
        result.source_rows = src.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        state = self.store.session("copy: progress", lambda conn: conn.execute(
            f"SELECT last_key FROM {schema.COPY_TABLE} WHERE source = %s AND table_name = %s",
            (self.source_id, table)).fetchone())
        plan = _Plan(result, cols, PRIMARY_KEYS[table])
        if state is not None and state[0]:
            plan.after = tuple(json.loads(state[0]))
            result.resumed = True
        if plan.after is not None:
            where = _after_clause(plan.keys)
            plan.total = src.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", plan.after).fetchone()[0]
        else:
            plan.total = result.source_rows
        return plan

    def _copy_table(self, src: sqlite3.Connection, plan: "_Plan", bar: Any) -> None:
        result = plan.result
        table = result.table
        convert = _converter(table, plan.cols)
        key_at = [plan.cols.index(k) for k in plan.keys]
        for rows in self._chunks(src, plan):
            rows = [convert(r) for r in rows]
            last = [rows[-1][i] for i in key_at]
            inserted, failed = self.store.session(
                f"copy: {table}", lambda conn, rows=rows, last=last: self._write_chunk(conn, plan, rows, last))
            result.read += len(rows)
            result.inserted += inserted
            result.failed += failed
            bar.update(len(rows))
        self.store.session(f"copy: {table} done", lambda conn: _save_progress(conn, self.source_id, table, None, 0,
                                                                               done=True))

    def _chunks(self, src: sqlite3.Connection, plan: "_Plan") -> Iterator[list[tuple]]:
        table, keys = plan.result.table, plan.keys
        select = ", ".join(plan.cols)  # unquoted: "rowid" quoted would not name the implicit rowid
        order = ", ".join(keys)
        after = plan.after
        while True:
            if after is None:
                sql = f"SELECT {select} FROM {table} ORDER BY {order} LIMIT ?"
                rows = src.execute(sql, (self.chunk,)).fetchall()
            else:
                sql = f"SELECT {select} FROM {table} WHERE {_after_clause(keys)} ORDER BY {order} LIMIT ?"
                rows = src.execute(sql, (*after, self.chunk)).fetchall()
            if not rows:
                return
            yield rows
            key_at = [plan.cols.index(k) for k in keys]
            after = tuple(rows[-1][i] for i in key_at)
            if len(rows) < self.chunk:
                return

    def _write_chunk(self, conn: psycopg.Connection, plan: "_Plan", rows: list[tuple], last: list
                     ) -> tuple[int, list[str]]:
        """One transaction: the rows (ON CONFLICT DO NOTHING) and the progress row."""
        table, cols = plan.result.table, plan.cols
        names = ", ".join(cols)
        temp = f"tessdb_copy_{table}"
        insert = f"INSERT INTO {table} ({names}) SELECT {names} FROM {temp} ON CONFLICT DO NOTHING"
        # with the defaults: the columns an older source lacks (5.x cover_offset, 3.x offsets) get them
        conn.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} (LIKE {table} INCLUDING DEFAULTS) "
                     "ON COMMIT DELETE ROWS")
        try:
            with conn.transaction():
                with conn.cursor() as cur:
                    with cur.copy(f"COPY {temp} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    inserted = cur.execute(insert).rowcount
                _save_progress(conn, self.source_id, table, last, len(rows))
            return inserted, []
        except ROW_ERRORS as exc:
            log.warning("copy of {}: a chunk failed as a block ({}); row by row", table,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        one = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(cols))}) ON CONFLICT DO NOTHING"
        inserted, failed = 0, []
        with conn.transaction():
            for row in rows:
                try:
                    with conn.transaction():
                        inserted += conn.execute(one, row).rowcount
                except ROW_ERRORS as exc:
                    key = {k: row[cols.index(k)] for k in plan.keys}
                    failed.append(f"{table} {key}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            _save_progress(conn, self.source_id, table, last, len(rows))
        return inserted, failed

    # -- verification ------------------------------------------------------------------------------
    def _verify(self, src: sqlite3.Connection, result: TableCopy) -> None:
        table = result.table
        result.source_rows = src.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        result.target_rows = self.store.session(f"copy: count {table}", lambda conn: conn.execute(
            f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        if table in _BY_KEYS:
            keys = PRIMARY_KEYS[table]
            names = ", ".join(keys)
            source_keys = set(src.execute(f"SELECT {names} FROM {table}").fetchall())
            target_keys = set(self.store.session(f"copy: keys {table}", lambda conn: [
                tuple(r) for r in conn.execute(f"SELECT {names} FROM {table}").fetchall()]))
            result.missing = len(source_keys - target_keys)


@dataclass
class _Plan:
    result: TableCopy
    cols: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    after: tuple | None = None
    total: int = 0


def _after_clause(keys: tuple[str, ...]) -> str:
    return f"({', '.join(keys)}) > ({', '.join('?' * len(keys))})"


def _converter(table: str, cols: tuple[str, ...]) -> Callable[[tuple], tuple]:
    """Source row -> target row: validity timestamps in the one format, authorised 0/1."""
    stamps = [i for i, c in enumerate(cols) if c in _TIMESTAMPS] if table in (
        "tess_t", "name_to_mac_t", "observer_t") else []
    auth = cols.index("authorised") if table == "tess_t" and "authorised" in cols else None
    if not stamps and auth is None:
        return tuple

    def convert(row: tuple) -> tuple:
        out = list(row)
        for i in stamps:
            out[i] = _timestamp(out[i])
        if auth is not None:
            out[auth] = _flag(out[auth])
        return tuple(out)

    return convert


def _timestamp(value: Any) -> Any:
    if value is None:
        return None
    try:
        return format_ts(parse_ts(value))
    except ValueError:
        return value  # kept as it is: the readers say which row is unreadable


def _flag(value: Any) -> Any:
    return None if value is None else int(as_flag(value))


def _save_progress(conn: psycopg.Connection, source: str, table: str, last: list | None, read: int,
                   done: bool = False) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    conn.execute(
        f"INSERT INTO {schema.COPY_TABLE} (source, table_name, last_key, copied, done, updated) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (source, table_name) DO UPDATE SET "
        f"last_key = COALESCE(EXCLUDED.last_key, {schema.COPY_TABLE}.last_key), "
        f"copied = {schema.COPY_TABLE}.copied + EXCLUDED.copied, done = EXCLUDED.done, updated = EXCLUDED.updated",
        (source, table, None if last is None else json.dumps(last), read, int(done), format_ts(now)))


def _reset_sequences(conn: psycopg.Connection) -> None:
    """Each SERIAL's next value: one past the highest key (at least 1)."""
    with conn.transaction():
        for table, col in schema.SERIALS.items():
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'), "
                         f"COALESCE((SELECT MAX({col}) FROM {table}), 0) + 1, false)")
    for table in TABLES:
        conn.execute(f"ANALYZE {table}")


def _bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="rows", unit_scale=True, desc="copy", file=sys.stderr)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass
