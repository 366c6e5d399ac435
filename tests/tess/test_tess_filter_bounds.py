"""Bounded per-photometer state of the default filters (``filter.max_photometers``).

Why: any sender can invent photometer names; the filters' state must stay bounded
without losing a reading the daylight filter is holding.
"""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta

import pytest

from tessdb_core.events import Reading
from tessdb_core.settings import SettingsError, load
from tessdb_tess import stage_rules
from tessdb_tess.config import config_of
from tessdb_tess.filters import Daylight, Decimation

from .tess_helpers import reading, settings

T0 = datetime(2026, 1, 1, 20)
EXAMPLE_MAGS = [20, 20, 20, 20, 5] + [0] * 12 + [3, 19, 20, 20, 20]  # seq 1..22 (the classic example: 9-14 dropped)


def bounded(max_photometers: int, **filter_keys):
    return settings(filter={"max_photometers": max_photometers, **filter_keys})


def clock():
    """Strictly increasing timestamps, one per reading made, whatever the photometer."""
    t = T0
    while True:
        t += timedelta(seconds=1)
        yield t


def make(name: str, seq: int, mag: float, tick) -> Reading:
    return reading(name=name, seq=seq, mag=float(mag), tstamp=next(tick))


def ns(rs):
    return [(r.name, r.seq) for r in rs]


# -- daylight ------------------------------------------------------------------------------------
def test_evicted_window_releases_its_held_readings_in_arrival_order():
    flt = Daylight(bounded(3))
    tick = clock()
    # stars1 fully saturated (7 zeros): 1..4 were dropped, 5, 6, 7 are held and would be dropped next
    for i in range(1, 8):
        flt.process(make("stars1", i, 0, tick))
    for name in ("stars2", "stars3"):  # 1, 2 emitted, 3, 4, 5 held
        for i in range(1, 6):
            flt.process(make(name, i, 20, tick))
    assert flt.evicted == 0 and len(flt.state()["photometers"]) == 3

    rel, dro = flt.process(make("stars4", 1, 20, tick))
    # the window created longest ago goes: all its held readings come out released, none dropped
    assert ns(rel) == [("stars1", 5), ("stars1", 6), ("stars1", 7)] and dro == ()
    rel, dro = flt.process(make("stars5", 1, 20, tick))
    assert ns(rel) == [("stars2", 3), ("stars2", 4), ("stars2", 5)] and dro == ()

    st = flt.state()
    assert st["evicted"] == 2 and st["max_photometers"] == 3
    assert list(st["photometers"]) == ["stars3", "stars4", "stars5"]
    assert ns(flt.flush()) == [("stars3", 3), ("stars3", 4), ("stars3", 5), ("stars4", 1), ("stars5", 1)]


def test_every_reading_accounted_for_under_eviction():
    """5 photometers, 3 windows: in = released + dropped + held at flush, once each, in order."""
    flt = Daylight(bounded(3))
    tick = clock()
    rng = random.Random(11)
    names = [f"stars{i}" for i in range(1, 6)]
    seq = dict.fromkeys(names, 0)
    sent: list[Reading] = []
    released: list[Reading] = []
    dropped: list[Reading] = []
    for _ in range(3000):
        name = rng.choice(names) if rng.random() < 0.3 else (sent[-1].name if sent else names[0])  # bursts
        seq[name] += 1
        mag = 0 if (seq[name] // 15) % 2 else 20  # alternate saturated and dark runs of 15
        r = make(name, seq[name], mag, tick)
        sent.append(r)
        rel, dro = flt.process(r)
        released.extend(rel)
        dropped.extend(dro)
        assert len(flt.state()["photometers"]) <= 3
    held = flt.flush()
    out = released + dropped + list(held)
    assert len(out) == len(sent) and {id(r) for r in out} == {id(r) for r in sent}
    assert flt.evicted > 100 and dropped  # the bound did bite, and the filter still dropped readings
    for name in names:  # released readings of one photometer keep their arrival order
        kept = [r.seq for r in released + list(held) if r.name == name]
        assert kept == sorted(kept)


def test_flood_of_names_stays_bounded():
    flt = Daylight(bounded(3))
    tick = clock()
    rs = [make(f"stars{i}", 1, 20, tick) for i in range(1, 1001)]
    out = []
    for r in rs:
        out.extend(flt.process(r)[0])
    assert len(flt.state()["photometers"]) == 3 and flt.evicted == 997
    assert out + list(flt.flush()) == rs  # one reading each, held then released, in arrival order


def test_drop_logic_unchanged_for_photometers_not_evicted():
    flt = Daylight(bounded(3))
    tick = clock()
    for name in ("stars3", "stars4", "stars5"):
        flt.process(make(name, 1, 20, tick))
    # stars1 and stars2 arrive when full: they evict stars3 and stars4, then are never evicted
    got = {"stars1": ([], []), "stars2": ([], [])}
    for i, m in enumerate(EXAMPLE_MAGS, start=1):
        for name in ("stars1", "stars2"):
            rel, dro = flt.process(make(name, i, m, tick))
            for r in rel:
                got.setdefault(r.name, ([], []))[0].append(r.seq)
            for r in dro:
                got[r.name][1].append(r.seq)
    assert got.pop("stars3") == ([1], []) and got.pop("stars4") == ([1], [])
    for name in ("stars1", "stars2"):
        assert got[name] == ([1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19], [9, 10, 11, 12, 13, 14])
    assert flt.evicted == 2
    assert flt.state()["photometers"]["stars1"]["held"] == [20, 21, 22]


def test_lower_max_on_reload_applies_at_next_new_photometer():
    flt = Daylight(bounded(5))
    tick = clock()
    for i in range(1, 6):
        flt.process(make(f"stars{i}", 1, 20, tick))
    flt.reconfigure(bounded(2))
    assert flt.process(make("stars5", 2, 20, tick)) == ((), ())  # a known photometer: no eviction
    rel, dro = flt.process(make("stars6", 1, 20, tick))
    assert ns(rel) == [("stars1", 1), ("stars2", 1), ("stars3", 1), ("stars4", 1)] and dro == ()
    st = flt.state()
    assert list(st["photometers"]) == ["stars5", "stars6"] and st["evicted"] == 4 and st["max_photometers"] == 2


def test_passthrough_then_back_counts_as_a_new_window():
    flt = Daylight(bounded(2))
    tick = clock()
    flt.process(make("stars1", 1, 20, tick))
    flt.process(make("stars2", 1, 20, tick))
    flt.configure("stars1", {"buffered": False})
    assert ns(flt.process(make("stars1", 2, 20, tick))[0]) == [("stars1", 1), ("stars1", 2)]
    flt.configure("stars1", {"buffered": True})
    flt.process(make("stars1", 3, 20, tick))  # recreated: now the newest, stars2 is the oldest
    rel, _ = flt.process(make("stars3", 1, 20, tick))
    assert ns(rel) == [("stars2", 1)]


# -- decimation ----------------------------------------------------------------------------------
def test_decimation_forgets_the_oldest_counter():
    divisors = {f"stars{i}": 3 for i in range(1, 6)}
    flt = Decimation(bounded(3, divisor=divisors))
    tick = clock()
    for name in ("stars1", "stars2", "stars3"):  # 1 passes, 2 dropped: next one (3) would be dropped
        assert [len(x) for x in flt.process(make(name, 1, 20, tick))] == [1, 0]
        assert [len(x) for x in flt.process(make(name, 2, 20, tick))] == [0, 1]
    flt.process(make("stars4", 1, 20, tick))
    st = flt.state()
    assert list(st["photometers"]) == ["stars2", "stars3", "stars4"] and st["evicted"] == 1
    # stars1 lost its counter: it starts a new cycle, its next reading passes
    rel, dro = flt.process(make("stars1", 3, 20, tick))
    assert ns(rel) == [("stars1", 3)] and dro == ()
    # stars3 kept its counter: its 3rd reading is dropped as usual
    rel, dro = flt.process(make("stars3", 3, 20, tick))
    assert rel == () and ns(dro) == [("stars3", 3)]
    st = flt.state()
    assert list(st["photometers"]) == ["stars3", "stars4", "stars1"] and st["evicted"] == 2


def test_decimation_flood_without_divisor_takes_no_state():
    flt = Decimation(bounded(3, divisor={"stars1": 2}))
    tick = clock()
    rs = [make(f"stars{i}", 1, 20, tick) for i in range(2, 1002)]
    assert [r for x in rs for r in flt.process(x)[0]] == rs
    assert flt.state()["photometers"] == {} and flt.evicted == 0


def test_decimation_lower_max_on_reload_applies_at_once():
    divisors = {f"stars{i}": 4 for i in range(1, 6)}
    flt = Decimation(bounded(5, divisor=divisors))
    tick = clock()
    for i in range(1, 6):
        flt.process(make(f"stars{i}", 1, 20, tick))
    flt.reconfigure(bounded(2, divisor=divisors))
    st = flt.state()
    assert list(st["photometers"]) == ["stars4", "stars5"] and st["evicted"] == 3 and st["max_photometers"] == 2


# -- settings -------------------------------------------------------------------------------------
def test_config_carries_max_photometers():
    assert config_of(settings()).max_photometers == 20_000
    assert config_of(bounded(7)).max_photometers == 7


@pytest.mark.parametrize("value", ["0", "'abc'", "abc", "10000001", "-5", "2.5", "true"])
def test_validator_refuses_bad_max_photometers(monkeypatch, value):
    monkeypatch.setenv("TESSDB_FILTER__MAX_PHOTOMETERS", value)  # dynaconf reads the process environment
    with pytest.raises(SettingsError) as exc:
        load(sections=stage_rules.tessdb_settings_schema(), environ=dict(os.environ))
    assert "filter.max_photometers" in str(exc.value)


@pytest.mark.parametrize("value,expected", [(None, 20_000), ("1", 1), ("10000000", 10_000_000)])
def test_validator_accepts_good_max_photometers(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("TESSDB_FILTER__MAX_PHOTOMETERS", raising=False)
    else:
        monkeypatch.setenv("TESSDB_FILTER__MAX_PHOTOMETERS", value)
    s = load(sections=stage_rules.tessdb_settings_schema(), environ=dict(os.environ))
    assert s.get("filter.max_photometers") == expected


def test_eviction_follows_creation_order_through_releases_and_toggles():
    """Windows released by passthrough leave stale entries in the creation order: skipped, compacted."""
    flt = Daylight(bounded(3))
    tick = clock()
    rng = random.Random(5)
    names = [f"stars{i}" for i in range(1, 7)]
    seq = dict.fromkeys(names, 0)
    model: dict[str, None] = {}  # reference: live windows in creation order
    sent, out = [], []
    for _ in range(4000):
        name = rng.choice(names)
        if rng.random() < 0.2:  # the operator flips a photometer between buffered and passthrough
            flt.configure(name, {"buffered": rng.random() < 0.5})
        seq[name] += 1
        r = make(name, seq[name], rng.choice([0, 20]), tick)
        sent.append(r)
        rel, dro = flt.process(r)
        out.extend(rel)
        out.extend(dro)
        if not flt.options(name)["buffered"]:
            model.pop(name, None)
        elif name not in model:
            while len(model) >= 3:
                del model[next(iter(model))]
            model[name] = None
        assert list(flt.state()["photometers"]) == list(model)
        assert len(flt._order._queue) <= 2 * 3 + 64 + 1  # stale entries do not pile up
    out.extend(flt.flush())
    assert len(out) == len(sent) and {id(r) for r in out} == {id(r) for r in sent}


def test_decimation_skips_counters_deleted_by_a_divisor_of_one():
    flt = Decimation(bounded(2, divisor={"stars1": 2, "stars2": 2, "stars3": 2}))
    tick = clock()
    flt.process(make("stars1", 1, 20, tick))
    flt.process(make("stars2", 1, 20, tick))
    flt.configure("stars1", {"divisor": 1})
    flt.process(make("stars1", 2, 20, tick))  # dropped (counter 1)
    flt.process(make("stars1", 3, 20, tick))  # passes: divisor 1 from now on, counter deleted
    assert list(flt.state()["photometers"]) == ["stars2"]
    flt.configure("stars1", {"divisor": 2})
    flt.process(make("stars1", 4, 20, tick))  # a new counter, now the newest
    flt.process(make("stars3", 1, 20, tick))  # evicts stars2, the oldest live counter
    st = flt.state()
    assert list(st["photometers"]) == ["stars1", "stars3"] and st["evicted"] == 1
