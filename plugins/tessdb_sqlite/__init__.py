"""tessdb_sqlite: the default store, the tessdb star schema in one SQLite file.

It creates the tessdb-core schema (5.x plus the legacy columns tess-ida reads),
and opens, without altering them, databases made by the 4.x server and 5.x tools.
"""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

from .store import SqliteStore
from .urls import sqlite_path

__all__ = ["SqliteStore", "tessdb_store"]


@hookimpl
def tessdb_store(url: str, settings: Any) -> SqliteStore | None:
    """A SqliteStore for a file path or ``sqlite:///path``; None for other databases."""
    if sqlite_path(url) is None:
        return None
    return SqliteStore(url, settings)
