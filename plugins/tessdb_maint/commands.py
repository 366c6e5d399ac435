"""The ``instrument``, ``location``, ``observer`` and ``readings list|count|relocate`` commands.

Each command opens the store named by ``--db`` (default ``dbase.url``), asks it for
its ``MaintenanceQueries`` and either lists (table, ``--json`` or ``--csv``) or
makes ONE change through ``queries.change``: the rules of :mod:`.rules` decide inside
the store's write transaction, so bad input changes nothing and a busy database is
waited for.  Errors are ``LookupError`` / ``ValueError`` with one line, which the
``tessdb-core`` command prints and turns into exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import click
from loguru import logger

from tessdb_core import (App, BadValue, Change, MaintenanceQueries, MaintenanceView, emit_rows, output_options,
                         parse_duration, pass_app, shared_group)

from . import relocation, rules
from .backup import backup_command
from .rules import Limits, fmt_time, normalise_mac, normalise_name, parse_day, parse_time

log = logger.bind(ns="maint")



# -- plumbing ---------------------------------------------------------------------------------------------
@dataclass
class MaintenanceRun:
    """What one maintenance command works with: the store's queries, the rules' limits, its "now"."""

    queries: MaintenanceQueries
    limits: Limits
    now: datetime

    def change(self, what: str, decide: Callable[[MaintenanceView], Change]) -> Change:
        change = self.queries.change(what, decide)
        if change.changes_anything:
            log.info("{}: {}", what, change.summary)
        return change


@contextmanager
def maintenance_run(app: App, db: str | None) -> Iterator[MaintenanceRun]:
    """The store of ``db`` opened, its maintenance queries, the rules' limits; closed after."""
    store = app.store(db)
    store.open()
    try:
        yield MaintenanceRun(app.queries(MaintenanceQueries, store), Limits.from_settings(app.settings), rules.utcnow())
    finally:
        store.close()


def db_option(f: Callable) -> Callable:
    return click.option("--db", help="Database path or URL (default: setting dbase.url).")(f)


def since_option(help_text: str) -> Callable:
    return click.option("--since", "since_text", metavar="TS", help=help_text)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return fmt_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _plain(value)


def show_record(sections: dict[str, dict[str, Any] | None], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({k: ({f: _plain(v) for f, v in s.items()} if s else None)
                               for k, s in sections.items()}, indent=2))
        return
    width = max(len(f) for s in sections.values() if s for f in s)
    lines = []
    for title, s in sections.items():
        lines.append(f"[{title}]")
        for f, v in (s or {}).items():
            lines.append(f"  {f.ljust(width)}  {'' if v is None else _cell(v)}")
    click.echo("\n".join(lines))


def _name_or_mac(name: str | None, mac: str | None) -> tuple[str | None, str | None]:
    if (name is None) == (mac is None):
        raise BadValue("give a NAME or --mac MAC (one of them)")
    return (normalise_name(name), None) if name is not None else (None, normalise_mac(mac or ""))


def _since(text: str | None, now: datetime) -> datetime | None:
    return parse_time(text, "--since", now) if text else None


def _echo_change(change: Change, extra: str = "") -> None:
    click.echo(change.summary + extra)


# -- instrument ---------------------------------------------------------------------------------------------
@click.group()
def instrument() -> None:
    """Photometers: list, inspect, create, version, authorise, assign, rename."""


_LIST_COLUMNS = ["name", "mac", "model", "zp1", "zp2", "zp3", "zp4", "filters", "authorised", "place", "since"]


@instrument.command("list")
@click.option("--all", "include_all", is_flag=True, help="Also the MACs that have no current name.")
@output_options
@db_option
@pass_app
def instrument_list(app: App, include_all: bool, as_json: bool, as_csv: bool, db: str | None) -> None:
    """Current instruments: name, MAC, model, zero points, filters, authorised, place, since."""
    with maintenance_run(app, db) as s:
        rows = rules.instrument_rows(s.queries.catalog(), s.queries.locations(), s.queries.observers(True),
                                     include_anonymous=include_all)
    emit_rows(rows, _LIST_COLUMNS, as_json, as_csv, "no instruments", optional=("zp2", "zp3", "zp4"))


@instrument.command("show")
@click.argument("name", required=False)
@click.option("--mac", help="Find the instrument by MAC instead of name.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@db_option
@pass_app
def instrument_show(app: App, name: str | None, mac: str | None, as_json: bool, db: str | None) -> None:
    """The current version of one instrument, its name mapping, location and observer."""
    name, mac = _name_or_mac(name, mac)
    with maintenance_run(app, db) as s:
        cat = s.queries.catalog(names=[name] if name else None, macs=[mac] if mac else None)
        m, v = rules.instrument_of(cat, name, mac)
        locations = {loc["location_id"]: loc for loc in s.queries.locations()}
        observers = {o["observer_id"]: o for o in s.queries.observers(include_expired=True)}
    row = rules.instrument_row(m, v, locations, observers)
    for k in ("place", "observer", *(f"zp{i}" for i in range(v.nchannels + 1, 5))):
        row.pop(k)
    loc = locations.get(v.location_id)
    obs = observers.get(v.observer_id)
    show_record({"instrument": row, "location": loc, "observer": obs}, as_json)


@instrument.command("history")
@click.argument("name", required=False)
@click.option("--mac", help="Find the instrument by MAC instead of name.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON: {mappings: [...], versions: [...]}.")
@db_option
@pass_app
def instrument_history(app: App, name: str | None, mac: str | None, as_json: bool, db: str | None) -> None:
    """Every version (tess_t) and every name mapping (name_to_mac_t) of an instrument."""
    name, mac = _name_or_mac(name, mac)
    with maintenance_run(app, db) as s:
        cat = s.queries.catalog(names=[name] if name else None, macs=[mac] if mac else None)
    maps, versions = rules.history(cat, name, mac)
    mrows = [rules.mapping_dict(m) for m in maps]
    vrows = [rules.version_dict(v) for v in versions]
    if as_json:
        click.echo(json.dumps({"mappings": [{k: _plain(v) for k, v in r.items()} for r in mrows],
                               "versions": [{k: _plain(v) for k, v in r.items()} for r in vrows]}, indent=2))
        return
    vcols = ["tess_id", "mac", "valid_since", "valid_until", "valid_state", "model", "zp1", "zp2", "zp3", "zp4",
             "filters", "offsets", "authorised", "registered", "location_id", "observer_id"]
    click.echo("Versions")
    emit_rows(vrows, vcols, False, False, "(none)", optional=("zp2", "zp3", "zp4"))
    click.echo("\nName mappings")
    emit_rows(mrows, ["name", "mac", "valid_since", "valid_until", "valid_state"], False, False, "(none)")


@instrument.command("create")
@click.argument("name")
@click.argument("mac")
@click.option("--zp", "zps", type=float, multiple=True, required=True,
              help="Zero point (mag/arcsec^2); a TESS4C takes it 4 times, one per channel.")
@click.option("--filter", "filters", multiple=True, help="Filter name per channel (TESS-W default UV/IR-740).")
@click.option("--offset", "offsets", type=float, multiple=True, help="Frequency offset per channel, Hz (default 0).")
@click.option("--model", type=click.Choice(list(rules.MODELS)), default="TESS-W", show_default=True)
@click.option("--firmware", default="Unknown", show_default=True)
@click.option("--authorise", is_flag=True, help="Authorise it at once (default: not authorised).")
@click.option("--location", metavar="ID|PLACE", help="Location (default -1, Unknown).")
@click.option("--observer", metavar="ID|NAME", help="Observer (default -1, Unknown).")
@since_option("Start of the version and name mapping, UTC (default now).")
@db_option
@pass_app
def instrument_create(app: App, name: str, mac: str, zps: tuple[float, ...], filters: tuple[str, ...],
                      offsets: tuple[float, ...], model: str, firmware: str, authorise: bool, location: str | None,
                      observer: str | None, since_text: str | None, db: str | None) -> None:
    """Register an instrument by hand (registered = Manual).

    Refused if the name or the MAC already has a current name mapping."""
    normalise_mac(mac)  # the cheap checks before the database is opened
    with maintenance_run(app, db) as s:
        rules.check_new_name(name, s.limits)
        since = _since(since_text, s.now)
        change = s.change("instrument create", lambda view: rules.plan_create(
            view, name=name, mac=mac, model=model, zps=zps, filters=filters, offsets=offsets, firmware=firmware,
            authorise=authorise, location=location, observer=observer, since=since, limits=s.limits, now=s.now))
    _echo_change(change, f" (tess_id {change.created.get('tess_id')})")


@instrument.command("update")
@click.argument("name")
@click.option("--zp", "zps", type=float, multiple=True, help="New zero point (all channels, or --channel's).")
@click.option("--filter", "filters", multiple=True, help="New filter name (all channels, or --channel's).")
@click.option("--offset", "offsets", type=float, multiple=True, help="New frequency offset, Hz.")
@click.option("--channel", type=int, help="Change only this channel (1..4) of a TESS4C.")
@since_option("Start of the new version, UTC; later than the current one's (default now).")
@click.option("--latest", is_flag=True, help="Edit the current version in place instead of versioning.")
@db_option
@pass_app
def instrument_update(app: App, name: str, zps: tuple[float, ...], filters: tuple[str, ...],
                      offsets: tuple[float, ...], channel: int | None, since_text: str | None, latest: bool,
                      db: str | None) -> None:
    """Change zero point, filter or offset: a new version (registered = Manual) that carries
    authorised, location, observer and firmware; --latest edits the current version."""
    if latest and since_text:
        raise BadValue("--since and --latest exclude each other")
    with maintenance_run(app, db) as s:
        since = _since(since_text, s.now)
        change = s.change("instrument update", lambda view: rules.plan_update(
            view, name, zps=zps, filters=filters, offsets=offsets, channel=channel, since=since, latest=latest,
            limits=s.limits, now=s.now))
    _echo_change(change, f" (tess_id {change.created['tess_id']})" if "tess_id" in change.created else "")


def _authorise(app: App, name: str, db: str | None, value: bool) -> None:
    with maintenance_run(app, db) as s:
        change = s.change("instrument enable" if value else "instrument disable",
                          lambda view: rules.plan_authorise(view, name, value))
    _echo_change(change)


@instrument.command("enable")
@click.argument("name")
@db_option
@pass_app
def instrument_enable(app: App, name: str, db: str | None) -> None:
    """Authorise the current version (its readings are stored when dbase.auth_filter is on)."""
    _authorise(app, name, db, True)


@instrument.command("disable")
@click.argument("name")
@db_option
@pass_app
def instrument_disable(app: App, name: str, db: str | None) -> None:
    """Withdraw the authorisation of the current version."""
    _authorise(app, name, db, False)


@instrument.command("assign")
@click.argument("name")
@click.option("--location", metavar="ID|PLACE", help="The location (id or place).")
@click.option("--observer", metavar="ID|NAME", help="The observer (id or name).")
@since_option("Make it a new version from this time, UTC (default: edit the current version).")
@click.option("--readings", "move", is_flag=True,
              help="Also move its stored readings since the current version began (or since --since) "
                   "to the location, in the same transaction.")
@db_option
@pass_app
def instrument_assign(app: App, name: str, location: str | None, observer: str | None,
                      since_text: str | None, move: bool, db: str | None) -> None:
    """Set the location and/or observer of the current version (in place, or versioned with --since)."""
    if move and location is None:
        raise BadValue("--readings moves readings to the --location given: give --location")

    def decide(view: MaintenanceView) -> Change:
        change = rules.plan_assign(view, name, location=location, observer=observer, since=since)
        return relocation.with_readings(view, change, name, location, since) if move else change

    with maintenance_run(app, db) as s:
        since = _since(since_text, s.now)
        change = s.change("instrument assign", decide)
    _echo_change(change, relocation.moved_note(change))


@instrument.command("rename")
@click.argument("old")
@click.argument("new")
@since_option("When the new name starts, UTC (default now).")
@db_option
@pass_app
def instrument_rename(app: App, old: str, new: str, since_text: str | None, db: str | None) -> None:
    """Give OLD's MAC the name NEW: OLD's mapping expires (and NEW's, if NEW named another MAC)."""
    with maintenance_run(app, db) as s:
        rules.check_new_name(new, s.limits)
        since = _since(since_text, s.now)
        change = s.change("instrument rename", lambda view: rules.plan_rename(
            view, old, new, since=since, limits=s.limits, now=s.now))
    _echo_change(change)


@instrument.command("unassigned")
@output_options
@db_option
@pass_app
def instrument_unassigned(app: App, as_json: bool, as_csv: bool, db: str | None) -> None:
    """Current instruments still at location -1 (Unknown)."""
    with maintenance_run(app, db) as s:
        rows = rules.instrument_rows(s.queries.catalog(), s.queries.locations(), s.queries.observers(True))
    rows = [r for r in rows if r["location_id"] == rules.UNKNOWN_ID]
    emit_rows(rows, ["name", "mac", "model", "zp1", "authorised", "since"], as_json, as_csv,
           "every current instrument has a location")


@instrument.command("anonymous")
@output_options
@db_option
@pass_app
def instrument_anonymous(app: App, as_json: bool, as_csv: bool, db: str | None) -> None:
    """MACs whose name mappings are all expired (or that never had one)."""
    with maintenance_run(app, db) as s:
        rows = rules.anonymous_rows(s.queries.catalog())
    emit_rows(rows, ["mac", "last_name", "named_until", "model", "tess_id", "version_since"], as_json, as_csv,
           "every MAC has a current name")


@instrument.command("silent")
@click.option("--since", "duration", metavar="DURATION", required=True,
              help="The period, back from now: 90m, 2h, 3d, 1w, 1d12h ...")
@output_options
@db_option
@pass_app
def instrument_silent(app: App, duration: str, as_json: bool, as_csv: bool, db: str | None) -> None:
    """Photometers with a current name and no reading in the period."""
    period = parse_duration(duration)
    with maintenance_run(app, db) as s:
        rows = s.queries.silent(s.now - period)
    rows.sort(key=lambda r: rules.natural_key(r["name"]))
    emit_rows(rows, ["name", "mac", "last_reading", "mapped_since"], as_json, as_csv,
           f"no photometer has been silent for {duration}")


# -- location -----------------------------------------------------------------------------------------------
@click.group()
def location() -> None:
    """Sites: create, list, show, update, unassigned, duplicates."""


#: lets ``-1`` (the Unknown location) be an ID|PLACE argument rather than an option
_NEGATIVE_IDS = {"ignore_unknown_options": True}

_LOCATION_COLUMNS = ["location_id", "place", "longitude", "latitude", "elevation", "town", "sub_region", "region",
                     "country", "timezone"]


def _location_text_options(f: Callable) -> Callable:
    for opt, name, text in reversed((("--town", "town", "Village, town or city."),
                                     ("--sub-region", "sub_region", "Province."),
                                     ("--region", "region", "Federal state, region."),
                                     ("--country", "country", "Country."),
                                     ("--timezone", "tz", "IANA time zone (default: found from the position)."))):
        f = click.option(opt, name, help=text)(f)
    return f


@location.command("create")
@click.argument("place")
@click.option("--lon", type=float, required=True, help="Longitude, decimal degrees (West negative).")
@click.option("--lat", type=float, required=True, help="Latitude, decimal degrees.")
@click.option("--elevation", type=float, help="Metres above sea level.")
@_location_text_options
@db_option
@pass_app
def location_create(app: App, place: str, lon: float, lat: float, elevation: float | None, town: str | None,
                    sub_region: str | None, region: str | None, country: str | None, tz: str | None,
                    db: str | None) -> None:
    """Add a location (refused if another one has the same longitude and latitude or place)."""
    fields = rules.location_fields(place=place, lon=lon, lat=lat, elevation=elevation, town=town,
                                   sub_region=sub_region, region=region, country=country, tz=tz)
    with maintenance_run(app, db) as s:
        change = s.change("location create", lambda view: rules.plan_location_create(view, fields))
    _echo_change(change, f" (location_id {change.created.get('location_id')})")


@location.command("list")
@output_options
@db_option
@pass_app
def location_list(app: App, as_json: bool, as_csv: bool, db: str | None) -> None:
    """Every location."""
    with maintenance_run(app, db) as s:
        rows = s.queries.locations()
    emit_rows(rows, _LOCATION_COLUMNS, as_json, as_csv, "no locations")


@location.command("show", context_settings=_NEGATIVE_IDS)
@click.argument("ref", metavar="ID|PLACE")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@db_option
@pass_app
def location_show(app: App, ref: str, as_json: bool, db: str | None) -> None:
    """One location and the current instruments there."""
    with maintenance_run(app, db) as s:
        locations = s.queries.locations()
        loc = rules.find_location(locations, ref)
        rows = rules.instrument_rows(s.queries.catalog(), locations, s.queries.observers(True),
                                     include_anonymous=True)
    here = [r["name"] or r["mac"] for r in rows if r["location_id"] == loc["location_id"]]
    show_record({"location": loc, "instruments": {"current": ", ".join(here)}}, as_json)


@location.command("update", context_settings=_NEGATIVE_IDS)
@click.argument("ref", metavar="ID|PLACE")
@click.option("--place", help="New place name.")
@click.option("--lon", type=float, help="Longitude, decimal degrees.")
@click.option("--lat", type=float, help="Latitude, decimal degrees.")
@click.option("--elevation", type=float, help="Metres above sea level.")
@_location_text_options
@db_option
@pass_app
def location_update(app: App, ref: str, place: str | None, lon: float | None, lat: float | None,
                    elevation: float | None, town: str | None, sub_region: str | None, region: str | None,
                    country: str | None, tz: str | None, db: str | None) -> None:
    """Edit a location in place (a new position finds its time zone again unless --timezone)."""
    given = {"place": place, "longitude": lon, "latitude": lat, "elevation": elevation, "town": town,
             "sub_region": sub_region, "region": region, "country": country, "timezone": tz}
    changes = {k: v for k, v in given.items() if v is not None}
    with maintenance_run(app, db) as s:
        change = s.change("location update", lambda view: rules.plan_location_update(view, ref, changes))
    _echo_change(change)


@location.command("unassigned")
@output_options
@db_option
@pass_app
def location_unassigned(app: App, as_json: bool, as_csv: bool, db: str | None) -> None:
    """Locations that no instrument (any version) refers to."""
    with maintenance_run(app, db) as s:
        rows = rules.unassigned_locations(s.queries.catalog(), s.queries.locations())
    emit_rows(rows, _LOCATION_COLUMNS, as_json, as_csv, "every location has an instrument")


@location.command("duplicates")
@click.option("--distance", type=float, default=100.0, show_default=True, help="Metres.")
@output_options
@db_option
@pass_app
def location_duplicates(app: App, distance: float, as_json: bool, as_csv: bool, db: str | None) -> None:
    """Pairs of locations closer than --distance metres (great-circle distance)."""
    if not distance > 0:
        raise BadValue(f"--distance {distance:g} must be a positive number of metres")
    with maintenance_run(app, db) as s:
        rows = rules.close_pairs(s.queries.locations(), distance)
    emit_rows(rows, ["id1", "place1", "id2", "place2", "distance_m"], as_json, as_csv,
           f"no two locations are closer than {distance:g} m")


# -- observer ----------------------------------------------------------------------------------------------
@click.group()
def observer() -> None:
    """Observers (individuals and organisations): create, list, update (versioned)."""


def _observer_options(f: Callable) -> Callable:
    for opt, name, text in reversed((("--affiliation", "affiliation", "Affiliation (\"\" clears it)."),
                                     ("--acronym", "acronym", "Acronym, at most 16 characters."),
                                     ("--website", "website_url", "http(s) URL."),
                                     ("--email", "email", "E-mail address."))):
        f = click.option(opt, name, help=text)(f)
    return f


_OBSERVER_TYPE = click.Choice(list(rules.OBSERVER_TYPES))


@observer.command("create")
@click.argument("name")
@click.option("--type", "type_", type=_OBSERVER_TYPE, required=True, help="Individual or Organization.")
@_observer_options
@since_option("Start of validity, UTC (default now).")
@db_option
@pass_app
def observer_create(app: App, name: str, type_: str, affiliation: str | None, acronym: str | None,
                    website_url: str | None, email: str | None, since_text: str | None, db: str | None) -> None:
    """Add an observer (refused if a current one has that name)."""
    fields = rules.observer_fields(name=name, type=type_, affiliation=affiliation, acronym=acronym,
                                   website_url=website_url, email=email)
    with maintenance_run(app, db) as s:
        since = _since(since_text, s.now) or s.now
        change = s.change("observer create", lambda view: rules.plan_observer_create(view, fields, since))
    _echo_change(change, f" (observer_id {change.created.get('observer_id')})")


@observer.command("list")
@click.option("--all", "include_all", is_flag=True, help="Every version, expired ones too.")
@output_options
@db_option
@pass_app
def observer_list(app: App, include_all: bool, as_json: bool, as_csv: bool, db: str | None) -> None:
    """Current observers (every version with --all)."""
    with maintenance_run(app, db) as s:
        rows = s.queries.observers(include_expired=include_all)
    cols = ["observer_id", "name", "type", "affiliation", "acronym", "website_url", "email", "valid_since"]
    if include_all:
        cols += ["valid_until", "valid_state"]
    emit_rows(rows, cols, as_json, as_csv, "no observers")


@observer.command("update")
@click.argument("ref", metavar="NAME|ID")
@click.option("--name", help="New name.")
@click.option("--type", "type_", type=_OBSERVER_TYPE, help="Individual or Organization.")
@_observer_options
@since_option("Start of the new version, UTC (default now).")
@db_option
@pass_app
def observer_update(app: App, ref: str, name: str | None, type_: str | None, affiliation: str | None,
                    acronym: str | None, website_url: str | None, email: str | None, since_text: str | None,
                    db: str | None) -> None:
    """A versioned change: the current row expires, a new one starts; the current instrument
    versions that referred to the old row follow the new one."""
    changes = rules.observer_fields(name=name, type=type_, affiliation=affiliation, acronym=acronym,
                                    website_url=website_url, email=email)
    with maintenance_run(app, db) as s:
        since = _since(since_text, s.now) or s.now
        change = s.change("observer update", lambda view: rules.plan_observer_update(view, ref, changes, since))
    extra = ""
    if "observer_id" in change.created:
        extra = (f" (observer_id {change.created['observer_id']}; "
                 f"{change.created.get('instruments_moved', 0)} instrument(s) follow it)")
    _echo_change(change, extra)


# -- readings ------------------------------------------------------------------------------------------------
_READING_COLUMNS = ["name", "tstamp", "model", "seq", "freq1", "mag1", "freq2", "mag2", "freq3", "mag3",
                    "freq4", "mag4", "box_temperature", "sky_temperature", "signal_strength"]


@click.command("list")
@click.argument("name", required=False)
@click.option("--count", type=click.IntRange(min=1), default=10, show_default=True, help="How many.")
@output_options
@db_option
@pass_app
def readings_list(app: App, name: str | None, count: int, as_json: bool, as_csv: bool,
                  db: str | None) -> None:
    """The latest readings (of one photometer, or of all), newest first."""
    with maintenance_run(app, db) as s:
        rows = s.queries.latest_readings(normalise_name(name) if name else None, count)
    emit_rows(rows, _READING_COLUMNS, as_json, as_csv, "no readings",
           optional=("freq2", "mag2", "freq3", "mag3", "freq4", "mag4"))


@click.command("count")
@click.argument("name")
@click.option("--from", "first", metavar="DATE", help="First day, YYYY-MM-DD (UTC).")
@click.option("--to", "last", metavar="DATE", help="Last day, YYYY-MM-DD (UTC), included.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@db_option
@pass_app
def readings_count(app: App, name: str, first: str | None, last: str | None, as_json: bool,
                   db: str | None) -> None:
    """How many readings a photometer has (in a range of days)."""
    d0 = parse_day(first, "--from") if first else None
    d1 = parse_day(last, "--to") if last else None
    if d0 and d1 and d0 > d1:
        raise BadValue(f"--from {d0} is after --to {d1}")
    start = datetime.combine(d0, datetime.min.time()) if d0 else None
    end = datetime.combine(d1, datetime.min.time()) + timedelta(days=1) if d1 else None
    name = normalise_name(name)
    with maintenance_run(app, db) as s:
        n = s.queries.count_readings(name, start, end)
    if as_json:
        click.echo(json.dumps({"name": name, "from": _plain(d0), "to": _plain(d1), "count": n}))
    else:
        span = f" from {d0 or 'the start'} to {d1 or 'now'}" if (d0 or d1) else ""
        click.echo(f"{name}: {n} reading(s){span}")


@click.command("relocate")
@click.argument("name")
@click.option("--location", required=True, metavar="ID|PLACE", help="Where the readings were taken (id or place).")
@click.option("--from", "first", metavar="TS", help="First reading time to move, UTC (default: the first).")
@click.option("--to", "last", metavar="TS", help="Move the readings before this time, UTC (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@db_option
@pass_app
def readings_relocate(app: App, name: str, location: str, first: str | None, last: str | None,
                      as_json: bool, db: str | None) -> None:
    """Move a photometer's stored readings with --from <= time < --to to a location.

    Both fact tables, in one transaction; the readings are NAME's through its name
    mappings (a renamed or replaced photometer's readings of another time stay).  Then
    `report ida` and `plot night` use that site.  Times: YYYY-MM-DD[ HH:MM[:SS]], UTC."""
    with maintenance_run(app, db) as s:
        start = parse_time(first, "--from", s.now) if first else None
        end = parse_time(last, "--to", s.now) if last else None
        change = s.change("readings relocate", lambda view: relocation.plan_relocate(
            view, name, location, start=start, end=end))
    moved = change.created.get("readings_moved", 0)
    if as_json:
        click.echo(json.dumps({"name": normalise_name(name), "moved": moved,
                               "location_id": change.move_readings[0].location_id if change.move_readings else None,
                               "windows": [{"mac": m.mac, "from": _plain(m.start), "to": _plain(m.end)}
                                           for m in change.move_readings],
                               "summary": change.summary}, indent=2))
    else:
        _echo_change(change, relocation.moved_note(change))


READINGS_HELP = "The readings in the database."


def add_commands(cli: click.Group) -> None:
    """Add the groups; ``readings`` may be shared with another plugin (get or create it)."""
    for group in (instrument, location, observer):
        cli.add_command(group)
    readings = shared_group(cli, "readings", READINGS_HELP)
    readings.add_command(readings_list)
    readings.add_command(readings_count)
    readings.add_command(readings_relocate)
    cli.add_command(backup_command)
