"""The sky context in exports: ``--context`` columns and the ECSV time series.

The columns come from ``tessdb_sky`` (extra ``sky``), computed on the exported rows after
the query, site by site; nothing is written to the database.  The ECSV file is the one
astropy's ``TimeSeries.read(path, format="ascii.ecsv")`` loads, with units, and uses
tess-ida-tools' column names where the quantity is the same, so their notebooks work on it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from tessdb_core import ReportQueries, require

from .common import fmt

#: (ECSV name, export row key, unit or None, ECSV datatype): tess-ida-tools' names first
ECSV_COLUMNS: tuple[tuple[str, str, str | None, str], ...] = (
    ("time", "timestamp", None, "string"),
    ("Enclosure Temperature", "box_temperature", "deg_C", "float64"),
    ("Sky Temperature", "sky_temperature", "deg_C", "float64"),
    ("Frequency", "frequency", "Hz", "float64"),
    ("MSAS", "magnitude", "mag / arcsec2", "float64"),
    ("ZP", "zp1", None, "float64"),
    ("Sequence Number", "sequence_number", None, "int64"),
    *((f"{what}{c}", f"{key}{c}", unit, "float64") for c in (2, 3, 4)
      for what, key, unit in (("Freq", "frequency", "Hz"), ("MSAS", "magnitude", "mag / arcsec2"), ("ZP", "zp", None))),
    ("Sun Alt", "sun_alt", "deg", "float64"),
    ("Sun Az", "sun_az", "deg", "float64"),
    ("Moon Alt", "moon_alt", "deg", "float64"),
    ("Moon Az", "moon_az", "deg", "float64"),
    ("Moon Illumination", "moon_illumination", None, "float64"),
    ("moon_waxing", "moon_waxing", None, "bool"),
    ("moon_up", "moon_up", None, "bool"),
    ("sky_state", "sky_state", None, "string"),
    ("night", "night", None, "string"),
    ("site_known", "site_known", None, "bool"),
    ("clouds", "clouds", None, "string"),
    ("cloud_variability", "cloud_variability", None, "float64"),
    ("sky_minus_ambient", "sky_minus_ambient", "deg_C", "float64"),
    ("julian_day", "julian_day", None, "float64"),
    ("name", "name", None, "string"),
    ("mac_address", "mac_address", None, "string"),
    ("model", "model", None, "string"),
    ("longitude", "longitude", "deg", "float64"),
    ("latitude", "latitude", "deg", "float64"),
    ("location_id", "location_id", None, "int64"),
    ("place", "place", None, "string"),
    ("town", "town", None, "string"),
)


def sky_api(what: str) -> Any:
    """``tessdb_sky.api``, or the one-line 'install the sky extra' error naming ``what``."""
    require("numpy", "sky", what)
    require("erfa", "sky", what)
    return require("tessdb_sky.api", "sky", what)


def with_context(queries: ReportQueries, rows: Iterator[dict[str, Any]], settings: Any) -> Iterator[dict[str, Any]]:
    """The export rows (time order, any photometers) with ``CONTEXT_COLUMNS`` added.

    The site of each row is its ``location_id``'s ``location_t`` row (elevation and time zone
    included), read once per location; location -1 is an unknown site (nights split at UTC
    noon, ``site_known`` false).  The brightness screened is channel 1, or a TESS4C's
    ``[sky] tess4c_channel``; the infrared pair is ``sky_temperature`` - ``box_temperature``."""
    api = sky_api("the sky context")
    from tessdb_sky.series import Site, annotate

    cloud = api.cloud_settings(settings)
    sites: dict[int, Any] = {}

    def site(row: dict[str, Any]) -> Any:
        loc = row.get("location_id")
        if loc not in sites:
            found = queries.locations([loc]).get(loc) if loc is not None else None
            sites[loc] = Site.of(dict(found) if found else None)
        return sites[loc]

    channel = cloud.tess4c_channel

    def magnitude(row: dict[str, Any]) -> float | None:
        if channel > 1 and row.get("magnitude2") is not None:  # a TESS4C row
            return row.get(f"magnitude{channel}")
        return row.get("magnitude")

    return annotate(rows, time=lambda r: r["timestamp"], photometer=lambda r: r["mac_address"], site=site,
                    magnitude=magnitude, tsky_key="sky_temperature", tamb_key="box_temperature", settings=cloud)


def _yaml_name(name: str) -> str:
    return name if name.replace(" ", "").replace("_", "").isalnum() else f"'{name}'"


def ecsv_header(meta: dict[str, str]) -> str:
    """The ECSV 1.0 header of ``ECSV_COLUMNS``: the time column a UTC ``Time`` (isot), the
    columns with a unit ``Quantity`` columns (astropy's own serialisation)."""
    lines = ["%ECSV 1.0", "---", "datatype:"]
    for name, _key, unit, kind in ECSV_COLUMNS:
        u = f", unit: {unit}" if unit else ""
        lines.append(f"- {{name: {_yaml_name(name)}{u}, datatype: {kind}}}")
    lines += ["delimiter: ','", "meta: !!omap"]
    for k, v in meta.items():
        lines.append(f"- {{{k}: {_yaml_scalar(v)}}}")
    lines.append("- __serialized_columns__:")
    for name, _key, unit, _kind in sorted(ECSV_COLUMNS, key=lambda c: c[0]):
        if name == "time":
            lines += ["    time:", "      __class__: astropy.time.core.Time", "      format: isot",
                      "      in_subfmt: '*'", "      out_subfmt: '*'", "      precision: 3", "      scale: utc",
                      "      value: !astropy.table.SerializedColumn {name: time}"]
        elif unit:
            lines += [f"    {_yaml_name(name)}:", "      __class__: astropy.units.quantity.Quantity",
                      f"      unit: !astropy.units.Unit {{unit: {unit}}}",
                      f"      value: !astropy.table.SerializedColumn {{name: {_yaml_name(name)}}}"]
    lines.append("schema: astropy-2.0")
    return "".join(f"# {line}\n" for line in lines)


def _yaml_scalar(v: str) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def write_ecsv(rows: Iterator[dict[str, Any]], stream: TextIO, meta: dict[str, str]) -> int:
    """Write the header then each row as it comes (empty for a missing value: astropy masks
    it).  Returns the number of rows."""
    stream.write(ecsv_header(meta))
    writer = csv.writer(stream, delimiter=",", lineterminator="\n")
    writer.writerow([c[0] for c in ECSV_COLUMNS])
    n = 0
    for row in rows:
        writer.writerow(["" if row.get(key) is None else fmt(row[key]) for _name, key, _u, _k in ECSV_COLUMNS])
        n += 1
    return n
