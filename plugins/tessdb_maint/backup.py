"""``tessdb-core backup --to DIR [--keep N] [--db URL]``: online backups, no pause.

The database is copied by its store's ``BackupQueries``:
SQLite's online backup inside one read snapshot for a SQLite file (the service goes on
writing), ``pg_dump`` for PostgreSQL.  The inbox/quarantine file (``[inbox] path``) is
copied beside it the same way.  Each file is written under a hidden temporary name
(``.tess-<stamp>.db.partial``), checked, synced, renamed to its own name and the folder
synced, so a file with the final name is always a whole, checked backup:

    DIR/tess-<YYYYMMDDTHHMMSSZ>.db        (or .dump: pg_dump --format=custom)
    DIR/tessdb-inbox-<YYYYMMDDTHHMMSSZ>.db

Then only the newest ``--keep`` backups are kept: the files of older stamps are deleted,
and only files named exactly as above (and temporary files of this command older than a
day) are ever deleted: anything else in DIR is left alone.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from loguru import logger

from tessdb_core import BackupQueries, UserError, pass_app
from tessdb_star.backup import BackupError, copy_sqlite_file, fsync_dir, remove_quietly

log = logger.bind(ns="backup")

STAMP = "%Y%m%dT%H%M%SZ"
_STAMP = r"(\d{8}T\d{6}Z)"
DB_FILE = re.compile(rf"tess-{_STAMP}\.(?:db|dump)")
INBOX_FILE = re.compile(rf"tessdb-inbox-{_STAMP}\.db")
PARTIAL_FILE = re.compile(rf"\.(?:tess|tessdb-inbox)-{_STAMP}\.(?:db|dump)\.partial")
#: a temporary file older than this was left by a backup that died: deleted
STALE_PARTIAL = 24 * 3600
#: the inbox file's tables (it must be the collector's, not any SQLite file)
INBOX_TABLES = ("inbox_t", "quarantine_t")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def prepare_folder(folder: Path) -> Path:
    """DIR made if missing; a clear error when it is not a folder or not writable."""
    if folder.exists() and not folder.is_dir():
        raise BackupError(f"backup folder {folder} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create the backup folder {folder}: {_reason(exc)}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(f"backup folder {folder} is not writable"
                          + (" (read-only file system)" if _read_only(folder) else ""))
    return folder


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def new_stamp(folder: Path, suffix: str, now: Callable[[], datetime] | None = None) -> str:
    """The UTC time of this backup, one no file in ``folder`` uses yet (a second backup in
    the same second waits for the next one)."""
    clock = now or (lambda: datetime.now(timezone.utc))
    for _ in range(50):
        stamp = clock().strftime(STAMP)
        names = (f"tess-{stamp}{suffix}", f"tessdb-inbox-{stamp}.db", f".tess-{stamp}{suffix}.partial",
                 f".tessdb-inbox-{stamp}.db.partial")
        if not any((folder / n).exists() for n in names):
            return stamp
        time.sleep(0.1)
    raise BackupError(f"backup folder {folder} already holds backups of this second: try again")


def _write(folder: Path, name: str, make: Callable[[Path], dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """``make(temporary path)``, then the file renamed to ``name`` and the folder synced."""
    final = folder / name
    partial = folder / f".{name}.partial"
    try:
        info = make(partial)
        os.replace(partial, final)
    except BackupError as exc:
        remove_quietly(partial)
        raise BackupError(f"cannot write the backup {final}: {exc}") from None
    except OSError as exc:
        remove_quietly(partial)
        raise BackupError(f"cannot write the backup {final}: {_reason(exc)}") from None
    except BaseException:
        remove_quietly(partial)
        raise
    try:
        fsync_dir(folder)
    except BackupError as exc:
        raise BackupError(f"cannot write the backup {final}: {exc}") from None
    return final, info


# -- keeping the newest ---------------------------------------------------------------------------------
def backups_in(folder: Path) -> dict[str, list[Path]]:
    """stamp -> this command's files of that stamp (database first)."""
    sets: dict[str, list[Path]] = {}
    for p in folder.iterdir():
        for pattern in (DB_FILE, INBOX_FILE):
            m = pattern.fullmatch(p.name)
            if m and p.is_file():
                sets.setdefault(m.group(1), []).append(p)
    for files in sets.values():
        files.sort(key=lambda p: (not p.name.startswith("tess-"), p.name))
    return sets


def to_delete(folder: Path, keep: int, now: float | None = None) -> list[Path]:
    """The files of every backup older than the ``keep`` newest (a stamp counts as a backup
    when it has a database file; an inbox copy alone goes with the backups around it), and
    temporary files left by a backup that died.  ``keep`` 0: nothing but those."""
    sets = backups_in(folder)
    doomed: list[Path] = []
    if keep > 0:
        full = sorted((s for s, files in sets.items() if any(DB_FILE.fullmatch(f.name) for f in files)),
                      reverse=True)
        if len(full) > keep:
            oldest_kept = full[keep - 1]
            doomed += [f for s in sorted(sets) if s < oldest_kept for f in sets[s]]
    now = time.time() if now is None else now
    for p in folder.iterdir():
        if PARTIAL_FILE.fullmatch(p.name) and p.is_file():
            try:
                if now - p.stat().st_mtime > STALE_PARTIAL:
                    doomed.append(p)
            except OSError:
                pass
    return doomed


def prune(folder: Path, keep: int) -> tuple[list[Path], list[str]]:
    """Delete :func:`to_delete`'s files; (deleted, problems)."""
    deleted, problems = [], []
    for p in to_delete(folder, keep):
        try:
            p.unlink()
            deleted.append(p)
        except FileNotFoundError:
            pass
        except OSError as exc:
            problems.append(f"cannot delete the old backup {p}: {_reason(exc)}")
    if deleted:
        fsync_dir(folder)
    return deleted, problems


# -- the command ---------------------------------------------------------------------------------------
def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def _describe_db(info: dict[str, Any]) -> str:
    parts = [_size(info.get("bytes", 0))]
    if "integrity_check" in info:
        parts.append(f"integrity_check {info['integrity_check']}")
        rows = info.get("rows", {})
        readings = sum(rows.get(t, 0) for t in ("tess_readings_t", "tess_readings4c_t"))
        parts.append(f"{readings} reading(s), {rows.get('tess_t', 0)} instrument version(s)")
    elif "pg_restore" in info:
        parts.append(f"pg_restore --list {info['pg_restore']}")
    parts.append(f"{info.get('seconds', 0):.1f} s")
    return ", ".join(parts)


def _describe_inbox(info: dict[str, Any]) -> str:
    rows = info.get("rows", {})
    return (f"{_size(info.get('bytes', 0))}, integrity_check {info.get('integrity_check')}, "
            f"{rows.get('inbox_t', 0)} waiting, {rows.get('quarantine_t', 0)} quarantined")


def run_backup(app: Any, folder: Path, keep: int, db: str | None) -> dict[str, Any]:
    """The whole backup; returns what was written and deleted (see the module docstring)."""
    store = app.store(db)
    store.open()
    try:
        queries = app.queries(BackupQueries, store)
        why = getattr(queries, "unavailable", lambda: None)()
        if why:
            raise UserError(why)
        folder = prepare_folder(folder)
        stamp = new_stamp(folder, queries.suffix)
        log.info("backup of {} to {} ({})", queries.source, folder, stamp)
        db_path, db_info = _write(folder, f"tess-{stamp}{queries.suffix}", queries.backup)
    finally:
        store.close()
    result: dict[str, Any] = {"stamp": stamp, "folder": str(folder),
                              "database": {"path": str(db_path), "source": queries.source, **db_info},
                              "inbox": None, "deleted": [], "notes": []}
    inbox = Path(app.settings.inbox.path).expanduser()
    if inbox.is_file():
        try:
            path, info = _write(folder, f"tessdb-inbox-{stamp}.db",
                                lambda target: copy_sqlite_file(inbox, target, required=INBOX_TABLES))
        except BackupError as exc:
            raise BackupError(f"{exc} (the database backup {db_path} was written)") from None
        result["inbox"] = {"path": str(path), "source": str(inbox), **info}
    else:
        result["notes"].append(f"no inbox file at {inbox} ([inbox] path): not copied")
    deleted, problems = prune(folder, keep)
    result["deleted"] = [str(p) for p in deleted]
    if problems:
        raise BackupError(f"{problems[0]} (the backup {db_path} was written)")
    log.info("backup written: {}{}; {} old file(s) deleted", db_path,
             f" and {result['inbox']['path']}" if result["inbox"] else "", len(deleted))
    return result


@click.command("backup")
@click.option("--to", "folder", required=True, metavar="DIR",
              help="The backup folder (made if missing).")
@click.option("--keep", type=click.IntRange(min=0), default=7, show_default=True,
              help="Keep the newest N backups in DIR; older ones (only files named as this command "
                   "names them) are deleted. 0: delete none.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON: the files written and deleted, the checks.")
@click.option("--db", help="Database path or URL (default: setting dbase.url).")
@pass_app
def backup_command(app: Any, folder: str, keep: int, as_json: bool, db: str | None) -> None:
    """Back up the database and the inbox file while the service runs (no pause).

    SQLite: DIR/tess-<UTC time>.db by SQLite's online backup, checked (integrity_check,
    the rows of every table) and synced; the inbox/quarantine file beside it as
    DIR/tessdb-inbox-<UTC time>.db.  PostgreSQL: DIR/tess-<UTC time>.dump by
    `pg_dump --format=custom` when pg_dump is on the PATH.  Prints the paths."""
    result = run_backup(app, Path(folder).expanduser().absolute(), keep, db)
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    click.echo(f"{result['database']['path']}  (database {result['database']['source']}: "
               f"{_describe_db(result['database'])})")
    if result["inbox"]:
        click.echo(f"{result['inbox']['path']}  (inbox {result['inbox']['source']}: "
                   f"{_describe_inbox(result['inbox'])})")
    for note in result["notes"]:
        click.echo(f"note: {note}")
    for p in result["deleted"]:
        click.echo(f"deleted {p}")
