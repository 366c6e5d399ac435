"""The rows every fresh database starts with (docs/rules.md, What is stored).

Rows are generated in Python rather than shipped as SQL files: the dimension
tables are pure functions of the calendar, and generating them keeps
``initialise`` well under a second.  Both stores load the very same rows, each
with its own bulk write (:func:`preload_rows` says what goes where).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from tessdb_core import __version__

from .ddl import CONFIG_T, TABLES_BY_NAME

FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2050, 12, 31)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")

UNITS: tuple[tuple[int, str, str], ...] = (
    (0, "Subscriber", "Direct"),
    (1, "Publisher", "Direct"),
    (2, "Subscriber", "Imported"),
    (3, "Publisher", "Imported"),
)

UNKNOWN_LOCATION = {
    "location_id": -1, "longitude": None, "latitude": None, "elevation": None,
    "place": "Unknown", "town": "Unknown", "sub_region": "Unknown", "region": "Unknown",
    "country": "Unknown", "timezone": "Etc/UTC",
}

UNKNOWN_OBSERVER = {
    "observer_id": -1, "type": "Organization", "name": "Unknown", "affiliation": None,
    "acronym": None, "website_url": None, "email": None,
    "valid_since": "2000-01-01 00:00:00.000000", "valid_until": "2999-12-31 23:59:59.000000",
    "valid_state": "Current",
}


#: the data model version the 4.x server reads from config_t: "04" is its last one (offsets,
#: TESS4C, hash), so it applies none of its update scripts to a tessdb-core database
LEGACY_DATA_MODEL = "04"


def julian_day(year: int, month: int, day: int) -> float:
    """Julian Day at 0h UTC: the Gregorian day number by integer arithmetic, minus 0.5."""
    a = (14 - month) // 12
    y = year + 4800 - a
    m = month + 12 * a - 3
    return day + (153 * m + 2) // 5 + 365 * y + y // 4 - y // 100 + y // 400 - 32045 - 0.5


def date_rows(first: date = FIRST_DATE, last: date = LAST_DATE) -> Iterator[tuple]:
    """One date_t row per day, columns in table order."""
    one = timedelta(days=1)
    d = first
    while d <= last:
        y, mo, dd = d.year, d.month, d.day
        wd = d.weekday()  # 0 = Monday
        weekday, month = _WEEKDAYS[wd], _MONTHS[mo - 1]
        yield (
            y * 10000 + mo * 100 + dd,
            f"{y:04d}-{mo:02d}-{dd:02d}",
            f"{dd:02d}/{mo:02d}/{y:04d}",
            dd,
            d.toordinal() - date(y, 1, 1).toordinal() + 1,
            julian_day(y, mo, dd),
            weekday,
            weekday[:3],
            (wd + 1) % 7,  # 0 = Sunday, as strftime %w
            mo,
            month,
            month[:3],
            y,
        )
        d += one


def time_rows() -> list[tuple]:
    """One time_t row per second of the day (86 400), columns in table order."""
    return [
        (h * 10000 + m * 100 + s, f"{h:02d}:{m:02d}:{s:02d}", h, m, s, (h * 3600 + m * 60 + s) / 86400)
        for h in range(24) for m in range(60) for s in range(60)
    ]


def preload_rows() -> Iterator[tuple[str, tuple[str, ...], Iterable[tuple]]]:
    """(table, columns, rows) for every preloaded table, in load order."""
    yield "date_t", TABLES_BY_NAME["date_t"].column_names, date_rows()
    yield "time_t", TABLES_BY_NAME["time_t"].column_names, time_rows()
    yield "tess_units_t", ("units_id", "timestamp_source", "reading_source"), UNITS
    for table, row in (("location_t", UNKNOWN_LOCATION), ("observer_t", UNKNOWN_OBSERVER)):
        yield table, tuple(row), [tuple(row.values())]


def config_rows(database_uuid: str | None = None) -> tuple[str, tuple[str, ...], list[tuple[str, str, str]]]:
    """(table, columns, rows) of ``config_t`` (SQLite only, see ``ddl.compat_statements``).

    What the 4.x server reads at start: ``('database', 'version')``, and ``('database',
    'uuid')``, which it would otherwise write itself on its first start (so with both
    here it opens the file without writing anything but readings and registrations).
    ``('database', 'created_by')`` says who made the file; nothing reads it."""
    rows = [
        ("database", "version", LEGACY_DATA_MODEL),
        ("database", "uuid", database_uuid or str(uuid.uuid4())),
        ("database", "created_by", f"tessdb-core {__version__}"),
    ]
    return CONFIG_T.name, CONFIG_T.column_names, rows
