"""tessdb_sqlite: the default store, the tessdb star schema in one SQLite file.

It creates the tessdb-core schema (5.x plus the legacy columns tess-ida reads),
and opens, without altering them, databases made by the 4.x server and 5.x tools.
The schema, rows and queries are ``tessdb_star``'s; this plugin is the SQLite
connection, its locking and retrying, and the bulk write.
"""

from __future__ import annotations

from typing import Any

from tessdb_core import BackupQueries, MaintenanceQueries, ReportQueries, hookimpl
from tessdb_star.sqlite import sqlite_path

from .store import SqliteStore

__all__ = ["SqliteStore", "tessdb_queries", "tessdb_store"]


@hookimpl
def tessdb_store(url: str, settings: Any) -> SqliteStore | None:
    """A SqliteStore for a file path or ``sqlite:///path``; None for other databases."""
    if sqlite_path(url) is None:
        return None
    return SqliteStore(url, settings)


def _reports(store: SqliteStore) -> Any:
    from .reports import SqliteReports

    return SqliteReports(store)


def _maintenance(store: SqliteStore) -> Any:
    from .maintenance import SqliteMaintenance

    return SqliteMaintenance(store)


def _backup(store: SqliteStore) -> Any:
    from .backup import SqliteBackup

    return SqliteBackup(store)


#: query interface -> factory of the object implementing it for a SqliteStore (the tools' protocols)
QUERY_FACTORIES: dict[type, Any] = {
    ReportQueries: _reports,
    MaintenanceQueries: _maintenance,
    BackupQueries: _backup,
}


@hookimpl
def tessdb_queries(store: Any, interface: type, settings: Any) -> Any | None:
    """The object implementing ``interface`` for a SqliteStore; None for other stores or interfaces."""
    factory = QUERY_FACTORIES.get(interface)
    if factory is None or not isinstance(store, SqliteStore):
        return None
    return factory(store)
