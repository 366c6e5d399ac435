"""Topocentric Sun and Moon, vectorised over a whole query (pyerfa, the IAU SOFA library).

Why this shape: the expensive parts (the Earth's orbit ``erfa.epv00``, the Moon's series
``erfa.moon98``, precession-nutation ``erfa.c2i06a``) change slowly, so they are evaluated
every three hours on the grid points a query touches and interpolated (4-point Lagrange) to each
reading; only the Earth's rotation angle, the observer's offset and the horizon frame are
computed per reading.  Nothing is downloaded: SOFA carries its own series and leap seconds.

Conventions (as astropy's ``AltAz`` with ``pressure=0``): geometric altitudes (no
refraction) of the centre of the disc, azimuth from North through East, degrees.  UT1 is
taken as UTC (|UT1-UTC| < 0.9 s: < 0.004° in hour angle) and polar motion as zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import erfa
import numpy as np

__all__ = ["Bodies", "bodies", "mjd_utc", "sun_altitude"]

#: the interpolation grid: 3 hours.  The geocentric vectors' shortest periods are the Moon's
#: (about 15 and 27 days), so a cubic over 3 hours is exact to far below 0.001" (measured
#: against astropy: see the README)
_STEP_NS = 3 * 3_600 * 10**9
_NS_PER_DAY = 86_400 * 10**9
_UNIX_MJD = 40_587.0
_AU_M = 149_597_870_700.0
_C_AU_PER_DAY = 173.1446326846693
#: obliquity of the ecliptic at J2000 (rad): the pole that tells waxing from waning
_EPS = np.radians(23.439291)
_ECL_POLE = np.array([0.0, -np.sin(_EPS), np.cos(_EPS)])


def mjd_utc(times: np.ndarray) -> np.ndarray:
    """UTC ``datetime64`` values as a float Modified Julian Date (about 10 µs resolution)."""
    ns = np.asarray(times, dtype="datetime64[ns]").view(np.int64)
    return ns / _NS_PER_DAY + _UNIX_MJD


def _tt_minus_utc_days(hours: np.ndarray) -> np.ndarray:
    """TT - UTC (32.184 s + leap seconds) in days, for each grid point (hours since 1970)."""
    days = np.unique(hours // 24)
    dt = np.asarray(days, dtype="datetime64[D]")
    ymd = dt.astype(object)
    years = np.array([d.year for d in ymd])
    months = np.array([d.month for d in ymd])
    dom = np.array([d.day for d in ymd])
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "dubious year": after the table, its last value holds
            dat = erfa.dat(years, months, dom, np.zeros(len(days)))
    per_day = (np.asarray(dat, dtype=float) + 32.184) / 86_400.0
    return per_day[np.searchsorted(days, hours // 24)]


@dataclass(frozen=True)
class _Grid:
    """CIRS (true equator, CIO) geocentric vectors of the Sun and the Moon, in AU, at
    ``hours`` (hours since 1970-01-01 UTC)."""

    hours: np.ndarray
    sun: np.ndarray   # (n, 3)
    moon: np.ndarray  # (n, 3)


def _grid(points: np.ndarray, moon: bool = True) -> _Grid:
    hours = points * (_STEP_NS // (3_600 * 10**9))
    utc = hours.astype(float) / 24.0 + _UNIX_MJD
    tt = utc + _tt_minus_utc_days(hours)
    d1 = np.full(len(tt), 2_400_000.5)
    pvh, pvb = erfa.epv00(d1, tt)
    # the Sun seen from the geocentre: minus the Earth's heliocentric position, with the
    # annual aberration (the direction shifted by the Earth's velocity over c)
    earth = pvh["p"] if pvh.dtype.names else pvh[..., 0, :]
    vel = pvb["v"] if pvb.dtype.names else pvb[..., 1, :]
    sun = -earth + np.linalg.norm(earth, axis=1)[:, None] * vel / _C_AU_PER_DAY
    c2i = erfa.c2i06a(d1, tt)
    sun = np.einsum("nij,nj->ni", c2i, sun)
    if moon:
        pv = erfa.moon98(d1, tt)
        mpos = pv["p"] if pv.dtype.names else pv[..., 0, :]
        moon_v = np.einsum("nij,nj->ni", c2i, mpos)
    else:
        moon_v = np.zeros_like(sun)
    return _Grid(hours, sun, moon_v)


def _interpolate(times_ns: np.ndarray, moon: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Sun and Moon CIRS vectors at each time: cubic Lagrange over the grid."""
    k = np.floor_divide(times_ns, _STEP_NS)
    u = (times_ns - k * _STEP_NS) / _STEP_NS
    needed = np.unique(np.concatenate([k - 1, k, k + 1, k + 2]))
    g = _grid(needed, moon)
    w = (-u * (u - 1) * (u - 2) / 6, (u + 1) * (u - 1) * (u - 2) / 2,
         -(u + 1) * u * (u - 2) / 2, (u + 1) * u * (u - 1) / 6)
    idx = np.searchsorted(needed, k)  # position of k; k-1 is idx-1 and so on
    sun = sum(w[j][:, None] * g.sun[idx + j - 1] for j in range(4))
    mn = sum(w[j][:, None] * g.moon[idx + j - 1] for j in range(4)) if moon else None
    return sun, mn


def _horizon(vec_cirs: np.ndarray, era: np.ndarray, observer: np.ndarray,
             lon: float, lat: float) -> tuple[np.ndarray, np.ndarray]:
    """Altitude and azimuth (degrees) of CIRS geocentric vectors (AU) seen from the observer
    (Earth-fixed geocentric position in AU) at Earth rotation angles ``era``."""
    c, s = np.cos(era), np.sin(era)
    x = c * vec_cirs[:, 0] + s * vec_cirs[:, 1] - observer[0]
    y = -s * vec_cirs[:, 0] + c * vec_cirs[:, 1] - observer[1]
    z = vec_cirs[:, 2] - observer[2]
    sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    east = -sl * x + cl * y
    north = -sp * cl * x - sp * sl * y + cp * z
    up = cp * cl * x + cp * sl * y + sp * z
    alt = np.degrees(np.arctan2(up, np.hypot(east, north)))
    az = np.degrees(np.arctan2(east, north)) % 360.0
    return alt, az


def _site(longitude: float, latitude: float, height_m: float) -> tuple[float, float, np.ndarray]:
    lon, lat = np.radians(float(longitude)), np.radians(float(latitude))
    xyz = np.asarray(erfa.gd2gc(1, lon, lat, float(height_m)), dtype=float) / _AU_M
    return lon, lat, xyz


def _era(times_ns: np.ndarray) -> np.ndarray:
    # UT1 = UTC; split the date so that the angle keeps its precision
    days = np.floor_divide(times_ns, _NS_PER_DAY)
    frac = (times_ns - days * _NS_PER_DAY) / _NS_PER_DAY
    return erfa.era00(np.full(len(times_ns), 2_400_000.5) + days.astype(float) + _UNIX_MJD, frac)


@dataclass(frozen=True)
class Bodies:
    """The Sun and the Moon at each time (degrees; the Moon's lit fraction 0..1)."""

    sun_alt: np.ndarray
    sun_az: np.ndarray
    moon_alt: np.ndarray
    moon_az: np.ndarray
    moon_illumination: np.ndarray
    moon_waxing: np.ndarray  # bool: the Moon east of the Sun (elongation growing)


def bodies(times: np.ndarray, longitude: float, latitude: float, height_m: float = 0.0) -> Bodies:
    """Topocentric Sun and Moon for UTC ``datetime64`` times seen from one site."""
    ns = np.asarray(times, dtype="datetime64[ns]").view(np.int64)
    if ns.size == 0:
        e = np.empty(0)
        return Bodies(e, e, e, e, e, np.empty(0, dtype=bool))
    lon, lat, obs = _site(longitude, latitude, height_m)
    sun, moon = _interpolate(ns)
    era = _era(ns)
    sun_alt, sun_az = _horizon(sun, era, obs, lon, lat)
    moon_alt, moon_az = _horizon(moon, era, obs, lon, lat)
    # illuminated fraction from the geocentric phase angle (Sun-Moon-Earth), as astropy does
    to_sun = sun - moon
    cos_i = np.einsum("ni,ni->n", to_sun, -moon) / (np.linalg.norm(to_sun, axis=1) * np.linalg.norm(moon, axis=1))
    lit = (1.0 + np.clip(cos_i, -1.0, 1.0)) / 2.0
    waxing = np.cross(sun, moon) @ _ECL_POLE > 0
    return Bodies(sun_alt, sun_az, moon_alt, moon_az, lit, waxing)


def sun_altitude(times: np.ndarray, longitude: float, latitude: float, height_m: float = 0.0) -> np.ndarray:
    """The Sun's geometric altitude (degrees) alone: what the twilight solver needs."""
    ns = np.asarray(times, dtype="datetime64[ns]").view(np.int64)
    lon, lat, obs = _site(longitude, latitude, height_m)
    sun, _ = _interpolate(ns, moon=False)
    return _horizon(sun, _era(ns), obs, lon, lat)[0]
