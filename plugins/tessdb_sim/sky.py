"""What a photometer on a site sees: the Sun's altitude, the sky brightness, temperatures.

Why a closed-form solar position instead of ``ephem``: the generator asks for the
Sun's altitude once per reading (a million times for a benchmark), and the low-
precision formula of the Astronomical Almanac is accurate to about 0.01 degree,
far below what decides "day" or "night".  Everything here is a pure function of
time and place; noise is added by the caller with its own seeded generator.
"""

from __future__ import annotations

import math
from datetime import datetime

__all__ = ["J2000", "days_since_j2000", "sun_altitude", "sky_brightness", "box_temperature",
           "NIGHT_ALTITUDE", "DAY_ALTITUDE", "DARKEST", "BRIGHTEST_NIGHT", "DARKEST_CLOUDY"]

#: 2000-01-01 12:00 UTC, the epoch of the solar formulae
J2000 = datetime(2000, 1, 1, 12, 0, 0)
#: Sun altitude below which the sky is fully dark (astronomical night), degrees
NIGHT_ALTITUDE = -18.0
#: Sun altitude above which every photometer is saturated, degrees
DAY_ALTITUDE = 0.0
#: the darkest and brightest moonless, clear night skies of the simulated sites, mag/arcsec^2
DARKEST = 21.5
BRIGHTEST_NIGHT = 17.0
#: the darkest sky a reading reports: a pristine site under thick clouds, mag/arcsec^2
DARKEST_CLOUDY = 22.5
#: sky brightness at the end of civil twilight (Sun at -6 degrees), mag/arcsec^2
_CIVIL = 11.0
#: how fast the sky brightens between civil twilight and sunrise, mag per degree
_DAWN_SLOPE = 7.0 / 6.0

_RAD = math.pi / 180.0


def days_since_j2000(t: datetime) -> float:
    """Days (with fraction) from J2000 to naive UTC ``t``."""
    return (t - J2000).total_seconds() / 86400.0


def sun_altitude(days: float, longitude: float, latitude: float) -> float:
    """Altitude of the Sun's centre in degrees, ``days`` after J2000, at a site (East positive)."""
    g = (357.529 + 0.98560028 * days) * _RAD          # mean anomaly
    q = 280.459 + 0.98564736 * days                    # mean longitude, degrees
    ecl = (q + 1.915 * math.sin(g) + 0.020 * math.sin(2 * g)) * _RAD
    eps = (23.439 - 0.00000036 * days) * _RAD
    sin_ecl = math.sin(ecl)
    ra = math.atan2(math.cos(eps) * sin_ecl, math.cos(ecl))
    dec = math.asin(math.sin(eps) * sin_ecl)
    gmst = 280.46061837 + 360.98564736629 * days      # degrees
    hour_angle = (gmst + longitude) * _RAD - ra
    lat = latitude * _RAD
    s = math.sin(lat) * math.sin(dec) + math.cos(lat) * math.cos(dec) * math.cos(hour_angle)
    return math.asin(max(-1.0, min(1.0, s))) / _RAD


def sky_brightness(sun_alt: float, dark: float) -> float:
    """Sky brightness (mag/arcsec^2, before noise) under a Sun at ``sun_alt`` at a site
    whose moonless night sky is ``dark``: constant at night, a linear twilight ramp to
    the civil-twilight value, then a steep rise that saturates every sensor by sunrise."""
    if sun_alt <= NIGHT_ALTITUDE:
        return dark
    if sun_alt <= -6.0:
        return dark - (dark - _CIVIL) * (sun_alt - NIGHT_ALTITUDE) / 12.0
    return _CIVIL - _DAWN_SLOPE * (sun_alt + 6.0)


def box_temperature(days: float, longitude: float, latitude: float) -> float:
    """Enclosure temperature (deg C, before noise): a seasonal mean colder to the north and a
    daily cycle peaking at 15:00 local solar time (the box also warms in the sun)."""
    day_of_year = (days + 0.5) % 365.25
    season = 9.0 * math.cos(2 * math.pi * (day_of_year - 200.0) / 365.25)
    mean = 14.0 - 0.45 * (latitude - 40.0) + season
    solar_hour = ((days + 0.5) * 24.0 + longitude / 15.0) % 24.0
    return mean + 6.0 * math.cos(2 * math.pi * (solar_hour - 15.0) / 24.0)
