"""The ``BackupQueries`` of a SqliteStore: an online copy of the database file.

``tessdb-core backup`` (``tessdb_maint``) names the new file; this copies the database
into it with SQLite's online backup inside one read snapshot (the service goes on
writing: see :mod:`tessdb_star.backup`), checks it (``PRAGMA integrity_check``, the same
tables and rows as the snapshot, the preloaded dimensions not empty) and syncs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tessdb_star.backup import copy_sqlite_file

from .store import SqliteStore

#: the preload: a copy without them is no tessdb database
_NONEMPTY = ("date_t", "time_t", "location_t")
_REQUIRED = ("tess_t", "name_to_mac_t", "date_t", "time_t", "location_t")


class SqliteBackup:
    """``tessdb_core.BackupQueries`` for a SqliteStore."""

    suffix = ".db"

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    @property
    def source(self) -> str:
        return str(self.store.path)

    def backup(self, target: Path) -> dict[str, Any]:
        return copy_sqlite_file(self.store.path, target, nonempty=_NONEMPTY, required=_REQUIRED)
