"""The instrument catalogue: names -> MAC -> versions, kept in memory.

Stores load it (SQL lives there); rules read it (pure functions); the pipeline
keeps it up to date by applying each registration plan after the store has
committed it, so the hot path never queries the database per reading.
All datetimes are naive UTC.  Validity windows are half-open: since <= t < until.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import datetime

#: the "infinite" valid_until of a current row
FAR_FUTURE = datetime(2999, 12, 31, 23, 59, 59)

CURRENT = "Current"
EXPIRED = "Expired"


@dataclass(frozen=True, slots=True)
class Mapping:
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
    in one transaction.  ``case`` is one of the counter suffixes of spec §3.7
    (created, renamed, replaced, extinct, rebooted, zp_changed)."""

    case: str
    at: datetime
    expire_mappings: tuple[Mapping, ...] = ()
    new_mapping: Mapping | None = None
    expire_versions: tuple[Version, ...] = ()
    new_version: Version | None = None
    message: str = ""

    @property
    def changes_anything(self) -> bool:
        return bool(self.expire_mappings or self.new_mapping or self.expire_versions or self.new_version)


@dataclass(slots=True)
class Catalog:
    """All mappings and versions, indexed for the lookups the rules need."""

    mappings: list[Mapping] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    _by_name: dict[str, list[Mapping]] = field(default_factory=dict, repr=False)
    _by_mac: dict[str, list[Mapping]] = field(default_factory=dict, repr=False)
    _versions_by_mac: dict[str, list[Version]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._reindex()

    def _reindex(self) -> None:
        self._by_name = {}
        self._by_mac = {}
        self._versions_by_mac = {}
        for m in self.mappings:
            self._by_name.setdefault(m.name, []).append(m)
            self._by_mac.setdefault(m.mac, []).append(m)
        for v in self.versions:
            self._versions_by_mac.setdefault(v.mac, []).append(v)
        for rows in (*self._by_name.values(), *self._by_mac.values(), *self._versions_by_mac.values()):
            rows.sort(key=lambda r: r.since)

    # -- lookups used by the registration rules -------------------------------------------
    def current_mapping_of_name(self, name: str) -> Mapping | None:
        return _newest_current(self._by_name.get(name, ()))

    def current_mapping_of_mac(self, mac: str) -> Mapping | None:
        return _newest_current(self._by_mac.get(mac, ()))

    def current_version(self, mac: str) -> Version | None:
        """The newest Current version of a MAC (readers defend against duplicates this way)."""
        return _newest_current(self._versions_by_mac.get(mac, ()))

    def versions_of(self, mac: str) -> list[Version]:
        return list(self._versions_by_mac.get(mac, ()))

    def mappings_of_name(self, name: str) -> list[Mapping]:
        return list(self._by_name.get(name, ()))

    def names(self) -> list[str]:
        return sorted(self._by_name)

    # -- lookups used for readings ---------------------------------------------------------
    def mapping_at(self, name: str, t: datetime) -> Mapping | None:
        """The mapping of ``name`` whose window holds ``t`` (newest since first)."""
        return _newest_holding(self._by_name.get(name, ()), t)

    def version_at(self, mac: str, t: datetime) -> Version | None:
        """The version of ``mac`` whose window holds ``t`` (newest since first)."""
        return _newest_holding(self._versions_by_mac.get(mac, ()), t)

    # -- keeping it current ----------------------------------------------------------------
    def apply(self, plan: RegistrationPlan) -> None:
        """Mirror a committed plan (with the store's keys filled in) in memory."""
        expired_maps = {id_of(m) for m in plan.expire_mappings}
        expired_vers = {id_of(v) for v in plan.expire_versions}
        if expired_maps:
            self.mappings = [
                replace(m, until=plan.at, current=False) if id_of(m) in expired_maps else m
                for m in self.mappings
            ]
        if expired_vers:
            self.versions = [
                replace(v, until=plan.at, current=False) if id_of(v) in expired_vers else v
                for v in self.versions
            ]
        if plan.new_mapping is not None:
            self.mappings.append(plan.new_mapping)
        if plan.new_version is not None:
            self.versions.append(plan.new_version)
        self._reindex()


def id_of(row: Mapping | Version) -> object:
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
