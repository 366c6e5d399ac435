"""Cloud screening on nights whose truth this test makes itself (not the simulator): a
clear night, a uniform overcast, broken clouds with and without the infrared sensor; then
the settings, the chi² alternative and the streaming ``annotate`` (chunks change nothing)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tessdb_sky.api import CloudSettings, cloud_settings, screen_clouds, sky_context
from tessdb_sky.series import Site, annotate, context_columns

MADRID = Site(-3.70, 40.42, 650.0, "Europe/Madrid")
EVENING = np.datetime64("2025-09-20T12:00", "ns")  # local noon to noon: one night


def night(kind: str, seed: int, infrared: bool = True):
    """One-minute readings of one night: times, magnitudes, tsky, tamb, truth (True = cloudy)."""
    rng = np.random.default_rng(seed)
    t = EVENING + np.arange(24 * 60) * np.timedelta64(60, "s")
    n = len(t)
    if kind == "clear":
        cloudy = np.zeros(n, dtype=bool)
    elif kind == "overcast":
        cloudy = np.ones(n, dtype=bool)
    else:  # broken: runs of 20 to 60 minutes, clear and cloudy in turn
        cloudy = np.zeros(n, dtype=bool)
        i, state = 0, bool(seed % 2)
        while i < n:
            run = int(rng.integers(20, 61))
            cloudy[i:i + run] = state
            i, state = i + run, not state
    base = 21.2 + 0.3 * np.sin(np.arange(n) / n * np.pi)           # a slow drift through the night
    mag = base + rng.normal(0, 0.015, n)                             # a TESS-W's scatter
    if kind == "overcast":
        mag = np.where(cloudy, 19.4 + rng.normal(0, 0.02, n), mag)   # steady, lit by the town
    else:  # clouds drifting through the field: the town's light comes and goes within minutes
        cover = 0.5 + 0.5 * np.sin(np.cumsum(rng.normal(0, 0.8, n)))
        mag = np.where(cloudy, base - 1.5 * cover + rng.normal(0, 0.015, n), mag)
    tamb = 15.0 + rng.normal(0, 0.3, n)
    # infrared: a low overcast is nearly as warm as the air; broken cloud anywhere from the
    # undecided band to overcast; a clear sky far colder
    low = (-1.0, 1.0) if kind == "overcast" else (-6.0, 0.5)
    delta = np.where(cloudy, rng.uniform(*low, n), rng.uniform(-25.0, -12.0, n))
    tsky = tamb + delta if infrared else np.full(n, np.nan)
    return t, mag, tsky, tamb, cloudy


def _screen(t, mag, tsky, tamb, settings=CloudSettings()):
    ctx = sky_context(t, MADRID.longitude, MADRID.latitude, MADRID.height_m, MADRID.timezone)
    return ctx, screen_clouds(t, mag, ctx.sun_alt, tsky, tamb, settings)


@pytest.mark.parametrize("kind,infrared", [("clear", True), ("clear", False), ("overcast", True),
                                           ("broken", True), ("broken", False)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clear_and_cloudy_agree_with_the_truth(kind, infrared, seed):
    t, mag, tsky, tamb, truth = night(kind, seed, infrared)
    ctx, screen = _screen(t, mag, tsky, tamb)
    dark = ctx.sun_alt < -18
    assert dark.sum() > 300
    said = screen.state[dark]
    agree = np.mean(said == np.where(truth[dark], "cloudy", "clear"))
    print(kind, infrared, seed, f"agreement {agree:.3f}")
    assert agree >= 0.90
    if kind == "clear":
        assert np.mean(said == "cloudy") <= 0.05
    # day and twilight: no verdict
    assert set(screen.state[~dark]) == {"unknown"}


def test_a_uniform_overcast_needs_the_infrared_sensor():
    """Steady brightness looks clear to the variability alone: documented, and shown here."""
    t, mag, tsky, tamb, _ = night("overcast", 4)
    ctx, both = _screen(t, mag, tsky, tamb)
    _, alone = _screen(t, mag, tsky, tamb, CloudSettings(methods=("variability",)))
    dark = ctx.sun_alt < -18
    assert np.mean(both.state[dark] == "cloudy") > 0.95
    assert np.mean(alone.state[dark] == "clear") > 0.95


def test_missing_inputs_give_unknown():
    t, mag, tsky, tamb, _ = night("clear", 5)
    ctx, screen = _screen(t, np.full(len(t), np.nan), np.full(len(t), -273.15), tamb)
    assert set(screen.state) == {"unknown"}
    # the infrared's middle band vetoes a steady sky's clear verdict
    _, screen = _screen(t, mag, tamb - 4.0, tamb)
    assert set(screen.state) == {"unknown"}
    gaps = mag.copy()
    gaps[::7] = 0.0  # saturated readings break every window
    _, screen = _screen(t, gaps, None, None)
    assert set(screen.state) == {"unknown"}
    # unknown site: no Sun, no verdict
    screen = screen_clouds(t, mag, np.full(len(t), np.nan), tsky, tamb)
    assert set(screen.state) == {"unknown"}


def test_sad_is_unihedrons_sum_over_the_last_ten_readings():
    t = EVENING + np.arange(12) * np.timedelta64(60, "s")
    mag = np.array([20.0, 20.1] * 6)
    screen = screen_clouds(t, mag, np.full(12, -30.0))
    assert screen.variability == pytest.approx([0.9] * 12)  # every reading lies in a full window
    assert list(screen.state) == ["clear"] * 12
    assert list(screen_clouds(t, mag, np.full(12, -30.0), settings=CloudSettings(sad_cloudy_above=0.8)).state) \
        == ["cloudy"] * 12
    # a jump: the readings with a steady window of ten on their side stay clear
    t = EVENING + np.arange(30) * np.timedelta64(60, "s")
    mag = np.where(np.arange(30) < 15, 21.0, 19.0)
    state = screen_clouds(t, mag, np.full(30, -30.0)).state
    assert list(state) == ["clear"] * 30  # one step of 2 mag ... but each reading has a steady window
    churn = mag + np.where((np.arange(30) >= 10) & (np.arange(30) < 20), [0.0, 0.5] * 15, 0.0)
    state = screen_clouds(t, churn, np.full(30, -30.0)).state
    assert state[0] == "clear" and state[15] == "cloudy" and state[29] == "clear"
    # ten readings spread over more than the span: no verdict
    spread = EVENING + np.arange(12) * np.timedelta64(120, "s")
    assert set(screen_clouds(spread, np.array([20.0, 20.1] * 6), np.full(12, -30.0)).state) == {"unknown"}


@pytest.mark.parametrize("kind", ["clear", "churning"])
def test_chi2_alternative_and_the_settings_view(kind):
    """SADSN's measure over ±45 minutes judges stretches of night: a clear night and a night
    of drifting clouds throughout (its window is too wide for 20-minute gaps)."""
    t, mag, tsky, tamb, truth = night("clear" if kind == "clear" else "broken", 6, infrared=False)
    if kind == "churning":
        _, mag, _, _, _ = night("overcast", 6)
        cover = 0.5 + 0.5 * np.sin(np.cumsum(np.random.default_rng(6).normal(0, 0.8, len(t))))
        mag, truth = 21.2 - 1.5 * cover, np.ones(len(t), dtype=bool)
    settings = cloud_settings({"sky": {"variability": "chi2"}})
    assert settings.variability == "chi2" and settings.chi2_half_window_s == 2700.0
    ctx, screen = _screen(t, mag, tsky, tamb, settings)
    dark = ctx.sun_alt < -18
    said = screen.state[dark]
    assert np.mean(said == np.where(truth[dark], "cloudy", "clear")) >= 0.95
    assert cloud_settings(None) == CloudSettings()
    with pytest.raises(ValueError, match="time order"):
        screen_clouds(t[::-1], mag, ctx.sun_alt)


@pytest.mark.parametrize("variability", ["sad", "chi2"])
def test_annotate_streams_many_photometers_and_chunks_change_nothing(variability):
    settings = replace(CloudSettings(), variability=variability)
    rows = []
    for mac, kind, seed in (("AA", "broken", 7), ("BB", "clear", 8)):
        t, mag, tsky, tamb, _ = night(kind, seed)
        rows += [{"utc": str(a), "mac": mac, "mag": float(m), "tsky": float(s), "tamb": float(b)}
                 for a, m, s, b in zip(t, mag, tsky, tamb)]
    rows.sort(key=lambda r: r["utc"])
    rows.append({"utc": "2025-09-21T11:59", "mac": "CC", "mag": 20.0, "tsky": None, "tamb": None})  # location -1

    def run(chunk):
        return list(annotate(iter(rows), time=lambda r: r["utc"], photometer=lambda r: r["mac"],
                             site=lambda r: None if r["mac"] == "CC" else MADRID, magnitude=lambda r: r["mag"],
                             tsky_key="tsky", tamb_key="tamb", settings=settings, chunk=chunk))
    whole, chunked = run(10**6), run(97)
    assert len(whole) == len(chunked) == len(rows)
    assert [r["clouds"] for r in whole] == [r["clouds"] for r in chunked]
    assert [r["sun_alt"] for r in whole] == [r["sun_alt"] for r in chunked]
    assert whole[-1]["site_known"] is False and whole[-1]["night"] == "2025-09-20" and whole[-1]["sun_alt"] is None
    one = [r for r in whole if r["mac"] == "AA"]
    t = np.array([r["utc"] for r in one], dtype="datetime64[ns]")
    direct = context_columns(t, MADRID, np.array([r["mag"] for r in one]), np.array([r["tsky"] for r in one]),
                             np.array([r["tamb"] for r in one]), settings)
    assert [r["clouds"] for r in one] == list(direct["clouds"])
