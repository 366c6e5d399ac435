"""``tessdb-core instrument retire NAME [--since TIME]``: a photometer withdrawn from the network.

Retiring ends the name's Current mapping (``valid_until`` = the time, ``Expired``), nothing
else: its versions, its site and every reading stay.  The running service notices the change
(it reloads its catalogue when the database changes), stops waiting for the name, and the
alarms close its "silent" alarm; the public page and API show it as ``retired`` rather than
``silent`` (a name without a Current mapping whose MAC has no other name).  A registration
under the name later makes it current again, as for any new name.
"""

from __future__ import annotations

from datetime import datetime

import click

from tessdb_core import App, BadValue, Change, MaintenanceView, NotFound, pass_app
from .rules import fmt_time, normalise_name


def plan_retire(view: MaintenanceView, name: str, *, since: datetime | None, now: datetime) -> Change:
    """Expire the name's Current mapping at ``since`` (default ``now``); pure."""
    name = normalise_name(name)
    cat = view.catalog(names=[name])
    m = cat.current_mapping_of_name(name)
    if m is None:
        if cat.mappings_of_name(name):
            raise BadValue(f"{name} has no current MAC address: it is retired or was renamed already")
        raise NotFound(f"unknown photometer {name!r}")
    at = since or now
    if at <= m.since:
        raise BadValue(f"--since {fmt_time(at)} is not later than the valid_since {fmt_time(m.since)} "
                       f"of the mapping {name} -> {m.mac}")
    if at > now:
        raise BadValue(f"--since {fmt_time(at)} is in the future")
    return Change(summary=f"retired {name} (MAC {m.mac}) from {fmt_time(at)}; its readings and versions are kept",
                  at=at, expire_mappings=(m,))


@click.command("retire")
@click.argument("name")
@click.option("--since", "since_text", metavar="TIME", help="When it left the network, UTC (default: now).")
@click.option("--db", help="Database path or URL (default: setting dbase.url).")
@pass_app
def retire_command(app: App, name: str, since_text: str | None, db: str | None) -> None:
    """Retire a photometer: its name is no longer current (shown as retired, its alarm closed)."""
    from .commands import maintenance_run
    from .rules import parse_time

    with maintenance_run(app, db) as s:
        since = parse_time(since_text, "--since", s.now) if since_text else None
        change = s.change("instrument retire", lambda view: plan_retire(view, name, since=since, now=s.now))
    click.echo(change.summary)
