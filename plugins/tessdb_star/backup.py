"""Online copies of SQLite files: the star schema and the collector's inbox file.

Why one helper for both: ``tessdb-core backup`` copies the SQLite database (through the
store's ``BackupQueries``) and the inbox/quarantine file (the engine's local file,
also SQLite) the same way, while the live service goes on writing to both.

How the copy stays consistent without pausing anyone: the source connection opens ONE
read transaction first and the backup API (``sqlite3.Connection.backup``) copies its
pages in steps inside it.  In WAL mode a reader never blocks the writer, and the
snapshot cannot move under the copy, so the backup is never restarted by the writes
of the service (without the held snapshot every commit of another connection restarts
it from the first page, and under a steady stream of readings it may never end).  The
cost: the WAL cannot be checkpointed past the snapshot while the copy runs, so it grows
for that long.  A database in rollback-journal mode (4.x files are left as they are)
holds a shared lock for the copy instead: its writer waits meanwhile (the service keeps
the readings in its inbox and retries).

Inside the same snapshot the rows of every table are counted, and the copy, opened on
its own, must say ``ok`` to ``PRAGMA integrity_check`` and hold the same tables with the
same numbers of rows.  Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Collection
from pathlib import Path
from typing import Any

from tessdb_core import UserError

#: pages copied per step (4 MiB with the default 4 KiB pages)
STEP_PAGES = 1024


class BackupError(UserError):
    """A backup could not be written or did not pass its checks (the reason, on one line)."""


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{urllib.parse.quote(str(path))}?{query}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]


def _count_rows(conn: sqlite3.Connection, tables: Collection[str]) -> dict[str, int]:
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def online_copy(source: Path, target: Path, *, busy_timeout: float = 60.0,
                step_pages: int = STEP_PAGES) -> dict[str, Any]:
    """Copy the SQLite file ``source`` to the new file ``target`` while others write to it.

    Returns ``{"journal_mode", "pages", "page_size", "rows": {table: count}}``, the counts
    read inside the snapshot that was copied.  Raises :class:`BackupError` (``target`` is
    removed) when the source cannot be read or the target cannot be written."""
    if target.exists():
        raise BackupError("the file already exists")
    try:
        src = sqlite3.connect(_uri(source, mode="rw"), uri=True, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source}: {_reason(exc)}") from None
    dst: sqlite3.Connection | None = None
    try:
        try:
            journal = src.execute("PRAGMA journal_mode").fetchone()[0].lower()
            src.execute("BEGIN")  # the snapshot: every step below reads this one state of the file
            tables = _tables(src)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot read {source}: {_reason(exc)}") from None
        try:
            dst = sqlite3.connect(str(target), isolation_level=None)
            src.backup(dst, pages=step_pages)
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
            page_size = dst.execute("PRAGMA page_size").fetchone()[0]
            dst.close()
            dst = None
        except (sqlite3.Error, OSError) as exc:
            raise BackupError(_reason(exc)) from None
        try:
            rows = _count_rows(src, tables)
            src.execute("COMMIT")
        except sqlite3.Error as exc:
            raise BackupError(f"cannot read {source}: {_reason(exc)}") from None
    except BaseException:
        if dst is not None:
            dst.close()
        remove_quietly(target)
        raise
    finally:
        src.close()
    return {"journal_mode": journal, "pages": pages, "page_size": page_size, "rows": rows}


def check_copy(target: Path, rows: dict[str, int], nonempty: Collection[str] = ()) -> dict[str, Any]:
    """The copy on its own: ``PRAGMA integrity_check`` says ``ok``, it holds exactly the
    tables of ``rows`` with those numbers of rows, and the ``nonempty`` ones have some.
    Opened ``immutable`` (read only, no lock, no -wal / -shm left beside it)."""
    try:
        conn = sqlite3.connect(_uri(target, mode="ro", immutable="1"), uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the copy: {_reason(exc)}") from None
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"PRAGMA integrity_check on the copy says: {problems[0]}"
                              + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        tables = _tables(conn)
        if sorted(tables) != sorted(rows):
            missing = sorted(set(rows) - set(tables))
            raise BackupError(f"the copy lacks table(s) {', '.join(missing) or '?'} of the database")
        got = _count_rows(conn, tables)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot check the copy: {_reason(exc)}") from None
    finally:
        conn.close()
    for table, n in rows.items():
        if got[table] != n:
            raise BackupError(f"the copy holds {got[table]} row(s) of {table}, the database {n}")
    empty = [t for t in nonempty if t in got and got[t] == 0]
    if empty:
        raise BackupError(f"table(s) {', '.join(empty)} of the copy are empty")
    return {"integrity_check": "ok", "rows": got}


def copy_sqlite_file(source: Path, target: Path, nonempty: Collection[str] = (),
                     required: Collection[str] = ()) -> dict[str, Any]:
    """:func:`online_copy`, :func:`check_copy` and :func:`fsync_file`: a checked, durable copy.
    ``required``: tables the source must have (else it is not the file it should be)."""
    t0 = time.monotonic()
    copied = online_copy(source, target)
    try:
        missing = sorted(set(required) - set(copied["rows"]))
        if missing:
            raise BackupError(f"{source} has no table {', '.join(missing)}: is it the right file?")
        checked = check_copy(target, copied["rows"], nonempty)
        fsync_file(target)
    except BaseException:
        remove_quietly(target)
        raise
    return {**copied, **checked, "seconds": round(time.monotonic() - t0, 3), "bytes": target.stat().st_size}


# -- the disk -----------------------------------------------------------------------------------------
def _fsync(path: Path, flags: int, what: str) -> None:
    try:
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise BackupError(f"cannot sync {what}{path}: {_reason(exc)}") from None


def fsync_file(path: Path) -> None:
    """The file's data and size on the disk."""
    _fsync(path, os.O_RDONLY, "")


def fsync_dir(path: Path) -> None:
    """The folder's entries (a new, renamed or removed file) on the disk."""
    _fsync(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0), "the folder ")


def remove_quietly(path: Path) -> None:
    """Remove ``path`` and the SQLite journal files beside it, if there (an error that made
    a backup fail may make this fail too: it is not the one to report)."""
    for p in (path, *(path.with_name(path.name + end) for end in ("-journal", "-wal", "-shm"))):
        with contextlib.suppress(OSError):
            p.unlink()
