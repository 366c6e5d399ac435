"""The simulator's weather: clouds (brighter over a city, darker over a dark site, the
infrared sky warming towards the enclosure) and the truth each reading carries."""

from __future__ import annotations

import statistics
from collections import defaultdict

from tessdb_sim.generator import READING, EventRates, events, fleet_of
from tessdb_sim.sky import days_since_j2000
from tessdb_sim.weather import CLEAR_SKY, Cover, Weather, cloud_shift, combine, curfew, moon_flux, sky_minus_ambient

from .sim_helpers import config, decoded

QUIET = EventRates(0, 0, 0, 0)


def test_clouds_brighten_a_city_and_darken_a_dark_site():
    assert cloud_shift(17.3) < -1.5 and cloud_shift(21.3) > 0.4
    assert abs(cloud_shift(20.46)) < 0.01  # where reflected light and hidden stars balance
    assert sky_minus_ambient(-20.0, 1.0) > -1.0  # what all-sky infrared sensors call overcast
    assert sky_minus_ambient(-20.0, 0.0) == -20.0


def test_the_moon_brightens_with_altitude_and_phase():
    dark = 21.0
    full_high, full_low = combine(dark, moon_flux(60, 1.0), 0), combine(dark, moon_flux(10, 1.0), 0)
    quarter_high = combine(dark, moon_flux(60, 0.5), 0)
    assert full_high < full_low < dark and full_high < quarter_high < dark
    assert 17.5 < full_high < 18.3  # a full Moon high over a dark site: ~18 mag/arcsec²
    assert combine(dark, moon_flux(-5, 1.0), 0) == dark  # set: no light


def test_the_cover_is_a_pure_function_of_seed_photometer_and_time():
    w = Weather(clear=0.0, overcast=0.0)
    a, b = Cover(w, 7, 3, 10.0), Cover(w, 7, 3, 10.0)
    times = [9800 + i / 1440 for i in range(0, 3000, 7)]
    assert [a.at(t) for t in times] == [b.at(t) for t in reversed(times)][::-1]
    values = [a.at(t) for t in times]
    assert all(0.0 <= v <= 1.0 for v in values) and max(values) - min(values) > 0.3  # partly cloudy varies
    assert {Cover(CLEAR_SKY, 7, 3, 10.0).at(t) for t in times} == {0.0}


def test_readings_carry_their_truth_and_clouds_show_in_brightness_and_tsky():
    """Over three nights of 12 photometers, each site's cloudy night readings differ from its
    clear ones the way the truth says: a bright site gets brighter (lower magnitude), a dark one
    darker, and tsky - tamb is much closer to 0 under clouds."""
    cfg = config(12, duration=3 * 86400, rates=QUIET, malformed_rate=0, tess4c_share=0, seed=3)
    sites = {p.name: p.site for p in fleet_of(cfg)}
    mags, deltas = defaultdict(lambda: ([], [])), defaultdict(lambda: ([], []))
    for e in events(cfg):
        if e.kind != READING:
            assert e.truth is None
            continue
        assert e.truth is not None and 0.0 <= e.truth.cover <= 1.0
        if not e.truth.night or 0.05 <= e.truth.cover < 0.9:
            continue
        r = decoded(e)
        cloudy = e.truth.cover >= 0.9
        site = sites[e.name]
        clear_sky = site.dark + curfew(days_since_j2000(e.time), site.longitude, site.dark)
        mags[e.name][cloudy].append(r.mag[0] - clear_sky)
        deltas[e.name][cloudy].append(r.tsky - r.tamb)
    compared = 0
    for name, (clear, cloudy) in mags.items():
        if len(clear) < 30 or len(cloudy) < 30:
            continue
        compared += 1
        shift = statistics.median(cloudy) - statistics.median(clear)
        expected = cloud_shift(sites[name].dark)
        assert abs(shift - expected) < 0.3, (name, sites[name].dark, shift, expected)
        clear_d, cloudy_d = deltas[name]
        assert statistics.median(clear_d) < -12 and -2 < statistics.median(cloudy_d) < 0
    assert compared >= 3


def test_clouds_draw_nothing_from_the_fleet_s_generator():
    """The cover has its own seeded stream: with or without clouds the fleet draws the same
    values (enclosure temperature, signal), only the sky and tsky differ."""
    def readings(weather):
        return [decoded(e) for e in events(config(3, duration=6 * 3600, rates=QUIET, malformed_rate=0,
                                                  tess4c_share=0, weather=weather)) if e.kind == READING]
    clear, cloudy = readings(CLEAR_SKY), readings(Weather(clear=0.0, overcast=1.0))
    assert [(r.name, r.seq, r.tamb, r.wdbm) for r in clear] == [(r.name, r.seq, r.tamb, r.wdbm) for r in cloudy]
    assert [r.tsky for r in clear] != [r.tsky for r in cloudy]


def test_a_polluted_sky_darkens_after_midnight():
    assert curfew(0.0, 0.0, 17.0) == 0.0  # noon
    late = 0.5 + 3 / 24  # 03:00 at longitude 0
    assert abs(curfew(late, 0.0, 17.0) - 0.4) < 1e-9 and curfew(late, 0.0, 21.5) == 0.0


def test_the_moon_rises_over_the_simulated_sites():
    """Around the full Moon of 2026-11-24 the truth's Moon is ephem's (within 0.5 degree: a
    10-minute grid from the sky library, interpolated), and a high full Moon brightens a clear
    sky by more than a magnitude over the site's moonless dark."""
    import math
    from datetime import datetime

    import ephem

    cfg = config(4, start=datetime(2026, 11, 24, 12), duration=86400, rates=QUIET, malformed_rate=0, tess4c_share=0,
                 weather=Weather(clear=1.0, overcast=0.0, moon=True))
    sites = {p.name: p.site for p in fleet_of(cfg)}
    checked = bright = 0
    for e in events(cfg):
        if e.kind != READING:
            continue
        site = sites[e.name]
        if e.time.minute == 0:
            obs = ephem.Observer()
            obs.lon, obs.lat, obs.date, obs.pressure = str(site.longitude), str(site.latitude), e.time, 0
            assert abs(math.degrees(float(ephem.Moon(obs).alt)) - e.truth.moon_alt) < 0.5
            assert abs(ephem.Moon(e.time).moon_phase - e.truth.moon_lit) < 0.01
            checked += 1
        if e.truth.night and e.truth.moon_alt > 30:
            moonless = site.dark + curfew(days_since_j2000(e.time), site.longitude, site.dark)
            mag = decoded(e).mag[0]
            assert abs(mag - e.truth.sky) < 0.15 and e.truth.sky < moonless - 0.3, (e.truth, site)
            if site.dark > 20:  # the darker the site, the more the Moon shows
                assert mag < moonless - 1.5
            bright += 1
    assert checked >= 4 * 20 and bright > 100
