"""The context columns against astropy (the reference the issue names), on three sites over a
month each: Tromsø in June (midnight Sun, above 60° N), Madrid, Sutherland (southern
hemisphere).  A few hundred random instants per site keep astropy fast; its IERS tables are
the ones it ships (no download)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from tessdb_sky.api import night_of, sky_context, sky_state, twilight_edges

astropy = pytest.importorskip("astropy")
from astropy.utils import iers  # noqa: E402

iers.conf.auto_download = False
iers.conf.auto_max_age = None

import astropy.units as u  # noqa: E402
from astropy.coordinates import AltAz, EarthLocation, get_body  # noqa: E402
from astropy.time import Time  # noqa: E402

#: name, longitude, latitude, height (m), first day of the month, zone
SITES = [("Tromsø", 18.94, 69.65, 100.0, "2025-06-01", "Europe/Oslo"),
         ("Madrid", -3.70, 40.42, 650.0, "2025-09-01", "Europe/Madrid"),
         ("Sutherland", 20.81, -32.38, 1800.0, "2025-03-01", "Africa/Johannesburg")]
SUN_TOL, MOON_TOL, LIT_TOL = 0.05, 0.2, 0.005


def _astropy(t: np.ndarray, lon: float, lat: float, h: float):
    loc = EarthLocation.from_geodetic(lon * u.deg, lat * u.deg, h * u.m)
    at = Time(t, scale="utc")
    frame = AltAz(obstime=at, location=loc)  # pressure 0: geometric, as ours
    sun = get_body("sun", at, loc).transform_to(frame)
    moon = get_body("moon", at, loc).transform_to(frame)
    sun_g, moon_g = get_body("sun", at), get_body("moon", at)
    elong = sun_g.separation(moon_g)
    phase = np.arctan2(sun_g.distance * np.sin(elong), moon_g.distance - sun_g.distance * np.cos(elong))
    lit = (1 + np.cos(phase)) / 2.0
    return sun, moon, np.asarray(lit)


def _az_error(a: np.ndarray, b: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Azimuth difference as an angle on the sky (it shrinks towards the zenith)."""
    return np.abs((a - b + 180.0) % 360.0 - 180.0) * np.cos(np.radians(alt))


@pytest.mark.parametrize("name,lon,lat,h,first,zone", SITES, ids=[s[0] for s in SITES])
def test_sun_and_moon_match_astropy(name, lon, lat, h, first, zone):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    t = np.datetime64(first, "ns") + np.sort(rng.integers(0, 30 * 86_400, 300)) * np.timedelta64(1, "s")
    ctx = sky_context(t, lon, lat, h, zone)
    sun, moon, lit = _astropy(t, lon, lat, h)
    errors = {
        "sun alt": np.max(np.abs(ctx.sun_alt - sun.alt.deg)),
        "sun az": np.max(_az_error(ctx.sun_az, sun.az.deg, sun.alt.deg)),
        "moon alt": np.max(np.abs(ctx.moon_alt - moon.alt.deg)),
        "moon az": np.max(_az_error(ctx.moon_az, moon.az.deg, moon.alt.deg)),
        "illumination": np.max(np.abs(ctx.moon_illumination - lit)),
    }
    print(name, {k: f"{v:.5f}" for k, v in errors.items()})
    assert errors["sun alt"] <= SUN_TOL and errors["sun az"] <= SUN_TOL
    assert errors["moon alt"] <= MOON_TOL and errors["moon az"] <= MOON_TOL
    assert errors["illumination"] <= LIT_TOL
    # the derived columns follow from them
    assert list(ctx.sky_state) == list(sky_state(ctx.sun_alt))
    assert np.array_equal(ctx.moon_up, ctx.moon_alt > 0)
    assert ctx.site_known.all()
    # waxing: the lit fraction grows a day later (away from the turning points)
    later = sky_context(t + np.timedelta64(1, "D"), lon, lat, h, zone).moon_illumination
    clear = np.abs(later - ctx.moon_illumination) > 0.05
    assert clear.sum() > 100
    assert np.array_equal(ctx.moon_waxing[clear], (later > ctx.moon_illumination)[clear])


def test_midnight_sun_has_no_twilight_and_a_day_sky():
    ctx = sky_context(np.arange("2025-06-20T00", "2025-06-21T00", np.timedelta64(10, "m"),
                                dtype="datetime64[m]"), 18.94, 69.65, 100.0, "Europe/Oslo")
    assert set(ctx.sky_state) == {"day"}
    edges = twilight_edges(date(2025, 6, 20), 18.94, 69.65, 100.0, "Europe/Oslo")
    assert all(v == (None, None) for v in edges.edges.values())


@pytest.mark.parametrize("name,lon,lat,h,first,zone", SITES[1:], ids=[s[0] for s in SITES[1:]])
def test_twilight_edges_within_a_minute_of_astropy(name, lon, lat, h, first, zone):
    """Each edge is where astropy's Sun altitude crosses the level: astropy's altitude a
    minute either side of our edge lies on both sides of it."""
    night = date.fromisoformat(first) + timedelta(days=9)
    edges = twilight_edges(night, lon, lat, h, zone)
    levels = {"sunset": -0.833, "civil": -6.0, "nautical": -12.0, "astronomical": -18.0}
    when, level, sign = [], [], []
    for key, (evening, morning) in edges.edges.items():
        assert evening is not None and morning is not None, key
        assert edges.since < evening < morning < edges.until
        for t, s in ((evening, -1), (morning, 1)):
            when += [t - timedelta(minutes=1), t + timedelta(minutes=1)]
            level += [levels[key]] * 2
            sign += [s]
    t = np.array([w.astimezone(timezone.utc).replace(tzinfo=None) for w in when], dtype="datetime64[ns]")
    sun, _, _ = _astropy(t, lon, lat, h)
    alt = sun.alt.deg.reshape(-1, 2)
    lv = np.array(level).reshape(-1, 2)[:, 0]
    # a minute before the evening edge above the level, after it below (and the reverse at dawn)
    assert np.all((alt[:, 0] - lv) * np.array(sign) < 0) and np.all((alt[:, 1] - lv) * np.array(sign) > 0)


def test_nights_split_at_local_noon_and_unknown_sites_at_utc_noon():
    # Madrid: UTC+1 in winter (local noon 11:00 UTC), UTC+2 from 30 March 01:00 UTC (noon 10:00 UTC)
    t = np.array(["2025-03-29T10:59:59", "2025-03-29T11:00", "2025-03-30T09:59:59", "2025-03-30T10:00",
                  "2025-03-30T11:59:59", "2025-03-30T12:00"], dtype="datetime64[ns]")
    assert [str(d) for d in night_of(t, "Europe/Madrid")] == ["2025-03-28", "2025-03-29", "2025-03-29",
                                                              "2025-03-30", "2025-03-30", "2025-03-30"]
    unknown = sky_context(t, None, None)  # location -1: nights split at UTC noon, flagged
    assert [str(d) for d in unknown.night] == ["2025-03-28", "2025-03-28", "2025-03-29", "2025-03-29",
                                               "2025-03-29", "2025-03-30"]
    assert not unknown.site_known.any() and set(unknown.sky_state) == {"unknown"}
    assert np.isnan(unknown.sun_alt).all() and not unknown.moon_up.any()


def test_time_zone_found_from_the_coordinates_when_not_given():
    t = np.array(["2025-07-01T09:59", "2025-07-01T10:00"], dtype="datetime64[ns]")
    assert [str(d) for d in sky_context(t, -3.70, 40.42).night] == ["2025-06-30", "2025-07-01"]


def test_the_plugin_imports_nothing_heavy_and_the_package_gives_the_api():
    import subprocess
    import sys

    code = ("import sys, tessdb_sky; assert 'numpy' not in sys.modules and 'erfa' not in sys.modules; "
            "from tessdb_sky import sky_context, bodies, CONTEXT_COLUMNS; import tessdb_sky.api as api; "
            "assert sky_context is api.sky_context and 'clouds' in CONTEXT_COLUMNS; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_state_spans_are_contiguous_and_end_at_the_twilight_edges():
    from tessdb_sky.api import sky_state_spans, sun_crossings

    edges = twilight_edges(date(2025, 9, 10), -3.70, 40.42, 650.0, "Europe/Madrid")
    spans = sky_state_spans(edges.since, edges.until, -3.70, 40.42, 650.0)
    assert [s[0] for s in spans] == ["day", "civil", "nautical", "astronomical", "night", "astronomical",
                                     "nautical", "civil", "day"]
    assert spans[0][1] == edges.since and spans[-1][2] == edges.until
    assert all(a[2] == b[1] for a, b in zip(spans, spans[1:]))
    inner = [s[2] for s in spans[:-1]]
    assert inner == [edges.evening("sunset"), edges.evening("civil"), edges.evening("nautical"),
                     edges.evening("astronomical"), edges.morning("astronomical"), edges.morning("nautical"),
                     edges.morning("civil"), edges.morning("sunset")]
    rising = [c[2] for c in sun_crossings(edges.since, edges.until, -3.70, 40.42, 650.0)]
    assert rising == [False] * 4 + [True] * 4
