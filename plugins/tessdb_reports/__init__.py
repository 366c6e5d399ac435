"""tessdb_reports: the scientist tools (entry point ``reports`` in group ``tessdb``).

Commands: ``report ida | geolist | daily``, ``readings export``, ``plot night | month``.
The plugin speaks no SQL: it asks the store's plugin for its ``ReportQueries``
(a query interface of the public API) and only formats, writes and plots what it returns.
"""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl


@hookimpl
def tessdb_cli_commands(cli: Any) -> None:
    """Add ``report``, ``readings export`` and ``plot`` to the ``tessdb-core`` command."""
    from .commands import add_commands

    add_commands(cli)
