"""tessdb_maint: the operator's maintenance commands (entry point ``maintenance``).

``tessdb-core instrument | location | observer ...``, ``readings list | count | relocate``
and ``backup`` on a 4.x / 5.x star schema.  The commands reach the database only through the
``MaintenanceQueries`` of the store (an interface of the public API, which
the sqlite plugin implements); the checks and versioning decisions are the pure
functions of ``rules``.  The running service notices the changes by itself: no
reload is needed.
"""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

__all__ = ["tessdb_cli_commands"]


@hookimpl
def tessdb_cli_commands(cli: Any) -> None:
    """Add the ``instrument``, ``location``, ``observer`` groups, ``readings list|count|relocate``,
    ``backup`` and ``mqtt forget-session``."""
    from .commands import add_commands
    from .broker_session import add_commands as add_broker_session_commands

    add_commands(cli)
    add_broker_session_commands(cli)
    from .retire import retire_command

    cli.commands["instrument"].add_command(retire_command)
