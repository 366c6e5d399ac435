"""The simulated fleet's timeline: a pure, seeded generator of messages in time order.

Why pure: the same seed gives the same messages whether they are published to a
broker, written to a file or checked by a test, and the publishing code only has
to pace and send them.  Nothing here reads a clock, sleeps or does I/O.

Every photometer publishes a reading every ``period`` seconds of simulated time at
its own second of the minute.  It registers when it boots (the first minute of the
run) and again on each life event, drawn per reading from :class:`EventRates`:
a reboot (sequence numbers restart at 0), a zero-point change (a registration
with new ``calib``), a rename (a new name for the same MAC) or a replacement (a new
device, so a new MAC, under the same name).  A small share of the readings is
replaced by a broken message (bad JSON, missing field, wrong type, or a
registration with a bad MAC).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from . import payloads
from .fleet import TESS4C_FIRMWARES, TESSW_FIRMWARES, Photometer, build_fleet, draw_zp, replacement_mac
from .sky import NIGHT_ALTITUDE, box_temperature, days_since_j2000, sky_brightness, sun_altitude
from .weather import (CLEAR_COVER, Cover, MoonTrack, Weather, cloud_shift, combine, curfew, moon_flux,
                      sky_minus_ambient)
from tessdb_core import BadValue

__all__ = ["EventRates", "FleetConfig", "SimEvent", "SkyTruth", "Weather", "events", "fleet_of", "REGISTER", "REBOOT", "ZP_CHANGE", "RENAME",
           "REPLACE", "READING", "REGISTRATION_KINDS", "MALFORMED_KINDS", "KINDS", "is_registration"]

REGISTER = "register"
REBOOT = "reboot"
ZP_CHANGE = "zp_change"
RENAME = "rename"
REPLACE = "replace"
READING = "reading"
#: kinds sent on the registration topic with a valid payload
REGISTRATION_KINDS = (REGISTER, REBOOT, ZP_CHANGE, RENAME, REPLACE)
MALFORMED_KINDS = payloads.MALFORMED_KINDS
KINDS = (READING, *REGISTRATION_KINDS, *MALFORMED_KINDS)
#: seconds between a device's boot (its registration) and its first reading
BOOT_SECONDS = 2


@dataclass(frozen=True, slots=True)
class EventRates:
    """How often each life event happens, per photometer and simulated day."""

    reboot: float = 0.2
    zp_change: float = 0.02
    rename: float = 0.01
    replace: float = 0.01


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """Everything that decides the messages: same config, same messages."""

    photometers: int
    #: naive UTC start of the simulated period (microseconds are dropped)
    start: datetime
    seed: int = 1
    tess4c_share: float = 0.1
    #: share of the readings replaced by a broken message
    malformed_rate: float = 0.001
    #: stop at this many simulated seconds after ``start`` (None: no limit)
    duration: float | None = None
    #: stop after this many readings, broken ones included (None: no limit)
    readings: int | None = None
    rates: EventRates = field(default_factory=EventRates)
    prefix: str = "STARS4ALL"
    #: the first photometer is ``stars<first_number>``
    first_number: int = 1
    #: seconds of simulated time between two readings of a photometer
    period: int = 60
    #: clouds and the Moon (``weather.CLEAR_SKY``: neither)
    weather: Weather = field(default_factory=Weather)


class SkyTruth(NamedTuple):
    """What the simulated sky really was at a reading: for tests and the demo, never sent."""

    sun_alt: float       # degrees
    moon_alt: float      # degrees (-90 when the weather has no Moon)
    moon_lit: float      # illuminated fraction 0..1
    cover: float         # cloud cover 0 (clear) .. 1 (overcast)
    sky: float           # the sky brightness before the sensor's noise, mag/arcsec^2

    @property
    def clear(self) -> bool:
        return self.cover < CLEAR_COVER

    @property
    def night(self) -> bool:
        """Astronomical night (the Sun below -18 degrees)."""
        return self.sun_alt <= NIGHT_ALTITUDE


class SimEvent(NamedTuple):
    """One message: when the device stamped it, where it goes, what it says."""

    time: datetime
    topic: str
    payload: str
    kind: str
    #: the simulated arrival time at a subscriber (``time`` plus network latency)
    received: datetime
    name: str
    #: the sky of a reading (None for other messages)
    truth: SkyTruth | None = None


def is_registration(kind: str) -> bool:
    return kind in REGISTRATION_KINDS or kind == "bad_mac"


class _Life:
    """Draws and applies the life events of the fleet's devices."""

    def __init__(self, cfg: FleetConfig, rng: random.Random):
        per_reading = cfg.period / 86400.0
        r = cfg.rates
        self.thresholds: list[tuple[float, str]] = []
        total = 0.0
        for kind, rate in ((REBOOT, r.reboot), (ZP_CHANGE, r.zp_change), (RENAME, r.rename), (REPLACE, r.replace)):
            total += rate * per_reading
            self.thresholds.append((total, kind))
        self.rng = rng
        self.next_number = cfg.first_number + cfg.photometers
        self.replacements = (cfg.seed * 7919) & 0xFFFFFF

    def draw(self) -> str | None:
        x = self.rng.random()
        for limit, kind in self.thresholds:
            if x < limit:
                return kind
        return None

    def apply(self, p: Photometer, kind: str) -> None:
        rng = self.rng
        if kind == ZP_CHANGE:
            p.zp = tuple(round(min(25.0, max(15.0, zp + rng.choice((-1, 1)) * rng.uniform(0.02, 0.25))), 2)
                         for zp in p.zp)
        elif kind == RENAME:
            p.name = f"stars{self.next_number}"
            self.next_number += 1
        elif kind == REPLACE:
            p.mac = replacement_mac(self.replacements)
            self.replacements = (self.replacements + 1) & 0xFFFFFF
            p.zp = draw_zp(rng, p.four)
            p.firmware = rng.choice(TESS4C_FIRMWARES if p.four else TESSW_FIRMWARES)
            p.sends_hash = rng.random() < 0.5
        p.seq = 0


def _fleet(cfg: FleetConfig, rng: random.Random) -> list[Photometer]:
    return build_fleet(cfg.photometers, rng, cfg.tess4c_share, cfg.first_number)


def fleet_of(cfg: FleetConfig) -> list[Photometer]:
    """The photometers as they are when ``events(cfg)`` starts (sites, models, first names)."""
    return _fleet(cfg, random.Random(cfg.seed))


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def events(cfg: FleetConfig) -> Iterator[SimEvent]:
    """The fleet's messages in time order, until ``cfg.duration`` or ``cfg.readings`` (or forever)."""
    if cfg.photometers < 1:
        raise BadValue("a fleet needs at least one photometer")
    if cfg.readings is not None and cfg.readings <= 0:
        return
    rng = random.Random(cfg.seed)
    fleet = _fleet(cfg, rng)
    order = sorted(fleet, key=lambda p: (p.phase, p.index))
    life = _Life(cfg, rng)
    start = cfg.start.replace(microsecond=0)
    day0 = days_since_j2000(start)
    register_topic = f"{cfg.prefix}/register"
    end = cfg.duration
    limit = cfg.readings
    malformed_rate = cfg.malformed_rate
    covers = {p.index: Cover(cfg.weather, cfg.seed, p.index, p.site.longitude) for p in fleet}
    moons = {p.index: MoonTrack(p.site.longitude, p.site.latitude) for p in fleet} if cfg.weather.moon else {}
    made = 0
    slot = 0
    while True:
        batch: list[tuple[float, SimEvent]] = []
        done = False
        for p in order:
            offset = slot * cfg.period + p.phase
            if end is not None and offset >= end:
                done = True
                break
            kind = REGISTER if slot == 0 else life.draw()
            reg_payload = None
            if kind is not None:
                life.apply(p, kind)
                boot = start + timedelta(seconds=offset - BOOT_SECONDS)
                reg_payload = payloads.registration(p, _stamp(boot))
                batch.append((offset - BOOT_SECONDS, SimEvent(
                    boot, register_topic, payloads.dumps(reg_payload), kind,
                    boot + timedelta(milliseconds=rng.randint(40, 900)), p.name)))
            days = day0 + offset / 86400.0
            site = p.site
            sun = sun_altitude(days, site.longitude, site.latitude)
            when = start + timedelta(seconds=offset)
            cover = covers[p.index].at(days)
            moon_alt, lit = moons[p.index].at(days) if moons else (-90.0, 0.0)
            night_sky = site.dark + curfew(days, site.longitude, site.dark) + cover * cloud_shift(site.dark)
            sky = combine(sky_brightness(sun, night_sky), moon_flux(moon_alt, lit), cover)
            truth = SkyTruth(sun, moon_alt, lit, cover, sky)
            body = payloads.reading(p, _stamp(when), sky, sun, box_temperature(days, site.longitude, site.latitude),
                                    rng, sky_minus_ambient(site.sky_delta, cover), cover)
            topic = f"{cfg.prefix}/{p.name}/reading"
            what = READING
            if malformed_rate and rng.random() < malformed_rate:
                what = rng.choice(MALFORMED_KINDS)
                if reg_payload is None:
                    reg_payload = payloads.registration(p, _stamp(when))
                as_registration, text = payloads.malformed(what, body, reg_payload, rng)
                if as_registration:
                    topic = register_topic
            else:
                text = payloads.dumps(body)
            batch.append((offset, SimEvent(when, topic, text, what,
                                           when + timedelta(milliseconds=rng.randint(40, 900)), p.name,
                                           truth if what == READING else None)))
            p.seq += 1
            made += 1
            if limit is not None and made >= limit:
                done = True
                break
        batch.sort(key=lambda item: item[0])
        for _, event in batch:
            yield event
        if done:
            return
        slot += 1
