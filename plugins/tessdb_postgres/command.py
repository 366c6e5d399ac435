"""``tessdb-core copy --from tess.db --to postgresql://...``: move a SQLite database over."""

from __future__ import annotations

from typing import Any

import click

from tessdb_core import BadValue, StoreError, pass_app, require


@click.command("copy")
@click.option("--from", "source", required=True, metavar="PATH",
              help="The SQLite database to copy (tessdb-core, 5.x or 4.x); opened read-only.")
@click.option("--to", "target", metavar="URL",
              help="The PostgreSQL database (postgresql://...; default: setting dbase.url). "
                   "Initialised first when empty.")
@click.option("--chunk", type=int, default=10_000, show_default=True, help="Rows per transaction.")
@click.option("--restart", is_flag=True, help="Forget the progress of an earlier copy of this file and read "
                                              "everything again (rows already there are still skipped).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@pass_app
def copy_command(app: Any, source: str, target: str | None, chunk: int, restart: bool,
                 progress: bool | None) -> None:
    """Copy a SQLite tessdb database into PostgreSQL: resumable, keys kept, row counts verified.

    Each chunk is committed with the progress of its table, so an interrupted copy is
    simply run again: it goes on after the last chunk, and rows already in the target
    are skipped (ON CONFLICT DO NOTHING)."""
    from tessdb_star.sqlite import sqlite_path

    require("psycopg", "postgres", "copy")
    from .copy import Copier
    from .store import PostgresStore
    from .urls import postgres_conninfo

    url = target or app.settings.dbase.url
    if postgres_conninfo(url) is None:
        raise BadValue(f"--to {url!r} is not a postgresql:// URL")
    path = sqlite_path(source)
    if path is None:
        raise BadValue(f"--from {source!r} is not a SQLite file path")
    store = PostgresStore(url, app.settings)
    click.echo(store.initialise())
    store.open()
    try:
        results = Copier(path, store, chunk=chunk, progress=progress, restart=restart, echo=click.echo).run()
    finally:
        store.close()
    for r in results:
        click.echo(r.line())
        for problem in r.failed[:5]:
            click.echo(f"  refused: {problem}")
    bad = [r.table for r in results if not r.ok]
    if bad:
        raise StoreError(f"copy verification failed for {', '.join(bad)}: the target lacks source rows "
                         "(see above); run the copy again, or look at the refused rows")
    total = sum(r.inserted for r in results)
    click.echo(f"copied {total} rows from {path} to {store.url}; every row count verified")
