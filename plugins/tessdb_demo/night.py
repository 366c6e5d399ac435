"""The night the demo simulates and the photometer it shows (pure, except the time-zone look-up).

Why the night is centred on local midnight: ``--hours 16`` is the operator's usual
16:00 -> 08:00, and a short night (``--hours 3``, the tests) is still dark, so
something is stored whatever the season.  "Local" is the time zone of the site of
the photometer the demo plots: that is the clock its night plot is drawn in.

Why one photometer is set up by the operator beforehand: a photometer that
registers itself is created at the unknown location (-1, no coordinates), and a
night plot needs the site's coordinates for the Sun and the Moon.  So the demo
does what an operator does for a new station: it creates the site and the
instrument (same name, MAC, zero points and filters as the device will send),
and the device's own registration then only confirms it.  Every other
photometer registers itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from tessdb_sim.fleet import TESS4C_BANDS, Photometer

__all__ = ["Night", "night_of", "last_ended_night", "tess4c_share", "malformed_rate", "showcase", "site_zone",
           "filters_of", "WALL_SECONDS", "MALFORMED_TARGET"]

#: wall-clock seconds the simulated night takes when --speed is not given
WALL_SECONDS = 40.0
#: about this many broken messages in a run, whatever its size ("a few")
MALFORMED_TARGET = 20


@dataclass(frozen=True, slots=True)
class Night:
    """A night of ``hours`` centred on local midnight after the evening of ``day``."""

    day: date        # the evening's local date (what `plot night --date` takes)
    tz: str          # IANA time zone of the site
    start: datetime  # naive UTC
    end: datetime    # naive UTC
    hours: float

    def local(self, t: datetime) -> datetime:
        return t.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(self.tz))

    def describe(self) -> str:
        a, b = self.local(self.start), self.local(self.end)
        return f"{self.day.isoformat()}, {a:%H:%M} to {b:%H:%M} {self.tz}"


def _midnight_after(day: date, tz: str) -> datetime:
    """Naive UTC of local midnight at the end of ``day``."""
    local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(tz))
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def night_of(day: date, tz: str, hours: float) -> Night:
    midnight = _midnight_after(day, tz)
    half = timedelta(seconds=round(hours * 1800))
    return Night(day, tz, midnight - half, midnight + half, hours)


def last_ended_night(now: datetime, tz: str, hours: float) -> date:
    """The evening date of the latest night of ``hours`` that has ended by ``now`` (naive UTC)."""
    local_now = now.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
    day = (local_now - timedelta(hours=hours / 2)).date() - timedelta(days=1)
    while night_of(day + timedelta(days=1), tz, hours).end <= now:  # DST edges
        day += timedelta(days=1)
    while night_of(day, tz, hours).end > now:
        day -= timedelta(days=1)
    return day


def tess4c_share(photometers: int) -> float:
    """The simulator's default 10 %, but at least one TESS4C (it makes exactly round(n * share))."""
    return max(0.1, 1.0 / photometers)


def malformed_rate(photometers: int, hours: float, period: int = 60) -> float:
    """A share of broken readings that gives about ``MALFORMED_TARGET`` of them in the run."""
    readings = photometers * hours * 3600 / period
    return min(0.05, max(0.001, MALFORMED_TARGET / readings))


def showcase(fleet: list[Photometer]) -> Photometer:
    """The photometer the operator sets up and the demo plots: the first TESS4C (four curves)."""
    return next((p for p in fleet if p.four), fleet[0])


def site_zone(p: Photometer) -> str:
    """The IANA time zone of the photometer's site, found offline (as `location create` does)."""
    from timezonefinder import TimezoneFinder

    return TimezoneFinder().timezone_at(lng=p.site.longitude, lat=p.site.latitude) or "Etc/UTC"


def filters_of(p: Photometer) -> list[str]:
    return [band for band, _ in TESS4C_BANDS] if p.four else ["UV/IR-740"]
