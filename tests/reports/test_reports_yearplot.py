"""`tessdb-core plot year`: the hourglass and the jellyfish, on the small database of the night
summaries (three nights of stars1 at Madrid: clear, clouds 00:00-03:00 UTC, full Moon)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date

import numpy as np
import pytest

from .test_reports_nights import build, night_times, sun_moon


@pytest.fixture(scope="module")
def year_db(tmp_path_factory):
    from .conftest import make_db

    db = make_db(tmp_path_factory.mktemp("year") / "year.db")
    build(db)
    conn = sqlite3.connect(db)  # only the three nights of the hand computation: not the IDA fixture's readings
    conn.execute("DELETE FROM tess_readings_t WHERE date_id < 20261105")
    conn.commit()
    conn.close()
    return db


def test_the_grids_hold_what_the_masks_leave(queries_of, year_db):
    from tessdb_reports.yearplot import SLOT_MINUTES, year_data

    data = year_data(queries_of(year_db), "stars1", 2026)
    # by hand: the readings in astronomical night, minus the cloudy ones (UTC 00-03 of the 9th's
    # night) and those with the Moon up
    drawn, clouds, moon = {}, 0, 0
    for night, cloudy_hours in ((date(2026, 11, 8), ()), (date(2026, 11, 9), (0, 1, 2)), (date(2026, 11, 24), ())):
        drawn[night] = 0
        for t in night_times(night):
            sun, moon_alt = sun_moon(t)
            if sun >= -18:
                continue
            if t.hour in cloudy_hours:
                clouds += 1
            elif moon_alt > 0:
                moon += 1
            else:
                drawn[night] += 1
    assert (data.masked_clouds, data.masked_moon) == (clouds, moon)
    assert data.drawn == sum(drawn.values()) and data.jelly.sum() == data.drawn
    per_night = data.counts.sum(axis=0)
    for night, n in drawn.items():
        assert per_night[(night - date(2026, 1, 1)).days] == n
    assert per_night.sum() == data.drawn  # nothing anywhere else
    mean = data.mean
    assert np.nanmin(mean) >= 20.5 and np.nanmax(mean) <= 21.4  # the made-up sky, saturated zeros never drawn
    assert SLOT_MINUTES == 10
    shown = year_data(queries_of(year_db), "stars1", 2026, clouds="show", moon="show")
    assert shown.drawn == data.drawn + clouds + moon


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_plot_year_writes_each_format(tdb, year_db, tmp_path, suffix, magic):
    out = tmp_path / f"year{suffix}"
    r = tdb("plot", "year", "stars1", "--year", "2026", "--out", out, "--db", year_db)
    assert r.code == 0, r.err
    assert out.read_bytes().startswith(magic) and "readings drawn" in r.out


def test_the_png_shows_the_nights_where_they_are(tdb, year_db, tmp_path):
    """Pixels: the hourglass alone, its coloured cells only in the columns of November."""
    import matplotlib.image as mpimg

    out = tmp_path / "hourglass.png"
    r = tdb("plot", "year", "stars1", "--year", "2026", "--kind", "hourglass", "--width", "1000", "--height", "500",
            "--out", out, "--db", year_db)
    assert r.code == 0, r.err
    img = mpimg.imread(out)
    assert img.shape[:2] == (500, 1000)
    coloured = (np.abs(img[:, :, 0] - img[:, :, 2]) > 0.15) & (img[:, :, :3].sum(axis=2) < 2.5)
    cols = np.flatnonzero(coloured[60:440].any(axis=0))  # the plot area's rows, not the colour bar's
    plot_cols = cols[cols < 800]
    assert plot_cols.size > 0
    # November is the 11th of 12 months: the drawn columns sit in the last fifth of the axes
    assert plot_cols.min() > 0.7 * 800


@pytest.mark.parametrize("args, message", [
    (["nobody", "--year", "2026"], "unknown photometer 'nobody'"),
    (["stars1", "--year", "2025"], "no readings of stars1 in the nights of 2025"),
    (["stars1", "--year", "2026", "--clouds", "hide"], "'hide' is not one of"),
])
def test_bad_input_is_one_line_and_exit_2(tdb, year_db, tmp_path, args, message):
    r = tdb("plot", "year", *args, "--out", tmp_path / "x.png", "--db", year_db)
    assert r.code == 2 and message in r.err, r.err
    assert not (tmp_path / "x.png").exists()


def test_a_photometer_without_a_site_is_refused(tdb, year_db, tmp_path):
    db = tmp_path / "copy.db"
    shutil.copyfile(year_db, db)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE location_t SET latitude = NULL, longitude = NULL")
    conn.commit()
    conn.close()
    r = tdb("plot", "year", "stars1", "--year", "2026", "--out", tmp_path / "x.png", "--db", db)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "no location with coordinates" in r.err
