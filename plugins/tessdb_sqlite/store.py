"""SqliteStore: the tessdb star schema in one SQLite file.

One connection, used under a lock; every write is one explicit transaction
(``BEGIN IMMEDIATE`` so a writer never has to upgrade a read lock).  A busy or
locked database is waited for and retried, never dropped.  Databases made by the
4.x server or the 5.x tools are used as they are: named-column INSERTs adapt to
their layout, the schema and journal mode are never changed, foreign keys stay off.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

from loguru import logger

from tessdb_core.catalog import EXPIRED, Catalog, RegistrationPlan
from tessdb_core.contracts import ResolvedReading, StoreBusy, StoreError, StoreUnavailable, WriteReport

from . import schema
from .inserts import InsertPlan, insert_plan
from .instruments import (MAPPING_COLUMNS, OPTIONAL_VERSION_COLUMNS, VERSION_COLUMNS, mapping_from_row,
                          mapping_row, version_from_row, version_row)
from .introspect import SchemaState, check_sqlite_file, columns, schema_state
from .preload import preload
from .readings import C_COLUMNS, OPTIONAL_COLUMNS, W_COLUMNS, split_rows
from .timestamps import format_ts
from .urls import sqlite_path

log = logger.bind(ns="dbase")

T = TypeVar("T")

#: errors that belong to one row rather than to the database: retry the batch row by row.
#: Any other SQLite error (full disk, read-only file, I/O error, damaged file) is the
#: database's: StoreUnavailable, the batch is kept and retried, never quarantined.
_ROW_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError, sqlite3.ProgrammingError,
               OverflowError, TypeError,
               ValueError)


class SqliteStore:
    """The default store (``tessdb_core.contracts.Store``) for a SQLite file."""

    def __init__(self, url: str, settings: Any = None, *, busy_timeout: float = 60.0,
                 retry_delay: float = 0.5) -> None:
        """``busy_timeout``: seconds SQLite itself waits for a lock; after that the
        store keeps retrying every ``retry_delay`` (growing to 5 s) with a warning."""
        path = sqlite_path(url)
        if path is None:
            raise StoreError(f"{url!r} is not a SQLite file path or sqlite:/// URL")
        self.url = url
        self.path: Path = path
        self.settings = settings
        self.busy_timeout = busy_timeout
        #: seconds to wait for a held database before raising StoreBusy (None: forever)
        self.patience: float | None = None
        self.retry_delay = retry_delay
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._w: InsertPlan | None = None
        self._c: InsertPlan | None = None
        self._version_plan: InsertPlan | None = None
        self._mapping_plan: InsertPlan | None = None
        self._tess_columns: tuple[str, ...] = ()
        self._data_version: int | None = None
        self.journal_mode: str = ""

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r}, open={self._conn is not None})"

    # -- lifecycle -----------------------------------------------------------------------------
    def initialise(self) -> str:
        """Create schema + preload in one transaction, then switch the file to WAL.

        Changes nothing in a database that already has the tessdb tables; refuses a
        file that is not SQLite, has only foreign tables or only part of ours."""
        path = self.path
        check_sqlite_file(path)
        if path.exists() and path.stat().st_size > 0:
            state, verdict = self._inspect_for_init()
            if verdict is not None:
                return verdict
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            with _transaction(conn):
                state = schema_state(conn)
                if not state.empty:  # someone else got there first
                    verdict = self._verdict(conn, state)
                    raise _AlreadyDone(verdict)
                for statement in schema.STATEMENTS:
                    conn.execute(statement)
                preload(conn)
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except _AlreadyDone as done:
            return done.message
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot initialise {path}: {exc}") from None
        finally:
            conn.close()
        log.info("Initialised tessdb database {} (journal_mode={})", path, mode)
        return f"initialised {path}: tessdb schema created and preloaded (journal_mode={mode})"

    def open(self) -> None:
        """Connect and learn the layout; never alters schema or journal mode."""
        with self._lock:
            if self._conn is not None:
                return
            path = self.path
            check_sqlite_file(path)
            if not path.is_file() or path.stat().st_size == 0:
                raise StoreError(f"database {path} does not exist or is empty: run `tessdb-core init` first")
            conn = self._connect()
            try:
                conn.execute("PRAGMA foreign_keys=OFF")  # never enforced, whatever the build default
                state = schema_state(conn)
                missing = [t for t in schema.REQUIRED_TABLES if t not in state.tables]
                if missing:
                    raise StoreError(f"{path} is not a tessdb database: missing table(s) {', '.join(missing)}")
                tess_cols = columns(conn, "tess_t")
                self._version_plan = insert_plan("tess_t", VERSION_COLUMNS, tess_cols, OPTIONAL_VERSION_COLUMNS)
                self._mapping_plan = insert_plan("name_to_mac_t", MAPPING_COLUMNS, columns(conn, "name_to_mac_t"))
                self._w = insert_plan("tess_readings_t", W_COLUMNS, columns(conn, "tess_readings_t"), OPTIONAL_COLUMNS)
                c_cols = columns(conn, "tess_readings4c_t")
                self._c = insert_plan("tess_readings4c_t", C_COLUMNS, c_cols, OPTIONAL_COLUMNS) if c_cols else None
                self._tess_columns = tuple(tess_cols)
                conn.execute("PRAGMA cache_size=-32768")  # 32 MiB: the per-instrument index pages stay hot
                self.journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0].lower()
                if self.journal_mode == "wal":
                    # a commit syncs the WAL: a batch is on the disk before its inbox entries
                    # are deleted (one fsync per batch, not per reading)
                    conn.execute("PRAGMA synchronous=FULL")
                    # each batch rewrites one index leaf per instrument: checkpointing less
                    # often writes each leaf once instead of several times (~25% faster)
                    conn.execute("PRAGMA wal_autocheckpoint=10000")
                    conn.execute("PRAGMA journal_size_limit=67108864")
            except sqlite3.OperationalError as exc:
                conn.close()  # a full disk (no room for the -wal/-shm), an I/O error, a lock: try again later
                raise StoreUnavailable(f"cannot open {path}: {exc}") from None
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise StoreError(f"cannot open {path}: {exc}") from None
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            # the baseline for changed_elsewhere(): changes made after this open are noticed
            self._data_version = conn.execute("PRAGMA data_version").fetchone()[0]
            log.info("Opened database {} (journal_mode={})", path, self.journal_mode)

    def close(self) -> None:
        """Close the connection (pause, stop); a later open() reconnects."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self._data_version = None
                log.info("Closed database {}", self.path)

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def set_patience(self, seconds: float | None) -> None:
        """The live service waits briefly (and keeps receiving) instead of blocking on a lock."""
        with self._lock:
            self.patience = seconds
            if self._conn is not None:
                self._conn.execute(f"PRAGMA busy_timeout = {int(self._sqlite_wait() * 1000)}")

    def _sqlite_wait(self) -> float:
        return self.busy_timeout if self.patience is None else min(self.busy_timeout, self.patience)

    def changed_elsewhere(self) -> bool:
        """True when another connection (a maintenance command, an operator's SQL session)
        committed since the last call: the service then reloads its catalogue.  Cheap:
        SQLite's ``PRAGMA data_version``, no table is read."""
        with self._lock:
            if self._conn is None:
                return False
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            changed = self._data_version is not None and version != self._data_version
            self._data_version = version
            return changed

    # -- the catalogue -------------------------------------------------------------------------
    def load_catalog(self) -> Catalog:
        """Every name_to_mac_t and tess_t row, as catalogue Mappings and Versions."""
        cols = self._tess_columns
        version_sql = f"SELECT {', '.join(_quote(c) for c in cols)} FROM tess_t ORDER BY tess_id"
        mapping_sql = ("SELECT rowid, name, mac_address, valid_since, valid_until, valid_state "
                       "FROM name_to_mac_t ORDER BY rowid")
        map_cols = ("rowid", "name", "mac_address", "valid_since", "valid_until", "valid_state")

        def read(conn: sqlite3.Connection) -> tuple[list, list]:
            with _transaction(conn, "DEFERRED"):
                maps = conn.execute(mapping_sql).fetchall()
                vers = conn.execute(version_sql).fetchall()
            return maps, vers

        maps, vers = self._retrying("catalogue load", read)
        return Catalog(
            mappings=[mapping_from_row(dict(zip(map_cols, r))) for r in maps],
            versions=[version_from_row(dict(zip(cols, r))) for r in vers],
        )

    def apply_registration(self, plan: RegistrationPlan) -> RegistrationPlan:
        """Expire and insert as the plan says, in one transaction; return it with new keys."""
        if not plan.changes_anything:
            return plan
        at = format_ts(plan.at)
        mapping_plan, version_plan = self._mapping_plan, self._version_plan
        assert mapping_plan is not None and version_plan is not None

        def apply(conn: sqlite3.Connection) -> RegistrationPlan:
            with _transaction(conn):
                for m in plan.expire_mappings:
                    _expire(conn, "name_to_mac_t", "rowid", m.key, at, f"mapping {m.name} -> {m.mac}")
                for v in plan.expire_versions:
                    _expire(conn, "tess_t", "tess_id", v.tess_id, at, f"instrument {v.mac}")
                new_mapping, new_version = plan.new_mapping, plan.new_version
                if new_mapping is not None:
                    cur = conn.execute(mapping_plan.sql, mapping_plan.row(mapping_row(new_mapping)))
                    new_mapping = replace(new_mapping, key=cur.lastrowid)
                if new_version is not None:
                    cur = conn.execute(version_plan.sql, version_plan.row(version_row(new_version)))
                    new_version = replace(new_version, tess_id=cur.lastrowid)
            return replace(plan, new_mapping=new_mapping, new_version=new_version)

        try:
            return self._retrying("registration", apply)
        except _ROW_ERRORS as exc:
            raise StoreError(f"registration ({plan.case}) not applied to {self.path}: {exc}") from None

    # -- readings ------------------------------------------------------------------------------
    def write_readings(self, batch: Sequence[ResolvedReading]) -> WriteReport:
        """One transaction for the batch; on a row error, row by row (duplicates and
        failures reported, the rest stored).  Raises StoreError only when the database
        itself fails (disk full, read-only, corrupt), never for a row."""
        report = WriteReport()
        if not batch:
            return report
        w_items, w_rows, c_items, c_rows, bad = split_rows(batch)
        with self._lock:
            w_plan, c_plan = self._w, self._c
            if w_plan is None:
                raise StoreUnavailable(f"database {self.path} is not open")
            if c_items and c_plan is None:
                bad.extend((r, "this database has no tess_readings4c_t table") for r in c_items)
                c_items, c_rows = [], []
            w_rows = w_plan.rows(w_rows)
            if c_rows:
                c_rows = c_plan.rows(c_rows)

            def write_all(conn: sqlite3.Connection) -> None:
                with _transaction(conn):
                    if w_rows:
                        conn.executemany(w_plan.sql, w_rows)
                    if c_rows:
                        conn.executemany(c_plan.sql, c_rows)

            try:
                self._retrying("readings write", write_all)
                report.stored = len(w_rows) + len(c_rows)
            except _ROW_ERRORS as exc:
                log.warning("Writing {} readings as one block failed ({}); writing them one by one",
                            len(w_rows) + len(c_rows), _first_line(exc))
                todo = [(w_plan.sql, row, item) for row, item in zip(w_rows, w_items)]
                if c_rows:
                    todo += [(c_plan.sql, row, item) for row, item in zip(c_rows, c_items)]
                report.stored, report.duplicates, failed = self._retrying(
                    "readings write (row by row)", lambda conn: _write_each(conn, todo))
                report.failed.extend(failed)
        report.failed.extend(bad)
        for item, why in report.failed:  # the pipeline logs them as errors when it quarantines them
            log.debug("Reading of {} at {} (seq {}) not stored: {}", item.reading.name, item.reading.tstamp,
                      item.reading.seq, why)
        if report.duplicates or report.failed:
            log.info("Rejected [{}/{}] readings: {} duplicated, {} failed", len(report.duplicates) + len(report.failed),
                     len(batch), len(report.duplicates), len(report.failed))
        return report

    # -- for the query modules of the tools (reports, maintenance) --------------------------------
    def run(self, what: str, action: Callable[[sqlite3.Connection], T], write: bool = False) -> T:
        """Run ``action(conn)`` as one transaction (``BEGIN IMMEDIATE`` when ``write``),
        waiting for and retrying a locked database like every other store operation."""

        def in_transaction(conn: sqlite3.Connection) -> T:
            with _transaction(conn, "IMMEDIATE" if write else "DEFERRED"):
                return action(conn)

        return self._retrying(what, in_transaction)

    # -- plumbing ------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(str(self.path), timeout=self._sqlite_wait(), isolation_level=None,
                               check_same_thread=False)

    def _inspect_for_init(self) -> tuple[SchemaState, str | None]:
        """Read-only look at an existing file: (state, "already initialised" message or None)."""
        conn = self._connect()
        try:
            state = schema_state(conn)
            return state, (None if state.empty else self._verdict(conn, state))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable SQLite database: {exc}") from None
        finally:
            conn.close()

    def _verdict(self, conn: sqlite3.Connection, state: SchemaState) -> str:
        """The "already initialised" message for a complete schema; StoreError otherwise."""
        if not state.complete:
            ours = state.tables & schema.OUR_TABLES
            if not ours:
                raise StoreError(f"{self.path} is not a tessdb database (it has foreign tables: "
                                 f"{', '.join(state.foreign) or ', '.join(sorted(state.others))}); not touching it")
            raise StoreError(f"{self.path} has only part of the tessdb schema (missing "
                             f"{', '.join(state.missing)}); not touching it")
        if "config_t" in state.tables:
            kind = "4.x legacy schema"
        elif "cover_offset" in columns(conn, "tess_t"):
            kind = "tessdb-core schema"
        else:
            kind = "5.x schema"
        extra = f"; other tables left alone: {', '.join(state.foreign)}" if state.foreign else ""
        return f"{self.path} already initialised ({kind}); nothing changed{extra}"

    def _retrying(self, what: str, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``action`` (one whole transaction) until it is not refused by a lock.  Row
        errors pass through; any other SQLite error becomes StoreUnavailable."""
        attempt = 0
        started = time.monotonic()
        with self._lock:
            while True:
                conn = self._conn
                if conn is None:
                    raise StoreUnavailable(f"database {self.path} is not open")
                try:
                    return action(conn)
                except _ROW_ERRORS:
                    raise
                except sqlite3.Error as exc:
                    if not isinstance(exc, sqlite3.OperationalError) or not _is_busy(exc):
                        raise StoreUnavailable(f"{what} failed on {self.path}: {exc}") from None
                    if self.patience is not None and time.monotonic() - started >= self.patience:
                        raise StoreBusy(f"{what}: database {self.path} is locked by another program") from None
                    attempt += 1
                    delay = min(self.retry_delay * attempt, 5.0)
                    log.warning("Database {} is locked during {} ({}); retry #{} in {:.1f} s",
                                self.path, what, exc, attempt, delay)
                    time.sleep(delay)


class _AlreadyDone(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@contextmanager
def _transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back on any exception (the connection is in autocommit mode)."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        raise


def _expire(conn: sqlite3.Connection, table: str, key_col: str, key: Any, at: str, what: str) -> None:
    if key is None:
        raise StoreError(f"cannot expire {what}: it has no {key_col}")
    cur = conn.execute(f"UPDATE {table} SET valid_until = ?, valid_state = ? WHERE {key_col} = ?",
                       (at, EXPIRED, key))
    if cur.rowcount != 1:
        raise StoreError(f"cannot expire {what}: no {table} row with {key_col} = {key}")


def _write_each(conn: sqlite3.Connection, todo: list[tuple[str, tuple, ResolvedReading]]
                ) -> tuple[int, list[ResolvedReading], list[tuple[ResolvedReading, str]]]:
    """Each row on its own statement inside one transaction: a failed INSERT undoes
    only itself, so the good rows of the batch are kept."""
    stored = 0
    duplicates: list[ResolvedReading] = []
    failed: list[tuple[ResolvedReading, str]] = []
    with _transaction(conn):
        for sql, row, item in todo:
            try:
                conn.execute(sql, row)
                stored += 1
            except sqlite3.IntegrityError as exc:
                if _is_duplicate(exc):
                    duplicates.append(item)
                else:
                    failed.append((item, f"IntegrityError: {exc}"))
            except _ROW_ERRORS as exc:
                failed.append((item, f"{type(exc).__name__}: {exc}"))
    return stored, duplicates, failed


def _is_duplicate(exc: sqlite3.IntegrityError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE") or \
        str(exc).startswith("UNIQUE constraint failed")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
        return True
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
