"""The report tools over a ``ReportQueries`` object: IDA files, geolist, daily report, CSV export.

Each function checks its inputs before writing anything and raises LookupError /
ValueError / OSError with a one-line message (the CLI prints it and exits 2).
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

from . import ida
from .common import Month, atomic_write, file_stems, fmt, inside, progress, shown, writable_dir
from .queries import ReportQueries
from tessdb_core.errors import BadValue, NotFound

EXPORT_COLUMNS = ("julian_day", "timestamp", "sequence_number", "place", "mac_address", "frequency", "magnitude",
                  "zp1", "sky_temperature", "box_temperature")
GEOLIST_COLUMNS = ("name", "model", "longitude", "latitude")


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
def geolist_csv(queries: ReportQueries, sep: str = ";") -> str:
    rows = queries.current_instruments()
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(GEOLIST_COLUMNS)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else fmt(r[c]) for c in GEOLIST_COLUMNS])
    return buf.getvalue()


def daily_rows(queries: ReportQueries) -> list[dict[str, Any]]:
    return queries.daily_counts()


def rows_csv(rows: list[dict[str, Any]], columns: Iterable[str], sep: str = ",") -> str:
    cols = list(columns)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(cols)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else fmt(r[c]) for c in cols])
    return buf.getvalue()


# -- CSV export ---------------------------------------------------------------------------------------
def date_window(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """--from / --to days (both included) as a half-open UTC window."""
    if start and end and end < start:
        raise BadValue(f"--to {end} is before --from {start}")
    since = datetime(start.year, start.month, start.day) if start else None
    until = datetime(end.year, end.month, end.day) + timedelta(days=1) if end else None
    return since, until


def export_csv(queries: ReportQueries, name: str | None, since: datetime | None, until: datetime | None,
               stream: TextIO, sep: str = ",", show_progress: bool | None = None) -> int:
    """Write the header line and every row of sample query 2; return the number of rows."""
    if sep not in (",", ";"):
        raise BadValue(f"--sep {sep!r} is not supported: expected ',' or ';'")
    if name is not None:
        (name,) = known_names(queries, [name])
    show = sys.stderr.isatty() if show_progress is None else show_progress
    total = queries.export_count(name, since, until) if show else None
    writer = csv.writer(stream, delimiter=sep, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    n = 0
    for row in progress(queries.export_rows(name, since, until), total, "export", show, unit="row"):
        writer.writerow(["" if row.get(c) is None else fmt(row[c]) for c in EXPORT_COLUMNS])
        n += 1
    return n
