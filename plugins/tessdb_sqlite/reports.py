"""The scientist tools' queries (``tessdb_reports``) on a SQLite star schema.

The queries themselves are ``tessdb_star.reports``'s, shared with every store;
``SqliteStore.run`` gives each its read transaction, lock waits and retries.
"""

from __future__ import annotations

from tessdb_star.reports import StarReports
from tessdb_star.sqlite import SQLITE

from .store import SqliteStore


class SqliteReports(StarReports):
    """The ``ReportQueries`` (an interface of the public API) for an open SqliteStore."""

    def __init__(self, store: SqliteStore, page_size: int = 5000) -> None:
        super().__init__(store, SQLITE, page_size)
