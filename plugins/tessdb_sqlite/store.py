"""SqliteStore: the tessdb star schema in one SQLite file.

One connection, used under a lock; every write is one explicit transaction
(``BEGIN IMMEDIATE`` so a writer never has to upgrade a read lock).  A busy or
locked database is waited for and retried, never dropped.  Databases made by the
4.x server or the 5.x tools are used as they are: named-column INSERTs adapt to
their layout, the schema and journal mode are never changed, foreign keys stay off.

The star schema itself (DDL, rows, preload, the catalogue reads, the checked
registration write) is ``tessdb_star``'s; this module is the connection, the
locking and retrying, and the bulk write of readings.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

from loguru import logger

from tessdb_core import (Catalog, FileWatch, RegistrationPlan, ResolvedReading, StoreBusy, StoreError,
                        StoreUnavailable, WriteReport, rescue_file as rescue, sqlite_is_busy as is_busy)
from tessdb_star.catalog import read_catalog
from tessdb_star.changes import apply_registration
from tessdb_star.ddl import compat_statements, statements
from tessdb_star.layout import Layout, SchemaState, read_layout
from tessdb_star.preload import config_rows, preload_rows
from tessdb_star.readings import split_rows
from tessdb_star.sqlite import SQLITE, check_sqlite_file, sqlite_path
from tessdb_star.tables import REQUIRED_TABLES

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
        #: the INSERTs of this database's layout (None while closed)
        self._layout: Layout | None = None
        self._data_version: int | None = None
        self.journal_mode: str = ""
        #: is the file we write still the one at the path (checked before each write)
        self._watch = FileWatch(path)
        #: times the file was found deleted or replaced and put back from the open connection
        self.rescues = 0
        #: a registration was committed without a sync of its own (WAL mode): the next
        #: synced commit, or :meth:`sync`, makes it durable
        self._unsynced = False

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r}, open={self._conn is not None})"

    # -- lifecycle -----------------------------------------------------------------------------
    def initialise(self) -> str:
        """Create schema + preload in one transaction, then switch the file to WAL.

        Beside the star schema, ``config_t`` with the rows the 4.x server reads at start
        (``ddl.compat_statements``, ``preload.config_rows``): the old server can then
        reopen the file (a way back), and no tool of ours or of 5.x reads that table.
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
                state = SQLITE.schema_state(conn)
                if not state.empty:  # someone else got there first
                    verdict = self._verdict(conn, state)
                    raise _AlreadyDone(verdict)
                for statement in statements(SQLITE.types) + compat_statements(SQLITE.types):
                    conn.execute(statement)
                for table, cols, rows in (*preload_rows(), config_rows()):
                    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                     rows)
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
                state = SQLITE.schema_state(conn)
                missing = [t for t in REQUIRED_TABLES if t not in state.tables]
                if missing:
                    raise StoreError(f"{path} is not a tessdb database: missing table(s) {', '.join(missing)}")
                layout = read_layout(partial(SQLITE.columns, conn))
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
            self._layout = layout
            self._watch.arm()
            # the baseline for changed_elsewhere(): changes made after this open are noticed
            self._data_version = conn.execute("PRAGMA data_version").fetchone()[0]
            log.info("Opened database {} (journal_mode={})", path, self.journal_mode)

    def close(self) -> None:
        """Close the connection (pause, stop); a later open() reconnects."""
        with self._lock:
            if self._conn is not None:
                try:
                    self.sync()
                except StoreUnavailable as exc:  # the registrations stay in the inbox: replayed
                    log.warning("{}", exc)
                self._drop_connection()
                log.info("Closed database {}", self.path)

    def _drop_connection(self) -> None:
        self._watch.close()
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._data_version = None

    def _still_ours(self) -> None:
        """Before each write: the file at the path must be the one this store opened.  A
        deleted or replaced ``tess.db`` is never left behind nor replaced by a new empty
        database: what the open connection reads is copied into a new file at the path
        (synced; a stranger's file set aside), one log line per step.  StoreUnavailable
        when the copy cannot be made: the readings wait in the inbox, retried."""
        self._watch.arm_wal()
        problem = self._watch.problem()
        if problem is None or self._conn is None:
            return
        path = self.path
        log.error("Database {} {} under the running service; readings wait in the inbox until it is put back",
                  path, problem)
        try:
            done = rescue(self._conn, self._watch, self._drop_connection)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"database {path} {problem} and cannot be copied back now: {exc}") from None
        if done.set_aside_as is not None:
            log.warning("Database {}: the other file found at the path was set aside as {}", path, done.set_aside_as)
        self.rescues += 1
        self.open()
        log.warning("Database {}: what the open file held was copied into a new file at the path (synced); "
                    "writes go on there", path)

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
        """Every name_to_mac_t and tess_t row, as catalogue Mappings and Versions (one snapshot)."""

        def read(conn: sqlite3.Connection) -> Catalog:
            with _transaction(conn, "DEFERRED"):
                return read_catalog(conn, self._open_layout().tess_columns)

        return self._retrying("catalogue load", read)

    def apply_registration(self, plan: RegistrationPlan) -> RegistrationPlan:
        """Expire and insert as the plan says, in one transaction (``BEGIN IMMEDIATE``: no other
        writer meanwhile); return it with new keys.  StoreConflict, nothing written, when a row
        to expire is not Current any more or another writer made the new rows meanwhile (a
        maintenance command, an operator's SQL): the pipeline reloads and decides again."""
        if not plan.changes_anything:
            return plan

        lazy = self.journal_mode == "wal"

        def apply(conn: sqlite3.Connection) -> RegistrationPlan:
            if not lazy:
                with _transaction(conn):
                    return apply_registration(conn, SQLITE, self._open_layout(), plan)
            # WAL: commit without a sync; the WAL is appended in order, so the next synced
            # commit (a batch of readings) or sync() makes this one durable too: a burst of
            # registrations (a fleet rebooting, an offline ingest) costs one sync, not one each
            conn.execute("PRAGMA synchronous=NORMAL")
            try:
                with _transaction(conn):
                    applied = apply_registration(conn, SQLITE, self._open_layout(), plan)
                self._unsynced = True
                return applied
            finally:
                conn.execute("PRAGMA synchronous=FULL")

        with self._lock:
            self._still_ours()
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
            self._still_ours()
            layout = self._open_layout()
            w_plan, c_plan = layout.w, layout.c
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
                if report.stored:  # a synced commit that wrote: every earlier commit is durable too
                    self._unsynced = False
            except _ROW_ERRORS as exc:
                log.warning("Writing {} readings as one block failed ({}); writing them one by one",
                            len(w_rows) + len(c_rows), _first_line(exc))
                todo = [(w_plan.sql, row, item) for row, item in zip(w_rows, w_items)]
                if c_rows:
                    todo += [(c_plan.sql, row, item) for row, item in zip(c_rows, c_items)]
                report.stored, report.duplicates, failed = self._retrying(
                    "readings write (row by row)", lambda conn: _write_each(conn, todo))
                report.failed.extend(failed)
            self.sync()  # a batch that wrote nothing synced nothing: the earlier commits now
        report.failed.extend(bad)
        for item, why in report.failed:  # the pipeline logs them as errors when it quarantines them
            log.debug("Reading of {} at {} (seq {}) not stored: {}", item.reading.name, item.reading.tstamp,
                      item.reading.seq, why)
        if report.duplicates or report.failed:
            log.info("Rejected [{}/{}] readings: {} duplicated, {} failed", len(report.duplicates) + len(report.failed),
                     len(batch), len(report.duplicates), len(report.failed))
        return report

    def sync(self) -> None:
        """Make every commit so far durable: registrations commit without a sync of their
        own in WAL mode (an ``fdatasync`` of the WAL, the file every commit went to).
        Raises StoreUnavailable (an I/O error: nothing is known to be durable)."""
        with self._lock:
            if not self._unsynced:
                return
            if self._conn is None:  # close() could not sync: after the next open()
                raise StoreUnavailable(f"database {self.path} is not open")
            try:
                fd = os.open(self.path.with_name(self.path.name + "-wal"), os.O_RDONLY)
                try:
                    os.fdatasync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise StoreUnavailable(f"cannot sync {self.path}: {exc.strerror or exc}") from None
            self._unsynced = False

    # -- for the query modules of the tools (reports, maintenance) --------------------------------
    def run(self, what: str, action: Callable[[sqlite3.Connection], T], write: bool = False) -> T:
        """Run ``action(conn)`` as one transaction (``BEGIN IMMEDIATE`` when ``write``),
        waiting for and retrying a locked database like every other store operation."""

        def in_transaction(conn: sqlite3.Connection) -> T:
            with _transaction(conn, "IMMEDIATE" if write else "DEFERRED"):
                return action(conn)

        return self._retrying(what, in_transaction)

    # -- plumbing ------------------------------------------------------------------------------
    def _open_layout(self) -> Layout:
        layout = self._layout
        if layout is None or self._conn is None:
            raise StoreUnavailable(f"database {self.path} is not open")
        return layout

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(str(self.path), timeout=self._sqlite_wait(), isolation_level=None,
                               check_same_thread=False)

    def _inspect_for_init(self) -> tuple[SchemaState, str | None]:
        """Read-only look at an existing file: (state, "already initialised" message or None)."""
        conn = self._connect()
        try:
            state = SQLITE.schema_state(conn)
            return state, (None if state.empty else self._verdict(conn, state))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable SQLite database: {exc}") from None
        finally:
            conn.close()

    def _verdict(self, conn: sqlite3.Connection, state: SchemaState) -> str:
        """The "already initialised" message for a complete schema; StoreError otherwise.

        Told apart by their columns, not by config_t (which ``init`` makes too, for the
        4.x server): 4.x has name_to_mac_t's implicit rowid, 5.x declares it, and
        tessdb-core declares it and keeps the legacy tess_t columns (cover_offset, ...)."""
        state.check_complete(str(self.path))
        if "rowid" not in SQLITE.columns(conn, "name_to_mac_t"):
            kind = "4.x legacy schema"
        elif "cover_offset" in SQLITE.columns(conn, "tess_t"):
            kind = "tessdb-core schema"
        else:
            kind = "5.x schema"
        return state.already_initialised(str(self.path), kind)

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
                    if not isinstance(exc, sqlite3.OperationalError) or not is_busy(exc):
                        raise StoreUnavailable(f"{what} failed on {self.path}: {exc}") from None
                    if self.patience is not None and time.monotonic() - started >= self.patience:
                        raise StoreBusy(f"{what}: database {self.path} is locked by another program") from None
                    attempt += 1
                    delay = min(self.retry_delay * attempt, 5.0)
                    # the live service (a patience) logs its outage's start and end itself
                    (log.debug if self.patience is not None else log.warning)(
                        "Database {} is locked during {} ({}); retry #{} in {:.1f} s", self.path, what, exc, attempt,
                        delay)
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


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
