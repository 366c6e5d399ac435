"""The maintenance rules: input checks and versioning decisions, without SQL.

Parsers turn the operator's text into values or raise ``ValueError`` with one line
naming the problem.  ``plan_*`` functions read a :class:`MaintenanceView` (inside the
store's write transaction) and return the :class:`Change` to apply, or raise
``LookupError`` / ``ValueError``; they never write, so an error leaves the database as
it was.  Versioning as in docs/maintenance.md (Versions): an expired row's ``valid_until`` is its
successor's ``valid_since``; a new version made by hand is ``registered = 'Manual'``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

from tessdb_core import (FAR_FUTURE, BadValue, Catalog, Change, LocationRow, MaintenanceView, NameMapping,
                        NewObserver, NotFound, ObserverRow, Version)
from tessdb_tess import photometer
from tessdb_tess.photometer import MODEL_CHANNELS as MODELS  # models and their number of channels
from tessdb_tess.photometer import TESSW_FILTER, check_photometer_name, normalise_name


MANUAL = "Manual"
OBSERVER_TYPES = ("Individual", "Organization")
UNKNOWN_ID = -1
#: mean Earth radius (IUGG), metres
EARTH_RADIUS = 6_371_008.8

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# -- limits from the settings ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Limits:
    """The ``[rules]`` settings the checks use (defaults: :mod:`tessdb_tess.photometer`)."""

    name_pattern: str = photometer.NAME_PATTERN
    zp_min: float = photometer.RULES_DEFAULTS["zp_min"]
    zp_max: float = photometer.RULES_DEFAULTS["zp_max"]
    offset_min: float = photometer.RULES_DEFAULTS["offset_min"]
    offset_max: float = photometer.RULES_DEFAULTS["offset_max"]
    filter_max_length: int = photometer.LENGTH_LIMITS["filter_max_length"]
    firmware_max_length: int = photometer.LENGTH_LIMITS["firmware_max_length"]

    @classmethod
    def from_settings(cls, settings: Any) -> "Limits":
        zp_min, zp_max = photometer.range_of(settings, "zp")
        offset_min, offset_max = photometer.range_of(settings, "offset")
        return cls(name_pattern=photometer.name_pattern_of(settings), zp_min=float(zp_min), zp_max=float(zp_max),
                   offset_min=float(offset_min), offset_max=float(offset_max),
                   filter_max_length=photometer.length_limit_of(settings, "filter_max_length"),
                   firmware_max_length=photometer.length_limit_of(settings, "firmware_max_length"))


# -- parsers ----------------------------------------------------------------------------------------
def utcnow() -> datetime:
    """Now, naive UTC (the catalogue's convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def check_new_name(name: str, limits: Limits) -> str:
    """A name about to be written: lower-cased, and matching ``rules.name_pattern`` in full."""
    return check_photometer_name(name, limits.name_pattern)


def normalise_mac(mac: str) -> str:
    """An operator's MAC (surrounding blanks ignored) in the form ``0A:0B:0C:01:02:03``."""
    return photometer.normalise_mac(mac.strip())


def parse_time(text: str, option: str = "--since", now: datetime | None = None) -> datetime:
    """``YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]`` (``T`` accepted), UTC unless it carries an
    offset or ``Z``; never in the future."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadValue(f"{option} {text!r} is not a date or time: use YYYY-MM-DD or "
                         "'YYYY-MM-DD HH:MM:SS' (UTC)") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    now = now or utcnow()
    if dt > now:
        raise BadValue(f"{option} {fmt_time(dt)} is in the future (now is {fmt_time(now)} UTC)")
    return dt


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadValue(f"{option} {text!r} is not a date: use YYYY-MM-DD") from None


def fmt_time(dt: datetime | None) -> str:
    """Seconds precision, microseconds only when there are some."""
    if dt is None:
        return ""
    return dt.isoformat(sep=" ", timespec="microseconds" if dt.microsecond else "seconds")


def natural_key(name: str | None) -> tuple:
    """``stars2`` before ``stars10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name or ""))


def _check_later(at: datetime, since: datetime, what: str, option: str = "--since") -> None:
    if at <= since:
        raise BadValue(f"{option} {fmt_time(at)} is not later than the valid_since {fmt_time(since)} of {what}")


def _check_after_history(at: datetime, rows: Iterable[NameMapping | Version], what: str) -> None:
    """A new window may not start inside an expired one (windows never overlap)."""
    ends = [r.until for r in rows if not r.current]
    if ends and at < max(ends):
        raise BadValue(f"--since {fmt_time(at)} is earlier than the end ({fmt_time(max(ends))}) "
                         f"of an expired row of {what}")


# -- channels ---------------------------------------------------------------------------------------
def _channels(current: Sequence[Any], given: Sequence[Any], channel: int | None, option: str) -> tuple:
    """New per-channel values: all channels, or the one named by ``--channel``."""
    n = len(current)
    if not given:
        return tuple(current)
    if channel is not None:
        if not 1 <= channel <= n:
            raise BadValue(f"--channel {channel} does not exist: this instrument has {n} channel(s)")
        if len(given) != 1:
            raise BadValue(f"with --channel give {option} once")
        values = list(current)
        values[channel - 1] = given[0]
        return tuple(values)
    if len(given) != n:
        raise BadValue(f"this instrument has {n} channel(s): give {option} {n} time(s), or once with --channel")
    return tuple(given)


def _check_ranges(zps: Iterable[float | None], offsets: Iterable[float], filters: Iterable[str | None],
                  limits: Limits) -> None:
    for zp in zps:
        if zp is not None and not (limits.zp_min <= zp <= limits.zp_max and math.isfinite(zp)):
            raise BadValue(f"zero point {zp} is outside [{limits.zp_min}, {limits.zp_max}] (rules.zp_min/zp_max)")
    for off in offsets:
        if not (limits.offset_min <= off <= limits.offset_max):
            raise BadValue(f"offset {off} Hz is outside [{limits.offset_min}, {limits.offset_max}] "
                             "(rules.offset_min/offset_max)")
    for f in filters:
        if f is not None and not f.strip():
            raise BadValue("a filter name may not be empty")
        if f is not None and len(f) > limits.filter_max_length:
            raise BadValue(f"filter name {f[:32]!r}... is longer than {limits.filter_max_length} characters "
                             "(rules.filter_max_length)")


def _describe(v: Version) -> str:
    zps = "/".join("" if z is None else f"{z:g}" for z in v.zp)
    filters = "/".join(f or "" for f in v.filters)
    offsets = "/".join(f"{o:g}" for o in v.offsets)
    return f"zp {zps}, filter {filters}, offset {offsets} Hz"


# -- instruments ---------------------------------------------------------------------------------------
def current_instrument(cat: Catalog, name: str) -> tuple[NameMapping, Version]:
    """The Current mapping of ``name`` and the Current version of its MAC."""
    m = cat.current_mapping_of_name(name)
    if m is None:
        if cat.mappings_of_name(name):
            raise NotFound(f"photometer {name!r} has no current MAC (all its name mappings are expired)")
        raise NotFound(f"unknown photometer {name!r}")
    v = cat.current_version(m.mac)
    if v is None:
        raise NotFound(f"photometer {name!r} (MAC {m.mac}) has no current version in tess_t")
    return m, v


def instrument_of(cat: Catalog, name: str | None = None, mac: str | None = None) -> tuple[NameMapping | None, Version]:
    """By name (its Current mapping) or by MAC (whatever its naming state)."""
    if name is not None:
        return current_instrument(cat, name)
    assert mac is not None
    v = cat.current_version(mac)
    if v is None:
        raise NotFound(f"unknown MAC {mac}: no current version in tess_t")
    return cat.current_mapping_of_mac(mac), v


def plan_create(view: MaintenanceView, *, name: str, mac: str, model: str, zps: Sequence[float],
                filters: Sequence[str], offsets: Sequence[float], firmware: str, authorise: bool,
                location: str | None, observer: str | None, since: datetime | None, limits: Limits,
                now: datetime) -> Change:
    """A new instrument by hand: a Manual version and a Current mapping from ``since``.

    Refused when the name or the MAC already has a Current mapping.  A MAC without a
    name that still has a Current version (left by a replace) gets a new version: the
    old one is expired, so a MAC never has two Current versions."""
    name = check_new_name(name, limits)
    mac = normalise_mac(mac)
    if model not in MODELS:
        raise BadValue(f"model {model!r} is not one of {', '.join(MODELS)}")
    n = MODELS[model]
    if len(zps) != n:
        raise BadValue(f"a {model} has {n} channel(s): give --zp {n} time(s)")
    if not filters:
        if n != 1:
            raise BadValue(f"a {model} has {n} channels: give --filter {n} times (one per channel)")
        filters = (TESSW_FILTER,)
    if len(filters) != n:
        raise BadValue(f"a {model} has {n} channel(s): give --filter {n} time(s)")
    offsets = tuple(offsets) or (0.0,) * n
    if len(offsets) != n:
        raise BadValue(f"a {model} has {n} channel(s): give --offset {n} time(s) or not at all")
    _check_ranges(zps, offsets, filters, limits)
    if len(firmware) > limits.firmware_max_length:
        raise BadValue(f"firmware {firmware[:32]!r}... is longer than {limits.firmware_max_length} characters "
                         "(rules.firmware_max_length)")
    at = since or now
    cat = view.catalog(names=[name], macs=[mac])
    taken = cat.current_mapping_of_name(name)
    if taken is not None:
        raise BadValue(f"name {name} is already in use: it names MAC {taken.mac} since {fmt_time(taken.since)}")
    named = cat.current_mapping_of_mac(mac)
    if named is not None:
        raise BadValue(f"MAC {mac} is already named {named.name} since {fmt_time(named.since)}")
    _check_after_history(at, cat.mappings_of_name(name), f"name {name}")
    _check_after_history(at, cat.versions_of(mac), f"MAC {mac}")
    old = cat.current_version(mac)
    if old is not None:
        _check_later(at, old.since, f"the current version of MAC {mac}")
    location_id = find_location(view.locations(), location)["location_id"] if location else UNKNOWN_ID
    observer_id = find_observer(view.observers(), observer)["observer_id"] if observer else UNKNOWN_ID
    version = Version(mac=mac, since=at, until=FAR_FUTURE, current=True, model=model, firmware=firmware,
                      authorised=authorise, registered=MANUAL, zp=tuple(float(z) for z in zps),
                      filters=tuple(filters), offsets=tuple(float(o) for o in offsets),
                      location_id=location_id, observer_id=observer_id)
    summary = (f"created {name} -> {mac}: {model}, {_describe(version)}, since {fmt_time(at)}, "
               f"{'authorised' if authorise else 'not authorised'}")
    if old is not None:
        summary += f"; the previous version {old.tess_id} of {mac} expired"
    return Change(summary=summary, at=at, expire_versions=(old,) if old else (),
                  new_mappings=(NameMapping(name=name, mac=mac, since=at, until=FAR_FUTURE, current=True),),
                  new_versions=(version,))


def plan_update(view: MaintenanceView, name: str, *, zps: Sequence[float] = (), filters: Sequence[str] = (),
                offsets: Sequence[float] = (), channel: int | None = None, since: datetime | None = None,
                latest: bool = False, limits: Limits, now: datetime) -> Change:
    """A ZP / filter / offset change: a new Manual version from ``since`` (default now)
    carrying everything else, or, with ``latest``, the current version edited in place."""
    name = normalise_name(name)
    if not (zps or filters or offsets):
        raise BadValue("nothing to update: give --zp, --filter or --offset")
    if latest and since is not None:
        raise BadValue("--since and --latest exclude each other")
    m, v = current_instrument(view.catalog(names=[name]), name)
    zp = _channels(v.zp, [float(z) for z in zps], channel, "--zp")
    flt = _channels(v.filters, list(filters), channel, "--filter")
    off = _channels(v.offsets, [float(o) for o in offsets], channel, "--offset")
    _check_ranges(zp if zps else (), off if offsets else (), flt if filters else (), limits)
    if (zp, flt, off) == (tuple(v.zp), tuple(v.filters), tuple(v.offsets)):
        return Change(summary=f"{name} already has {_describe(v)}: nothing changed")
    new = replace(v, zp=zp, filters=flt, offsets=off, registered=MANUAL)
    if latest:
        return Change(summary=f"{name} (MAC {m.mac}) version {v.tess_id} edited in place: {_describe(v)} -> "
                              f"{_describe(new)}", edit_versions=((v, new),))
    at = since or now
    _check_later(at, v.since, f"the current version of {name}")
    new = replace(new, since=at, until=FAR_FUTURE, current=True, tess_id=None)
    return Change(summary=f"{name} (MAC {m.mac}) new version since {fmt_time(at)}: {_describe(v)} -> "
                          f"{_describe(new)}", at=at, expire_versions=(v,), new_versions=(new,))


def plan_authorise(view: MaintenanceView, name: str, authorised: bool) -> Change:
    """``authorised`` set in place on the current version."""
    name = normalise_name(name)
    m, v = current_instrument(view.catalog(names=[name]), name)
    word = "authorised" if authorised else "not authorised"
    if v.authorised == authorised:
        return Change(summary=f"{name} (MAC {m.mac}) is already {word}: nothing changed")
    return Change(summary=f"{name} (MAC {m.mac}) is now {word}",
                  edit_versions=((v, replace(v, authorised=authorised)),))


def plan_assign(view: MaintenanceView, name: str, *, location: str | None, observer: str | None,
                since: datetime | None) -> Change:
    """Location / observer of the current version: in place, or a new version from ``since``
    (``registered`` carried over: the calibration did not change)."""
    name = normalise_name(name)
    if location is None and observer is None:
        raise BadValue("nothing to assign: give --location and/or --observer")
    m, v = current_instrument(view.catalog(names=[name]), name)
    loc = find_location(view.locations(), location) if location is not None else None
    obs = find_observer(view.observers(), observer) if observer is not None else None
    location_id = loc["location_id"] if loc else v.location_id
    observer_id = obs["observer_id"] if obs else v.observer_id
    what = ", ".join(x for x in (f"location {location_id} ({loc['place']})" if loc else "",
                                 f"observer {observer_id} ({obs['name']})" if obs else "") if x)
    if (location_id, observer_id) == (v.location_id, v.observer_id):
        return Change(summary=f"{name} already has {what}: nothing changed")
    new = replace(v, location_id=location_id, observer_id=observer_id)
    if since is None:
        return Change(summary=f"{name} (MAC {m.mac}) assigned to {what}", edit_versions=((v, new),))
    _check_later(since, v.since, f"the current version of {name}")
    new = replace(new, since=since, until=FAR_FUTURE, current=True, tess_id=None)
    return Change(summary=f"{name} (MAC {m.mac}) assigned to {what} from {fmt_time(since)} (new version)",
                  at=since, expire_versions=(v,), new_versions=(new,))


def plan_rename(view: MaintenanceView, old: str, new: str, *, since: datetime | None, limits: Limits,
                now: datetime) -> Change:
    """Expire OLD's mapping (and NEW's, if NEW names another MAC) and map NEW to OLD's MAC."""
    old = normalise_name(old)
    new = check_new_name(new, limits)
    if old == new:
        raise BadValue(f"old and new names are the same: {old}")
    cat = view.catalog(names=[old, new])
    m_old = cat.current_mapping_of_name(old)
    if m_old is None:
        current_instrument(cat, old)  # raises the right LookupError
        raise NotFound(f"unknown photometer {old!r}")  # pragma: no cover
    m_new = cat.current_mapping_of_name(new)
    at = since or now
    _check_later(at, m_old.since, f"the mapping {old} -> {m_old.mac}")
    expire = [m_old]
    summary = f"renamed {old} -> {new} (MAC {m_old.mac}) from {fmt_time(at)}"
    if m_new is not None:
        _check_later(at, m_new.since, f"the mapping {new} -> {m_new.mac}")
        expire.append(m_new)
        summary += f"; MAC {m_new.mac} (was {new}) has no name now"
    else:
        _check_after_history(at, cat.mappings_of_name(new), f"name {new}")
    return Change(summary=summary, at=at, expire_mappings=tuple(expire),
                  new_mappings=(NameMapping(name=new, mac=m_old.mac, since=at, until=FAR_FUTURE, current=True),))


# -- instrument listings ---------------------------------------------------------------------------------
def instrument_row(m: NameMapping | None, v: Version, locations: dict[int, LocationRow],
                   observers: dict[int, ObserverRow]) -> dict[str, Any]:
    zp = list(v.zp) + [None] * (4 - len(v.zp))
    loc = locations.get(v.location_id, {})
    obs = observers.get(v.observer_id, {})
    return {
        "name": m.name if m else None, "mac": v.mac, "model": v.model,
        "zp1": zp[0], "zp2": zp[1], "zp3": zp[2], "zp4": zp[3],
        "filters": ", ".join(f or "" for f in v.filters), "offsets": ", ".join(f"{o:g}" for o in v.offsets),
        "authorised": v.authorised, "registered": v.registered, "firmware": v.firmware,
        "location_id": v.location_id, "place": loc.get("place"),
        "observer_id": v.observer_id, "observer": obs.get("name"),
        "since": v.since, "named_since": m.since if m else None, "tess_id": v.tess_id,
    }


def instrument_rows(cat: Catalog, locations: Iterable[LocationRow], observers: Iterable[ObserverRow],
                    include_anonymous: bool = False) -> list[dict[str, Any]]:
    """The current version of every named MAC (and of every other MAC with ``include_anonymous``)."""
    locs = {loc["location_id"]: loc for loc in locations}
    obs = {o["observer_id"]: o for o in observers}
    rows = []
    macs = {v.mac for v in cat.versions} | {m.mac for m in cat.mappings}
    for mac in macs:
        v = cat.current_version(mac)
        if v is None:
            continue
        m = cat.current_mapping_of_mac(mac)
        if m is None and not include_anonymous:
            continue
        rows.append(instrument_row(m, v, locs, obs))
    rows.sort(key=lambda r: (r["name"] is None, natural_key(r["name"]), r["mac"]))
    return rows


def anonymous_rows(cat: Catalog) -> list[dict[str, Any]]:
    """MACs with no Current mapping: their last name and when it ended."""
    rows = []
    by_mac: dict[str, list[NameMapping]] = {}
    for m in cat.mappings:
        by_mac.setdefault(m.mac, []).append(m)
    for mac in sorted({v.mac for v in cat.versions} | set(by_mac)):
        if cat.current_mapping_of_mac(mac) is not None:
            continue
        maps = by_mac.get(mac, ())
        last = max(maps, key=lambda m: m.until) if maps else None
        v = cat.current_version(mac)
        rows.append({"mac": mac, "last_name": last.name if last else None,
                     "named_until": last.until if last else None,
                     "model": v.model if v else None, "tess_id": v.tess_id if v else None,
                     "version_since": v.since if v else None, "has_current_version": v is not None})
    return rows


def history(cat: Catalog, name: str | None = None, mac: str | None = None
            ) -> tuple[list[NameMapping], list[Version]]:
    """Every mapping and version of the MACs a name was ever mapped to (or of one MAC)."""
    if name is not None:
        own = cat.mappings_of_name(name)
        if not own:
            raise NotFound(f"unknown photometer {name!r}")
        macs = {m.mac for m in own}
    else:
        macs = {mac}
    maps = sorted((m for m in cat.mappings if m.mac in macs or (name is not None and m.name == name)),
                  key=lambda m: (m.since, m.key or 0))
    versions = sorted((v for v in cat.versions if v.mac in macs), key=lambda v: (v.since, v.tess_id or 0))
    if not maps and not versions:
        raise NotFound(f"unknown MAC {mac}")
    return maps, versions


def version_dict(v: Version) -> dict[str, Any]:
    zp = list(v.zp) + [None] * (4 - len(v.zp))
    return {"tess_id": v.tess_id, "mac": v.mac, "valid_since": v.since, "valid_until": v.until,
            "valid_state": "Current" if v.current else "Expired", "model": v.model, "firmware": v.firmware,
            "zp1": zp[0], "zp2": zp[1], "zp3": zp[2], "zp4": zp[3],
            "filters": ", ".join(f or "" for f in v.filters), "offsets": ", ".join(f"{o:g}" for o in v.offsets),
            "authorised": v.authorised, "registered": v.registered,
            "location_id": v.location_id, "observer_id": v.observer_id}


def mapping_dict(m: NameMapping) -> dict[str, Any]:
    return {"name": m.name, "mac": m.mac, "valid_since": m.since, "valid_until": m.until,
            "valid_state": "Current" if m.current else "Expired"}


# -- locations ---------------------------------------------------------------------------------------------
def find_location(locations: Iterable[LocationRow], ref: str) -> LocationRow:
    """By location_id (an integer) or by place (case-insensitive, must be unambiguous)."""
    text = str(ref).strip()
    rows = list(locations)
    if re.fullmatch(r"-?\d+", text):
        for loc in rows:
            if loc["location_id"] == int(text):
                return loc
        raise NotFound(f"unknown location {text}: no location_id {text}")
    hits = [loc for loc in rows if (loc["place"] or "").lower() == text.lower()]
    if not hits:
        raise NotFound(f"unknown location {text!r}: no location with that place")
    if len(hits) > 1:
        raise BadValue(f"location {text!r} is ambiguous (ids {', '.join(str(h['location_id']) for h in hits)}): "
                         "use the id")
    return hits[0]


def timezone_at(lon: float, lat: float) -> str:
    """The Olson time zone at a point, found offline; ``Etc/UTC`` when there is none."""
    from timezonefinder import TimezoneFinder

    return TimezoneFinder().timezone_at(lng=lon, lat=lat) or "Etc/UTC"


def check_timezone(tz: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadValue(f"timezone {tz!r} is not a known IANA time zone (e.g. Europe/Madrid)") from None
    return tz


def _check_coordinates(lon: float | None, lat: float | None) -> None:
    if lon is not None and not -180.0 <= lon <= 180.0:
        raise BadValue(f"longitude {lon} is outside [-180, 180]")
    if lat is not None and not -90.0 <= lat <= 90.0:
        raise BadValue(f"latitude {lat} is outside [-90, 90]")


def location_fields(*, place: str, lon: float, lat: float, elevation: float | None = None,
                    town: str | None = None, sub_region: str | None = None, region: str | None = None,
                    country: str | None = None, tz: str | None = None) -> LocationRow:
    """A new location_t row (without id), checked; the time zone found from the position if not given."""
    if not place.strip():
        raise BadValue("a location needs a non-empty place")
    _check_coordinates(lon, lat)
    tz = check_timezone(tz) if tz else timezone_at(lon, lat)
    return {"longitude": lon, "latitude": lat, "elevation": elevation, "place": place.strip(),
            "town": town or "Unknown", "sub_region": sub_region or "Unknown", "region": region or "Unknown",
            "country": country or "Unknown", "timezone": tz}


def _check_unique(loc: LocationRow, others: Iterable[LocationRow]) -> None:
    for o in others:
        if (loc["longitude"] is not None and loc["latitude"] is not None
                and (o["longitude"], o["latitude"]) == (loc["longitude"], loc["latitude"])):
            raise BadValue(f"location {o['location_id']} ({o['place']}) is already at longitude "
                             f"{loc['longitude']}, latitude {loc['latitude']}")
        if (o["place"] or "").lower() == loc["place"].lower():
            raise BadValue(f"location {o['location_id']} already has the place {o['place']!r}")


def plan_location_create(view: MaintenanceView, fields: LocationRow) -> Change:
    _check_unique(fields, view.locations())
    return Change(summary=f"created location {fields['place']!r} at {fields['longitude']}, {fields['latitude']} "
                          f"(timezone {fields['timezone']})", new_locations=(fields,))


def plan_location_update(view: MaintenanceView, ref: str, changes: dict[str, Any]) -> Change:
    """Columns of one location edited in place; the time zone follows a moved position
    unless given."""
    if not changes:
        raise BadValue("nothing to update: give at least one field (see --help)")
    locations = view.locations()
    loc = find_location(locations, ref)
    if loc["location_id"] == UNKNOWN_ID:
        raise BadValue("location -1 (Unknown) is the default of every new instrument and is not edited")
    changes = dict(changes)
    if "place" in changes and not str(changes["place"]).strip():
        raise BadValue("a location needs a non-empty place")
    if "timezone" in changes:
        check_timezone(changes["timezone"])
    merged = {**loc, **changes}
    _check_coordinates(merged["longitude"], merged["latitude"])
    moved = "timezone" not in changes and any(k in changes and changes[k] != loc[k] for k in ("longitude", "latitude"))
    if moved and merged["longitude"] is not None and merged["latitude"] is not None:
        merged["timezone"] = timezone_at(merged["longitude"], merged["latitude"])
    diff = {k: v for k, v in merged.items() if k != "location_id" and loc.get(k) != v}
    if not diff:
        return Change(summary=f"location {loc['location_id']} ({loc['place']}) already so: nothing changed")
    _check_unique(merged, (o for o in locations if o["location_id"] != loc["location_id"]))
    what = ", ".join(f"{k} {loc.get(k)!r} -> {v!r}" for k, v in diff.items())
    return Change(summary=f"location {loc['location_id']} ({loc['place']}): {what}",
                  edit_locations=((loc["location_id"], diff),))


def unassigned_locations(cat: Catalog, locations: Iterable[LocationRow]) -> list[LocationRow]:
    """Locations (but -1) that no instrument version refers to."""
    used = {v.location_id for v in cat.versions}
    return [loc for loc in locations if loc["location_id"] != UNKNOWN_ID and loc["location_id"] not in used]


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(a)))


def close_pairs(locations: Iterable[LocationRow], metres: float) -> list[dict[str, Any]]:
    """Pairs of positioned locations closer than ``metres``, nearest first.  A sweep on
    latitude keeps it far from n^2 for a network's few thousand sites."""
    if not metres > 0:
        raise BadValue(f"--distance {metres} must be a positive number of metres")
    pts = sorted((loc for loc in locations if loc["longitude"] is not None and loc["latitude"] is not None),
                 key=lambda loc: loc["latitude"])
    band = math.degrees(metres / EARTH_RADIUS)
    out = []
    for i, a in enumerate(pts):
        for b in pts[i + 1:]:
            if b["latitude"] - a["latitude"] > band:
                break
            d = haversine(a["longitude"], a["latitude"], b["longitude"], b["latitude"])
            if d < metres:
                first, second = sorted((a, b), key=lambda x: x["location_id"])
                out.append({"id1": first["location_id"], "place1": first["place"],
                            "id2": second["location_id"], "place2": second["place"], "distance_m": round(d, 1)})
    out.sort(key=lambda r: (r["distance_m"], r["id1"], r["id2"]))
    return out


# -- observers ---------------------------------------------------------------------------------------------
def find_observer(observers: Iterable[ObserverRow], ref: str) -> ObserverRow:
    """A Current observer by observer_id or by name (case-insensitive, unambiguous)."""
    text = str(ref).strip()
    rows = list(observers)
    if re.fullmatch(r"-?\d+", text):
        for o in rows:
            if o["observer_id"] == int(text):
                return o
        raise NotFound(f"unknown observer {text}: no current observer with observer_id {text}")
    hits = [o for o in rows if (o["name"] or "").lower() == text.lower()]
    if not hits:
        raise NotFound(f"unknown observer {text!r}: no current observer with that name")
    if len(hits) > 1:
        raise BadValue(f"observer {text!r} is ambiguous (ids {', '.join(str(h['observer_id']) for h in hits)}): "
                         "use the id")
    return hits[0]


def observer_fields(**given: Any) -> dict[str, Any]:
    """Checked observer columns from the options given (None = not given, "" = clear)."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        if value is None:
            continue
        value = value.strip() or None if isinstance(value, str) else value
        if key == "name" and not value:
            raise BadValue("an observer needs a non-empty name")
        if key == "type" and value not in OBSERVER_TYPES:
            raise BadValue(f"observer type {value!r} is not one of {', '.join(OBSERVER_TYPES)}")
        if key == "acronym" and value and len(value) > 16:
            raise BadValue(f"acronym {value!r} is longer than 16 characters")
        if key == "email" and value and (len(value) > 64 or _EMAIL.fullmatch(value) is None):
            raise BadValue(f"email {value!r} is not an e-mail address (at most 64 characters)")
        if key == "website_url" and value and not re.match(r"https?://\S+$", value):
            raise BadValue(f"website {value!r} is not an http:// or https:// URL")
        out[key] = value
    return out


def plan_observer_create(view: MaintenanceView, fields: dict[str, Any], since: datetime) -> Change:
    for key in ("name", "type"):
        if not fields.get(key):
            raise BadValue(f"an observer needs a {key}")
    for o in view.observers():
        if o["name"].lower() == fields["name"].lower():
            raise BadValue(f"observer {o['name']!r} already exists (observer_id {o['observer_id']}): use update")
    row = {"type": None, "name": None, "affiliation": None, "acronym": None, "website_url": None, "email": None,
           **fields, "valid_since": since, "valid_until": FAR_FUTURE, "valid_state": "Current"}
    return Change(summary=f"created observer {fields['name']!r} ({fields['type']}) since {fmt_time(since)}",
                  new_observers=(NewObserver(row),))


def plan_observer_update(view: MaintenanceView, ref: str, changes: dict[str, Any], since: datetime) -> Change:
    """A versioned change (like tess_t): the current row expires at ``since`` and a new one
    starts; the Current instrument versions that pointed to the old row follow the new one."""
    if not changes:
        raise BadValue("nothing to update: give at least one field (see --help)")
    observers = view.observers()
    old = find_observer(observers, ref)
    if old["observer_id"] == UNKNOWN_ID:
        raise BadValue("observer -1 (Unknown) is the default of every new instrument and is not edited")
    new_name = changes.get("name")
    if new_name and new_name.lower() != old["name"].lower():
        for o in observers:
            if o["name"].lower() == new_name.lower():
                raise BadValue(f"observer {o['name']!r} already exists (observer_id {o['observer_id']})")
    diff = {k: v for k, v in changes.items() if old.get(k) != v}
    if not diff:
        return Change(summary=f"observer {old['name']!r} already so: nothing changed")
    _check_later(since, old["valid_since"], f"observer {old['name']!r}")
    row = {k: old[k] for k in ("type", "name", "affiliation", "acronym", "website_url", "email")}
    row.update(changes)
    row.update(valid_since=since, valid_until=FAR_FUTURE, valid_state="Current")
    what = ", ".join(f"{k} {old.get(k)!r} -> {v!r}" for k, v in diff.items())
    return Change(summary=f"observer {old['name']!r} new version since {fmt_time(since)}: {what}", at=since,
                  expire_observers=(old["observer_id"],),
                  new_observers=(NewObserver(row, replaces=old["observer_id"]),))
