"""The pure generator: determinism, limits, payload shapes (decoded by the real TESS plugin),
the night/day cycle, sequence numbers, life events, TESS4C share and malformed messages."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import timedelta

import ephem
import pytest

from tessdb_core.events import Reading, Registration, Rejection
from tessdb_sim.generator import (MALFORMED_KINDS, READING, REGISTRATION_KINDS, EventRates, events, fleet_of,
                                  is_registration)
from tessdb_sim.sky import days_since_j2000, sun_altitude
from tessdb_sim.weather import CLEAR_SKY
from tessdb_tess.validate import validate

from .sim_helpers import SETTINGS, START, config, decoded

QUIET = EventRates(0, 0, 0, 0)


def test_same_seed_same_messages():
    a = list(events(config(12, seed=7, duration=3 * 3600)))
    b = list(events(config(12, seed=7, duration=3 * 3600)))
    assert a == b and len(a) > 12 * 170
    c = list(events(config(12, seed=8, duration=3 * 3600)))
    assert [e.payload for e in a] != [e.payload for e in c]


def test_a_shorter_run_is_a_prefix_of_a_longer_one():
    long = list(events(config(5, readings=500)))
    short = list(events(config(5, readings=200)))
    assert long[:len(short)] == short


def test_time_order_and_limits():
    evs = list(events(config(8, duration=2 * 3600)))
    times = [e.time for e in evs]
    assert times == sorted(times)
    assert times[0] >= START and times[-1] < START + timedelta(hours=2)
    assert sum(not is_registration(e.kind) for e in evs) == 8 * 120
    assert sum(not is_registration(e.kind) for e in events(config(8, readings=333))) == 333
    assert list(events(config(8, readings=0))) == []


def test_every_photometer_registers_before_its_first_reading():
    seen: set[str] = set()
    for e in events(config(30, duration=600, malformed_rate=0)):
        if e.kind == "register":
            seen.add(e.name)
        else:
            assert e.name in seen, e
    assert len(seen) == 30


def test_good_messages_decode_and_validate_with_the_default_plugin():
    cfg = config(40, duration=12 * 3600, malformed_rate=0, tess4c_share=0.25)
    kinds = Counter()
    for e in events(cfg):
        event = decoded(e)
        assert isinstance(event, Registration if e.kind in REGISTRATION_KINDS else Reading), (e, event)
        assert validate(event, SETTINGS) == [], e
        assert event.tstamp == e.time and event.tstamp_source == "Publisher"
        assert event.name == e.name
        kinds[e.kind] += 1
        if isinstance(event, Reading):
            assert e.topic == f"STARS4ALL/{e.name}/reading"
            assert -95 <= event.wdbm <= -40
            assert event.tsky < event.tamb + 1.0  # an overcast sky is nearly as warm as the enclosure
        else:
            assert e.topic == "STARS4ALL/register"
            assert event.firmware.endswith(")")  # "<firmware> (<date>)"
            assert all(10 <= zp <= 30 for zp in event.zp)
    assert kinds["register"] == 40 and kinds[READING] == 40 * 720


def test_payload_shapes_follow_the_spec():
    import json

    evs = list(events(config(20, duration=300, tess4c_share=0.5, malformed_rate=0)))
    regs = [json.loads(e.payload) for e in evs if e.kind == "register"]
    reads = [json.loads(e.payload) for e in evs if e.kind == READING]
    w_reg = next(r for r in regs if "F4" not in r)
    assert {"name", "mac", "calib", "rev", "firmware", "date", "tstamp"} <= set(w_reg)
    c_reg = next(r for r in regs if "F4" in r)
    assert {"name", "mac", "rev", "firmware", "date", "tstamp"} <= set(c_reg)
    assert all({"band", "calib"} <= set(c_reg[f"F{i}"]) for i in range(1, 5))
    w = next(r for r in reads if "F4" not in r)
    assert {"seq", "name", "freq", "mag", "tamb", "tsky", "wdBm", "rev", "tstamp"} <= set(w)
    assert all(type(w[k]) is float for k in ("freq", "mag", "tamb", "tsky")) and type(w["seq"]) is int
    c = next(r for r in reads if "F4" in r)
    assert all({"freq", "mag", "zp"} <= set(c[f"F{i}"]) for i in range(1, 5))


def test_malformed_messages_are_rejected_with_their_reason():
    evs = list(events(config(20, duration=6 * 3600, malformed_rate=0.05)))
    bad = [e for e in evs if e.kind in MALFORMED_KINDS]
    readings = sum(e.kind == READING for e in evs) + len(bad)
    assert 0.03 < len(bad) / readings < 0.07
    assert {e.kind for e in bad} == set(MALFORMED_KINDS)
    for e in bad:
        result = decoded(e)
        assert isinstance(result, Rejection), e
        assert result.reason == e.kind, (e, result)
        assert (e.topic == "STARS4ALL/register") == (e.kind == "bad_mac")
    assert not any(e.kind in MALFORMED_KINDS for e in events(config(20, duration=6 * 3600, malformed_rate=0)))


def test_tess4c_share():
    for n, share in ((100, 0.1), (37, 0.3), (10, 0.0), (5, 1.0)):
        fleet = fleet_of(config(n, tess4c_share=share))
        assert sum(p.four for p in fleet) == round(n * share)
    evs = [decoded(e) for e in events(config(50, tess4c_share=0.2, duration=300, malformed_rate=0))]
    models = {r.name: r.model for r in evs if isinstance(r, Registration)}
    assert Counter(models.values()) == {"TESS-W": 40, "TESS4C": 10}
    assert all(len(r.freq) == (4 if models[r.name] == "TESS4C" else 1) for r in evs if isinstance(r, Reading))


def _sun(site, t) -> float:
    """The Sun's altitude by ephem, independent of the simulator's own formula."""
    obs = ephem.Observer()
    obs.lon, obs.lat, obs.date, obs.pressure = str(site.longitude), str(site.latitude), t, 0
    return math.degrees(float(ephem.Sun(obs).alt))


def test_night_readings_are_dark_and_day_readings_saturated():
    """Under a clear, moonless sky (CLEAR_SKY) every night reading is its site's dark sky."""
    cfg = config(12, duration=86400, rates=QUIET, malformed_rate=0, tess4c_share=0.25, weather=CLEAR_SKY)
    sites = {p.name: p.site for p in fleet_of(cfg)}
    zps: dict[str, tuple[float, ...]] = {}
    counts = Counter()
    for e in events(cfg):
        ev = decoded(e)
        if isinstance(ev, Registration):
            zps[ev.name] = ev.zp
            continue
        sun = _sun(sites[e.name], e.time)
        if sun < -18.5:
            counts["night"] += 1
            assert all(17.0 <= m <= 21.5 for m in ev.mag), (e, sun)
            for zp, f, m in zip(zps[e.name], ev.freq, ev.mag):
                assert abs(zp - 2.5 * math.log10(f) - m) < 0.01  # frequency consistent with mag and ZP
        elif sun > 0.5:
            counts["day"] += 1
            assert all(m == 0.0 for m in ev.mag), (e, sun)
    assert counts["night"] > 12 * 600 and counts["day"] > 12 * 300


def test_a_site_goes_dark_after_sunset():
    """One photometer's evening: zeros, a twilight ramp, then a steady dark sky."""
    cfg = config(1, duration=12 * 3600, rates=QUIET, malformed_rate=0, tess4c_share=0, weather=CLEAR_SKY)
    mags = [decoded(e).mag[0] for e in events(cfg) if e.kind == READING]
    first_lit = next(i for i, m in enumerate(mags) if m > 0)
    assert all(m == 0.0 for m in mags[:first_lit]) and first_lit > 0
    ramp = mags[first_lit:first_lit + 60]
    assert ramp[0] < 12 and ramp[-1] > ramp[0] + 5


def test_sequence_numbers_count_and_restart_on_reboot():
    cfg = config(20, duration=12 * 3600, rates=EventRates(reboot=20, zp_change=0, rename=0, replace=0),
                 malformed_rate=0)
    last: dict[str, int] = {}
    rebooted: set[str] = set()
    reboots = 0
    for e in events(cfg):
        ev = decoded(e)
        if e.kind == "reboot":
            rebooted.add(e.name)
            reboots += 1
        elif isinstance(ev, Reading):
            if e.name in rebooted:
                assert ev.seq == 0
                rebooted.discard(e.name)
            elif e.name in last:
                assert ev.seq == last[e.name] + 1
            else:
                assert ev.seq == 0
            last[e.name] = ev.seq
    assert reboots > 20


def test_zp_changes_renames_and_replacements():
    cfg = config(30, duration=24 * 3600, rates=EventRates(reboot=0, zp_change=3, rename=2, replace=2),
                 malformed_rate=0, tess4c_share=0.2)
    by_name: dict[str, Registration] = {}
    by_mac: dict[str, Registration] = {}
    kinds = Counter()
    for e in events(cfg):
        ev = decoded(e)
        if not isinstance(ev, Registration):
            continue
        kinds[e.kind] += 1
        if e.kind == "zp_change":
            old = by_mac[ev.mac]
            assert old.name == ev.name
            assert all(abs(a - b) >= 0.005 for a, b in zip(old.zp, ev.zp))
        elif e.kind == "rename":
            assert ev.mac in by_mac and ev.name not in by_name
        elif e.kind == "replace":
            assert ev.name in by_name and ev.mac not in by_mac
            assert by_name[ev.name].model == ev.model
        by_name[ev.name] = ev
        by_mac[ev.mac] = ev
    assert kinds["zp_change"] > 20 and kinds["rename"] > 10 and kinds["replace"] > 10


def test_readings_after_a_replacement_carry_the_new_hash():
    cfg = config(20, duration=24 * 3600, rates=EventRates(0, 0, 0, replace=3), malformed_rate=0, tess4c_share=0)
    mac_of: dict[str, str] = {}
    checked = 0
    for e in events(cfg):
        ev = decoded(e)
        if isinstance(ev, Registration):
            mac_of[ev.name] = ev.mac
        elif ev.hash is not None:
            assert ev.hash == mac_of[ev.name].replace(":", "")[-3:]
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize("lon, lat", [(-16.5, 28.3), (2.2, 41.4), (25.0, 60.2)])
def test_solar_altitude_matches_ephem(lon, lat):
    for hours in range(0, 24 * 365, 97):
        t = START + timedelta(hours=hours)
        obs = ephem.Observer()
        obs.lon, obs.lat, obs.date, obs.pressure = str(lon), str(lat), t, 0
        expected = math.degrees(float(ephem.Sun(obs).alt))
        assert abs(sun_altitude(days_since_j2000(t), lon, lat) - expected) < 0.05


def test_temperatures_follow_a_daily_cycle():
    cfg = config(1, duration=3 * 86400, rates=QUIET, malformed_rate=0, tess4c_share=0)
    site = fleet_of(cfg)[0].site
    by_hour: dict[int, list[float]] = defaultdict(list)
    for e in events(cfg):
        if e.kind == READING:
            solar = (e.time + timedelta(hours=site.longitude / 15)).hour
            by_hour[solar].append(decoded(e).tamb)
    afternoon = sum(by_hour[15]) / len(by_hour[15])
    before_dawn = sum(by_hour[3]) / len(by_hour[3])
    assert afternoon - before_dawn > 8
