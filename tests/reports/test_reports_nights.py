"""`tessdb-core report nights`: a summary per photometer and night, checked against a hand
computation made here with ephem (an ephemeris independent of the sky library), on a small
database whose clouds the test itself decides through the infrared signal."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import sqlite3
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import ephem
import numpy as np
import pytest

from .conftest import IDA_DIR

MADRID = (-3.7038, 40.4168, 657.0)
TZ = ZoneInfo("Europe/Madrid")
STEP = timedelta(minutes=5)  # ten readings span 45 min: the variability method has no say, the infrared decides
#: (night, cloudy UTC hours) of stars1: new Moon clear; new Moon with clouds 00:00-03:00 UTC; full Moon clear
NIGHTS = {date(2026, 11, 8): (), date(2026, 11, 9): (0, 1, 2), date(2026, 11, 24): ()}
FOUR_NIGHT = date(2026, 11, 8)  # stars2 (TESS4C), clear


def sun_moon(t: datetime) -> tuple[float, float]:
    obs = ephem.Observer()
    obs.lon, obs.lat, obs.elevation = str(MADRID[0]), str(MADRID[1]), MADRID[2]
    obs.pressure = 0
    obs.date = ephem.Date(t)
    return math.degrees(float(ephem.Sun(obs).alt)), math.degrees(float(ephem.Moon(obs).alt))


def night_times(night: date) -> list[datetime]:
    """Every 5 minutes from local noon of ``night`` to local noon the next day (naive UTC)."""
    start = datetime(night.year, night.month, night.day, 12, tzinfo=TZ).astimezone(ZoneInfo("UTC"))
    end = start + timedelta(days=1)
    t, out = start.replace(tzinfo=None), []
    while t < end.replace(tzinfo=None):
        out.append(t)
        t += STEP
    return out


def mag_of(t: datetime, sun: float, channel: int = 1) -> float:
    """Saturated (0) with the Sun above -10, else a made-up sky of 20.5-21.4 (darker per channel)."""
    if sun > -10:
        return 0.0
    return round(20.5 + 0.1 * ((t.hour * 12 + t.minute // 5) % 10) + 0.05 * (channel - 1), 2)


def build(db) -> dict[tuple[str, str], dict]:
    """Fill the database and return the expected rows by (name, night), computed by hand."""
    conn = sqlite3.connect(db)
    conn.executescript((IDA_DIR / "idafix-data.sql").read_text())
    w, c = [], []
    expected: dict[tuple[str, str], dict] = {}
    seq = 0
    for night, cloudy_hours in NIGHTS.items():
        e = expected[("stars1", night.isoformat())] = {"readings": 0, "astro": 0, "dark": 0, "dark_clear": [],
                                                        "clear": 0, "cloudy": 0, "no_site": 0}
        for t in night_times(night):
            sun, moon = sun_moon(t)
            cloudy = t.hour in cloudy_hours
            mag = mag_of(t, sun)
            seq += 1
            w.append((int(t.strftime("%Y%m%d")), int(t.strftime("%H%M%S")), 2, 1, 1, 1, seq,
                      0.0 if mag == 0 else 10.0, mag, 5.0, 5.0 - (0.0 if cloudy else 20.0)))
            e["readings"] += 1
            if sun < -18:
                e["astro"] += 1
                e["cloudy" if cloudy else "clear"] += 1
                if moon < 0:
                    e["dark"] += 1
                    if not cloudy:
                        e["dark_clear"].append(mag)
        midnight = datetime(night.year, night.month, night.day, tzinfo=TZ) + timedelta(days=1)
        e["moon_illumination"] = ephem.Moon(ephem.Date(midnight.astimezone(ZoneInfo("UTC")).replace(tzinfo=None))
                                            ).moon_phase
    # one reading of stars1 at location -1 in the night of the 9th: counted, flagged, not classified
    w.append((20261109, 230100, 2, -1, -1, 1, 9999, 10.0, 21.0, 5.0, -15.0))
    expected[("stars1", "2026-11-09")]["readings"] += 1
    expected[("stars1", "2026-11-09")]["no_site"] += 1
    e = expected[("stars2", FOUR_NIGHT.isoformat())] = {"readings": 0, "astro": 0, "dark": 0, "dark_clear": [],
                                                        "clear": 0, "cloudy": 0, "no_site": 0, "channels": []}
    for t in night_times(FOUR_NIGHT):
        sun, moon = sun_moon(t)
        mags = [mag_of(t, sun, ch) for ch in (1, 2, 3, 4)]
        c.append((int(t.strftime("%Y%m%d")), int(t.strftime("%H%M%S")), 3, 1, 1, 1, 1,
                  *[v for m in mags for v in (10.0, m)], 4.0, -16.0))
        e["readings"] += 1
        if sun < -18:
            e["astro"] += 1
            e["clear"] += 1
            if moon < 0:
                e["dark"] += 1
                e["dark_clear"].append(mags[0])
                e["channels"].append(mags)
    midnight = datetime(FOUR_NIGHT.year, FOUR_NIGHT.month, FOUR_NIGHT.day, tzinfo=TZ) + timedelta(days=1)
    e["moon_illumination"] = ephem.Moon(ephem.Date(midnight.astimezone(ZoneInfo("UTC")).replace(tzinfo=None))
                                        ).moon_phase
    conn.executemany("INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id, "
                     "sequence_number, frequency, magnitude, box_temperature, sky_temperature, signal_strength) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, -60)", w)
    conn.executemany("INSERT INTO tess_readings4c_t (date_id, time_id, tess_id, location_id, observer_id, units_id, "
                     "sequence_number, freq1, mag1, freq2, mag2, freq3, mag3, freq4, mag4, box_temperature, "
                     "sky_temperature, signal_strength) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, -60)",
                     c)
    conn.commit()
    conn.close()
    return expected


def word(e: dict) -> str:
    decided = e["clear"] + e["cloudy"]
    if not e["astro"] or not decided:
        return "no data"
    if e["clear"] / decided < 0.25:
        return "cloudy"
    if e["dark"] < 0.5 * e["astro"]:
        return "moon"
    return "good" if e["clear"] / decided >= 0.9 else "partial"


@pytest.fixture(scope="module")
def built_db(tmp_path_factory):
    from .conftest import make_db

    db = make_db(tmp_path_factory.mktemp("nights") / "nights.db")
    return db, build(db)


@pytest.fixture
def nights_db(built_db, tmp_path):
    """A copy of the module's database for each test (some add rows)."""
    db, expected = built_db
    copy = tmp_path / "nights.db"
    shutil.copyfile(db, copy)
    return copy, expected


def test_nights_match_a_hand_computation(tdb, nights_db):
    db, expected = nights_db
    r = tdb("report", "nights", "stars1", "stars2", "--from", "2026-11-01", "--to", "2026-11-30", "--json",
            "--db", db)
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert [(x["name"], x["night"]) for x in rows] == sorted(expected)
    for row in rows:
        e = expected[(row["name"], row["night"])]
        assert row["location_id"] == 1
        assert (row["readings"], row["astro_readings"], row["dark_readings"], row["dark_clear_readings"],
                row["no_site_readings"]) == (e["readings"], e["astro"], e["dark"], len(e["dark_clear"]),
                                             e["no_site"]), row
        assert row["clear_fraction"] == round(e["clear"] / (e["clear"] + e["cloudy"]), 3)
        if e["dark_clear"]:
            v = np.array(e["dark_clear"])
            assert row["median"] == round(float(np.median(v)), 3)
            assert row["p10"] == round(float(np.percentile(v, 10)), 3)
            assert row["p90"] == round(float(np.percentile(v, 90)), 3)
            assert row["darkest"] == max(e["dark_clear"])
        else:
            assert row["median"] is None and row["darkest"] is None
        assert abs(row["moon_illumination"] - e["moon_illumination"]) < 0.005
        assert row["sky"] == word(e)
        if row["name"] == "stars2":
            chans = np.array(e["channels"])
            for ch in (2, 3, 4):
                assert row[f"ch{ch}_median"] == round(float(np.median(chans[:, ch - 1])), 3)
                assert row[f"ch{ch}_darkest"] == chans[:, ch - 1].max()
        else:
            assert row["ch2_median"] is None and row["ch4_darkest"] is None
    words = {(x["name"], x["night"]): x["sky"] for x in rows}
    # the nights were made to give these words: the rule above is not just mirrored
    assert words == {("stars1", "2026-11-08"): "good", ("stars1", "2026-11-09"): "partial",
                     ("stars1", "2026-11-24"): "moon", ("stars2", "2026-11-08"): "good"}


def test_nights_as_csv_and_table(tdb, nights_db):
    db, expected = nights_db
    r = tdb("report", "nights", "stars1", "--from", "2026-11-08", "--to", "2026-11-09", "--csv", "--db", db)
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [x["night"] for x in rows] == ["2026-11-08", "2026-11-09"]
    assert rows[1]["no_site_readings"] == "1" and rows[0]["ch2_median"] == ""
    table = tdb("report", "nights", "stars1", "--from", "2026-11-24", "--to", "2026-11-24", "--db", db)
    assert table.code == 0 and table.out.splitlines()[0].split()[:3] == ["name", "night", "location_id"]
    assert table.out.splitlines()[1].split()[:2] == ["stars1", "2026-11-24"] and table.out.rstrip().endswith("moon")


def _add_stars9_without_a_site(db: str) -> None:
    """stars9: registered, with no location (so no coordinates for the Sun and the Moon)."""
    conn = sqlite3.connect(db)
    conn.executescript("""
        INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, firmware, authorised,
            registered, nchannels, zp1, filter1, location_id, observer_id)
        VALUES (30, 'AA:BB:CC:00:00:30', '2026-01-01 00:00:00.000000', '2999-12-31 23:59:59.000000', 'Current',
            'TESS-W', '3.0', 1, 'Automatic', 1, 20.7, 'UV/IR-740', -1, -1);
        INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) VALUES
            ('stars9', 'AA:BB:CC:00:00:30', '2026-01-01 00:00:00.000000', '2999-12-31 23:59:59.000000', 'Current');
    """)
    conn.close()


@pytest.mark.parametrize("args, message", [
    (["nobody", "--from", "2026-11-01", "--to", "2026-11-02"], "unknown photometer 'nobody'"),
    (["stars1", "--from", "2026-11-31"], "--from '2026-11-31' is not a date"),
    (["stars1", "--from", "2026-11-10", "--to", "2026-11-01"], "--to 2026-11-01 is before --from 2026-11-10"),
    (["stars1", "--from", "2025-01-01", "--to", "2025-01-31"], "no readings of stars1 in the nights 2025-01-01"),
    (["stars9", "--from", "2026-11-01", "--to", "2026-11-02"], "stars9 has no location with coordinates"),
    (["stars1", "--all"], "give photometer NAME(s) or --all"),
])
def test_bad_input_is_one_line_and_exit_2(tdb, nights_db, args, message):
    db, _ = nights_db
    _add_stars9_without_a_site(db)
    r = tdb("report", "nights", *args, "--db", db)
    assert r.code == 2 and r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.err


def test_all_leaves_out_a_photometer_without_a_site_and_says_so(tdb, nights_db):
    db, _ = nights_db
    _add_stars9_without_a_site(db)
    r = tdb("report", "nights", "--all", "--from", "2026-11-08", "--to", "2026-11-08", "--csv", "--db", db)
    assert r.code == 0, r.err
    assert [row["name"] for row in csv.DictReader(io.StringIO(r.out))] == ["stars1", "stars2"]
    assert "'stars9' left out" in r.err


def test_the_function_streams_one_photometer_after_the_other(queries_of, nights_db):
    """The documented function (what the web serves): rows come lazily, in order."""
    from tessdb_reports.nights import NIGHT_COLUMNS, night_summaries

    db, expected = nights_db
    rows = night_summaries(queries_of(db), ["stars2", "stars1"], date(2026, 11, 1), date(2026, 11, 30))
    first = next(rows)
    assert tuple(first) == NIGHT_COLUMNS and (first["name"], first["night"]) == ("stars2", "2026-11-08")
    assert [(r["name"], r["night"]) for r in rows] == sorted(k for k in expected if k[0] == "stars1")
