"""Attribute a reading to the instrument version valid at its own timestamp (docs/rules.md).

Why a per-name memo: this runs for every reading and consecutive readings of one
photometer almost always land on the same (mapping, version) pair.  The memo is
tied to the catalogue's identity and to the identity and length of its row lists
(``Catalog.apply`` either replaces a list or appends to it) and holds the span of
time where the (mapping, version) pair is the answer (both half-open windows, cut
where a newer overlapping row would win), so a reading held across a rename still
resolves to the version valid at its own time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tessdb_core import Catalog, NameMapping, Reading, Reason, Rejection, ResolvedReading, TimestampSource, Version

from .config import config_of

__all__ = ["resolve", "units_id"]

PLUGIN = "tess"
STAGE = "resolve"
_PUBLISHER = TimestampSource.PUBLISHER


def units_id(reading: Reading) -> int:
    """``tess_units_t`` id: 0 Subscriber, 1 Publisher, +2 when imported offline."""
    return (2 if reading.message.imported else 0) + (1 if reading.tstamp_source == _PUBLISHER else 0)


class _Memo:
    """Last (mapping, version) hit per name for one state of one catalogue."""

    __slots__ = ("catalog", "generation", "hits")

    def __init__(self) -> None:
        self.catalog: Catalog | None = None
        self.generation = -1
        #: name -> (since, until, version, the last 3 hex digits of its MAC for the hash check)
        self.hits: dict[str, tuple[datetime, datetime, Version, str]] = {}

    def sync(self, catalog: Catalog) -> dict[str, tuple[datetime, datetime, Version, str]]:
        if catalog is not self.catalog or catalog.generation != self.generation:
            self.catalog, self.generation = catalog, catalog.generation
            self.hits = {}
        return self.hits


_memo = _Memo()


def _unshadowed_until(rows: list, row: NameMapping | Version) -> datetime:
    """End of the part of ``row``'s window where no newer row (later in ``rows``,
    which is sorted by since) takes precedence: overlapping legacy rows stay exact."""
    hi = row.until
    for i in range(len(rows) - 1, -1, -1):
        r = rows[i]
        if r is row:
            break
        if r.since < hi:
            hi = r.since
    return hi


def _reject(reason: str, detail: str, reading: Reading, field: str | None = None) -> Rejection:
    return Rejection(reason, detail, STAGE, PLUGIN, field, reading.name)


def resolve(reading: Reading, catalog: Catalog, settings: Any) -> ResolvedReading | Rejection:
    """The version valid at ``reading.tstamp`` with the units id, or why there is none."""
    name = reading.name
    t = reading.tstamp
    hits = _memo.sync(catalog)
    hit = hits.get(name)
    if hit is not None and hit[0] <= t < hit[1]:
        version = hit[2]
        tail = hit[3]
    else:
        mapping = catalog.mapping_at(name, t)
        if mapping is None:
            return _reject(Reason.UNKNOWN_PHOTOMETER, f"No TESS {name} registered at {t}: no name mapping",
                           reading, "name")
        version = catalog.version_at(mapping.mac, t)
        if version is None:
            return _reject(Reason.UNKNOWN_PHOTOMETER,
                           f"No TESS {name} registered at {t}: MAC {mapping.mac} has no instrument version",
                           reading, "name")
        lo = mapping.since if mapping.since > version.since else version.since
        hi = min(_unshadowed_until(catalog.mappings_of_name(name), mapping),
                 _unshadowed_until(catalog.versions_of(mapping.mac), version))
        tail = version.mac.replace(":", "")[-3:]
        hits[name] = (lo, hi, version, tail)
    h = reading.hash
    if h is not None and h != tail:
        return _reject(Reason.HASH_MISMATCH,
                       f"field 'hash' = {h!r} of {name} does not match MAC {version.mac}", reading, "hash")
    if not version.authorised and config_of(settings).auth_filter:
        return _reject(Reason.NOT_AUTHORISED, f"TESS {name} (MAC {version.mac}) is not authorised", reading)
    return ResolvedReading(reading, version, units_id(reading))
