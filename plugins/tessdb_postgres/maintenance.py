"""The maintenance commands' queries (``tessdb_maint``) on PostgreSQL.

The queries themselves are ``tessdb_star.maintenance``'s, shared with every store and
run through the ``?`` placeholder connection of :mod:`.dialect`.  A change is ONE
transaction that first takes the catalogue advisory lock exclusively
(``PostgresStore.run(write=True)``): it waits for the registrations in progress in
every collector and they wait for it, the rule decides on a view read after the lock,
and new location / observer ids (max + 1, never below 1) cannot collide.  The
triggers on ``tess_t`` / ``name_to_mac_t`` notify the running collectors.
"""

from __future__ import annotations

from tessdb_star.maintenance import StarMaintenance

from .dialect import POSTGRES
from .store import PostgresStore


class PgMaintenance(StarMaintenance):
    """The ``MaintenanceQueries`` (an interface of the public API) for a PostgresStore."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store, POSTGRES)
