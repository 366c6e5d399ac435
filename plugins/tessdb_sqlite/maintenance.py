"""The maintenance commands' queries (``tessdb_maint``) on a SQLite star schema.

The queries themselves are ``tessdb_star.maintenance``'s, shared with every store;
``SqliteStore.run`` gives them their transactions (``BEGIN IMMEDIATE`` for a change, a
locked database waited for and retried, so a change made while the live service
writes simply waits its turn).
"""

from __future__ import annotations

from tessdb_star.maintenance import StarMaintenance
from tessdb_star.maintenance import reading_select as _reading_select
from tessdb_star.maintenance import silent_sql
from tessdb_star.sqlite import SQLITE

from .store import SqliteStore

# the two statements whose SQLite query plans tests/maint checks (they use the indexes)
__all__ = ["SqliteMaintenance", "_reading_select", "silent_sql"]


class SqliteMaintenance(StarMaintenance):
    """The ``MaintenanceQueries`` (an interface of the public API) for a SqliteStore."""

    def __init__(self, store: SqliteStore) -> None:
        super().__init__(store, SQLITE)
