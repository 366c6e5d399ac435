"""The simulated weather: how cloudy each photometer's sky is, minute by minute, and what
clouds and the Moon do to the brightness and the infrared sky temperature.

Why a separate seeded stream per photometer and night: the cloud cover is then a pure
function of (seed, photometer, time), the same whatever else the generator draws, so a
test or the demo can ask for the truth of any reading without replaying the run, and
adding clouds did not change the draws the rest of the simulator makes.

The physics, deliberately simple and documented in docs/operations.md:

* a night (local solar noon to noon) is clear, overcast or partly cloudy (shares in
  :class:`Weather`); on a partly cloudy night the sky overhead is a gap (cover 0) or under
  a cloud (0.85-1), and may change every 20 minutes, the change taking those 20 minutes;
* clouds reflect a city's light back down and hide a dark site's stars: the moonless
  sky under full cover is ``cloud_shift(dark)`` magnitudes brighter (negative) over a
  light-polluted site and fainter (positive) over a dark one (Kyba et al. 2011 measured
  up to ~10x amplification in cities, and darkening at rural sites);
* the Moon adds light: a full Moon at the zenith alone makes a sky of
  ``FULL_MOON_ZENITH`` mag/arcsec^2, scaled by the sine of its altitude and by the lit
  fraction cubed (a quarter Moon is ~2.3 mag fainter than a full one); clouds halve it;
* the infrared sensor sees a cold clear sky (``site.sky_delta`` below the enclosure) and
  an overcast sky nearly as warm as the enclosure (``OVERCAST_DELTA``);
* a light-polluted sky darkens through the night as lights go off: ``curfew`` adds up to
  ``CURFEW_MAG`` x (how polluted the site is) between 22:00 and 02:00 local solar time
  (what gives the year plot's jellyfish its slope).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["Weather", "CLEAR_SKY", "Cover", "MoonTrack", "cloud_shift", "curfew", "CURFEW_MAG", "moon_flux", "combine", "sky_minus_ambient",
           "FULL_MOON_ZENITH", "OVERCAST_DELTA", "CLEAR_COVER", "KNOT_MINUTES"]

#: sky brightness of a full Moon at the zenith on its own, mag/arcsec^2
FULL_MOON_ZENITH = 17.8
#: sky minus enclosure temperature under full cover, deg C (a low cloud deck is nearly as warm
#: as the air: all-sky infrared sensors call "overcast" above about -1)
OVERCAST_DELTA = -0.4
#: a reading whose cover is below this is "clear" in the truth
CLEAR_COVER = 0.05
#: minutes between two drawn cover values of a partly cloudy night
KNOT_MINUTES = 20
#: the chance that the sky overhead changes (gap <-> cloud) from one knot to the next
PARTLY_SWITCH = 0.3
_KNOTS = 24 * 60 // KNOT_MINUTES + 1


@dataclass(frozen=True, slots=True)
class Weather:
    """What the fleet's skies do: the share of clear and overcast nights (the rest partly
    cloudy) and whether the Moon shines."""

    clear: float = 0.5
    overcast: float = 0.25
    moon: bool = True


#: no cloud, no Moon: the sky of the simulator before it had weather
CLEAR_SKY = Weather(clear=1.0, overcast=0.0, moon=False)


def cloud_shift(dark: float) -> float:
    """Magnitudes added to a moonless night sky of ``dark`` mag/arcsec^2 under full cover:
    -2.0 over a city sky (17.0), 0 near 20.5, +0.6 over a pristine one (21.5)."""
    return -2.0 + (dark - 17.0) * (2.6 / 4.5)


#: how much darker the most light-polluted sky gets after midnight, mag
CURFEW_MAG = 0.4


def curfew(days: float, longitude: float, dark: float) -> float:
    """Magnitudes added to a sky of ``dark`` as the night goes on: 0 before 22:00 local solar
    time, rising to CURFEW_MAG x (21.5 - dark) / 4.5 at 02:00 and staying there until noon."""
    hour = ((days + 0.5) * 24.0 + longitude / 15.0) % 24.0
    ramp = min(1.0, max(0.0, (hour - 22.0) / 4.0)) if hour >= 12.0 else min(1.0, (hour + 2.0) / 4.0)
    return CURFEW_MAG * max(0.0, 21.5 - dark) / 4.5 * ramp


def moon_flux(moon_alt: float, lit: float) -> float:
    """The Moon's light on the zenith sky, in the flux units of 10^(-0.4 mag)."""
    if moon_alt <= 0.0 or lit <= 0.0:
        return 0.0
    return 10 ** (-0.4 * FULL_MOON_ZENITH) * lit ** 3 * math.sin(math.radians(moon_alt))


def combine(sky_mag: float, moon: float, cover: float) -> float:
    """The sky of ``sky_mag`` (Sun, site and clouds) plus the Moon's flux, dimmed by the cover."""
    return -2.5 * math.log10(10 ** (-0.4 * sky_mag) + moon * (1.0 - 0.5 * cover))


def sky_minus_ambient(clear_delta: float, cover: float) -> float:
    """Infrared sky minus enclosure temperature (deg C, before noise) under ``cover``."""
    return clear_delta * (1.0 - cover) + OVERCAST_DELTA * cover


class Cover:
    """The cloud cover (0 clear .. 1 overcast) of one photometer's sky at any time."""

    def __init__(self, weather: Weather, seed: int, index: int, longitude: float) -> None:
        self.weather = weather
        self.seed = seed
        self.index = index
        self.offset = longitude / 360.0  # local solar noon, in days after noon UTC
        self._night: int | None = None
        self._knots: list[float] = []

    def _draw(self, night: int) -> list[float]:
        rng = random.Random(f"{self.seed}/{self.index}/{night}")
        w = self.weather
        x = rng.random()
        if x < w.clear:
            return [0.0] * _KNOTS
        if x < w.clear + w.overcast:
            return [rng.uniform(0.85, 1.0) for _ in range(_KNOTS)]
        # broken clouds: the photometer's narrow field (17 degrees) is either in a gap or under a
        # cloud; every 20 minutes the sky overhead may change, the change taking those 20 minutes
        cloudy, knots = rng.random() < 0.5, []
        for _ in range(_KNOTS):
            knots.append(rng.uniform(0.85, 1.0) if cloudy else 0.0)
            if rng.random() < PARTLY_SWITCH:
                cloudy = not cloudy
        return knots

    def at(self, days: float) -> float:
        """The cover ``days`` after J2000 (days_since_j2000 of the time)."""
        local = days + self.offset
        night = math.floor(local)
        if night != self._night:
            self._night, self._knots = night, self._draw(night)
        pos = (local - night) * (_KNOTS - 1)
        i = min(int(pos), _KNOTS - 2)
        f = pos - i
        return self._knots[i] * (1.0 - f) + self._knots[i + 1] * f


class MoonTrack:
    """The Moon's altitude and lit fraction over one site, computed a day at a time on a
    ``MOON_STEP_MINUTES`` grid and interpolated (the Moon moves ~0.25 degree a minute)."""

    MOON_STEP_MINUTES = 10

    def __init__(self, longitude: float, latitude: float) -> None:
        self.longitude, self.latitude = longitude, latitude
        self._day: int | None = None
        self._alt: list[float] = []
        self._lit: list[float] = []

    def _fill(self, day: int) -> None:
        from .moon import moon_on_grid

        n = 24 * 60 // self.MOON_STEP_MINUTES + 1
        self._alt, self._lit = moon_on_grid(self.longitude, self.latitude, float(day), n,
                                            self.MOON_STEP_MINUTES / 1440.0)
        self._day = day

    def at(self, days: float) -> tuple[float, float]:
        """(altitude in degrees, lit fraction) ``days`` after J2000."""
        day = math.floor(days)
        if day != self._day:
            self._fill(day)
        pos = (days - day) * 1440.0 / self.MOON_STEP_MINUTES
        i = min(int(pos), len(self._alt) - 2)
        f = pos - i
        return (self._alt[i] * (1.0 - f) + self._alt[i + 1] * f, self._lit[i] * (1.0 - f) + self._lit[i + 1] * f)
