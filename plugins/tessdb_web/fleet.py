"""The fleet as the public sees it: pure rules, no I/O.

A photometer's public record is built from its catalogue entry (:class:`Instrument`, with
its :class:`Site`: place, town, country and coordinates, never a contact) and its newest
reading (time and magnitudes).  Its status is a function of the time: ``live`` when the
newest reading is younger than ``[web] silent_after``, ``silent`` (since the newest
reading) when older, ``never`` without a reading, ``retired`` when the operator retired it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

STATUSES = ("live", "silent", "never", "retired")


@dataclass(frozen=True, slots=True)
class Site:
    """Where a photometer is: public fields only (no contact name or e-mail)."""

    place: str | None
    town: str | None
    country: str | None
    longitude: float | None
    latitude: float | None


@dataclass(frozen=True, slots=True)
class Instrument:
    name: str
    mac: str
    model: str
    nchannels: int
    site: Site | None
    retired: bool = False


@dataclass(frozen=True, slots=True)
class Newest:
    """A photometer's newest stored reading."""

    epoch: float
    magnitudes: tuple[float, ...]


def iso(epoch: float | None) -> str | None:
    """UTC epoch seconds as ``2026-12-07T01:02:03Z``."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(newest: Newest | None, retired: bool, now: float, silent_after: float) -> str:
    if retired:
        return "retired"
    if newest is None:
        return "never"
    return "live" if now - newest.epoch < silent_after else "silent"


def record(inst: Instrument, newest: Newest | None, now: float, silent_after: float) -> dict[str, Any]:
    """The public row of one photometer (``GET /api/v1/photometers``)."""
    site = inst.site
    state = status(newest, inst.retired, now, silent_after)
    return {
        "name": inst.name,
        "mac": inst.mac,
        "model": inst.model,
        "nchannels": inst.nchannels,
        "place": site.place if site else None,
        "town": site.town if site else None,
        "country": site.country if site else None,
        "longitude": site.longitude if site else None,
        "latitude": site.latitude if site else None,
        "newest": iso(newest.epoch) if newest else None,
        "magnitudes": list(newest.magnitudes) if newest else [],
        "status": state,
        "silent_since": iso(newest.epoch) if state == "silent" and newest else None,
    }


def feature(row: dict[str, Any]) -> dict[str, Any]:
    """A row as a GeoJSON Feature (no geometry when the site has no coordinates)."""
    lon, lat = row["longitude"], row["latitude"]
    geometry = {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None
    props = {k: v for k, v in row.items() if k not in ("longitude", "latitude")}
    return {"type": "Feature", "id": row["name"], "geometry": geometry, "properties": props}


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    out = dict.fromkeys(STATUSES, 0)
    for r in rows:
        out[r["status"]] += 1
    return out


def select(rows: list[dict[str, Any]], statuses: set[str] | None, silent_for: float | None,
           country: str | None, now: float) -> list[dict[str, Any]]:
    """The rows the filters keep: ``statuses``; ``silent_for`` seconds or more without a
    reading (never-seen ones included); ``country`` compared without case."""
    out = rows
    if statuses:
        out = [r for r in out if r["status"] in statuses]
    if silent_for is not None:
        cut = now - silent_for
        out = [r for r in out if r["status"] != "retired"
               and (r["newest"] is None or _epoch(r["newest"]) <= cut)]
    if country:
        c = country.casefold()
        out = [r for r in out if (r["country"] or "").casefold() == c]
    return out


def _epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
