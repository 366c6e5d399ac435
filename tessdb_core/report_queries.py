"""What the report tools need from a database: ``app.queries(ReportQueries, store)``.

A store plugin implements this protocol (``tessdb_sqlite.reports.SqliteReports`` for
SQLite) and returns it from ``tessdb_queries(store, interface=ReportQueries, settings)``.
It lives in the public API, below both sides, so a third-party store can serve the report
tools and a third-party tool can read any store without importing another plugin.  The
rows are plain dicts; the TypedDicts below document their keys.  Every datetime is
naive UTC.  Readings belong to a name through the name -> MAC mapping valid at the
reading's own timestamp; windows are half-open ``[since, until)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol, TypedDict, runtime_checkable


class ReadingRow(TypedDict):
    utc: datetime
    date_id: int
    time_id: int
    tess_id: int
    mac_address: str
    location_id: int
    observer_id: int
    units_id: int             # tess_units_t: 0/2 timestamp by the subscriber, 1/3 by the photometer
    sequence_number: int
    box_temperature: float
    sky_temperature: float
    nchannels: int            # 1: tess_readings_t, 4: tess_readings4c_t
    freq: tuple[float, ...]   # nchannels values
    mag: tuple[float, ...]


class VersionRow(TypedDict):
    """A tess_t row (every column, legacy ones with their defaults) plus parsed times."""
    tess_id: int
    mac_address: str
    valid_since: str          # as stored
    valid_until: str
    since: datetime
    until: datetime
    model: str
    firmware: str
    nchannels: int
    zp1: float
    filter1: str
    # zp2..zp4, filter2..filter4, offset1..4, location_id, observer_id,
    # cover_offset, fov, azimuth, altitude


class MappingRow(TypedDict):
    name: str
    mac_address: str
    valid_since: str
    valid_until: str
    valid_state: str
    since: datetime
    until: datetime


class LocationRow(TypedDict):
    location_id: int
    longitude: float | None
    latitude: float | None
    elevation: float | None
    place: str
    town: str
    sub_region: str
    region: str
    country: str
    timezone: str
    contact_name: str | None   # None in databases without the legacy columns
    contact_email: str | None
    organization: str | None


class ExportRow(TypedDict):
    """Sample query 2 (TESS4C readings give their channel 1), then the name, the
    instrument, its site and channels 2-4 (None for a TESS-W)."""
    julian_day: float
    timestamp: str
    sequence_number: int
    place: str | None
    mac_address: str
    frequency: float
    magnitude: float
    zp1: float
    sky_temperature: float
    box_temperature: float
    name: str | None          # the name mapped to the MAC at the reading's time
    model: str
    longitude: float | None
    latitude: float | None
    location_id: int          # the reading's location (location_t); its place is ``place`` above
    town: str | None
    # frequency2, magnitude2, zp2 .. frequency4, magnitude4, zp4: float | None


@runtime_checkable
class ReportQueries(Protocol):
    def names(self, since: datetime | None = None, until: datetime | None = None) -> list[str]:
        """Names whose mapping overlaps [since, until) (all names when unbounded), sorted."""

    def mappings(self, name: str | None = None) -> list[MappingRow]:
        """The name's mappings (all mappings when None), oldest first."""

    def readings(self, name: str, since: datetime, until: datetime) -> list[ReadingRow]:
        """The name's readings in [since, until), by time (both fact tables)."""

    def sky_rows(self, name: str, since: datetime, until: datetime) -> list[tuple]:
        """The name's readings in [since, until), by time, as tuples (date_id, time_id,
        location_id, box_temperature, sky_temperature, mag1[, mag2, mag3, mag4]): a TESS-W's
        rows end at mag1 unless TESS4C rows come too (then mag2..4 None); both fact tables."""

    def versions(self, tess_ids: Iterable[int]) -> dict[int, VersionRow]:
        """tess_t rows by tess_id."""

    def versions_of(self, name: str) -> list[VersionRow]:
        """Every version of every MAC the name ever had, oldest first."""

    def locations(self, location_ids: Iterable[int]) -> dict[int, LocationRow]:
        """location_t rows by id."""

    def observers(self, observer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """observer_t rows by id (observer_id, type, name, affiliation, acronym, website_url, email)."""

    def current_instruments(self) -> list[dict[str, Any]]:
        """name, mac_address, model, longitude, latitude, location_id, place, town of the Current
        instruments, by name."""

    def daily_keys(self, by: str, since: datetime, until: datetime) -> list[str]:
        """The names mapped during [since, until) (``by="name"``) or every MAC (``"mac"``), sorted."""

    def daily_counts(self, key: str, by: str, since: datetime, until: datetime, quarters: bool = False
                     ) -> list[tuple[int, int, int, int]]:
        """(date_id, quarter, location_id, count) of one photometer's readings in [since, until):
        per UTC day (quarter and location_id 0), or per quarter of an hour and location."""

    def export_count(self, name: str | None, since: datetime | None, until: datetime | None) -> int:
        """The number of rows export_rows yields."""

    def export_rows(self, name: str | None, since: datetime | None, until: datetime | None
                    ) -> Iterator[ExportRow]:
        """Export rows of the name (every reading when None) in [since, until), by time."""

    def fleet(self) -> list[dict[str, Any]]:
        """Every Current name with its Current version and site: name, mac_address, model,
        nchannels, place, town, country, longitude, latitude (no contact), retired (False;
        True for the retired names, listed too)."""

    def newest_readings(self) -> dict[str, tuple[datetime, tuple[float, ...]]]:
        """name -> (time, magnitudes per channel) of each Current name's newest reading."""

