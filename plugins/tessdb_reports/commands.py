"""The click commands: ``report ida | geolist | daily``, ``readings export``, ``plot night | month``."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import click

from tessdb_core import App, BadValue, NotFound, ReportQueries, output_options, pass_app, require, shared_group

from .common import month_range, parse_date, parse_month, shown, writable_file

_db = click.option("--db", help="Database path or URL (default: setting dbase.url).")


@contextmanager
def report_queries(app: App, db: str | None) -> Iterator[ReportQueries]:
    """The ``ReportQueries`` of the database, open for the block."""
    store = app.store(db)
    store.open()
    try:
        yield app.queries(ReportQueries, store)
    finally:
        store.close()


def _note(text: str) -> None:
    click.echo(text, err=True)


def add_commands(cli: click.Group) -> None:
    report = shared_group(cli, "report", "Reports: IDA monthly files, geolist, readings per day.")
    readings = shared_group(cli, "readings", "The readings in the database.")
    plot = shared_group(cli, "plot", "Plots of a photometer's night or month (PNG, SVG or PDF).")
    report.add_command(report_ida)
    report.add_command(report_geolist)
    report.add_command(report_daily)
    report.add_command(report_nights)
    readings.add_command(readings_export)
    plot.add_command(plot_night)
    plot.add_command(plot_month)
    plot.add_command(plot_year)


# -- report ida ---------------------------------------------------------------------------------------
@click.command("ida")
@click.argument("names", nargs=-1)
@click.option("--all", "all_names", is_flag=True, help="Every photometer with a name during the month(s).")
@click.option("--month", required=True, help="First month, YYYY-MM.")
@click.option("--to", "to_month", help="Last month, YYYY-MM (default: --month).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory; files go to DIR/<name>/<name>_<YYYY-MM>[_<location_id>].dat (a name's characters "
                   "other than A-Z a-z 0-9 . _ - written %XX).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@_db
@pass_app
def report_ida(app: App, names: tuple[str, ...], all_names: bool, month: str, to_month: str | None, out_dir: str,
               progress: bool | None, db: str | None) -> None:
    """IDA monthly files (docs/reports.md) for NAME... or --all, one per name, month and location.

    A month without readings gives no file (noted on stderr).  A photometer whose files
    cannot be written inside DIR is refused with one line on stderr while the others are
    written, and the command then fails (exit code 2), as it does when no file is written."""
    from .tools import ida_reports

    if bool(names) == all_names:
        raise BadValue("give photometer NAME(s) or --all (not both)")
    months = month_range(parse_month(month, "--month"), parse_month(to_month, "--to") if to_month else None)
    renamed: set[str] = set()

    def wrote(path: Path, f: Any) -> None:
        stem = f.relpath.split("/", 1)[0]
        if stem != f.name and f.name not in renamed:
            renamed.add(f.name)
            _note(f"note: photometer {f.name!r} is written as {stem!r} (file names keep A-Z a-z 0-9 . _ -)")
        click.echo(f"wrote {path} ({f.readings} readings)")

    def refused(name: str, why: str) -> None:
        _note(f"refused: photometer {name!r}: {why}; no file written for it")

    with report_queries(app, db) as queries:
        run = ida_reports(queries, list(names) if names else None, months, out_dir, progress, wrote, refused)
    if names:
        for name, m in run.empty:
            _note(f"note: no readings of {shown(name)} in {m}: no file")
    for w in run.warnings:
        _note(f"warning: {w}")
    click.echo(f"{run.written} file(s) written")
    if run.refused:
        raise BadValue(f"{len(run.refused)} photometer(s) refused, {run.written} file(s) written")


# -- report geolist / daily ---------------------------------------------------------------------------
@click.command("geolist")
@output_options
@click.option("--geojson", "as_geojson", is_flag=True,
              help="A GeoJSON FeatureCollection: a Point [longitude, latitude] per instrument with its name, "
                   "mac_address, model, location_id, place and town (instruments without coordinates left out, "
                   "counted on stderr).")
@_db
@pass_app
def report_geolist(app: App, as_json: bool, as_csv: bool, as_geojson: bool, db: str | None) -> None:
    """Name, model, longitude and latitude of the current instruments (';' CSV, --json or --geojson).

    The CSV (the default, or --csv) is tess-geolist's; --json is an array of objects: name,
    mac_address, model, longitude, latitude, location_id."""
    import json

    from .tools import geolist_csv, geolist_geojson, geolist_json

    if as_geojson and (as_json or as_csv):
        raise BadValue(f"choose one of {'--json' if as_json else '--csv'} and --geojson")
    with report_queries(app, db) as queries:
        if as_geojson:
            collection, missing = geolist_geojson(queries)
            click.echo(json.dumps(collection, indent=2))
            if missing:
                _note(f"note: {len(missing)} instrument(s) without coordinates left out: "
                      f"{', '.join(shown(n) for n in missing)}")
            return
        click.echo(geolist_json(queries) if as_json else geolist_csv(queries), nl=False)


@click.command("daily")
@click.argument("keys", nargs=-1, metavar="[NAME|MAC]...")
@click.option("--from", "date_from", help="First day, YYYY-MM-DD (default: 30 days before --to).")
@click.option("--to", "date_to", help="Last day, included, YYYY-MM-DD (default: today, UTC, or 30 days after --from).")
@click.option("--by", type=click.Choice(["name", "mac"]), default="name", show_default=True,
              help="Count per photometer name (the name -> MAC mapping at each reading's time) or per MAC.")
@click.option("--night", is_flag=True,
              help="Count per night: a reading belongs to the evening's date in the site's local time "
                   "(local noon to noon), not to its UTC day.")
@output_options
@_db
@pass_app
def report_daily(app: App, keys: tuple[str, ...], date_from: str | None, date_to: str | None, by: str, night: bool,
                 as_json: bool, as_csv: bool, db: str | None) -> None:
    """Readings per day (or night) per photometer, for the photometers NAME... (MAC... with
    --by mac; default: all) over --from .. --to (default: the last 31 days).

    One photometer after the other, by name (or MAC), days in order; written as it is
    read, one range query per photometer, so the time grows with the period and the
    photometers, not with the database."""
    from .tools import daily_period, daily_report, write_rows

    first, last = daily_period(parse_date(date_from, "--from") if date_from else None,
                               parse_date(date_to, "--to") if date_to else None)
    form = "json" if as_json else "csv" if as_csv else "table"
    with report_queries(app, db) as queries:
        report = daily_report(queries, first, last, by, night, list(keys) if keys else None)
        widths = {report.columns[0]: 10, report.columns[1]: max((len(k) for k in report.keys), default=0)}
        try:
            n = write_rows(report.rows(), report.columns, sys.stdout, form, widths)
            sys.stdout.flush()
        except BrokenPipeError:  # `... | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
    for key, count in report.unlocated.items():
        _note(f"note: {count} reading(s) of {shown(key)} were taken at a location without coordinates "
              "(location -1 or another): their nights are split at noon of that location's time zone "
              "(UTC for -1), not at the site's local noon")
    if not n:
        what = "nights" if night else "UTC days"
        raise NotFound(f"no readings {('of ' + ', '.join(shown(k) for k in report.keys) + ' ') if keys else ''}"
                       f"in the {what} {first} to {last}")


@click.command("nights")
@click.argument("names", nargs=-1)
@click.option("--all", "all_names", is_flag=True, help="Every photometer with a name during the period.")
@click.option("--from", "date_from", help="First night (the evening's local date), YYYY-MM-DD (default: 30 nights "
                                          "before --to).")
@click.option("--to", "date_to", help="Last night, included, YYYY-MM-DD (default: today, UTC, or 30 nights after "
                                      "--from).")
@output_options
@_db
@pass_app
def report_nights(app: App, names: tuple[str, ...], all_names: bool, date_from: str | None, date_to: str | None,
                  as_json: bool, as_csv: bool, db: str | None) -> None:
    """One row per photometer and night of NAME... (or --all): readings, readings in
    astronomical night, dark ones (Moon down), dark clear ones, the clear fraction, the
    median, 10th and 90th percentile and darkest value of the dark clear readings (each
    channel of a TESS4C), the Moon's illumination at local midnight and one word: good,
    partial, cloudy, moon or no data (docs/reports.md).

    Written as it is computed, photometer after photometer, a month of nights at a time."""
    require("numpy", "sky", "report nights")
    from .nights import NIGHT_COLUMNS, NightsRun, check_sites, night_summaries
    from .tools import daily_period, known_names, write_rows

    if bool(names) == all_names:
        raise BadValue("give photometer NAME(s) or --all (not both)")
    first, last = daily_period(parse_date(date_from, "--from") if date_from else None,
                               parse_date(date_to, "--to") if date_to else None)
    form = "json" if as_json else "csv" if as_csv else "table"
    with report_queries(app, db) as queries:
        if names:
            chosen = known_names(queries, names)
            for name, why in check_sites(queries, chosen).items():
                raise BadValue(why)
        else:
            since, until = datetime(first.year, first.month, first.day), datetime(last.year, last.month, last.day)
            chosen = queries.names(since - timedelta(days=1), until + timedelta(days=2))
        run = NightsRun()
        rows = night_summaries(queries, chosen, first, last, app.settings, run)
        widths = {"name": max((len(k) for k in chosen), default=4), "night": 10, "sky": 7}
        try:
            n = write_rows(rows, list(NIGHT_COLUMNS), sys.stdout, form, widths)
            sys.stdout.flush()
        except BrokenPipeError:  # `... | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
    for name, why in run.skipped:
        _note(f"note: {name!r} left out: {why}")
    if not n:
        who = ", ".join(shown(k) for k in chosen) if names else "any photometer"
        raise NotFound(f"no readings of {who} in the nights {first} to {last}")


# -- readings export ----------------------------------------------------------------------------------
@click.command("export")
@click.argument("name", required=False)
@click.option("--all", "all_names", is_flag=True, help="Every reading of every photometer.")
@click.option("--from", "date_from", help="First day (UTC), YYYY-MM-DD.")
@click.option("--to", "date_to", help="Last day (UTC, included), YYYY-MM-DD.")
@click.option("--format", "form", type=click.Choice(["csv", "json", "parquet", "ecsv"], case_sensitive=False),
              help="csv (default; with a header line), json (JSON Lines: one object a line, numbers as numbers, "
                   "null if empty), parquet (needs --out and the extra 'parquet') or ecsv (an astropy time series "
                   "with units and the sky context, tess-ida-tools' column names; extra 'sky').")
@click.option("--context", is_flag=True,
              help="Add the sky context columns (docs/reports.md): Sun and Moon altitude and azimuth, the Moon's "
                   "illumination, waxing, moon up, sky state, night, site known, clouds (extra 'sky').")
@click.option("--sep", type=click.Choice([",", ";"]), default=",", show_default=True,
              help="Field separator (CSV).")
@output_options
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Output file (default: stdout).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@_db
@pass_app
def readings_export(app: App, name: str | None, all_names: bool, date_from: str | None, date_to: str | None,
                    form: str | None, context: bool, sep: str, as_json: bool, as_csv: bool, out_file: str | None,
                    progress: bool | None, db: str | None) -> None:
    """The readings of NAME (or --all), in time order, as CSV with a header line (or
    --format json: JSON Lines; --format parquet: a Parquet file), written as they are read.
    --json and --csv are the listing options of every command: --format json and --format csv.

    Columns: julian_day, timestamp, sequence_number, place, mac_address, frequency,
    magnitude, zp1, sky_temperature, box_temperature (the README's sample query 2; TESS4C:
    channel 1), then name (the name of the MAC at the reading's time), model, longitude,
    latitude, location_id, town (the reading's site), and frequency2, magnitude2, zp2 ..
    frequency4, magnitude4, zp4 (TESS4C channels 2-4; empty for a TESS-W); with --context
    the sky context columns after them (always in --format ecsv)."""
    from .tools import date_window, export_csv, export_ecsv, export_parquet, known_names

    form = form.lower() if form else None
    if as_json and form not in (None, "json"):
        raise BadValue(f"--json is --format json: it cannot go with --format {form}")
    if as_csv and form not in (None, "csv"):
        raise BadValue(f"--csv is --format csv: it cannot go with --format {form}")
    form = form or ("json" if as_json else "csv")
    if bool(name) == all_names:
        raise BadValue("give a photometer NAME or --all (not both)")
    if form == "parquet":
        if not out_file:
            raise BadValue("--format parquet needs --out FILE (a Parquet file is not written to stdout)")
        require("pyarrow", "parquet", "readings export --format parquet")
    if context or form == "ecsv":
        from .skycols import sky_api

        sky_api(f"readings export {'--format ecsv' if form == 'ecsv' else '--context'}")
    since, until = date_window(parse_date(date_from, "--from") if date_from else None,
                               parse_date(date_to, "--to") if date_to else None)
    target = writable_file(out_file) if out_file else None
    settings = app.settings

    def write(queries: Any, stream: Any) -> int:
        if form == "ecsv":
            return export_ecsv(queries, name, since, until, stream, settings, progress)
        return export_csv(queries, name, since, until, stream, sep, progress, form == "json", context, settings)

    with report_queries(app, db) as queries:
        if name:
            (name,) = known_names(queries, [name])
        if target is None:
            try:
                write(queries, sys.stdout)
                sys.stdout.flush()
            except BrokenPipeError:  # `... | head`: the reader has all it wanted
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        try:
            if form == "parquet":
                n = export_parquet(queries, name, since, until, tmp, progress, context=context, settings=settings)
            else:
                with open(tmp, "w", encoding="utf-8", newline="") as fh:
                    n = write(queries, fh)
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    _note(f"wrote {n} reading(s) to {target}")


# -- plots ----------------------------------------------------------------------------------------------
_size = [click.option("--width", type=click.IntRange(200, 10000), default=1200, show_default=True,
                      help="Image width in pixels."),
         click.option("--height", type=click.IntRange(150, 10000), default=700, show_default=True,
                      help="Image height in pixels.")]


def _with_size(f):
    for option in reversed(_size):
        f = option(f)
    return f


def _image(out: str) -> Path:
    path = writable_file(out)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise BadValue(f"--out {out!r}: a plot is a PNG, SVG or PDF file, give a name ending in .png, .svg or .pdf")
    return path


@click.command("night")
@click.argument("name")
@click.option("--date", "day", required=True, help="The evening's local date, YYYY-MM-DD.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write: .png, .svg or .pdf.")
@_with_size
@_db
@pass_app
def plot_night(app: App, name: str, day: str, out: str, width: int, height: int, db: str | None) -> None:
    """Sky brightness of NAME from local noon of --date to noon the next day, with the
    Sun's and the Moon's altitude, the twilights shaded, the Moon's illumination and the
    ZP changes marked."""
    require("matplotlib", "plots", "plot night")
    from .skycols import sky_api

    sky_api("plot night")
    from .plots import night_data, night_figure, save
    from .tools import known_names

    when = parse_date(day, "--date")
    path = _image(out)
    with report_queries(app, db) as queries:
        (name,) = known_names(queries, [name])
        data = night_data(queries, name, when)
    save(night_figure(data, width, height, app.settings), path)
    click.echo(f"wrote {path} ({len(data.readings)} readings)")


@click.command("month")
@click.argument("name")
@click.option("--month", required=True, help="YYYY-MM.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write: .png, .svg or .pdf.")
@_with_size
@_db
@pass_app
def plot_month(app: App, name: str, month: str, out: str, width: int, height: int, db: str | None) -> None:
    """Heat map of NAME's sky brightness for --month: one row per night, one column per local hour."""
    require("matplotlib", "plots", "plot month")
    from .plots import month_data, month_figure, save
    from .tools import known_names

    m = parse_month(month, "--month")
    path = _image(out)
    with report_queries(app, db) as queries:
        (name,) = known_names(queries, [name])
        data = month_data(queries, name, m)
    if data.location.get("latitude") is None or data.location.get("longitude") is None:
        _note(f"note: {shown(name)}'s readings are at location {data.location.get('location_id')}, without "
              "coordinates: its nights are split at noon of that location's time zone (UTC for -1), not at the "
              "site's local noon")
    save(month_figure(data, width, height), path)
    click.echo(f"wrote {path} ({len(data.readings)} readings)")


@click.command("year")
@click.argument("name")
@click.option("--year", "year", required=True, type=int, help="The year of the nights' evenings, YYYY.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write: .png, .svg or .pdf.")
@click.option("--kind", type=click.Choice(["both", "hourglass", "jellyfish"]), default="both", show_default=True,
              help="Both plots side by side, or one of them.")
@click.option("--clouds", type=click.Choice(["mask", "show"]), default="mask", show_default=True,
              help="Leave out the readings the cloud screening calls cloudy, or draw them.")
@click.option("--moon", type=click.Choice(["mask", "show"]), default="mask", show_default=True,
              help="Leave out the readings taken with the Moon up, or draw them.")
@click.option("--width", type=click.IntRange(200, 10000), default=1600, show_default=True, help="Image width in pixels.")
@click.option("--height", type=click.IntRange(150, 10000), default=700, show_default=True,
              help="Image height in pixels.")
@_db
@pass_app
def plot_year(app: App, name: str, year: int, out: str, kind: str, clouds: str, moon: str, width: int, height: int,
              db: str | None) -> None:
    """NAME's year: the hourglass (one column per night, the night's hours down, the mean
    brightness in each 10 minutes) and the jellyfish (brightness against time of night, as a
    density), astronomical night only, cloudy and moonlit readings left out unless shown."""
    require("matplotlib", "plots", "plot year")
    require("numpy", "sky", "plot year")
    from .plots import save
    from .tools import known_names
    from .yearplot import year_data, year_figure

    path = _image(out)
    with report_queries(app, db) as queries:
        (name,) = known_names(queries, [name])
        data = year_data(queries, name, year, app.settings, clouds, moon)
    save(year_figure(data, width, height, kind), path)
    click.echo(f"wrote {path} ({data.drawn} of {data.readings} readings drawn)")
