"""The queries of the scientist tools (``tessdb_reports``) on a PostgreSQL star schema.

The SQL of ``tessdb_sqlite.reports.SqliteReports`` is portable (row values, ``||``,
``LIMIT ?``); ``PostgresStore.run`` hands it a connection that speaks the ``?``
placeholder style (:mod:`.dialect`), so :class:`PgReports` reuses it.  It differs in
two places: the columns come from ``information_schema`` instead of ``PRAGMA
table_info``, and the daily counts group by ``date_t``'s own key (PostgreSQL does not
let ``d.sql_date`` follow ``c.date_id`` through the join, SQLite does).
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

    def daily_counts(self) -> list[dict[str, Any]]:
        """Readings per day per instrument (MAC), both fact tables, newest day first."""
        parts = ["SELECT date_id, tess_id, COUNT(*) AS n FROM tess_readings_t GROUP BY date_id, tess_id"]
        if self._has_4c:
            parts.append("SELECT date_id, tess_id, COUNT(*) AS n FROM tess_readings4c_t GROUP BY date_id, tess_id")
        sql = (f"SELECT d.sql_date, i.mac_address, SUM(c.n) FROM ({' UNION ALL '.join(parts)}) AS c "
               "JOIN tess_t AS i ON i.tess_id = c.tess_id JOIN date_t AS d ON d.date_id = c.date_id "
               "GROUP BY d.date_id, i.mac_address ORDER BY d.sql_date DESC, i.mac_address ASC")
        rows = self.store.run("reports: daily", lambda conn: conn.execute(sql).fetchall())
        return [{"sql_date": d, "mac_address": mac, "readings": n} for d, mac, n in rows]
