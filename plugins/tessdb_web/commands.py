"""``tessdb-core web [--db URL] [--host H] [--port P]``: the public listener on its own, on a
read-only connection (a second machine, or a database the collector writes elsewhere)."""

from __future__ import annotations

import signal
import threading
from dataclasses import replace

import click

from tessdb_core import pass_app

from .config import WebSettings


@click.command("web")
@click.option("--db", "db", metavar="URL", help="Database to read (default: dbase.url).")
@click.option("--host", help="Address to listen on (default: web.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: web.port; 0: any free port).")
@pass_app()
def web_command(app, db: str | None, host: str | None, port: int | None) -> None:
    """Serve the public, read-only map, status page and JSON API until stopped (Ctrl-C)."""
    from .runtime import WebRuntime

    cfg = WebSettings.from_settings(app.settings)
    cfg = replace(cfg, host=host or cfg.host, port=cfg.port if port is None else port)
    runtime = WebRuntime(app.settings, db or app.settings.dbase.url, pm=app.pm, cfg=cfg)
    click.echo(f"Serving the public listener on http://{cfg.host}:{cfg.port}/ (read-only; Ctrl-C stops)", err=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start()
    try:
        stop.wait()
    finally:
        runtime.stop()
    click.echo("Stopped.", err=True)
