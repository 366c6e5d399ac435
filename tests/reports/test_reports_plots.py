"""`plot night` and `plot month`: the PNG opens, has the requested size, and the axes hold data."""

from __future__ import annotations

import math
import sqlite3
from datetime import date, datetime, timezone

import matplotlib.dates as mdates
import matplotlib.image as mpimg
import pytest

from tessdb_reports.common import Month
from tessdb_reports.plots import month_data, month_figure, night_data, night_figure


def lines_by_gid(fig):
    out = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_gid():
                out.setdefault(line.get_gid(), []).append(line)
    return out


def test_plot_night_writes_a_png_of_the_requested_size(tdb, ingested_db, tmp_path):
    out = tmp_path / "night.png"
    r = tdb("plot", "night", "stars10", "--date", "2026-10-14", "--out", out, "--width", 900, "--height", 600,
            "--db", ingested_db)
    assert r.code == 0, r.err
    image = mpimg.imread(out)
    assert image.shape[:2] == (600, 900)
    assert image[..., :3].std() > 0.05  # not a blank canvas
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_night_figure_has_brightness_sun_moon_and_the_zp_change(ingested_db, queries_of):
    data = night_data(queries_of(ingested_db), "stars10", date(2026, 10, 14))
    # local noon to noon in Madrid (CEST, UTC+2)
    assert (data.since, data.until) == (datetime(2026, 10, 14, 10), datetime(2026, 10, 15, 10))
    fig = night_figure(data, 1000, 500)
    lines = lines_by_gid(fig)
    (bright,) = lines["brightness-1"]
    ys = list(bright.get_ydata())
    nonzero = [r for r in data.readings if r["mag"][0] > 0]
    assert len(ys) == len(nonzero) > 50 and min(ys) >= 18.0  # saturated zeros not plotted
    assert len(nonzero) < len(data.readings)  # there were some (kept at the night's edges by the filter)
    (sun,), (moon,) = lines["sun"], lines["moon"]
    sun_alt = list(sun.get_ydata())
    assert len(sun_alt) == 24 * 12 + 1 and len(moon.get_ydata()) == len(sun_alt)
    assert max(sun_alt) > 35 and min(sun_alt) < -45  # noon at ~41°, midnight well below
    # samples every 5 min from 10:00 UTC: the Sun culminates near 12:00 UTC at 3.7° W in mid
    # October (12:15 minus the equation of time), and is lowest twelve hours later
    assert abs(sun_alt.index(max(sun_alt)) - 24) <= 2
    assert abs(sun_alt.index(min(sun_alt)) - (24 + 144)) <= 3
    (zp,) = lines["zp-change"]
    x = zp.get_xdata()[0]
    x = (x if isinstance(x, datetime) else mdates.num2date(x)).astimezone(timezone.utc).replace(tzinfo=None)
    assert x == datetime(2026, 10, 15, 1, 0) and zp.get_label() == "ZP 20.5 → 20.61"
    assert fig.get_size_inches().tolist() == [10.0, 5.0]


def test_night_figure_of_a_tess4c_has_four_curves(ingested_db, queries_of):
    data = night_data(queries_of(ingested_db), "stars20", date(2026, 10, 20))
    assert data.channels == ["UV/IR-740", "R", "G", "B"]
    lines = lines_by_gid(night_figure(data))
    assert [len(lines[f"brightness-{i}"][0].get_xdata()) for i in range(1, 5)] == [3, 3, 3, 3]
    assert lines_by_gid(night_figure(data)).get("zp-change") is None


def test_plot_month_heat_map(tdb, ingested_db, queries_of, tmp_path):
    out = tmp_path / "month.png"
    r = tdb("plot", "month", "stars10", "--month", "2026-10", "--out", out, "--db", ingested_db)
    assert r.code == 0, r.err
    assert mpimg.imread(out).shape[:2] == (700, 1200)
    fig = month_figure(month_data(queries_of(ingested_db), "stars10", Month(2026, 10)))
    values = fig.values
    assert values.shape == (31, 24)
    nights = [i + 1 for i in range(31) if any(not math.isnan(v) for v in values[i])]
    # the evenings of the two nights ingested, and the reading at 2026-11-01 00:00 UTC
    # (01:00 CET: still the night of 31 October)
    assert nights == [14, 20, 31]
    # 00:00-01:00 local (column 12) of the night of the 14th: the darkest part, ~20-21 mag
    assert 19.5 < values[13][12] <= 21.0
    # daytime bins stay empty (saturated readings are not brightness)
    assert math.isnan(values[13][0]) or values[13][0] > 0


@pytest.mark.parametrize("args, message", [
    (["night", "stars99", "--date", "2026-10-14", "--out", "x.png"], "unknown photometer 'stars99'"),
    (["night", "stars10", "--date", "2026-10-01", "--out", "x.png"],
     "no readings of stars10 in the night of 2026-10-01"),
    (["night", "stars10", "--date", "14/10/2026", "--out", "x.png"], "--date '14/10/2026' is not a date"),
    (["night", "stars10", "--date", "2026-10-14", "--out", "x.jpg"], "give a name ending in .png"),
    (["night", "stars10", "--date", "2026-10-14", "--out", "nowhere/x.png"], "does not exist"),
    (["month", "stars10", "--month", "2026-12", "--out", "x.png"], "no readings of stars10 in 2026-12"),
    (["month", "stars10", "--month", "2026-1", "--out", "x.png"], "--month '2026-1' is not a month"),
])
def test_plot_bad_input(tdb, ingested_db, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    r = tdb("plot", *args, "--db", ingested_db)
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err, r.err
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob("*.jpg"))


def test_plot_needs_coordinates(tdb, ingested_db, tmp_path):
    conn = sqlite3.connect(ingested_db)
    conn.execute("UPDATE location_t SET longitude = NULL, latitude = NULL WHERE location_id = 1")
    conn.commit()
    conn.close()
    r = tdb("plot", "night", "stars10", "--date", "2026-10-14", "--out", tmp_path / "n.png", "--db", ingested_db)
    assert r.code == 2 and "location 1 has no coordinates" in r.err
    assert not (tmp_path / "n.png").exists()
