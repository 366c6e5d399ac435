"""``tessdb-core copy``: move a SQLite tessdb database into PostgreSQL."""

from __future__ import annotations

import click


@click.command("copy")
def copy_command() -> None:
    """(being written)"""
