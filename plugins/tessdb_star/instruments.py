"""tess_t / name_to_mac_t rows <-> catalogue NameMapping / Version, for every store.

Why shared: both stores (and a copy between them) must write the very same rows.
The read side accepts every historical layout and timestamp format; the write side
always produces 5.x-format timestamps, in the column order of :mod:`.tables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tessdb_core import CURRENT, EXPIRED, NameMapping, StoreError, Version

from .timestamps import format_ts, parse_ts


def state_of(current: bool) -> str:
    return CURRENT if current else EXPIRED


def mapping_row(m: NameMapping) -> tuple:
    """Values for ``tables.MAPPING_COLUMNS``."""
    return (m.name, m.mac, format_ts(m.since), format_ts(m.until), state_of(m.current))


def version_row(v: Version) -> tuple:
    """Values for ``tables.VERSION_COLUMNS``; unused channels get NULL zero point/filter and 0.0 offset."""
    n = len(v.zp)
    if n not in (1, 4):
        raise StoreError(f"instrument {v.mac}: {n} channels is not supported (1 or 4)")
    zp = list(v.zp) + [None] * (4 - n)
    filters = list(v.filters) + [None] * (4 - len(v.filters))
    offsets = [0.0 if o is None else float(o) for o in v.offsets] + [0.0] * (4 - len(v.offsets))
    channels: list[Any] = []
    for i in range(4):
        channels += [zp[i], filters[i], offsets[i]]
    return (
        v.mac, format_ts(v.since), format_ts(v.until), state_of(v.current), v.model, v.firmware,
        1 if v.authorised else 0, v.registered, n, *channels, v.location_id, v.observer_id,
    )


def mapping_from_row(row: Mapping[str, Any]) -> NameMapping:
    try:
        return NameMapping(
            name=row["name"], mac=row["mac_address"],
            since=parse_ts(row["valid_since"]), until=parse_ts(row["valid_until"]),
            current=row["valid_state"] == CURRENT, key=row["rowid"],
        )
    except (ValueError, TypeError) as exc:
        raise StoreError(f"name_to_mac_t row {row.get('rowid')} is unreadable: {exc}") from None


def version_from_row(row: Mapping[str, Any]) -> Version:
    try:
        n = int(row["nchannels"] or 1)
        n = min(max(n, 1), 4)
        channels = range(1, n + 1)
        return Version(
            mac=row["mac_address"],
            since=parse_ts(row["valid_since"]), until=parse_ts(row["valid_until"]),
            current=row["valid_state"] == CURRENT,
            model=row["model"], firmware=row["firmware"],
            authorised=as_flag(row["authorised"]), registered=row["registered"],
            zp=tuple(row[f"zp{i}"] for i in channels),
            filters=tuple(row[f"filter{i}"] for i in channels),
            offsets=tuple(float(row.get(f"offset{i}") or 0.0) for i in channels),
            location_id=_as_id(row["location_id"]), observer_id=_as_id(row["observer_id"]),
            tess_id=row["tess_id"],
        )
    except (ValueError, TypeError) as exc:
        raise StoreError(f"tess_t row {row.get('tess_id')} is unreadable: {exc}") from None


def as_flag(value: Any) -> bool:
    """A 0/1 column as written by any tool (hand-edited rows hold '1' or 'true')."""
    if isinstance(value, str):  # hand-edited rows: '1', 'true'
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _as_id(value: Any) -> int:
    return -1 if value is None else int(value)
