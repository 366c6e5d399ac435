"""The simulated photometers: their sites, identities and the state that changes over time.

Why names and MACs come from the photometer's index and not from the seed: two
runs against the same database (another seed, another night) then speak about the
same instruments, as a real network does.  Everything else (site, sky, zero
points, model, phase within the minute) is drawn from the seeded generator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Site", "Photometer", "build_fleet", "mac_of", "replacement_mac", "hash_of",
           "TESS4C_BANDS", "TESSW_FIRMWARES", "TESS4C_FIRMWARES", "LONGITUDES", "LATITUDES"]

#: the area the sites are spread over (Europe and the Canaries), degrees
LONGITUDES = (-18.0, 30.0)
LATITUDES = (28.0, 62.0)
#: the four TESS4C channels: band and how much fainter than the clear channel they read
TESS4C_BANDS = (("UV/IR-740", 0.0), ("R", 0.35), ("G", 0.15), ("B", 0.45))
#: (firmware, compilation date) pairs a device may run
TESSW_FIRMWARES = (("1.2.1", "Mar 14 2022"), ("1.3.0", "Nov 27 2023"), ("1.3.2", "Jun 02 2025"))
TESS4C_FIRMWARES = (("4c-1.0.4", "Feb 10 2024"), ("4c-1.1.0", "Sep 19 2025"))


@dataclass(slots=True, frozen=True)
class Site:
    """Where a photometer stands and how dark its moonless night sky is."""

    longitude: float
    latitude: float
    #: moonless night sky brightness, mag/arcsec^2 (17 city .. 21.5 pristine)
    dark: float
    #: sky minus box temperature on a clear night, deg C (negative)
    sky_delta: float


@dataclass(slots=True)
class Photometer:
    """One device on one site; the mutable fields change with reboots, renames and replacements."""

    index: int
    site: Site
    four: bool
    #: second of each minute at which it publishes (2..59, so its boot fits in the minute)
    phase: int
    name: str
    mac: str
    zp: tuple[float, ...]
    firmware: tuple[str, str]
    #: typical signal strength, dBm
    wdbm: int
    #: whether its readings carry the ``hash`` field (newer firmware)
    sends_hash: bool
    seq: int = 0

    @property
    def model(self) -> str:
        return "TESS4C" if self.four else "TESS-W"


def mac_of(index: int) -> str:
    """The MAC of original device ``index`` (an Espressif prefix, the index in the last three bytes)."""
    return "5C:CF:7F:{:02X}:{:02X}:{:02X}".format(index >> 16 & 255, index >> 8 & 255, index & 255)


def replacement_mac(count: int) -> str:
    """The MAC of the ``count``-th replacement device of a run (another prefix, never an original)."""
    return "A4:CF:12:{:02X}:{:02X}:{:02X}".format(count >> 16 & 255, count >> 8 & 255, count & 255)


def hash_of(mac: str) -> str:
    """The reading ``hash``: the last three hex digits of the MAC."""
    return mac.replace(":", "")[-3:]


def draw_zp(rng: random.Random, four: bool) -> tuple[float, ...]:
    """Zero points of a freshly calibrated device."""
    if four:
        return tuple(round(rng.uniform(19.6, 20.6), 2) for _ in range(4))
    return (round(rng.uniform(20.0, 20.9), 2),)


def draw_site(rng: random.Random) -> Site:
    # most sites are suburban: skew the darkness towards the middle of the range
    dark = round(17.3 + 4.0 * rng.betavariate(2.5, 2.0), 2)
    return Site(round(rng.uniform(*LONGITUDES), 4), round(rng.uniform(*LATITUDES), 4), dark,
                round(rng.uniform(-24.0, -14.0), 1))


def build_fleet(count: int, rng: random.Random, tess4c_share: float, first_number: int = 1) -> list[Photometer]:
    """``count`` photometers named ``stars<first_number + i>``; exactly round(count * share) are TESS4C."""
    fours = set(rng.sample(range(count), round(count * tess4c_share)))
    fleet = []
    for i in range(count):
        four = i in fours
        fleet.append(Photometer(
            index=i, site=draw_site(rng), four=four, phase=rng.randint(2, 59),
            name=f"stars{first_number + i}", mac=mac_of(i), zp=draw_zp(rng, four),
            firmware=rng.choice(TESS4C_FIRMWARES if four else TESSW_FIRMWARES),
            wdbm=rng.randint(-88, -45), sends_hash=rng.random() < 0.5,
        ))
    return fleet
