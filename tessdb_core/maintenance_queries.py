"""What the maintenance and backup commands need from a store: ``MaintenanceQueries``, ``BackupQueries``.

A store plugin implements :class:`MaintenanceQueries` and returns it from
``tessdb_queries(store, interface=MaintenanceQueries, settings)``; the commands never speak
SQL.  Like every query interface it lives in the public API, below the stores and the tools.
Reads return catalogue types (``NameMapping``, ``Version``, ``Catalog``) or plain dicts named
after the schema's columns.  Every change goes through :meth:`MaintenanceQueries.change`:
the store opens ONE write transaction, hands a consistent :class:`MaintenanceView`
to a pure ``decide`` function of the rules, and applies the :class:`Change` it
returns before committing.  If ``decide`` raises, nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .catalog import Catalog, NameMapping, Version

#: a ``location_t`` row: location_id, longitude, latitude, elevation, place, town,
#: sub_region, region, country, timezone (floats may be None)
LocationRow = dict[str, Any]

#: an ``observer_t`` row: observer_id, type, name, affiliation, acronym, website_url, email,
#: valid_since, valid_until (naive UTC datetimes), valid_state
ObserverRow = dict[str, Any]

#: a reading: name, tstamp (naive UTC datetime), mac, tess_id, model ("TESS-W" for
#: tess_readings_t, "TESS4C" for tess_readings4c_t), seq, freq1, mag1 .. freq4, mag4 (a
#: TESS-W reading is channel 1), box_temperature, sky_temperature, signal_strength,
#: units_id, location_id, observer_id
LatestReadingRow = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewObserver:
    """An observer_t row to insert.  ``replaces``: the observer_id of the version it
    succeeds; the Current instrument versions that pointed to that row follow it."""

    fields: dict[str, Any]
    replaces: int | None = None


@dataclass(frozen=True, slots=True)
class ReadingMove:
    """Readings of one MAC (every tess_t version of it) with ``start <= ts < end`` to be
    given ``location_id`` in both fact tables (``name``: whose readings they are, for
    messages).  The window lies inside one of the name's mappings."""

    name: str
    mac: str
    start: datetime
    end: datetime
    location_id: int
    #: how many of them were elsewhere when the rule looked (for the summary)
    expected: int = 0


@dataclass(frozen=True, slots=True)
class Change:
    """Everything one maintenance command writes, applied in one transaction.

    Rows to expire get ``valid_until = at`` and ``valid_state = 'Expired'``.  Versions
    in ``edit_versions`` are (row as read, same row with new values), updated in place
    by ``tess_id``.  ``created`` is filled by the store with the keys of new rows
    (``tess_id``, ``mapping``, ``location_id``, ``observer_id``)."""

    summary: str
    at: datetime | None = None
    expire_mappings: tuple[NameMapping, ...] = ()
    expire_versions: tuple[Version, ...] = ()
    edit_versions: tuple[tuple[Version, Version], ...] = ()
    new_mappings: tuple[NameMapping, ...] = ()
    new_versions: tuple[Version, ...] = ()
    new_locations: tuple[LocationRow, ...] = ()
    edit_locations: tuple[tuple[int, LocationRow], ...] = ()  # (location_id, {column: new value})
    expire_observers: tuple[int, ...] = ()
    new_observers: tuple[NewObserver, ...] = ()
    #: stored readings moved to another location (``created["readings_moved"]``: how many rows)
    move_readings: tuple[ReadingMove, ...] = ()
    created: dict[str, Any] = field(default_factory=dict)

    @property
    def changes_anything(self) -> bool:
        return any((self.expire_mappings, self.expire_versions, self.edit_versions, self.new_mappings,
                    self.new_versions, self.new_locations, self.edit_locations, self.expire_observers,
                    self.new_observers, self.move_readings))


@runtime_checkable
class MaintenanceView(Protocol):
    """Reads inside the write transaction of :meth:`MaintenanceQueries.change`."""

    def catalog(self, names: Collection[str] | None = None, macs: Collection[str] | None = None) -> Catalog:
        """Mappings and versions.  With ``names`` / ``macs``: every mapping of those names
        or MACs, plus every mapping and version of each MAC reached.  Both None: all."""

    def locations(self) -> list[LocationRow]:
        """Every location, by location_id."""

    def observers(self, include_expired: bool = False) -> list[ObserverRow]:
        """Current observers (every version with ``include_expired``), by observer_id."""

    def reading_locations(self, mac: str, start: datetime, end: datetime) -> dict[int, int]:
        """How many readings (both fact tables) of every tess_t version of ``mac`` with
        ``start <= ts < end`` each location_id holds (locations without any left out)."""


@runtime_checkable
class MaintenanceQueries(MaintenanceView, Protocol):
    """The maintenance query object of a store (reads are one read transaction each)."""

    def silent(self, since: datetime) -> list[dict[str, Any]]:
        """Names with a Current mapping and no reading (either fact table) at or after
        ``since``: dicts name, mac, mapped_since (datetime), last_reading (datetime or None)."""

    def latest_readings(self, name: str | None, count: int) -> list[LatestReadingRow]:
        """The ``count`` newest readings, of one name (through its mappings' windows) or of
        all photometers, newest first.  LookupError for a name that was never mapped."""

    def count_readings(self, name: str, start: datetime | None, end: datetime | None) -> int:
        """Readings of ``name`` (through its mappings' windows) with ``start <= ts < end``.
        LookupError for a name that was never mapped."""

    def change(self, what: str, decide: Callable[[MaintenanceView], Change]) -> Change:
        """Run ``decide`` on a consistent view inside ONE write transaction (waiting for a
        locked database, never failing because of it) and apply the Change it returns;
        return it with ``created`` filled.  An exception from ``decide`` writes nothing."""


@runtime_checkable
class BackupQueries(Protocol):
    """The backup query object of a store (``tessdb-core backup``).

    ``suffix``: the backup file's extension (``".db"`` for a SQLite copy, ``".dump"`` for
    ``pg_dump``'s archive); ``source``: the database, for messages (no password)."""

    suffix: str
    source: str

    def backup(self, target: Path) -> dict[str, Any]:
        """Write a consistent copy of the database into the new file ``target`` without
        stopping its writers, check it, and sync it to the disk; return what was checked.
        Raise ``tessdb_star.backup.BackupError`` (a UserError, one line: the reason) and
        leave no ``target`` behind when it cannot."""
