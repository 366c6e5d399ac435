"""The instrument catalogue: names -> MAC -> versions, kept in memory.

Stores load it (SQL lives there); rules read it (pure functions); the pipeline
keeps it up to date by applying each registration plan after the store has
committed it, so the hot path never queries the database per reading.
All datetimes are naive UTC.  Validity windows are half-open: since <= t < until.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

#: the "infinite" valid_until of a current row
FAR_FUTURE = datetime(2999, 12, 31, 23, 59, 59)

CURRENT = "Current"
EXPIRED = "Expired"


@dataclass(frozen=True, slots=True)
class NameMapping:
    """One row of ``name_to_mac_t``; ``key`` is the store's row identity (None before insert)."""

    name: str
    mac: str
    since: datetime
    until: datetime
    current: bool
    key: object = None

    def holds(self, t: datetime) -> bool:
        return self.since <= t < self.until


@dataclass(frozen=True, slots=True)
class Version:
    """One row of ``tess_t``: an instrument version; ``tess_id`` is None before insert."""

    mac: str
    since: datetime
    until: datetime
    current: bool
    model: str
    firmware: str
    authorised: bool
    registered: str
    zp: tuple[float | None, ...]
    filters: tuple[str | None, ...]
    offsets: tuple[float, ...]
    location_id: int = -1
    observer_id: int = -1
    tess_id: int | None = None

    @property
    def nchannels(self) -> int:
        return len(self.zp)

    def holds(self, t: datetime) -> bool:
        return self.since <= t < self.until


@dataclass(frozen=True, slots=True)
class RegistrationPlan:
    """What a registration changes, decided by a pure rule and applied by the store
    in one transaction.  ``case`` is one of the suffixes of the ``num_*`` registration counters
    (created, renamed, replaced, extinct, rebooted, zp_changed)."""

    case: str
    at: datetime
    expire_mappings: tuple[NameMapping, ...] = ()
    new_mapping: NameMapping | None = None
    expire_versions: tuple[Version, ...] = ()
    new_version: Version | None = None
    message: str = ""

    @property
    def changes_anything(self) -> bool:
        return bool(self.expire_mappings or self.new_mapping or self.expire_versions or self.new_version)


class Catalog:
    """All mappings and versions, held in the indexes the rules need (by name, by MAC),
    each list sorted by ``since``.  A registration updates them in place: O(rows of
    that name or MAC), not O(catalogue)."""

    __slots__ = ("_by_name", "_by_mac", "_versions_by_mac", "generation")

    def __init__(self, mappings: Iterable[NameMapping] = (), versions: Iterable[Version] = ()):
        #: goes up with every change, so that caches built on a catalogue know when to drop
        self.generation = 0
        self._by_name: dict[str, list[NameMapping]] = {}
        self._by_mac: dict[str, list[NameMapping]] = {}
        self._versions_by_mac: dict[str, list[Version]] = {}
        for m in mappings:
            self._by_name.setdefault(m.name, []).append(m)
            self._by_mac.setdefault(m.mac, []).append(m)
        for v in versions:
            self._versions_by_mac.setdefault(v.mac, []).append(v)
        for rows in (*self._by_name.values(), *self._by_mac.values(), *self._versions_by_mac.values()):
            rows.sort(key=_since)

    def __repr__(self) -> str:
        return f"Catalog({len(self.mappings)} mappings, {len(self.versions)} versions)"

    @property
    def mappings(self) -> list[NameMapping]:
        return [m for rows in self._by_name.values() for m in rows]

    @property
    def versions(self) -> list[Version]:
        return [v for rows in self._versions_by_mac.values() for v in rows]

    # -- lookups used by the registration rules -------------------------------------------
    def current_mapping_of_name(self, name: str) -> NameMapping | None:
        return _newest_current(self._by_name.get(name, ()))

    def current_mapping_of_mac(self, mac: str) -> NameMapping | None:
        return _newest_current(self._by_mac.get(mac, ()))

    def current_version(self, mac: str) -> Version | None:
        """The newest Current version of a MAC (readers defend against duplicates this way)."""
        return _newest_current(self._versions_by_mac.get(mac, ()))

    def versions_of(self, mac: str) -> list[Version]:
        return list(self._versions_by_mac.get(mac, ()))

    def knows_name(self, name: str) -> bool:
        """True when ``name`` has (or had) a mapping: the pipeline keeps no state for others."""
        return name in self._by_name

    def mappings_of_name(self, name: str) -> list[NameMapping]:
        return list(self._by_name.get(name, ()))

    def names(self) -> list[str]:
        return sorted(self._by_name)

    # -- lookups used for readings ---------------------------------------------------------
    def mapping_at(self, name: str, t: datetime) -> NameMapping | None:
        """The mapping of ``name`` whose window holds ``t`` (newest since first)."""
        return _newest_holding(self._by_name.get(name, ()), t)

    def version_at(self, mac: str, t: datetime) -> Version | None:
        """The version of ``mac`` whose window holds ``t`` (newest since first)."""
        return _newest_holding(self._versions_by_mac.get(mac, ()), t)

    # -- keeping it current ----------------------------------------------------------------
    def apply(self, plan: RegistrationPlan) -> None:
        """Mirror a committed plan (with the store's keys filled in) in memory."""
        self.generation += 1
        for m in plan.expire_mappings:
            gone = replace(m, until=plan.at, current=False)
            _swap(self._by_name.get(m.name, []), m, gone)
            _swap(self._by_mac.get(m.mac, []), m, gone)
        for v in plan.expire_versions:
            _swap(self._versions_by_mac.get(v.mac, []), v, replace(v, until=plan.at, current=False))
        if plan.new_mapping is not None:
            m = plan.new_mapping
            bisect.insort(self._by_name.setdefault(m.name, []), m, key=_since)
            bisect.insort(self._by_mac.setdefault(m.mac, []), m, key=_since)
        if plan.new_version is not None:
            v = plan.new_version
            bisect.insort(self._versions_by_mac.setdefault(v.mac, []), v, key=_since)


def _since(row: NameMapping | Version) -> datetime:
    return row.since


def _swap(rows: list, old: NameMapping | Version, new: NameMapping | Version) -> None:
    """Replace ``old`` (found by identity of row) with ``new``; ``since`` is unchanged, so
    the list stays sorted."""
    key = id_of(old)
    for i, row in enumerate(rows):
        if id_of(row) == key:
            rows[i] = new
            return


def id_of(row: NameMapping | Version) -> object:
    """The identity of a row: its store key when it has one, else its natural fields."""
    if isinstance(row, Version):
        return ("v", row.tess_id) if row.tess_id is not None else ("v", row.mac, row.since)
    return ("m", row.key) if row.key is not None else ("m", row.name, row.mac, row.since)


def _newest_current(rows):  # rows sorted by since
    for r in reversed(rows):
        if r.current:
            return r
    return None


def _newest_holding(rows, t: datetime):
    # rows are sorted by since: only rows starting at or before t can hold it.
    i = bisect.bisect_right(rows, t, key=lambda r: r.since)
    while i > 0:
        i -= 1
        r = rows[i]
        if t < r.until:
            return r
    return None
