"""PostgresStore: the tessdb star schema on a PostgreSQL server, shared by several collectors.

One connection (autocommit, explicit transactions), used under a lock.  What differs
from the SQLite store, because several collectors write to one database at once:

* Readings: each batch is COPied into a session temporary table, then
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`` its keys; the rows not
  returned are the duplicates (another collector, a replay, the same key twice in a
  batch).  A batch that fails for another reason is retried row by row, each row in its
  own savepoint: duplicates and failures are reported, the rest stored.
* Registrations: one transaction that first takes transaction-level advisory locks
  (shared on the catalogue, exclusive on each MAC and name the plan touches, in key
  order) and then applies the plan with ``tessdb_star.changes.apply_registration``,
  which re-checks its preconditions (the rows to expire are still Current, no other
  writer made the new rows) and raises ``StoreConflict`` otherwise, as on SQLite: two
  collectors never create two Current rows.  Maintenance changes take the catalogue
  lock exclusively.
* Catalogue refresh: triggers on ``tess_t`` and ``name_to_mac_t`` NOTIFY the channel
  ``tessdb_catalog``; the store LISTENs, and :meth:`changed_elsewhere` polls (without
  blocking) for a notification sent by another session.
* Lock waits: ``set_patience(s)`` sets ``lock_timeout``; a lock held longer raises
  StoreBusy (nothing written).
* The database failing (connection lost, server shut down, disk full, out of memory,
  read-only, ...) raises StoreUnavailable, naming the database and the problem: nothing
  was written, the engine keeps the batch in its inbox and calls again later.  A broken
  connection is closed and a new one opened (and LISTENing) at the next call, or within
  the call while the patience lasts (``reconnect_for`` seconds when it is unlimited).
  Only a row's own fault (SQLSTATE class 22 data exception, 23 integrity constraint
  violation) makes that row a failure in the WriteReport.
* Durability: every session runs with ``synchronous_commit = on`` whatever the server or
  database default, so a commit returns once it is on the server's disk; a server with
  ``fsync = off`` is reported once at open (its commits do not survive a power cut).

The star schema itself (DDL, rows, preload, the catalogue reads, the checked
registration write) is ``tessdb_star``'s; this module is the connection, the
locking and retrying, and the bulk write of readings.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Iterator, Sequence, TypeVar

import psycopg
from loguru import logger
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from tessdb_core import (Catalog, RegistrationPlan, ResolvedReading, StoreBusy, StoreConflict, StoreError,
                        StoreUnavailable, WriteReport)
from tessdb_star.catalog import read_catalog
from tessdb_star.changes import apply_registration
from tessdb_star.layout import Layout, SchemaState, read_layout
from tessdb_star.preload import preload_rows
from tessdb_star.readings import split_rows
from tessdb_star.tables import C_COLUMNS, W_COLUMNS

from . import dialect, schema
from .dialect import POSTGRES, QmarkConnection
from .urls import postgres_conninfo, redact

log = logger.bind(ns="dbase")

T = TypeVar("T")

#: errors that belong to one row rather than to the database (SQLSTATE class 22 data exception,
#: 23 integrity constraint violation, a value the driver cannot send): retry the batch row by
#: row.  Any other database error is the database's (StoreUnavailable): no row is blamed.
ROW_ERRORS = (psycopg.DataError, psycopg.IntegrityError, OverflowError, TypeError, ValueError)
#: transient refusals: the transaction is simply run again
_RETRY = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)

def _marks(columns: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(columns))


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def lock_key(kind: str, value: str) -> int:
    """A stable signed 64-bit advisory-lock key for (kind, value), the same in every collector."""
    digest = hashlib.blake2b(f"tessdb:{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


#: shared by registrations, exclusive for maintenance changes
CATALOG_KEY = lock_key("catalog", "")
#: held while initialising, so that two `init` runs do not race
INIT_KEY = lock_key("init", "")


#: the name this plugin gave ``StoreConflict`` before every store raised it (``tessdb_star.changes``)
RegistrationConflict = StoreConflict


class PostgresStore:
    """A ``tessdb_core.contracts.Store`` for a ``postgresql://`` URL."""

    def __init__(self, url: str, settings: Any = None, *, reconnect_for: float = 60.0) -> None:
        conninfo = postgres_conninfo(url)
        if conninfo is None:
            raise StoreError(f"{url!r} is not a postgresql:// URL")
        self._conninfo = conninfo
        #: where it points, password hidden (for logs and messages)
        self.url = redact(url)
        self.settings = settings
        #: seconds to wait for a lock (StoreBusy) or an unreachable server (StoreUnavailable); None: no limit
        self.patience: float | None = None
        #: with unlimited patience, how long to keep trying to reconnect before StoreUnavailable
        self.reconnect_for = reconnect_for
        self._conn: psycopg.Connection | None = None
        self._opened = False
        self._pid: int | None = None
        self._missed = False  # notifications may have been lost (reconnection)
        self._lock = threading.RLock()
        self._password = conninfo_to_dict(conninfo).get("password") or None
        self._fsync_warned = False
        #: the INSERTs of this database's layout (learnt at open)
        self._layout: Layout | None = None

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r}, open={self._opened})"

    # -- lifecycle -----------------------------------------------------------------------------
    def initialise(self) -> str:
        """Create schema + preload in one transaction (under an advisory lock, so two
        concurrent runs do not race).  Changes nothing in a database that already has
        the tessdb tables; refuses one with only foreign tables or part of ours."""
        conn = self._connect()
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (INIT_KEY,))
                state = POSTGRES.schema_state(QmarkConnection(conn))
                if not state.empty:
                    return self._verdict(state)
                for statement in schema.STATEMENTS:
                    conn.execute(statement)
                preload(conn)
        except psycopg.Error as exc:
            raise StoreError(f"cannot initialise {self.url}: {self._say(exc)}") from None
        finally:
            conn.close()
        log.info("Initialised tessdb database {}", self.url)
        return f"initialised {self.url}: tessdb schema created and preloaded (PostgreSQL)"

    def _verdict(self, state: SchemaState) -> str:
        state.check_complete(self.url)
        return state.already_initialised(self.url, "tessdb-core schema on PostgreSQL")

    def open(self) -> None:
        """Connect, check the schema (without altering it), LISTEN for catalogue changes."""
        with self._lock:
            if self._conn is not None:
                return
            conn = self._connect()
            try:
                state = POSTGRES.schema_state(QmarkConnection(conn))
                if state.empty:
                    raise StoreError(f"database {self.url} is empty: run `tessdb-core init --db URL` first")
                missing = [t for t in schema.REQUIRED_TABLES if t not in state.tables]
                if missing:
                    raise StoreError(f"{self.url} is not a tessdb database: missing table(s) {', '.join(missing)}")
                layout = read_layout(partial(POSTGRES.columns, QmarkConnection(conn)))
                self._prepare(conn)
                self._check_fsync(conn)
            except psycopg.Error as exc:  # the server's (down, read-only, ...): a later open may do
                conn.close()
                raise StoreUnavailable(f"cannot open {self.url}: {self._say(exc)}") from None
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            self._layout = layout
            self._opened = True
            self._missed = False
            log.info("Opened database {}", self.url)

    def _check_fsync(self, conn: psycopg.Connection) -> None:
        """Warn (once per store) when the server does not fsync: synchronous_commit cannot help."""
        if not self._fsync_warned and conn.execute("SHOW fsync").fetchone()[0] == "off":
            self._fsync_warned = True
            log.warning("Database server of {} runs with fsync = off: commits are not durable against a "
                        "power cut or an OS crash on that server", self.url)

    def _prepare(self, conn: psycopg.Connection) -> None:
        """Session set-up, also after a reconnection: LISTEN, patience, temporary tables."""
        conn.execute(f"LISTEN {schema.CHANNEL}")
        for temp, table in (("tessdb_in_w", "tess_readings_t"), ("tessdb_in_c", "tess_readings4c_t")):
            conn.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} (LIKE {table}) ON COMMIT DELETE ROWS")
        _set_lock_timeout(conn, self.patience)
        self._pid = conn.info.backend_pid

    def close(self) -> None:
        """Close the connection (pause, stop); a later open() reconnects."""
        with self._lock:
            self._opened = False
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None
                log.info("Closed database {}", self.url)

    @property
    def is_open(self) -> bool:
        return self._opened

    def set_patience(self, seconds: float | None) -> None:
        """``lock_timeout`` of the session: how long a write waits for a lock held by
        another session (a collector, a maintenance command, an operator's SQL)."""
        with self._lock:
            self.patience = seconds
            if self._conn is not None:
                try:
                    _set_lock_timeout(self._conn, seconds)
                except psycopg.Error:
                    pass  # a broken connection: applied again at the reconnection

    def changed_elsewhere(self) -> bool:
        """True when another session changed tess_t or name_to_mac_t since the last call
        (a NOTIFY on ``tessdb_catalog``, polled without blocking), or when a reconnection
        may have missed one: the service then reloads its catalogue.  StoreUnavailable
        when the server cannot be reached (a later call reconnects, then says True)."""

        def poll(conn: psycopg.Connection) -> bool:
            changed = False
            for note in conn.notifies(timeout=0):  # drain them all: each change is told once
                if note.pid != self._pid:
                    changed = True
            return changed

        with self._lock:
            if not self._opened:
                return False
            changed = self._retrying("catalogue-change check", poll)
            missed, self._missed = self._missed, False
            return changed or missed

    # -- the catalogue -------------------------------------------------------------------------
    def load_catalog(self) -> Catalog:
        """Every name_to_mac_t and tess_t row, read in one snapshot."""

        def read(conn: psycopg.Connection) -> Catalog:
            with _read_transaction(conn):
                return read_catalog(QmarkConnection(conn), self._open_layout().tess_columns)

        return self._retrying("catalogue load", read)

    def apply_registration(self, plan: RegistrationPlan) -> RegistrationPlan:
        """Lock the plan's MACs and names, then expire and insert in one transaction with
        ``tessdb_star``'s checked write; return the plan with the new keys.  StoreConflict
        when another writer changed those rows since the plan was decided."""
        if not plan.changes_anything:
            return plan

        def apply(conn: psycopg.Connection) -> RegistrationPlan:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (CATALOG_KEY,))
                for key in plan_lock_keys(plan):
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
                return apply_registration(QmarkConnection(conn), POSTGRES, self._open_layout(), plan)

        try:
            return self._retrying("registration", apply)
        except ROW_ERRORS as exc:
            raise StoreError(f"registration ({plan.case}) not applied to {self.url}: {self._say(exc)}") from None

    # -- readings ------------------------------------------------------------------------------
    def write_readings(self, batch: Sequence[ResolvedReading]) -> WriteReport:
        """COPY + INSERT ... ON CONFLICT DO NOTHING in one transaction; on a row error,
        row by row (each in a savepoint): only the rows refused for their own content are
        ``failed``.  Raises StoreUnavailable (nothing written) when the database itself
        fails, StoreBusy when a lock is held longer than the patience."""
        report = WriteReport()
        if not batch:
            return report
        w_items, w_rows, c_items, c_rows, bad = split_rows(batch)
        parts = [(part, items, rows) for part, items, rows in ((_W, w_items, w_rows), (_C, c_items, c_rows)) if rows]

        def write_all(conn: psycopg.Connection) -> list[list]:
            with conn.transaction():
                return [_copy_insert(conn, part, rows) for part, _items, rows in parts]

        try:
            returned = self._retrying("readings write", write_all)
        except ROW_ERRORS as exc:
            log.warning("Writing {} readings as one block failed ({}); writing them one by one",
                        len(w_rows) + len(c_rows), self._say(exc))

            def write_each(conn: psycopg.Connection) -> list[tuple[int, list, list]]:
                with conn.transaction():  # all or nothing again, should the database fail meanwhile
                    return [_write_each(conn, part, items, rows) for part, items, rows in parts]

            for stored, duplicates, failed in self._retrying("readings write (row by row)", write_each):
                report.stored += stored
                report.duplicates.extend(duplicates)
                report.failed.extend(failed)
        else:
            for (_part, items, rows), keys in zip(parts, returned):
                left = Counter(keys)
                for item, row in zip(items, rows):
                    key = (row[0], row[1], row[2])
                    if left[key] > 0:
                        left[key] -= 1
                        report.stored += 1
                    else:
                        report.duplicates.append(item)
        report.failed.extend(bad)
        for item, why in report.failed:
            log.debug("Reading of {} at {} (seq {}) not stored: {}", item.reading.name, item.reading.tstamp,
                      item.reading.seq, why)
        if report.duplicates or report.failed:
            log.info("Rejected [{}/{}] readings: {} duplicated, {} failed", len(report.duplicates) + len(report.failed),
                     len(batch), len(report.duplicates), len(report.failed))
        return report

    # -- for the query modules of the tools (reports, maintenance) and the copy ------------------
    def run(self, what: str, action: Callable[[QmarkConnection], T], write: bool = False) -> T:
        """Run ``action(conn)`` as one transaction, ``conn`` speaking sqlite3's ``?`` style
        (``conn.pg`` is the psycopg connection).  Reads see one snapshot (REPEATABLE READ,
        READ ONLY); a write first takes the catalogue lock exclusively, so it waits for
        the registrations in progress and they wait for it."""

        def in_transaction(conn: psycopg.Connection) -> T:
            with conn.transaction():
                if write:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (CATALOG_KEY,))
                else:
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                return action(QmarkConnection(conn))

        try:
            return self._retrying(what, in_transaction)
        except StoreError:
            raise
        except psycopg.Error as exc:
            raise StoreError(f"{what} failed on {self.url}: {self._say(exc)}") from None

    def session(self, what: str, action: Callable[[psycopg.Connection], T]) -> T:
        """Run ``action`` on the raw connection (it manages its own transactions), with the
        store's lock waiting and reconnection; used by ``tessdb-core copy``."""
        try:
            return self._retrying(what, action)
        except StoreError:
            raise
        except psycopg.Error as exc:
            raise StoreError(f"{what} failed on {self.url}: {self._say(exc)}") from None

    # -- plumbing ------------------------------------------------------------------------------
    def _open_layout(self) -> Layout:
        if self._layout is None:
            raise StoreError(f"database {self.url} is not open")
        return self._layout

    def _connect(self) -> psycopg.Connection:
        extra: dict[str, Any] = {}
        if "connect_timeout" not in self._conninfo:
            extra["connect_timeout"] = 10
        if "application_name" not in self._conninfo:
            extra["application_name"] = "tessdb-core"
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, **extra)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot connect to {self.url}: {self._say(exc)}") from None
        try:
            # a commit returns once on the server's disk, whatever the server/database default
            conn.execute("SET synchronous_commit = on")
        except psycopg.Error as exc:
            conn.close()
            raise StoreUnavailable(f"cannot set up a session on {self.url}: {self._say(exc)}") from None
        dialect.configure(conn)
        return conn

    def _reconnect(self) -> None:
        conn = self._connect()
        try:
            self._prepare(conn)
        except psycopg.Error as exc:
            conn.close()
            raise StoreUnavailable(f"cannot set up a session on {self.url}: {self._say(exc)}") from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._missed = True  # notifications sent while away are lost: reload to be sure
        # the live service (a patience) logs its outage's start and end itself: one line each
        (log.debug if self.patience is not None else log.warning)("Reconnected to database {}", self.url)

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None

    def _say(self, exc: BaseException) -> str:
        """The first line of an error, the password (should the driver echo it) hidden."""
        text = _first_line(exc)
        return text.replace(self._password, "***") if self._password else text

    def _retrying(self, what: str, action: Callable[[psycopg.Connection], T]) -> T:
        """Run ``action`` (whole transactions) with the lock-wait and reconnection rules.
        A row's error (ROW_ERRORS) goes to the caller as it is; any other database error
        becomes StoreBusy (a lock) or StoreUnavailable, after a reconnection and a new try
        within the patience when the connection is broken."""
        started = time.monotonic()
        attempt = 0
        with self._lock:
            while True:
                if not self._opened:
                    raise StoreError(f"database {self.url} is not open")
                if self._conn is None:
                    try:
                        self._reconnect()
                    except StoreError as exc:
                        attempt += 1
                        self._wait_or_give_up(what, started, attempt, exc)
                        continue
                conn = self._conn
                try:
                    return action(conn)
                except pg_errors.LockNotAvailable:
                    raise StoreBusy(f"{what}: {self.url} is locked by another session for longer than "
                                    f"{self.patience} s") from None
                except _RETRY as exc:
                    attempt += 1
                    if attempt > 10:
                        raise StoreUnavailable(f"{what} failed on {self.url}: {self._say(exc)}") from None
                    time.sleep(0.02 * attempt)
                except ROW_ERRORS:
                    if conn.broken or conn.closed:
                        self._drop()
                    raise
                except psycopg.Error as exc:  # the database's fault, not the data's
                    if not (conn.broken or conn.closed):
                        raise StoreUnavailable(f"{what} failed on {self.url}: {self._say(exc)}") from None
                    self._drop()
                    attempt += 1
                    self._wait_or_give_up(what, started, attempt, exc)

    def _wait_or_give_up(self, what: str, started: float, attempt: int, exc: BaseException) -> None:
        """Sleep before the next reconnection, or raise StoreUnavailable once the patience
        (``reconnect_for`` when unlimited) is spent: the next call tries again."""
        waited = time.monotonic() - started
        budget = self.reconnect_for if self.patience is None else self.patience
        # our own errors (a failed reconnection) already name the database
        problem = str(exc) if isinstance(exc, StoreError) else f"database {self.url} unavailable: {self._say(exc)}"
        if waited >= budget:
            raise StoreUnavailable(f"{what}: {problem}")
        delay = min(0.1 * attempt if self.patience is not None else 0.5 * attempt, 5.0, budget - waited)
        (log.debug if self.patience is not None else log.warning)("{}: {}; retry #{} in {:.1f} s", what, problem,
                                                                  attempt, delay)
        time.sleep(max(delay, 0.0))


# -- the preload -----------------------------------------------------------------------------------------
def preload(conn: psycopg.Connection) -> None:
    """Every preloaded row (inside the caller's transaction), by COPY."""
    with conn.cursor() as cur:
        for table, cols, rows in preload_rows():
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


# -- registrations -------------------------------------------------------------------------------------------
def plan_lock_keys(plan: RegistrationPlan) -> list[int]:
    """The advisory-lock keys of every MAC and name a plan touches, sorted (no deadlocks)."""
    names: set[str] = set()
    macs: set[str] = set()
    for m in (*plan.expire_mappings, *((plan.new_mapping,) if plan.new_mapping is not None else ())):
        names.add(m.name)
        macs.add(m.mac)
    for v in (*plan.expire_versions, *((plan.new_version,) if plan.new_version is not None else ())):
        macs.add(v.mac)
    return sorted({lock_key("name", n) for n in names} | {lock_key("mac", m) for m in macs})


# -- readings ---------------------------------------------------------------------------------------------------
class _Part:
    """One fact table: its columns, the temporary table and the statements."""

    def __init__(self, table: str, temp: str, cols: tuple[str, ...]) -> None:
        names = ", ".join(cols)
        self.table = table
        self.copy = f"COPY {temp} ({names}) FROM STDIN"
        self.insert = (f"INSERT INTO {table} ({names}) SELECT {names} FROM {temp} "
                       "ON CONFLICT DO NOTHING RETURNING date_id, time_id, tess_id")
        self.insert_one = f"INSERT INTO {table} ({names}) VALUES ({_marks(cols)}) ON CONFLICT DO NOTHING"


_W = _Part("tess_readings_t", "tessdb_in_w", W_COLUMNS)
_C = _Part("tess_readings4c_t", "tessdb_in_c", C_COLUMNS)


def _copy_insert(conn: psycopg.Connection, part: _Part, rows: list[tuple]) -> list[tuple]:
    """The keys of the rows actually inserted (inside the caller's transaction)."""
    with conn.cursor() as cur:
        with cur.copy(part.copy) as copy:
            for row in rows:
                copy.write_row(row)
        return [tuple(r) for r in cur.execute(part.insert).fetchall()]


def _write_each(conn: psycopg.Connection, part: _Part, items: list[ResolvedReading], rows: list[tuple]
                ) -> tuple[int, list[ResolvedReading], list[tuple[ResolvedReading, str]]]:
    """Each row in its own savepoint (inside the caller's transaction): a failed row undoes only itself."""
    stored = 0
    duplicates: list[ResolvedReading] = []
    failed: list[tuple[ResolvedReading, str]] = []
    for item, row in zip(items, rows):
        try:
            with conn.transaction():
                cur = conn.execute(part.insert_one, row)
        except ROW_ERRORS as exc:  # the row's own fault; any other error is the database's
            failed.append((item, f"{type(exc).__name__}: {_first_line(exc)}"))
            continue
        if cur.rowcount == 1:
            stored += 1
        else:
            duplicates.append(item)
    return stored, duplicates, failed


# -- small helpers ---------------------------------------------------------------------------------------
@contextmanager
def _read_transaction(conn: psycopg.Connection) -> Iterator[None]:
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _set_lock_timeout(conn: psycopg.Connection, seconds: float | None) -> None:
    value = "0" if seconds is None else f"{max(1, int(seconds * 1000))}ms"
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (value,))
