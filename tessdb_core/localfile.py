"""The local file: one SQLite file (``[inbox] path``) beside the star schema.

It holds the durable inbox (``inbox_t``, see :mod:`.inbox`) and the quarantine
(``quarantine_t``, see :mod:`.quarantine`), and this module owns both tables,
the connection, and :meth:`LocalFile.record_outcomes`: the one transaction where
an entry leaves the inbox, together with the quarantine rows of the same outcomes,
after the star-schema write it depends on has reached the disk.  A crash
therefore replays the entries whose outcome was not yet recorded; idempotent
writes make the replay harmless.

Durable means on the disk, not in the page cache.  By default the file runs
``synchronous=FULL``: in WAL mode SQLite then syncs the log at every commit, so a
commit that returned is on the disk.  The live service instead commits a burst of
arrivals without a sync and calls :meth:`LocalFile.sync_token` / :func:`sync` (an
``fdatasync`` of the WAL) before it acknowledges that burst: one sync per burst,
and it runs in another thread while the pipeline works.  Outcome commits (the
quarantine rows, the deletion of entries done) need no sync of their own: if a
power cut loses one, the entries are replayed and the writes are idempotent.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from .filewatch import FileWatch, Rescue, rescue, set_aside, sync_folder


INBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_t (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order; never reused (the cursor relies on it)
    topic     TEXT NOT NULL,
    payload   BLOB NOT NULL,
    received  TEXT NOT NULL,        -- subscriber arrival time (UTC)
    retain    INTEGER NOT NULL,
    size      INTEGER               -- the payload's size as sent, when only its first bytes are kept
);
"""

QUARANTINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine_t (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,     -- when it was quarantined (UTC)
    reason    TEXT NOT NULL,
    stage     TEXT NOT NULL,
    plugin    TEXT NOT NULL,
    field     TEXT,
    name      TEXT,              -- photometer name, when known
    detail    TEXT NOT NULL,
    topic     TEXT NOT NULL,
    payload   BLOB NOT NULL,     -- the raw bytes, exactly as received
    received  TEXT NOT NULL,     -- subscriber arrival time (UTC)
    retain    INTEGER NOT NULL,
    imported  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_reason_i ON quarantine_t(reason, name);
"""

#: SQLite primary result codes that mean "this file is not (or no longer) a database"
_CORRUPT_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
#: codes that mean "held by another connection"
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED


class LocalFileError(OSError):
    """The inbox path cannot be used at all (a directory, a file that cannot be opened
    for a reason no retry will fix): the start stops with this one line."""


class LocalFileUnavailable(OSError):
    """The inbox file cannot take a write (or a read) now: a full disk, an I/O error, a
    lock held by another program.  Nothing was changed; the caller keeps what it had
    (un-acknowledged messages, outcomes to record) and tries again later."""

    def __init__(self, path: Path, problem: str, held: bool = False):
        self.path, self.problem, self.held = path, problem, held
        what = "is held by another program" if held else "cannot be written"
        super().__init__(f"inbox {path} {what}: {problem}")


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_busy(exc: sqlite3.Error) -> bool:
    """A lock held by another connection (as opposed to a broken disk or file)."""
    if _code(exc) in _BUSY_CODES:
        return True
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class LocalFile:
    """The inbox file and its one connection (shared by the inbox and the quarantine,
    so that recording an outcome and deleting its entry is one transaction)."""

    def __init__(self, path: str | Path, busy_timeout: float = 60.0, set_aside_corrupt: bool = False,
                 sync_on_commit: bool = True):
        """``busy_timeout``: how long SQLite waits for a lock held by another program (the
        service uses a fraction of a second, so its loop never freezes on a lock);
        ``set_aside_corrupt``: rename a file that is not a usable database and start a new
        one (the service) instead of refusing (the operator's commands);
        ``sync_on_commit`` false: the caller syncs with :func:`sync` before it relies on a
        commit (the service, before acknowledging)."""
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.set_aside_corrupt = set_aside_corrupt
        self.sync_on_commit = sync_on_commit
        self._wal_fd: int | None = None
        #: where a corrupt file was moved at open, if it was
        self.set_aside_as: Path | None = None
        self._db: sqlite3.Connection | None = None
        #: is the file we write still the one at the path (checked at each sync by the service)
        self.watch = FileWatch(self.path)

    def conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise LocalFileError(f"inbox {path} is a directory; [inbox] path must name a file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LocalFileUnavailable(path, f"cannot create its folder: {exc.strerror or exc}") from None
        new = not path.exists() or path.stat().st_size == 0
        try:
            return self._connect(new)
        except sqlite3.DatabaseError as exc:
            if _code(exc) in _CORRUPT_CODES or isinstance(exc, _Corrupt):
                if not self.set_aside_corrupt:
                    raise LocalFileError(f"inbox {path} is not a usable SQLite file: {exc}") from None
                self.set_aside_as = set_aside(path, "corrupt")
                return self._connect(True)
            raise self.unavailable(exc) from None

    def _connect(self, new: bool) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if self.sync_on_commit else 'NORMAL'}")  # module docstring
            if not new:
                problem = db.execute("PRAGMA quick_check(1)").fetchone()[0]
                if problem != "ok":
                    raise _Corrupt(problem)
            db.executescript(INBOX_SCHEMA + QUARANTINE_SCHEMA)
            if "size" not in {r[1] for r in db.execute("PRAGMA table_info(inbox_t)")}:
                db.execute("ALTER TABLE inbox_t ADD COLUMN size INTEGER")  # an inbox of an older version
        except BaseException:
            db.close()
            raise
        if new:
            sync_folder(self.path.parent)  # the new file's name is on the disk too
        self.watch.arm()
        return db

    def unavailable(self, exc: sqlite3.Error) -> LocalFileUnavailable:
        """The exception to raise for a SQLite error on this file (the file stays closed
        after a failure that was not a lock, so the next use opens it afresh)."""
        busy = is_busy(exc)
        if not busy:
            self.close()
        return LocalFileUnavailable(self.path, str(exc), held=busy)

    def sync_token(self) -> int:
        """A file descriptor (the caller's to close) that :func:`sync` makes durable: every
        commit made so far on this file.  Raises LocalFileUnavailable."""
        try:
            if self._wal_fd is None:
                wal = self.path.with_name(self.path.name + "-wal")
                if not wal.exists():  # not in WAL mode: the commit went to the file itself
                    return os.open(self.path, os.O_RDONLY)
                self._wal_fd = os.open(wal, os.O_RDONLY)
                self.watch.arm_wal()
                sync_folder(self.path.parent)  # a -wal made since the last sync has its name on the disk
            return os.dup(self._wal_fd)
        except OSError as exc:
            raise LocalFileUnavailable(self.path, f"cannot sync: {exc.strerror or exc}") from None

    def record_outcomes(self, quarantine_rows: Sequence[tuple], done: Iterable[int]) -> None:
        """In one transaction: add the quarantine rows and delete the inbox entries whose
        outcome is now recorded (the only place an entry leaves the inbox).  Raises
        LocalFileUnavailable, nothing changed."""
        try:
            db = self.conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                if quarantine_rows:
                    db.executemany(
                        "INSERT INTO quarantine_t (at, reason, stage, plugin, field, name, detail, topic, payload,"
                        " received, retain, imported) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", quarantine_rows)
                db.executemany("DELETE FROM inbox_t WHERE id = ?", ((i,) for i in done))
        except sqlite3.Error as exc:
            raise self.unavailable(exc) from None

    def lost(self) -> str | None:
        """What happened to the file under us ("was deleted", "was replaced by another file",
        "its -wal was deleted"), or None while the path still reaches the file we write."""
        return None if self._db is None else self.watch.problem()

    def rescue(self) -> tuple[Rescue, int, int]:
        """Copy what the open (lost) file holds into a new file at the path, synced, and use
        that one from now on; return what was done with the numbers of inbox entries and
        quarantine rows copied.  Raises LocalFileUnavailable with the old file still in use
        when the copy cannot be made (a full disk): the caller retries."""
        db = self.conn()
        try:
            entries = db.execute("SELECT COUNT(*) FROM inbox_t").fetchone()[0]
            rows = db.execute("SELECT COUNT(*) FROM quarantine_t").fetchone()[0]
            done = rescue(db, self.watch, self.close)
        except (sqlite3.Error, OSError) as exc:  # the old connection stays open: it holds the only copy
            raise LocalFileUnavailable(self.path, f"cannot copy it to a new file: {getattr(exc, 'strerror', None) or exc}",
                                       held=isinstance(exc, sqlite3.Error) and is_busy(exc)) from None
        self.conn()
        return done, entries, rows

    def close(self) -> None:
        self.watch.close()
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None


def sync(token: int) -> None:
    """``fdatasync`` what :meth:`LocalFile.sync_token` returned, then close it (safe in
    another thread: the descriptor is a duplicate).  Raises OSError (an I/O error)."""
    try:
        os.fdatasync(token)
    finally:
        os.close(token)


class _Corrupt(sqlite3.DatabaseError):
    """``PRAGMA quick_check`` found damage."""
