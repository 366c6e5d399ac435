"""Decimation and Daylight look-ahead filters (docs/rules.md, The daylight filter and decimation)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tessdb_core.contracts import ReadingFilter
from tessdb_tess.filters import Daylight, Decimation

from .tess_helpers import reading, settings

T0 = datetime(2026, 1, 1, 20)
EXAMPLE_MAGS = [20, 20, 20, 20, 5] + [0] * 12 + [3, 19, 20, 20, 20]  # seq 1..22


def feed(flt, readings):
    released, dropped = [], []
    for r in readings:
        rel, dro = flt.process(r)
        released.extend(rel)
        dropped.extend(dro)
    return released, dropped


def seqs(rs):
    return [r.seq for r in rs]


def series(mags, name="stars1", start=1, step=1, four=False, seq_list=None):
    out = []
    for i, m in enumerate(mags):
        mag = (19.0, 19.0, 19.0, float(m)) if four else float(m)
        seq = seq_list[i] if seq_list else start + i * step
        out.append(reading(name=name, seq=seq, mag=mag, tstamp=T0 + timedelta(minutes=i)))
    return out


def test_protocol():
    s = settings()
    assert isinstance(Decimation(s), ReadingFilter) and Decimation(s).name == "decimation"
    assert isinstance(Daylight(s), ReadingFilter) and Daylight(s).name == "daylight"


# -- decimation ----------------------------------------------------------------------------------
def test_divisor_one_passes_everything():
    rel, dro = feed(Decimation(settings()), series([20] * 5))
    assert seqs(rel) == [1, 2, 3, 4, 5] and dro == []


def test_divisor_n():
    flt = Decimation(settings(filter={"divisor": {"stars1": 3}}))
    rel, dro = feed(flt, series([20] * 10))
    assert seqs(rel) == [1, 4, 7, 10]
    assert seqs(dro) == [2, 3, 5, 6, 8, 9]
    # another photometer keeps divisor 1
    assert seqs(feed(flt, series([20] * 3, name="stars2"))[0]) == [1, 2, 3]


def test_divisor_change_applies_at_next_pass():
    flt = Decimation(settings(filter={"divisor": {"stars1": 3}}))
    rs = series([20] * 12)
    rel, _ = feed(flt, rs[:2])  # 1 passes, 2 dropped
    assert seqs(rel) == [1]
    flt.reconfigure(settings(filter={"divisor": {"stars1": 2}}))
    rel, dro = feed(flt, rs[2:])
    # 3 still counts under N=3, 4 passes and starts N=2: 6, 8, 10, 12
    assert seqs(rel) == [4, 6, 8, 10, 12]
    assert seqs(dro) == [3, 5, 7, 9, 11]


def test_divisor_from_one_to_n():
    flt = Decimation(settings())
    rs = series([20] * 8)
    feed(flt, rs[:2])
    flt.reconfigure(settings(filter={"divisor": {"stars1": 4}}))
    assert seqs(feed(flt, rs[2:])[0]) == [3, 7]


def test_decimation_off_when_daylight_disabled():
    flt = Decimation(settings(filter={"divisor": {"stars1": 3}, "enable": {"daylight": False}}))
    assert seqs(feed(flt, series([20] * 4))[0]) == [1, 2, 3, 4]
    assert flt.flush() == ()


# -- daylight look-ahead ----------------------------------------------------------------------------
def test_spec_example():
    flt = Daylight(settings())
    rel, dro = feed(flt, series(EXAMPLE_MAGS))
    assert seqs(rel) == [1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19]
    assert seqs(dro) == [9, 10, 11, 12, 13, 14]
    assert flt.state()["photometers"]["stars1"]["held"] == [20, 21, 22]
    assert seqs(flt.flush()) == [20, 21, 22]
    assert flt.flush() == []
    assert flt.state()["photometers"] == {}


def test_emission_delay_and_order():
    flt = Daylight(settings())
    rs = series([20] * 5)
    outs = [seqs(flt.process(r)[0]) for r in rs]
    assert outs == [[], [], [], [1], [2]]


def test_tess4c_uses_mag4():
    flt = Daylight(settings())
    rel, dro = feed(flt, series(EXAMPLE_MAGS, four=True))
    assert seqs(rel) == [1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19]
    assert seqs(dro) == [9, 10, 11, 12, 13, 14]
    # saturated mag1..3 with a good mag4 keeps everything
    flt = Daylight(settings())
    rs = [reading(seq=i, mag=(0.0, 0.0, 0.0, 20.0), tstamp=T0 + timedelta(minutes=i)) for i in range(1, 21)]
    rel, dro = feed(flt, rs)
    assert seqs(rel) == list(range(1, 18)) and dro == []


def test_irregular_sequence_keeps_saturated_readings():
    seq_list = [1, 2, 3, 4, 5, 6, 7, 8, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33]
    rel, dro = feed(Daylight(settings()), series(EXAMPLE_MAGS, seq_list=seq_list))
    # windows spanning the gap 8 -> 20 are not progressions: their middle is kept
    # (the first window without the gap is seq 20..26: its middle 23 is the first dropped)
    assert seqs(dro) == [23, 24, 25]
    assert seqs(rel) == [1, 2, 3, 4, 5, 6, 7, 8, 20, 21, 22, 26, 27, 28, 29, 30]


def test_reboot_keeps_saturated_readings():
    seq_list = list(range(1, 11)) + list(range(0, 12))  # reboot after 10
    rel, dro = feed(Daylight(settings()), series(EXAMPLE_MAGS, seq_list=seq_list))
    assert len(rel) + len(dro) == 19
    # only the window entirely after the reboot (seq 0..6, all zero) drops its middle (seq 3)
    assert [r.seq for r in dro] == [3]
    assert seqs(rel)[:10] == list(range(1, 11))


def test_constant_step_progression_still_filtered():
    rel, dro = feed(Daylight(settings()), series(EXAMPLE_MAGS, start=10, step=5))
    assert seqs(dro) == [50, 55, 60, 65, 70, 75]


def test_depth_setting():
    flt = Daylight(settings(filter={"depth": 3}))
    mags = [20, 0, 0, 0, 0, 20]
    rel, dro = feed(flt, series(mags))
    assert seqs(rel) == [1, 2, 5] and seqs(dro) == [3, 4]
    assert seqs(flt.flush()) == [6]


def test_saturated_start_dropped_while_filling():
    rel, dro = feed(Daylight(settings()), series([0] * 6))
    assert seqs(rel) == [] and seqs(dro) == [1, 2, 3]


def test_disabled_for_passes_through():
    flt = Daylight(settings(filter={"disabled_for": ["stars2"]}))
    rel, dro = feed(flt, series(EXAMPLE_MAGS, name="stars2"))
    assert seqs(rel) == list(range(1, 23)) and dro == []
    assert flt.flush() == []


def test_disabled_for_after_reload_releases_held_first():
    flt = Daylight(settings())
    rs = series(EXAMPLE_MAGS)
    rel, _ = feed(flt, rs[:6])
    assert seqs(rel) == [1, 2, 3]
    flt.reconfigure(settings(filter={"disabled_for": ["stars1"]}))
    assert seqs(flt.process(rs[6])[0]) == [4, 5, 6, 7]
    assert seqs(flt.process(rs[7])[0]) == [8]
    assert flt.flush() == []


def test_daylight_false_passes_through_and_releases():
    flt = Daylight(settings(filter={"enable": {"daylight": False}}))
    rel, dro = feed(flt, series(EXAMPLE_MAGS))
    assert seqs(rel) == list(range(1, 23)) and dro == []
    flt = Daylight(settings())
    rs = series([20] * 6)
    feed(flt, rs[:5])
    flt.reconfigure(settings(filter={"enable": {"daylight": False}}))
    assert seqs(flt.process(rs[5])[0]) == [3, 4, 5, 6]


def test_flush_orders_photometers_by_time_and_keeps_working():
    flt = Daylight(settings())
    a = series([20] * 5, name="stars1")  # minutes 0..4 -> holds 3, 4, 5 (minutes 2, 3, 4)
    b = [reading(name="stars2", seq=i + 1, mag=20.0, tstamp=T0 + timedelta(minutes=i, seconds=30))
         for i in range(4)]  # holds 2, 3, 4 (minutes 1.5, 2.5, 3.5)
    feed(flt, a)
    feed(flt, b)
    out = flt.flush()
    assert [(r.name, r.seq) for r in out] == [("stars2", 2), ("stars1", 3), ("stars2", 3), ("stars1", 4),
                                              ("stars2", 4), ("stars1", 5)]
    # after a flush the filter works normally again (not the one-way 5.x state)
    rel, dro = feed(flt, series(EXAMPLE_MAGS))
    assert seqs(rel) == [1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 19] and seqs(dro) == list(range(9, 15))


def test_depth_reload_applies_to_new_photometers_only():
    flt = Daylight(settings())
    feed(flt, series([20] * 2, name="stars1"))
    flt.reconfigure(settings(filter={"depth": 3}))
    feed(flt, series([20] * 2, name="stars2"))
    st = flt.state()["photometers"]
    assert st["stars1"]["depth"] == 7 and st["stars2"]["depth"] == 3


def test_chain_decimation_then_daylight():
    s = settings(filter={"divisor": {"stars1": 2}})
    dec, day = Decimation(s), Daylight(s)
    out = []
    for r in series([20] * 12):
        for x in dec.process(r)[0]:
            out.extend(day.process(x)[0])
    out.extend(day.flush())
    assert seqs(out) == [1, 3, 5, 7, 9, 11]


def test_window_step_bookkeeping_matches_a_direct_check():
    """The O(1) running count of unequal steps agrees with checking the window directly."""
    import random

    from tessdb_tess.filters import _Window

    from .tess_helpers import reading as make_reading

    rng = random.Random(7)
    w = _Window(7)
    seq = 0
    for _ in range(2000):
        seq += rng.choice([1, 1, 1, 2, -5])
        w.push(make_reading(seq=seq, mag=0.0))
        seqs = [r.seq for r in w.fifo]
        steps = [b - a for a, b in zip(seqs, seqs[1:])]
        assert (w.breaks == 0) == (len(set(steps)) <= 1)
