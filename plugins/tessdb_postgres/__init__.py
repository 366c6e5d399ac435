"""tessdb_postgres: the tessdb star schema on PostgreSQL (entry point ``postgres``).

For networks that outgrow one SQLite file or want several collectors: the same
tables, columns, keys, view and preload as ``tessdb_sqlite`` (see ``schema.py`` for
the type mapping), written by several collectors at once (idempotent batched inserts,
registrations serialised by advisory locks, catalogue refresh by LISTEN/NOTIFY), the
``ReportQueries``, ``MaintenanceQueries`` and ``BackupQueries`` (``pg_dump``) of the tools, and
``tessdb-core copy`` to move an existing SQLite database over.  The schema, rows and queries are
``tessdb_star``'s, as for the SQLite store; this plugin is the PostgreSQL connection,
its locking and retrying, and the bulk write.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from tessdb_core import BackupQueries, MaintenanceQueries, ReportQueries, hookimpl, require

from .urls import postgres_conninfo

if TYPE_CHECKING:
    from .store import PostgresStore

__all__ = ["PostgresStore", "RegistrationConflict", "tessdb_cli_commands", "tessdb_queries", "tessdb_store"]


def __getattr__(name: str) -> Any:
    """``PostgresStore`` and ``RegistrationConflict`` on first use: the plugin loads (and
    every other command works) without the PostgreSQL driver, the ``[postgres]`` extra."""
    if name in ("PostgresStore", "RegistrationConflict"):
        from . import store

        return getattr(store, name)
    raise AttributeError(name)


@hookimpl
def tessdb_store(url: str, settings: Any) -> "PostgresStore | None":
    """A PostgresStore for ``postgresql://`` / ``postgres://`` URLs; None for other databases."""
    if postgres_conninfo(url) is None:
        return None
    require("psycopg", "postgres", "a PostgreSQL database")
    from .store import PostgresStore

    return PostgresStore(url, settings)


def _reports(store: "PostgresStore") -> Any:
    from .reports import PgReports

    return PgReports(store)


def _maintenance(store: "PostgresStore") -> Any:
    from .maintenance import PgMaintenance

    return PgMaintenance(store)


def _backup(store: "PostgresStore") -> Any:
    from .backup import PgBackup

    return PgBackup(store)


#: query interface -> factory of the object implementing it for a PostgresStore (the tools' protocols)
QUERY_FACTORIES: dict[type, Any] = {
    ReportQueries: _reports,
    MaintenanceQueries: _maintenance,
    BackupQueries: _backup,
}


@hookimpl
def tessdb_queries(store: Any, interface: type, settings: Any) -> Any | None:
    """The object implementing ``interface`` for a PostgresStore; None for other stores or interfaces."""
    factory = QUERY_FACTORIES.get(interface)
    pg_store = sys.modules.get(f"{__name__}.store")  # never imported: no store of ours exists
    if factory is None or pg_store is None or not isinstance(store, pg_store.PostgresStore):
        return None
    return factory(store)


@hookimpl
def tessdb_cli_commands(cli: Any) -> None:
    """Add ``tessdb-core copy --from tess.db --to postgresql://...``."""
    from .command import copy_command

    cli.add_command(copy_command)
