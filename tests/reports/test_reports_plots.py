"""`plot night` and `plot month`: the PNG opens, has the requested size, and the axes hold data."""

from __future__ import annotations

import math
import sqlite3
from xml.etree import ElementTree
from datetime import date, datetime, timezone

import matplotlib.dates as mdates
import matplotlib.image as mpimg
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
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


def test_plot_month_flags_readings_without_a_site(tdb, ingested_db, tmp_path):
    """At location -1 the nights are split at UTC noon, and the command says so (the positive
    control: the same month at Madrid gives no note)."""
    import shutil
    import sqlite3

    r = tdb("plot", "month", "stars10", "--month", "2026-10", "--out", tmp_path / "a.png", "--db", ingested_db)
    assert r.code == 0 and "without coordinates" not in r.err
    db = tmp_path / "nosite.db"
    shutil.copyfile(ingested_db, db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE tess_readings_t SET location_id = -1")
    r = tdb("plot", "month", "stars10", "--month", "2026-10", "--out", tmp_path / "b.png", "--db", db)
    assert r.code == 0, r.err
    assert "note: stars10's readings are at location -1, without coordinates" in r.err


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


# -- formats, twilights, the Moon, the legend, the heat map's labels and colours -----------------------------
@pytest.mark.parametrize("suffix, magic", [(".svg", None), (".pdf", b"%PDF-"), (".PNG", b"\x89PNG\r\n\x1a\n")])
def test_plots_are_written_in_the_format_of_the_suffix(tdb, ingested_db, tmp_path, suffix, magic):
    for kind, args in (("night", ("--date", "2026-10-14")), ("month", ("--month", "2026-10"))):
        out = tmp_path / f"{kind}{suffix}"
        r = tdb("plot", kind, "stars10", *args, "--out", out, "--db", ingested_db)
        assert r.code == 0, r.err
        head = out.read_bytes()[:400]
        if magic is None:  # an SVG document
            assert head.startswith(b"<?xml") and b"<svg" in head
            root = ElementTree.parse(out).getroot()
            assert root.tag.endswith("svg") and root.get("width", "").startswith("864")  # 1200 px at 72 pt/in
        else:
            assert head.startswith(magic)
        if suffix == ".pdf":
            assert out.read_bytes().rstrip().endswith(b"%%EOF")
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_night_figure_shades_the_twilights_and_gives_the_moon(ingested_db, queries_of):
    data = night_data(queries_of(ingested_db), "stars10", date(2026, 10, 14))
    fig = night_figure(data)
    sun = lines_by_gid(fig)["sun"][0]
    times = [t.astimezone(timezone.utc).replace(tzinfo=None) for t in sun.get_xdata()]
    alts = list(sun.get_ydata())
    bands = {}
    for ax in fig.axes:
        for patch in ax.patches:
            if (patch.get_gid() or "").startswith("twilight-"):
                xs = [mdates.num2date(x).replace(tzinfo=None) for x in (patch.get_x(),
                                                                         patch.get_x() + patch.get_width())]
                bands.setdefault(patch.get_gid(), []).append((min(xs), max(xs)))
    assert sorted(bands) == ["twilight-astronomical", "twilight-civil", "twilight-nautical", "twilight-night"]
    # an evening and a morning band of each twilight, the night one span, in time order
    assert [len(bands[g]) for g in sorted(bands)] == [2, 2, 2, 1]
    for gid, (low, high) in {"twilight-civil": (-6, 0), "twilight-nautical": (-12, -6),
                             "twilight-astronomical": (-18, -12), "twilight-night": (-91, -18)}.items():
        for start, end in bands[gid]:
            inside = [a for t, a in zip(times, alts) if start <= t < end]
            assert inside and all(low <= a < high for a in inside), (gid, start, end)
    # civil twilight in Madrid on 14 Oct 2026 begins at sunset, about 19:35 CEST (17:35 UTC)
    dusk = bands["twilight-civil"][0][0]
    assert datetime(2026, 10, 14, 17, 20) < dusk < datetime(2026, 10, 14, 17, 50)
    # the Moon's illumination at local midnight, in the title and the legend
    import ephem

    assert abs(fig.moon[0] - ephem.Moon(ephem.Date(datetime(2026, 10, 14, 22))).moon_phase) < 0.01
    lit = fig.moon[0]
    title = fig.axes[0].get_title()
    assert f"Moon {lit:.0%} illuminated" in title
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert any(t.startswith("Moon altitude (") and f"{lit:.0%} lit" in t for t in texts)
    assert {"civil twilight", "nautical twilight", "astronomical twilight", "night"} <= set(texts)


def test_the_night_legend_is_outside_the_data(ingested_db, queries_of):
    fig = night_figure(night_data(queries_of(ingested_db), "stars20", date(2026, 10, 20)), 1200, 700)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    assert not fig.axes[0].get_legend() and not fig.axes[1].get_legend()  # not drawn on the axes
    box = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        area = ax.get_window_extent(renderer)
        assert box.x0 >= area.x1 or box.y1 <= area.y0  # beside or below the data, never over it


def test_month_heat_map_labels_every_night_and_darker_sky_is_darker(ingested_db, queries_of):
    fig = month_figure(month_data(queries_of(ingested_db), "stars10", Month(2026, 10)))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{d:02d}" for d in range(1, 32)]
    mesh = ax.collections[0]

    def luminance(rgba):
        r, g, b = rgba[:3]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    values = fig.values
    darkest_sky, brightest_sky = np.nanmax(values), np.nanmin(values)
    dark = mesh.cmap(mesh.norm(darkest_sky))
    bright = mesh.cmap(mesh.norm(brightest_sky))
    assert luminance(dark) < 0.15 < 0.8 < luminance(bright)
