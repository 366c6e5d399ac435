"""The report tools over a ``ReportQueries`` object: IDA files, geolist, daily report, CSV export.

Each function checks its inputs before writing anything and raises LookupError /
ValueError / OSError with a one-line message (the CLI prints it and exits 2).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from . import ida
from .common import Month, atomic_write, file_stems, fmt, inside, progress, shown, writable_dir, zone
from tessdb_core import BadValue, NotFound, ReportQueries

#: sample query 2's columns (TESS4C: channel 1), then the name (the mapping at the reading's time),
#: the model, the site (coordinates, location id and town; its place is sample query 2's) and
#: channels 2-4 of a TESS4C (empty for a TESS-W)
EXPORT_COLUMNS = ("julian_day", "timestamp", "sequence_number", "place", "mac_address", "frequency", "magnitude",
                  "zp1", "sky_temperature", "box_temperature", "name", "model", "longitude", "latitude",
                  "location_id", "town", "frequency2", "magnitude2", "zp2", "frequency3", "magnitude3", "zp3",
                  "frequency4", "magnitude4", "zp4")
GEOLIST_COLUMNS = ("name", "model", "longitude", "latitude")
#: the export formats of `readings export --format`
EXPORT_FORMATS = ("csv", "json", "parquet", "ecsv")
#: the rows of one Parquet row group (the most an export holds in memory)
PARQUET_ROWS = 50_000
_INT_COLUMNS = {"sequence_number", "location_id"}
_TEXT_COLUMNS = {"timestamp", "place", "mac_address", "name", "model", "town", "sky_state", "night", "clouds"}
_BOOL_COLUMNS = {"moon_waxing", "moon_up", "site_known"}


def known_names(queries: ReportQueries, names: Iterable[str]) -> list[str]:
    """The names, lower-cased and de-duplicated in order; LookupError for one never registered."""
    known = set(queries.names())
    out: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if name not in known:
            raise NotFound(f"unknown photometer {raw!r}: no such name in name_to_mac_t")
        if name not in out:
            out.append(name)
    return out


# -- IDA ------------------------------------------------------------------------------------------
@dataclass
class IdaRun:
    written: int = 0                                               # files written
    empty: list[tuple[str, Month]] = field(default_factory=list)   # (name, month) without readings
    refused: list[tuple[str, str]] = field(default_factory=list)   # (name, why) of photometers not written
    warnings: list[str] = field(default_factory=list)


def ida_reports(queries: ReportQueries, names: list[str] | None, months: list[Month], out: str | Path,
                show_progress: bool | None = None,
                on_written: Callable[[Path, ida.IdaFile], None] | None = None,
                on_refused: Callable[[str, str], None] | None = None) -> IdaRun:
    """Write the IDA files of ``names`` (None: every name mapped during the months) for
    each month into ``out``, calling ``on_written(path, file)`` after each file (the run
    keeps no file text).  Files are named after ``common.file_stem(name)`` and never land
    outside ``out``; a photometer that cannot have a file there is refused (once, when it
    has readings: ``on_refused(name, why)`` and ``run.refused``) and the others go on.
    Raises LookupError when not a single file was written."""
    explicit = names is not None
    if names is not None:
        names = known_names(queries, names)
    out_dir = writable_dir(out)
    if names is None:
        names = queries.names(months[0].start, months[-1].end)
    stems, refusals = file_stems(names)
    why = dict(refusals)
    run = IdaRun()
    done: set[str] = set()  # the refused names

    def refuse(name: str, reason: str) -> None:
        done.add(name)
        run.refused.append((name, reason))
        if on_refused:
            on_refused(name, reason)

    jobs = [(name, month) for name in names for month in months]
    for name, month in progress(jobs, len(jobs), "IDA", show_progress, unit="month"):
        if name in done:
            continue
        readings = queries.readings(name, month.start, month.end)
        if not readings:
            run.empty.append((name, month))
            continue
        if name in why:
            refuse(name, why[name])
            continue
        versions = queries.versions({r["tess_id"] for r in readings})
        locations = queries.locations({r["location_id"] for r in readings})
        observers = queries.observers({r["observer_id"] for r in readings})
        mappings = queries.mappings(name)
        files = ida.month_files(name, month, readings, versions, locations, observers, mappings, stems[name])
        try:  # every file of the month checked before the first is written
            targets = [inside(out_dir, f.relpath) for f in files]
        except ValueError as exc:
            refuse(name, str(exc))
            continue
        for f, target in zip(files, targets):
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, f.text)
            run.written += 1
            run.warnings += [f"{f.relpath}: {w}" for w in f.warnings]
            if on_written:
                on_written(target, f)
    if not run.written:
        span = str(months[0]) if len(months) == 1 else f"{months[0]} to {months[-1]}"
        if run.refused:
            raise NotFound(f"{len(run.refused)} photometer(s) refused, no IDA file written in {span}")
        who = ", ".join(shown(n) for n in names) if explicit else "any photometer"
        raise NotFound(f"no readings of {who or 'any photometer'} in {span}: no IDA file written")
    return run


# -- geolist and daily ------------------------------------------------------------------------------
def geolist_json(queries: ReportQueries) -> str:
    """The current instruments as a JSON array of objects: name, mac_address, model,
    longitude, latitude, location_id (null coordinates when unknown)."""
    keys = ("name", "mac_address", "model", "longitude", "latitude", "location_id")
    return json.dumps([{k: r.get(k) for k in keys} for r in queries.current_instruments()], indent=2) + "\n"


def geolist_geojson(queries: ReportQueries) -> tuple[dict[str, Any], list[str]]:
    """The current instruments as a GeoJSON FeatureCollection (RFC 7946): one Point
    ``[longitude, latitude]`` per instrument, with properties name, mac_address, model,
    location_id, place and town; and the names of the instruments left out because their
    site has no coordinates."""
    features: list[dict[str, Any]] = []
    missing: list[str] = []
    for r in queries.current_instruments():
        lon, lat = r.get("longitude"), r.get("latitude")
        if lon is None or lat is None:
            missing.append(r["name"])
            continue
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                         "properties": {k: r.get(k) for k in ("name", "mac_address", "model", "location_id",
                                                               "place", "town")}})
    return {"type": "FeatureCollection", "features": features}, missing


def geolist_csv(queries: ReportQueries, sep: str = ";") -> str:
    rows = queries.current_instruments()
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(GEOLIST_COLUMNS)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else fmt(r[c]) for c in GEOLIST_COLUMNS])
    return buf.getvalue()


DAILY_DAYS = 31  # the default period of `report daily`


def daily_period(first: date | None, last: date | None, today: date | None = None) -> tuple[date, date]:
    """--from / --to of `report daily` (both included): DAILY_DAYS days ending today by
    default, DAILY_DAYS days from --from or up to --to when only one is given."""
    span = timedelta(days=DAILY_DAYS - 1)
    if first is None and last is None:
        last = today or datetime.now(timezone.utc).date()
    if first is None:
        first = last - span
    if last is None:
        last = first + span
    if last < first:
        raise BadValue(f"--to {last} is before --from {first}")
    return first, last


@dataclass
class Daily:
    """A daily report: ``keys`` (the photometers asked about, in output order) and ``rows()``,
    a generator of ``{day_column: "YYYY-MM-DD", key_column: ..., "readings": n}``, one
    photometer after the other, days in order; only one photometer's counts in memory."""
    queries: ReportQueries
    first: date
    last: date
    by: str = "name"
    night: bool = False
    keys: list[str] = field(default_factory=list)
    #: with ``night``: readings per key taken at a location without coordinates (location -1,
    #: "Unknown"), whose nights are split at noon of the location's time zone (UTC for -1)
    #: rather than at the site's local noon; filled as ``rows()`` is consumed
    unlocated: dict[str, int] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return ["night" if self.night else "sql_date", "name" if self.by == "name" else "mac_address", "readings"]

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The UTC window read: the UTC days, or for nights every instant whose local
        evening (noon to noon, any time zone from UTC-12 to UTC+14) is in the period."""
        since = datetime(self.first.year, self.first.month, self.first.day)
        until = datetime(self.last.year, self.last.month, self.last.day) + timedelta(days=1)
        if self.night:
            return since - timedelta(days=1), until + timedelta(days=1)
        return since, until

    def rows(self) -> Iterator[dict[str, Any]]:
        since, until = self.window
        day_col, key_col, _ = self.columns
        zones: dict[int, Any] = {}
        no_site: set[int] = set()
        nights: dict[tuple[Any, int, int], date] = {}
        for key in self.keys:
            per_day: dict[date, int] = {}
            for date_id, quarter, location_id, n in self.queries.daily_counts(key, self.by, since, until, self.night):
                if self.night:
                    tz = zones.get(location_id)
                    if tz is None:
                        loc = self.queries.locations([location_id]).get(location_id) or {}
                        tz = zones[location_id] = zone(loc.get("timezone"), f"location {location_id}")
                        if loc.get("latitude") is None or loc.get("longitude") is None:
                            no_site.add(location_id)
                    day = nights.get((tz, date_id, quarter))
                    if day is None:
                        utc = datetime(date_id // 10000, date_id // 100 % 100, date_id % 100, tzinfo=timezone.utc)
                        local = (utc + timedelta(minutes=15 * quarter)).astimezone(tz)
                        day = nights[(tz, date_id, quarter)] = (local - timedelta(hours=12)).date()
                    if not self.first <= day <= self.last:
                        continue
                    if location_id in no_site:
                        self.unlocated[key] = self.unlocated.get(key, 0) + n
                else:
                    day = date(date_id // 10000, date_id // 100 % 100, date_id % 100)
                per_day[day] = per_day.get(day, 0) + n
            for day in sorted(per_day):
                yield {day_col: day.isoformat(), key_col: key, "readings": per_day[day]}


def daily_report(queries: ReportQueries, first: date, last: date, by: str = "name", night: bool = False,
                 keys: Iterable[str] | None = None) -> Daily:
    """The daily report of ``keys`` (names, or MACs with ``by="mac"``; None: every one)."""
    if by not in ("name", "mac"):
        raise BadValue(f"--by {by!r}: expected name or mac")
    report = Daily(queries, first, last, by, night)
    since, until = report.window
    known = queries.daily_keys(by, since, until)
    if keys is None:
        report.keys = known
    elif by == "name":
        report.keys = known_names(queries, keys)
    else:
        macs = set(queries.daily_keys("mac", since, until))
        report.keys = []
        for raw in keys:
            m = raw.strip().upper()
            if m not in macs:
                raise NotFound(f"unknown MAC address {raw!r}: not in tess_t")
            if m not in report.keys:
                report.keys.append(m)
    return report


def rows_csv(rows: list[dict[str, Any]], columns: Iterable[str], sep: str = ",") -> str:
    cols = list(columns)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(cols)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else fmt(r[c]) for c in cols])
    return buf.getvalue()


def write_rows(rows: Iterable[dict[str, Any]], columns: list[str], stream: TextIO, form: str = "table",
               widths: dict[str, int] | None = None) -> int:
    """Write ``rows`` to ``stream`` as they come, one at a time: ``form`` "csv" (',' with a
    header line), "json" (one array, as ``json.dumps(rows, indent=2)`` writes it), "jsonl"
    (one object a line) or "table" (aligned columns; ``widths`` the widths known in advance,
    the others those of the column names).  Nothing, not even a header, is written when
    there is no row; returns the number of rows."""
    n = 0
    writer = csv.writer(stream, delimiter=",", lineterminator="\n") if form == "csv" else None
    width = [max(len(c), (widths or {}).get(c, 0)) for c in columns]
    for row in rows:
        if form == "csv":
            if n == 0:
                writer.writerow(columns)
            writer.writerow(["" if row.get(c) is None else fmt(row[c]) for c in columns])
        elif form == "json":
            item = "\n".join("  " + line for line in json.dumps(row, indent=2).splitlines())
            stream.write(("[\n" if n == 0 else ",\n") + item)
        elif form == "jsonl":
            stream.write(json.dumps(row) + "\n")
        else:
            if n == 0:
                stream.write("  ".join(c.ljust(w) for c, w in zip(columns, width)).rstrip() + "\n")
            cells = ["" if row.get(c) is None else str(row[c]) for c in columns]
            stream.write("  ".join(v.ljust(w) for v, w in zip(cells, width)).rstrip() + "\n")
        n += 1
    if form == "json" and n:
        stream.write("\n]\n")
    return n


# -- CSV export ---------------------------------------------------------------------------------------
def date_window(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """--from / --to days (both included) as a half-open UTC window."""
    if start and end and end < start:
        raise BadValue(f"--to {end} is before --from {start}")
    since = datetime(start.year, start.month, start.day) if start else None
    until = datetime(end.year, end.month, end.day) + timedelta(days=1) if end else None
    return since, until


def export_columns(context: bool = False) -> tuple[str, ...]:
    """``EXPORT_COLUMNS``, then with ``context`` tessdb_sky's ``CONTEXT_COLUMNS``."""
    if not context:
        return EXPORT_COLUMNS
    from .skycols import sky_api

    return EXPORT_COLUMNS + tuple(sky_api("readings export --context").CONTEXT_COLUMNS)


def export_csv(queries: ReportQueries, name: str | None, since: datetime | None, until: datetime | None,
               stream: TextIO, sep: str = ",", show_progress: bool | None = None, as_json: bool = False,
               context: bool = False, settings: Any = None) -> int:
    """Write every export row (``EXPORT_COLUMNS``, and with ``context`` the sky context
    columns), in time order, as they are read: CSV with a header line, or with ``as_json``
    JSON Lines (one object a line, numbers as numbers, null for an empty value).  Returns the
    number of rows."""
    if sep not in (",", ";"):
        raise BadValue(f"--sep {sep!r} is not supported: expected ',' or ';'")
    columns = export_columns(context)
    rows = _export_rows(queries, name, since, until, show_progress, context, settings)
    n = 0
    if as_json:
        for row in rows:
            stream.write(json.dumps({c: row.get(c) for c in columns}) + "\n")
            n += 1
        return n
    writer = csv.writer(stream, delimiter=sep, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else fmt(row[c]) for c in columns])
        n += 1
    return n


def export_ecsv(queries: ReportQueries, name: str | None, since: datetime | None, until: datetime | None,
                stream: TextIO, settings: Any = None, show_progress: bool | None = None) -> int:
    """Write the export with its sky context as an ECSV time series (``skycols.ECSV_COLUMNS``):
    astropy's ``TimeSeries.read(path, format="ascii.ecsv")`` loads it with units."""
    from .skycols import write_ecsv

    rows = _export_rows(queries, name, since, until, show_progress, True, settings)
    meta = {"source": "tessdb-core readings export", "photometer": name or "all",
            "from": since.isoformat() if since else "", "to": until.isoformat() if until else ""}
    return write_ecsv(rows, stream, meta)


def _export_rows(queries: ReportQueries, name: str | None, since: datetime | None, until: datetime | None,
                 show_progress: bool | None, context: bool = False, settings: Any = None) -> Iterator[dict[str, Any]]:
    if name is not None:
        (name,) = known_names(queries, [name])
    show = sys.stderr.isatty() if show_progress is None else show_progress
    total = queries.export_count(name, since, until) if show else None
    rows = progress(queries.export_rows(name, since, until), total, "export", show, unit="row")
    if context:
        from .skycols import with_context

        return with_context(queries, rows, settings)
    return rows


def parquet_schema(pa: Any, columns: tuple[str, ...] = EXPORT_COLUMNS) -> Any:
    """The Arrow schema of an export: the columns typed (int64, string, bool, else float64), all nullable."""
    def kind(c: str) -> Any:
        if c in _INT_COLUMNS:
            return pa.int64()
        return pa.string() if c in _TEXT_COLUMNS else pa.bool_() if c in _BOOL_COLUMNS else pa.float64()
    return pa.schema([(c, kind(c)) for c in columns])


def export_parquet(queries: ReportQueries, name: str | None, since: datetime | None, until: datetime | None,
                   path: str | Path, show_progress: bool | None = None, rows_per_group: int = PARQUET_ROWS,
                   context: bool = False, settings: Any = None) -> int:
    """Write every export row to the Parquet file ``path`` (pyarrow, extra ``parquet``), one
    row group of ``rows_per_group`` rows at a time: only one group is ever in memory.  An
    export without rows is a file with the schema and no row.  Returns the number of rows."""
    from tessdb_core import require

    require("pyarrow", "parquet", "readings export --format parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = export_columns(context)
    schema = parquet_schema(pa, names)
    rows = _export_rows(queries, name, since, until, show_progress, context, settings)
    n = 0
    columns: dict[str, list[Any]] = {c: [] for c in names}

    def flush(writer: Any) -> None:
        writer.write_table(pa.Table.from_pydict(columns, schema=schema), row_group_size=rows_per_group)
        for values in columns.values():
            values.clear()

    with pq.ParquetWriter(str(path), schema) as writer:
        for row in rows:
            for c in names:
                columns[c].append(row.get(c))
            n += 1
            if n % rows_per_group == 0:
                flush(writer)
        if n % rows_per_group or n == 0:
            flush(writer)
    return n
