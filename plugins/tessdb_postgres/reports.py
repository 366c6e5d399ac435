"""The queries of the scientist tools (``tessdb_reports``) on a PostgreSQL star schema.

The SQL of ``tessdb_sqlite.reports.SqliteReports`` is portable (row values, ``||``,
``LIMIT ?``); ``PostgresStore.run`` hands it a connection that speaks the ``?``
placeholder style (:mod:`.dialect`), so :class:`PgReports` reuses it.  Only the column
listing differs: ``information_schema`` instead of ``PRAGMA table_info``.
"""

from __future__ import annotations

from typing import Any

from tessdb_sqlite.reports import SqliteReports

from .dialect import QmarkConnection, columns
from .store import PostgresStore

_LAYOUT_TABLES = ("tess_t", "location_t", "observer_t", "tess_readings4c_t")


class PgReports(SqliteReports):
    """The ``"reports"`` queries (``tessdb_reports.queries.ReportQueries``) for an open PostgresStore."""

    def __init__(self, store: PostgresStore, page_size: int = 5000) -> None:
        super().__init__(store, page_size)  # type: ignore[arg-type]  # same run() contract

    def _columns(self, table: str) -> dict[str, bool]:
        if self._layout is None:
            def read(conn: QmarkConnection) -> dict[str, dict[str, Any]]:
                return {t: columns(conn.pg, t) for t in _LAYOUT_TABLES}
            self._layout = self.store.run("reports: layout", read)
        return self._layout[table]
