"""Cloud screening per reading: ``clear`` / ``cloudy`` / ``unknown``.  Pure and vectorised.

Two signals a TESS sends (docs/reports.md gives the sources):

* **variability** of the brightness, over one photometer's run of readings in time order:
  ``sad`` (Unihedron's clear-sky detector): the sum of the absolute differences between
  the last ``sad_readings`` (10) readings, taken about a minute apart; 0 is a clear sky,
  above ``sad_cloudy_above`` (1 mag) cloudy.  ``chi2`` (the Southern Arizona Dark Sky
  Network's idea): the reduced χ² of a straight line fitted to the readings within
  ``chi2_half_window`` on each side, each with the scatter ``chi2_sigma``; above
  ``chi2_cloudy_above`` cloudy.  A window that is not full (a gap, the first readings of a
  night) or has a missing / saturated reading gives no verdict.
* **infrared**: the sky's temperature minus the ambient one (``tsky - tamb``, °C): below
  ``ir_clear_below`` (-8) clear, above ``ir_cloudy_above`` (-1) cloudy, in between (thin or
  broken cloud) no verdict.

Combined: ``cloudy`` when any method in use says cloudy; else ``clear`` when one says clear and
none is undecided (the infrared's middle band vetoes a clear verdict: thin or partial cloud
may be steady); else ``unknown``.  A method without its inputs (no ``tsky``, a window not
full) has no say.  And ``unknown`` whatever they say while the Sun is above ``sun_below``
(-18°: day and every twilight) or the site is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["CLOUD_STATES", "CloudSettings", "CloudScreen", "infrared_verdict", "screen_clouds",
           "variability_chi2", "variability_sad"]

CLOUD_STATES = ("clear", "cloudy", "unknown")
#: verdict codes of one method: no inputs, clear, cloudy, undecided (between its two limits)
_UNKNOWN, _CLEAR, _CLOUDY, _UNDECIDED = 0, 1, 2, 3
_NS_PER_S = 10**9


@dataclass(frozen=True)
class CloudSettings:
    """The ``[sky]`` cloud settings (defaults from the published sources, see the module)."""

    methods: tuple[str, ...] = ("variability", "infrared")
    variability: str = "sad"            # "sad" or "chi2"
    sad_readings: int = 10
    sad_max_span_s: float = 15 * 60.0   # the 10 readings must fit in this span
    sad_cloudy_above: float = 1.0       # mag
    chi2_half_window_s: float = 45 * 60.0
    chi2_min_readings: int = 5
    chi2_sigma: float = 0.05            # mag
    chi2_cloudy_above: float = 3.0
    ir_clear_below: float = -8.0        # °C, tsky - tamb
    ir_cloudy_above: float = -1.0       # °C
    sun_below: float = -18.0            # degrees
    tess4c_channel: int = 1


@dataclass(frozen=True)
class CloudScreen:
    """The verdict per reading and what it came from (NaN where not computed)."""

    state: np.ndarray        # object array of CLOUD_STATES
    variability: np.ndarray  # mag (sad) or reduced χ² (chi2)
    ir_delta: np.ndarray     # tsky - tamb, °C


def _valid_mag(mag: np.ndarray) -> np.ndarray:
    return np.isfinite(mag) & (mag > 0)  # 0 is how a saturated reading is stored


def variability_sad(ns: np.ndarray, mag: np.ndarray, readings: int = 10,
                    max_span_s: float = 900.0) -> np.ndarray:
    """Per reading: the smallest sum of absolute differences of the windows of ``readings``
    consecutive readings that contain it (NaN when none is full: a window must span at most
    ``max_span_s`` and hold no missing or saturated value).

    Unihedron's detector looks at the last ten readings as they arrive; afterwards we have
    the whole night, so a reading counts as steady when any window around it is steady: a
    clear reading just after a cloud is not blamed for the cloud's churn before it."""
    n = len(mag)
    out = np.full(n, np.nan)
    k = readings - 1  # differences in the window
    if n < readings or k < 1:
        return out
    ok = _valid_mag(mag)
    d = np.abs(np.diff(np.where(ok, mag, 0.0)))
    bad = (~ok[1:] | ~ok[:-1]).astype(np.int64)
    cs = np.concatenate([[0.0], np.cumsum(d)])
    cb = np.concatenate([[0], np.cumsum(bad)])
    end = np.arange(k, n)                         # reading index closing each window
    sums = cs[end] - cs[end - k]
    nbad = cb[end] - cb[end - k]
    span = (ns[end] - ns[end - k]) / _NS_PER_S
    per_window = np.where((nbad == 0) & (span <= max_span_s), sums, np.inf)
    # window w covers readings w .. w+k, so reading i lies in windows i-k .. i: a sliding
    # minimum over k+1 windows (padded so that every reading has k+1 candidates)
    padded = np.concatenate([np.full(k, np.inf), per_window, np.full(k, np.inf)])
    best = sliding_window_view(padded, k + 1).min(axis=1)
    out[np.isfinite(best)] = best[np.isfinite(best)]
    return out


def variability_chi2(ns: np.ndarray, mag: np.ndarray, half_window_s: float = 2700.0, sigma: float = 0.05,
                     min_readings: int = 5) -> np.ndarray:
    """Reduced χ² of a straight line fitted to the valid readings within ``half_window_s``
    of each reading (NaN with fewer than ``min_readings``), from running sums."""
    n = len(mag)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    ok = _valid_mag(mag)
    t = (ns - ns[0]) / _NS_PER_S / 3600.0  # hours: keeps the sums well conditioned
    y = np.where(ok, mag, 0.0)
    w = ok.astype(float)
    sums = [np.concatenate([[0.0], np.cumsum(v)]) for v in (w, w * t, w * t * t, w * y, w * t * y, w * y * y)]
    lo = np.searchsorted(ns, ns - int(half_window_s * _NS_PER_S), side="left")
    hi = np.searchsorted(ns, ns + int(half_window_s * _NS_PER_S), side="right")
    s0, st, stt, sy, sty, syy = (c[hi] - c[lo] for c in sums)
    t0 = np.where(s0 > 0, st / np.maximum(s0, 1), 0.0)
    # centre the time to keep the normal equations well conditioned
    stt_c = stt - 2 * t0 * st + t0 * t0 * s0
    sty_c = sty - t0 * sy
    ybar = np.where(s0 > 0, sy / np.maximum(s0, 1), 0.0)
    syy_c = syy - ybar * sy
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(stt_c > 0, sty_c / stt_c, 0.0)
        resid = np.maximum(syy_c - slope * sty_c, 0.0)
        red = resid / (sigma * sigma) / (s0 - 2)
    good = (s0 >= max(min_readings, 3)) & ok
    out[good] = red[good]
    return out


def infrared_verdict(delta: np.ndarray, clear_below: float = -8.0, cloudy_above: float = -1.0) -> np.ndarray:
    """Codes (0 no input, 1 clear, 2 cloudy, 3 undecided) from ``tsky - tamb``."""
    v = np.where(np.isfinite(delta), _UNDECIDED, _UNKNOWN).astype(np.int8)
    with np.errstate(invalid="ignore"):
        v[delta < clear_below] = _CLEAR
        v[delta > cloudy_above] = _CLOUDY
    return v


def screen_clouds(times: np.ndarray, magnitude: np.ndarray | None, sun_alt: np.ndarray,
                  tsky: np.ndarray | None = None, tamb: np.ndarray | None = None,
                  settings: CloudSettings = CloudSettings()) -> CloudScreen:
    """clear / cloudy / unknown for each reading of ONE photometer, in time order.

    ``magnitude``: mag/arcsec² (the TESS4C's ``settings.tess4c_channel``; 0 or NaN for a
    saturated or missing value); ``sun_alt``: degrees (NaN where the site is unknown);
    ``tsky`` / ``tamb``: °C, NaN where missing (a TESS4C without them sends -273.15, which
    counts as missing).
    """
    ns = np.asarray(times, dtype="datetime64[ns]").view(np.int64)
    n = len(ns)
    if n > 1 and np.any(np.diff(ns) < 0):
        raise ValueError("screen_clouds needs the readings in time order")
    verdict_v = np.zeros(n, dtype=np.int8)
    variability = np.full(n, np.nan)
    if "variability" in settings.methods and magnitude is not None:
        mag = np.asarray(magnitude, dtype=float)
        if settings.variability == "chi2":
            variability = variability_chi2(ns, mag, settings.chi2_half_window_s, settings.chi2_sigma,
                                           settings.chi2_min_readings)
            limit = settings.chi2_cloudy_above
        else:
            variability = variability_sad(ns, mag, settings.sad_readings, settings.sad_max_span_s)
            limit = settings.sad_cloudy_above
        with np.errstate(invalid="ignore"):
            verdict_v[variability <= limit] = _CLEAR
            verdict_v[variability > limit] = _CLOUDY
    delta = np.full(n, np.nan)
    verdict_ir = np.zeros(n, dtype=np.int8)
    if "infrared" in settings.methods and tsky is not None and tamb is not None:
        sky = np.asarray(tsky, dtype=float)
        amb = np.asarray(tamb, dtype=float)
        missing = ~np.isfinite(sky) | ~np.isfinite(amb) | (sky <= -273.0) | (amb <= -273.0)
        delta = np.where(missing, np.nan, sky - amb)
        verdict_ir = infrared_verdict(delta, settings.ir_clear_below, settings.ir_cloudy_above)
    state = np.full(n, "unknown", dtype=object)
    any_clear = (verdict_v == _CLEAR) | (verdict_ir == _CLEAR)
    any_cloudy = (verdict_v == _CLOUDY) | (verdict_ir == _CLOUDY)
    undecided = (verdict_v == _UNDECIDED) | (verdict_ir == _UNDECIDED)
    state[any_clear & ~undecided] = "clear"
    state[any_cloudy] = "cloudy"
    with np.errstate(invalid="ignore"):
        dark = np.asarray(sun_alt, dtype=float) < settings.sun_below  # NaN (no site) is not dark
    state[~dark] = "unknown"
    return CloudScreen(state, variability, delta)
