"""Is the SQLite file we write still the one at its path?  And if not, put ours back.

Why: a process keeps writing through its open descriptors after ``rm tessdb-inbox.db``
(or a copy over ``tess.db``): every commit then lands in a file no name reaches, and the
next start finds nothing (or a stranger's file).  The owner of a file (the inbox, the
SQLite store) keeps a :class:`FileWatch` on it and asks it at each sync whether the
file at the path is still the one it opened (same device and inode, link count above
0).  When it is not, :func:`rescue` copies what the open connection still reads (the
deleted file stays readable through the descriptors) into a new file at the path,
synced, setting aside whatever else is there, never deleting it.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable


class FileWatch:
    """Descriptors kept open on a file (and on its ``-wal`` once it exists), to tell
    whether the names still reach them."""

    def __init__(self, path: str | Path, wal: bool = True):
        self.path = Path(path)
        self._wal = wal
        self._fds: dict[Path, int] = {}

    def arm(self) -> None:
        """Remember the file at the path now (called right after it was opened)."""
        self.close()
        self._watch(self.path)
        self.arm_wal()

    def arm_wal(self) -> None:
        """Watch the ``-wal`` too when it exists (SQLite makes it at the first write)."""
        wal = self.path.with_name(self.path.name + "-wal")
        if self._wal and wal not in self._fds and wal.exists():
            self._watch(wal)

    def _watch(self, path: Path) -> None:
        try:
            self._fds[path] = os.open(path, os.O_RDONLY)
        except OSError:
            pass  # gone already: the next problem() says so

    def problem(self) -> str | None:
        """None while every watched name still reaches the file opened; else what happened
        ("was deleted", "was replaced by another file", "its -wal was deleted")."""
        for path, fd in self._fds.items():
            what = "" if path == self.path else f"its {path.name[len(self.path.name):]} "
            try:
                mine = os.fstat(fd)
            except OSError:
                continue
            try:
                there = os.stat(path)
            except FileNotFoundError:
                return f"{what}was deleted" if what else "was deleted"
            except OSError:
                continue  # an I/O error is the writes' business, not ours
            if mine.st_nlink == 0 or (there.st_dev, there.st_ino) != (mine.st_dev, mine.st_ino):
                return f"{what}was replaced by another file" if what else "was replaced by another file"
        return None

    def holds(self, path: Path) -> bool:
        """True when ``path`` names the very file this watch opened (not a stranger's)."""
        fd = self._fds.get(self.path)
        if fd is None:
            return False
        try:
            mine, there = os.fstat(fd), os.stat(path)
        except OSError:
            return False
        return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)

    def close(self) -> None:
        for fd in self._fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = {}


@dataclass
class Rescue:
    """What :func:`rescue` did: the new file, and where a stranger's file was moved."""

    path: Path
    set_aside_as: Path | None


def rescue(conn: sqlite3.Connection, watch: FileWatch, close_old: Callable[[], None]) -> Rescue:
    """Copy the database ``conn`` reads (its deleted or replaced file, still open) into a new
    file at ``path``: first to a temporary file beside it (SQLite's online backup, then
    ``fsync``), then a stranger's file at the path (and its ``-wal``/``-shm``) is renamed to
    ``<name>.replaced-<UTC stamp>`` (our own file, when only its ``-wal`` was lost, is simply
    replaced), ``close_old`` closes the old connection, stale
    ``-wal``/``-shm`` names are removed, and the copy takes the name (folder synced).
    Raises OSError or sqlite3.Error with nothing renamed when the copy cannot be made."""
    path = watch.path
    tmp = path.with_name(f"{path.name}.rescue-tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
        if leftover.exists():
            leftover.unlink()
    dest = sqlite3.connect(tmp)
    try:
        conn.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    aside = None
    if path.exists() and not watch.holds(path):
        aside = set_aside(path, "replaced")
    close_old()
    watch.close()
    for suffix in ("-wal", "-shm"):
        stale = path.with_name(path.name + suffix)
        if stale.exists():
            stale.unlink()
    tmp.rename(path)
    sync_folder(path.parent)
    return Rescue(path, aside)


def set_aside(path: Path, why: str) -> Path:
    """Rename ``path`` (and its -wal/-shm) to ``<name>.<why>-<UTC stamp>``, never overwriting."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{why}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{why}-{stamp}-{n}")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    path.rename(target)
    sync_folder(path.parent)
    return target


def sync_folder(folder: Path) -> None:
    """``fsync`` a folder, so that a name made or changed in it is on the disk."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
