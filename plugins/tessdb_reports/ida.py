"""The IDA monthly file (docs/reports.md): pure formatting, no database.

Same files as ``tess-ida`` of tessdb-reports 3.7.22, with four fixes:
the body starts on its own line after ``# END OF HEADER``; "Filters per channel"
prints the real filter name; the month is the half-open window [1st 00:00:00,
next 1st 00:00:00) (the window itself is applied by the query); "Time
Synchronization" says who stamped the readings, from their ``units_id``.

A saturated reading (the photometer sends magnitude 0.0) keeps ``0.0`` as its MSAS,
as the network's files and Unihedron's SQMs do and as tess-ida-tools expects (a
number in every field); the header's comment line 27 says so when the file holds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timezone
from typing import Any, Mapping, Sequence

from .common import Month, file_stem, fmt, quote_name, zone

HEADER_LINES = 35
END_OF_HEADER = "# END OF HEADER"
UNCALIBRATED_ZP = 20.5
#: tess_units_t ids whose timestamp_source is 'Publisher' (the photometer's own clock)
PUBLISHER_UNITS = frozenset({1, 3})
SUBSCRIBER_SYNC = "timestamp added by MQTT subscriber"
PUBLISHER_SYNC = "timestamp added by the photometer"
SATURATED_REMARK = "MSAS 0.0 = saturated sensor (daylight or a light shone on it), not a measurement"

_COLUMNS_W = ("# UTC Date & Time, Local Date & Time, Enclosure Temperature, Sky Temperature, Frequency, MSAS, ZP, "
              "Sequence Number")
_UNITS_W = ("# YYYY-MM-DDTHH:mm:ss.fff;YYYY-MM-DDTHH:mm:ss.fff;Celsius;Celsius;Hz;mag/arcsec^2;mag/arcsec^2; "
            "Multiple of Tx period")
# the double space before MSAS3 is the reference's
_COLUMNS_4C = ("# UTC Date & Time, Local Date & Time, Enclosure Temperature, Sky Temperature, Freq1, MSAS1, ZP1, "
               "Freq2, MSAS2, ZP2, Freq3,  MSAS3, ZP3, Freq4, MSAS4, ZP4, Sequence Number")
_UNITS_4C = ("# YYYY-MM-DDTHH:mm:ss.fff;YYYY-MM-DDTHH:mm:ss.fff;Celsius;Celsius"
             + ";Hz;mag/arcsec^2;mag/arcsec^2" * 4 + "; Multiple of Tx period")


@dataclass
class IdaFile:
    """One file to write: ``relpath`` is ``<stem>/<stem>_<YYYY-MM>[_<location_id>][_4c].dat``,
    ``stem`` being the name's file-name form (``common.file_stem``: "stars1" for stars1)."""
    name: str
    month: Month
    relpath: str
    location_id: int
    nchannels: int
    text: str
    readings: int
    warnings: list[str] = field(default_factory=list)


def zps(version: Mapping[str, Any]) -> tuple:
    n = 4 if version.get("nchannels") == 4 else 1
    return tuple(version.get(f"zp{i}") for i in range(1, n + 1))


def filters(version: Mapping[str, Any]) -> tuple:
    n = 4 if version.get("nchannels") == 4 else 1
    return tuple(version.get(f"filter{i}") for i in range(1, n + 1))


def _one_or_tuple(values: tuple) -> str:
    return fmt(values[0]) if len(values) == 1 else fmt(values)


def month_files(name: str, month: Month, readings: Sequence[Mapping[str, Any]],
                versions: Mapping[int, Mapping[str, Any]], locations: Mapping[int, Mapping[str, Any]],
                observers: Mapping[int, Mapping[str, Any]] | None = None,
                mappings: Sequence[Mapping[str, Any]] = (), stem: str | None = None) -> list[IdaFile]:
    """The files of one photometer name for one month (none when there is no reading),
    named after ``stem`` (default: ``file_stem(name)``).

    One file per location_id of the readings (``_<location_id>`` suffix when there are
    several); readings of both fact tables in one month for one location (a TESS-W
    replaced by a TESS4C under the same name) are split too, the TESS4C file taking a
    ``_4c`` suffix."""
    groups: dict[tuple[int, int], list[Mapping[str, Any]]] = {}
    for r in readings:
        groups.setdefault((r["location_id"], r["nchannels"]), []).append(r)
    several_locations = len({loc for loc, _n in groups}) > 1
    stem = stem or file_stem(name)
    files = []
    for (loc, nchannels), rows in sorted(groups.items()):
        suffix = f"_{quote_name(str(loc))}" if several_locations else ""
        if any(other_loc == loc and other_n != nchannels for other_loc, other_n in groups) and nchannels == 4:
            suffix += "_4c"
        relpath = f"{stem}/{stem}_{month}{suffix}.dat"
        location = locations.get(loc) or _unknown_location(loc)
        text, warnings = _file_text(name, rows, versions, location, observers or {}, mappings)
        files.append(IdaFile(name, month, relpath, loc, nchannels, text, len(rows), warnings))
    return files


def _unknown_location(loc: int) -> dict[str, Any]:
    return {"location_id": loc, "longitude": None, "latitude": None, "elevation": None, "place": "Unknown",
            "town": "Unknown", "sub_region": "Unknown", "region": "Unknown", "country": "Unknown",
            "timezone": "Etc/UTC", "contact_name": None, "organization": None}


def _file_text(name: str, rows: Sequence[Mapping[str, Any]], versions: Mapping[int, Mapping[str, Any]],
               location: Mapping[str, Any], observers: Mapping[int, Mapping[str, Any]],
               mappings: Sequence[Mapping[str, Any]]) -> tuple[str, list[str]]:
    # the versions in the order the readings meet them; the header describes the last one
    seen: list[int] = []
    for r in rows:
        if r["tess_id"] not in seen:
            seen.append(r["tess_id"])
    used = sorted((versions[t] for t in seen), key=lambda v: (v["since"], v["tess_id"]))
    current = versions[rows[-1]["tess_id"]]
    tz = zone(location.get("timezone"), f"location {location['location_id']}")
    header, warnings = _header(name, current, used, location, observers.get(rows[-1]["observer_id"]),
                               mappings, [r["mac_address"] for r in rows], time_sync(rows), _saturated(rows))
    body = [_line(r, versions[r["tess_id"]], tz) for r in rows]
    return "\n".join(header + body) + "\n", warnings


def _header(name: str, v: Mapping[str, Any], used: Sequence[Mapping[str, Any]], loc: Mapping[str, Any],
            observer: Mapping[str, Any] | None, mappings: Sequence[Mapping[str, Any]],
            macs: Sequence[str], sync: str = SUBSCRIBER_SYNC, saturated: bool = False
            ) -> tuple[list[str], list[str]]:
    warnings = []
    four = v.get("nchannels") == 4
    supplier = (loc.get("contact_name") or (observer or {}).get("name") or "Unknown",
                loc.get("organization") or (observer or {}).get("acronym") or (observer or {}).get("affiliation")
                or "Unknown")
    if None in (loc.get("latitude"), loc.get("longitude"), loc.get("elevation")):
        warnings.append(f"location {loc['location_id']} has no coordinates: tess-ida-tools will refuse this file")
    zen = 90.0 - float(v.get("altitude", 90.0))
    direction = (float(v.get("azimuth", 0.0)), zen) * (4 if four else 1)
    zp = zps(v)
    lines = [
        "# Definition of the community standard for skyglow observations 1.0",
        "# URL: http://www.darksky.org/NSBM/sdf1.0.pdf",
        f"# Number of header lines: {HEADER_LINES}",
        "# This data is released under the following license: ODbL 1.0 "
        "http://opendatacommons.org/licenses/odbl/summary/",
        f"# Device type: {v.get('model')}",
        f"# Instrument ID: {name}",
        f"# Data supplier: {supplier[0]} / {supplier[1]}",
        f"# Location name: {loc.get('place')} / {loc.get('town')} / {loc.get('sub_region')} / "
        f"{loc.get('region')} / {loc.get('country')} ",
        f"# Position: {fmt(loc.get('latitude'))}, {fmt(loc.get('longitude'))}, {fmt(loc.get('elevation'))}",
        f"# Local timezone: {loc.get('timezone')}",
        f"# Time Synchronization: {sync}",
        "# Moving / Stationary position: STATIONARY",
        "# Moving / Fixed look direction: FIXED",
        f"# Number of channels: {v.get('nchannels')}",
        f"# Filters per channel: {_one_or_tuple(filters(v))}",
        f"# Measurement direction per channel: {fmt(direction)}",
        f"# Field of view: {fmt(v.get('fov'))}",
        f"# Number of fields per line: {17 if four else 8}",
        f"# TESS MAC address: {v.get('mac_address')}",
        f"# TESS firmware version: {v.get('firmware')}",
        f"# TESS cover offset value: {fmt(v.get('cover_offset'))}",
        f"# TESS zero point: {_one_or_tuple(zp)}",
        _comment(_calibration_remark(zp[0]), empty="# Comment:  "),
        _comment(_mac_remark(mappings, macs)),
        _comment(_change_remark(used, "Zero Point", zps)),
        _comment(_change_remark(used, "Filter", filters)),
        _comment(SATURATED_REMARK if saturated else ""),
        _comment("Current Zero Point in the header corresponds to the UV/IR-cut channel" if four else "",
                 empty="# Comment: "),
        "# Comment: MSAS = ZP - 2.5*log10(Frequency)",
        "# blank line 30",
        "# blank line 31",
        "# blank line 32",
        _COLUMNS_4C if four else _COLUMNS_W,
        _UNITS_4C if four else _UNITS_W,
        END_OF_HEADER,
    ]
    assert len(lines) == HEADER_LINES
    return lines, warnings


def time_sync(rows: Sequence[Mapping[str, Any]]) -> str:
    """The "Time Synchronization" value: who stamped the file's readings, from their
    ``units_id`` (a row without one counts as stamped by the subscriber, the 4.x default)."""
    publisher = sum(1 for r in rows if r.get("units_id") in PUBLISHER_UNITS)
    if publisher == 0:
        return SUBSCRIBER_SYNC
    if publisher == len(rows):
        return PUBLISHER_SYNC
    return f"{PUBLISHER_SYNC} ({publisher} readings), else by MQTT subscriber ({len(rows) - publisher} readings)"


def _saturated(rows: Sequence[Mapping[str, Any]]) -> bool:
    return any(m is not None and m == 0 for r in rows for m in r["mag"])


def _comment(text: str, empty: str = "# Comment:") -> str:
    return f"# Comment: {text}" if text else empty


def _calibration_remark(zp1: Any) -> str:
    if zp1 is not None and abs(float(zp1) - UNCALIBRATED_ZP) < 1e-9:
        return f"This photometer may not have been calibrated (Zero Point = {float(zp1):.2f})"
    return ""


def _change_remark(used: Sequence[Mapping[str, Any]], what: str, values) -> str:
    """"Current <what> valid since ..., Previous <what> (...) only valid until ..." when the
    last two versions met in the file differ in it."""
    if len(used) < 2:
        return ""
    prev, cur = used[-2], used[-1]
    if values(prev) == values(cur):
        return ""
    return (f"Current {what} valid since {cur['valid_since']}, Previous {what} "
            f"({_one_or_tuple(values(prev))}) only valid until {prev['valid_until']}")


def _mac_remark(mappings: Sequence[Mapping[str, Any]], macs: Sequence[str]) -> str:
    """When the file holds readings of two MACs (a replacement under the same name)."""
    order: list[str] = []
    for mac in macs:
        if mac not in order:
            order.append(mac)
    if len(order) < 2:
        return ""
    prev, cur = order[-2], order[-1]
    cur_map = next((m for m in reversed(mappings) if m["mac_address"] == cur), None)
    prev_map = next((m for m in reversed(mappings) if m["mac_address"] == prev), None)
    since = cur_map["valid_since"] if cur_map else "?"
    until = prev_map["valid_until"] if prev_map else "?"
    return f"Current MAC address valid since {since}, Previous MAC address ({prev}) only valid until {until}"


def _line(r: Mapping[str, Any], v: Mapping[str, Any], tz) -> str:
    utc = r["utc"].replace(tzinfo=timezone.utc)
    fields = [utc.isoformat(timespec="seconds")[:19] + ".000",
              utc.astimezone(tz).isoformat(timespec="seconds")[:19] + ".000",
              fmt(r["box_temperature"]), fmt(r["sky_temperature"])]
    if r["nchannels"] == 4:
        for i in range(4):
            fields += [fmt(r["freq"][i]), fmt(r["mag"][i]), fmt(v.get(f"zp{i + 1}"))]
    else:
        fields += [fmt(r["freq"][0]), fmt(r["mag"][0]), fmt(v.get("zp1"))]
    fields.append(fmt(r["sequence_number"]))
    return ";".join(fields)
