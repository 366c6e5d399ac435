"""The sky context where it shows: `readings export --context` (csv, json, parquet),
`--format ecsv` (loaded by astropy with units), `plot night` (exact twilight edges, the Moon
up, cloudy readings marked) and the bad inputs (one line, exit 2)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from tessdb_reports.plots import night_data, night_figure, twilight_spans
from tessdb_reports.tools import EXPORT_COLUMNS
from tessdb_sky.api import CONTEXT_COLUMNS, sky_context

from report_data import MADRID


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_context_columns_in_csv_and_json(tdb, ingested_db):
    plain = tdb("readings", "export", "stars10", "--db", ingested_db)
    r = tdb("readings", "export", "stars10", "--context", "--db", ingested_db)
    assert r.code == 0, r.err
    rows = _csv(r.out)
    assert list(rows[0]) == [*EXPORT_COLUMNS, *CONTEXT_COLUMNS]
    assert [[row[c] for c in EXPORT_COLUMNS] for row in rows] == [list(x.values()) for x in _csv(plain.out)]
    t = np.array([row["timestamp"] for row in rows], dtype="datetime64[ns]")
    ctx = sky_context(t, MADRID[1], MADRID[2], MADRID[3], MADRID[9])
    assert np.allclose([float(row["sun_alt"]) for row in rows], ctx.sun_alt, atol=1e-5)
    assert np.allclose([float(row["moon_illumination"]) for row in rows], ctx.moon_illumination, atol=1e-5)
    assert [row["sky_state"] for row in rows] == list(ctx.sky_state)
    assert [row["night"] for row in rows] == [str(d) for d in ctx.night]
    assert {row["site_known"] for row in rows} == {"True"}
    # the made-up sky: tsky - tamb = -7 - 12.5 (clear by the infrared), smooth brightness
    dark = [row for row in rows if row["sky_state"] == "night"]
    assert dark and {row["sky_minus_ambient"] for row in dark} == {"-19.5"}
    assert {row["clouds"] for row in dark} <= {"clear", "unknown"} and any(row["clouds"] == "clear" for row in dark)
    assert {row["clouds"] for row in rows if row["sky_state"] != "night"} == {"unknown"}
    lines = tdb("readings", "export", "stars10", "--context", "--format", "json", "--db", ingested_db).out
    objs = [json.loads(x) for x in lines.splitlines()]
    assert objs[0]["site_known"] is True and isinstance(objs[0]["sun_alt"], float)
    assert [o["clouds"] for o in objs] == [row["clouds"] for row in rows]


def test_export_context_in_parquet(tdb, ingested_db, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "x.parquet"
    r = tdb("readings", "export", "--all", "--context", "--format", "parquet", "--out", out, "--db", ingested_db)
    assert r.code == 0, r.err
    table = pq.read_table(out)
    assert table.column_names == [*EXPORT_COLUMNS, *CONTEXT_COLUMNS]
    assert str(table.schema.field("moon_up").type) == "bool" and str(table.schema.field("sun_alt").type) == "double"
    assert str(table.schema.field("sky_state").type) == "string"
    rows = _csv(tdb("readings", "export", "--all", "--context", "--db", ingested_db).out)
    assert table.column("clouds").to_pylist() == [row["clouds"] for row in rows]


def test_readings_at_an_unknown_site_are_flagged(tdb, ingested_db):
    conn = sqlite3.connect(ingested_db)
    conn.execute("UPDATE tess_readings_t SET location_id = -1 WHERE date_id = 20261020")
    conn.commit()
    conn.close()
    rows = _csv(tdb("readings", "export", "stars10", "--context", "--db", ingested_db).out)
    unknown = [row for row in rows if row["location_id"] == "-1"]
    assert unknown and {row["site_known"] for row in unknown} == {"False"}
    assert {row["sun_alt"] for row in unknown} == {""} and {row["sky_state"] for row in unknown} == {"unknown"}
    # nights split at UTC noon
    for row in unknown:
        t = datetime.fromisoformat(row["timestamp"])
        assert row["night"] == (t - timedelta(hours=12)).date().isoformat()


def test_ecsv_loads_in_astropy_with_units(tdb, ingested_db, tmp_path):
    pytest.importorskip("astropy")
    import astropy.units as u
    from astropy.time import Time
    from astropy.timeseries import TimeSeries

    out = tmp_path / "stars10.ecsv"
    r = tdb("readings", "export", "stars10", "--format", "ecsv", "--out", out, "--db", ingested_db)
    assert r.code == 0, r.err
    ts = TimeSeries.read(out, format="ascii.ecsv")
    assert isinstance(ts["time"], Time) and ts["time"].scale == "utc"
    units = {"Sun Alt": u.deg, "Moon Alt": u.deg, "Sun Az": u.deg, "Moon Az": u.deg, "MSAS": u.mag / u.arcsec**2,
             "Sky Temperature": u.deg_C, "Enclosure Temperature": u.deg_C, "Frequency": u.Hz,
             "sky_minus_ambient": u.deg_C}
    for name, unit in units.items():
        assert ts[name].unit == unit, name
    for name in ("Moon Illumination", "ZP", "Sequence Number", "clouds", "sky_state", "night", "moon_up"):
        assert name in ts.colnames
    rows = _csv(tdb("readings", "export", "stars10", "--context", "--db", ingested_db).out)
    assert len(ts) == len(rows)
    assert np.allclose(ts["Sun Alt"].to_value(u.deg), [float(row["sun_alt"]) for row in rows])
    assert list(ts["clouds"]) == [row["clouds"] for row in rows]
    assert ts["time"][0].isot.startswith(rows[0]["timestamp"])
    assert ts.meta["photometer"] == "stars10"
    # TESS4C channels 2-4 under tess-ida-tools' names, masked for a TESS-W
    both = tmp_path / "all.ecsv"
    assert tdb("readings", "export", "--all", "--format", "ecsv", "--out", both, "--db", ingested_db).code == 0
    ts = TimeSeries.read(both, format="ascii.ecsv")
    four = ts[ts["model"] == "TESS4C"]
    assert len(four) == 3 and ts["MSAS4"].unit == u.mag / u.arcsec**2 and float(four["MSAS4"][0].value) == 21.0


@pytest.mark.parametrize("args, message", [
    (["nobody", "--context"], "nobody"),
    (["stars10", "--format", "ecsv", "--from", "2026-13-01"], "--from '2026-13-01' is not a date"),
    (["stars10", "--format", "ecsv", "--format", "xml"], "'xml' is not one of"),
])
def test_export_context_bad_input(tdb, ingested_db, args, message):
    r = tdb("readings", "export", *args, "--db", ingested_db)
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err, r.err


def test_context_without_the_sky_extra_names_it(ingested_db, tmp_path):
    code = ("import sys; sys.modules['erfa'] = None; from tessdb_core.cli import main; "
            f"sys.exit(main(['readings', 'export', 'stars10', '--context', '--db', {str(ingested_db)!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert "readings export --context needs the optional dependency 'erfa'" in out.stderr
    assert "tessdb-core[sky]" in out.stderr and out.stderr.count("\n") == 1


# -- plot night -------------------------------------------------------------------------------------------------
def test_night_plot_twilight_edges_are_exact(ingested_db, queries_of):
    """Each band edge is where astropy's Sun altitude crosses the band's level (within a minute)."""
    pytest.importorskip("astropy")
    from astropy.utils import iers

    iers.conf.auto_download = False
    import astropy.units as u
    from astropy.coordinates import AltAz, EarthLocation, get_body
    from astropy.time import Time

    data = night_data(queries_of(ingested_db), "stars10", date(2026, 10, 14))
    spans = twilight_spans(data.location, data.since, data.until)
    edges = sorted({t for runs in spans.values() for a, b in runs for t in (a, b)} - {data.since, data.until})
    assert len(edges) == 8  # sunset, three twilight ends, three starts, sunrise
    loc = EarthLocation.from_geodetic(MADRID[1] * u.deg, MADRID[2] * u.deg, MADRID[3] * u.m)
    probe = [t + s * timedelta(minutes=1) for t in edges for s in (-1, 1)]
    at = Time(probe, scale="utc")
    alt = get_body("sun", at, loc).transform_to(AltAz(obstime=at, location=loc)).alt.deg.reshape(-1, 2)
    levels = [-0.833, -6, -12, -18, -18, -12, -6, -0.833]
    for (before, after), level in zip(alt, levels):
        assert min(before, after) < level < max(before, after)


def test_night_plot_marks_the_moon_up_and_cloudy_readings(ingested_db, queries_of, tmp_path):
    conn = sqlite3.connect(ingested_db)
    # clouds over the town around 02:00 UTC: the infrared sees them (tsky close to tamb)
    conn.execute("UPDATE tess_readings_t SET sky_temperature = 12.0 "
                 "WHERE date_id = 20261015 AND time_id BETWEEN 10000 AND 30000")
    conn.commit()
    conn.close()
    data = night_data(queries_of(ingested_db), "stars10", date(2026, 10, 14))
    fig = night_figure(data)
    marks = [line for ax in fig.axes for line in ax.get_lines() if line.get_gid() == "cloudy"]
    assert len(marks) == 1
    xs = [x.astimezone(timezone.utc).replace(tzinfo=None) for x in marks[0].get_xdata()]
    assert xs and all(datetime(2026, 10, 15, 1) <= x <= datetime(2026, 10, 15, 3) for x in xs)
    moon_up = [p for ax in fig.axes for p in ax.patches if p.get_gid() == "moon-up"]
    ctx = sky_context(np.array([r["utc"] for r in data.readings], dtype="datetime64[ns]"),
                      MADRID[1], MADRID[2], MADRID[3], MADRID[9])
    assert bool(ctx.moon_up.any()) == bool(moon_up)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "cloudy (screened)" in texts
    png = tmp_path / "night.png"
    from tessdb_reports.plots import save

    save(fig, png)
    assert png.stat().st_size > 10_000


def test_a_site_without_coordinates_splits_nights_in_its_time_zone(tdb, ingested_db):
    from zoneinfo import ZoneInfo

    conn = sqlite3.connect(ingested_db)
    conn.execute("UPDATE location_t SET longitude = NULL, latitude = NULL WHERE location_id = 1")
    conn.commit()
    conn.close()
    rows = _csv(tdb("readings", "export", "stars10", "--context", "--db", ingested_db).out)
    assert rows and {row["site_known"] for row in rows} == {"False"} and {row["clouds"] for row in rows} == {"unknown"}
    madrid = ZoneInfo("Europe/Madrid")
    for row in rows:
        local = datetime.fromisoformat(row["timestamp"]).replace(tzinfo=timezone.utc).astimezone(madrid)
        assert row["night"] == (local - timedelta(hours=12)).date().isoformat()
