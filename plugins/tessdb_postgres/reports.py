"""The scientist tools' queries (``tessdb_reports``) on a PostgreSQL star schema.

The queries themselves are ``tessdb_star.reports``'s, shared with every store:
``PostgresStore.run`` hands them a connection that speaks the ``?`` placeholder
style (:mod:`.dialect`), each call one ``REPEATABLE READ, READ ONLY`` snapshot.
"""

from __future__ import annotations

from tessdb_star.reports import StarReports

from .dialect import POSTGRES
from .store import PostgresStore


class PgReports(StarReports):
    """The ``ReportQueries`` (an interface of the public API) for an open PostgresStore."""

    def __init__(self, store: PostgresStore, page_size: int = 5000) -> None:
        super().__init__(store, POSTGRES, page_size)
