"""The sky around each reading: Sun, Moon, sky state and the night it belongs to.

Pure and vectorised: ``sky_context`` takes a numpy array of UTC times and one site and
returns numpy columns (one value per time).  It never touches a database: callers query
the readings, then compute the context for each site's run of readings (see README.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .ephemeris import bodies, sun_altitude

__all__ = ["SKY_STATES", "STATE_LEVELS", "SUNSET_ALTITUDE", "TWILIGHT_ALTITUDES", "MOON_UP_ALTITUDE", "SkyContext",
           "TwilightEdges", "night_of", "sky_context", "sky_state", "sky_state_spans", "site_timezone",
           "sun_crossings", "twilight_edges"]

#: the sky states, from the Sun's geometric altitude (degrees) of the disc's centre:
#: ``day`` above SUNSET_ALTITUDE, ``civil`` down to -6, ``nautical`` to -12,
#: ``astronomical`` to -18, ``night`` below; ``unknown`` without a site
SKY_STATES = ("day", "civil", "nautical", "astronomical", "night", "unknown")
#: sunrise / sunset as almanacs give them: the upper limb on the horizon with the standard
#: refraction (34') and semi-diameter (16')
SUNSET_ALTITUDE = -0.833
#: the lower edge of each twilight (degrees)
TWILIGHT_ALTITUDES = {"civil": -6.0, "nautical": -12.0, "astronomical": -18.0}
#: the Moon counts as up when its centre is above this geometric altitude (degrees)
MOON_UP_ALTITUDE = 0.0
_EDGES = np.array([-18.0, -12.0, -6.0, SUNSET_ALTITUDE])  # ascending, for searchsorted
_STATE_BY_BIN = np.array(["night", "astronomical", "nautical", "civil", "day"])
_HOUR_NS = 3_600 * 10**9


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def site_timezone(longitude: float, latitude: float) -> str:
    """The IANA time zone at a place (timezonefinder, offline); ``Etc/UTC`` at sea."""
    from timezonefinder import TimezoneFinder

    return _finder(TimezoneFinder).timezone_at(lng=float(longitude), lat=float(latitude)) or "Etc/UTC"


_FINDER: list = []


def _finder(cls):
    if not _FINDER:
        _FINDER.append(cls())
    return _FINDER[0]


def sky_state(sun_alt: np.ndarray) -> np.ndarray:
    """``day`` / ``civil`` / ``nautical`` / ``astronomical`` / ``night`` from the Sun's
    altitude (degrees); ``unknown`` where it is NaN (no site)."""
    alt = np.asarray(sun_alt, dtype=float)
    out = _STATE_BY_BIN[np.searchsorted(_EDGES, np.nan_to_num(alt, nan=0.0), side="right")].astype(object)
    out[np.isnan(alt)] = "unknown"
    return out


def _utc_offsets_ns(ns: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """The zone's UTC offset (ns) at each time, looked up once per quarter-hour touched
    (every offset in use changes on a whole quarter-hour)."""
    quarter = 900 * 10**9
    q = np.floor_divide(ns, quarter)
    uq, inv = np.unique(q, return_inverse=True)
    offs = np.array([datetime.fromtimestamp(int(v) * 900, timezone.utc).astimezone(tz).utcoffset()
                     // timedelta(microseconds=1) * 1000 for v in uq], dtype=np.int64)
    return offs[inv]


def night_of(times: np.ndarray, tz: str | ZoneInfo | None) -> np.ndarray:
    """The night each UTC time belongs to: the local date of its evening, i.e. the local
    date 12 hours earlier (a night runs from local noon to the next local noon).  Without
    a zone (a reading at location -1, site unknown) nights are split at UTC noon."""
    ns = np.asarray(times, dtype="datetime64[ns]").view(np.int64)
    if tz is not None:
        zone = tz if isinstance(tz, ZoneInfo) else _zone(tz)
        ns = ns + _utc_offsets_ns(ns, zone)
    return (ns - 12 * _HOUR_NS).astype("datetime64[ns]").astype("datetime64[D]")


@dataclass(frozen=True)
class SkyContext:
    """One value per reading.  Angles in degrees; NaN (and ``unknown``) where the site is not
    known.  Column names (``columns()``) are the stable public names."""

    sun_alt: np.ndarray
    sun_az: np.ndarray
    moon_alt: np.ndarray
    moon_az: np.ndarray
    moon_illumination: np.ndarray   # 0..1, the lit fraction of the disc
    moon_waxing: np.ndarray         # bool (False where unknown)
    moon_up: np.ndarray             # bool: centre above MOON_UP_ALTITUDE
    sky_state: np.ndarray           # object array of SKY_STATES
    night: np.ndarray               # datetime64[D]: the local date of the evening
    site_known: np.ndarray          # bool: False for location -1 (nights split at UTC noon)

    def columns(self) -> dict[str, np.ndarray]:
        """The columns by their public names (as in exports): ``sun_alt`` ... ``site_known``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __len__(self) -> int:
        return len(self.sun_alt)


def sky_context(times: np.ndarray, longitude: float | None, latitude: float | None,
                height_m: float | None = 0.0, timezone: str | None = None) -> SkyContext:
    """Sun, Moon, sky state and night for every UTC time (``datetime64``, any unit) at one site.

    ``timezone``: the site's IANA zone (``location_t.timezone``); found from the coordinates
    when None.  ``longitude`` / ``latitude`` None (location -1, or a location without
    coordinates): angles NaN, states ``unknown``, ``site_known`` False, and nights split at
    noon of ``timezone`` (UTC when None, as for location -1).
    """
    t = np.asarray(times, dtype="datetime64[ns]")
    n = len(t)
    if longitude is None or latitude is None:
        nan = np.full(n, np.nan)
        false = np.zeros(n, dtype=bool)
        return SkyContext(nan, nan.copy(), nan.copy(), nan.copy(), nan.copy(), false, false.copy(),
                          np.full(n, "unknown", dtype=object), night_of(t, timezone), false.copy())
    b = bodies(t, longitude, latitude, height_m or 0.0)
    zone = timezone or site_timezone(float(longitude), float(latitude))
    return SkyContext(b.sun_alt, b.sun_az, b.moon_alt, b.moon_az, b.moon_illumination, b.moon_waxing,
                      b.moon_alt > MOON_UP_ALTITUDE, sky_state(b.sun_alt), night_of(t, zone),
                      np.ones(n, dtype=bool))


@dataclass(frozen=True)
class TwilightEdges:
    """When the Sun crosses each altitude in one night (aware UTC datetimes; None when it
    does not cross it that night: a polar summer or winter)."""

    night: date
    timezone: str
    since: datetime   # local noon of the evening, UTC
    until: datetime   # local noon of the next day, UTC
    #: name -> (evening crossing, morning crossing); names: sunset, civil, nautical, astronomical
    edges: dict[str, tuple[datetime | None, datetime | None]]

    def evening(self, name: str) -> datetime | None:
        return self.edges[name][0]

    def morning(self, name: str) -> datetime | None:
        return self.edges[name][1]


def _noon(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=zone).astimezone(timezone.utc)


#: the Sun's altitude levels between the sky states (degrees), in order from day to night
STATE_LEVELS = {"sunset": SUNSET_ALTITUDE, **TWILIGHT_ALTITUDES}


def _minutes(since: datetime, until: datetime) -> np.ndarray:
    start = np.datetime64(since.astimezone(timezone.utc).replace(tzinfo=None), "ns")
    n = int((until - since) / timedelta(minutes=1))
    return start + np.arange(n + 1) * np.timedelta64(60, "s")


def sun_crossings(since: datetime, until: datetime, longitude: float, latitude: float,
                  height_m: float | None = 0.0) -> list[tuple[datetime, str, bool]]:
    """Every time in [since, until] (aware datetimes) the Sun crosses a level of
    ``STATE_LEVELS``: (when, level name, rising), in time order.

    The Sun's altitude is computed every minute and each crossing placed by linear
    interpolation between its two minutes (the altitude is straight to far below a second
    over a minute; tested within a minute of astropy)."""
    alt = sun_altitude(_minutes(since, until), longitude, latitude, height_m or 0.0)
    out: list[tuple[datetime, str, bool]] = []
    for name, level in STATE_LEVELS.items():
        d = alt - level
        for i in np.nonzero(np.signbit(d[:-1]) != np.signbit(d[1:]))[0]:
            when = since + timedelta(minutes=float(i + d[i] / (d[i] - d[i + 1])))
            out.append((when, name, bool(d[i] < d[i + 1])))
    out.sort(key=lambda c: c[0])
    return out


def sky_state_spans(since: datetime, until: datetime, longitude: float, latitude: float,
                    height_m: float | None = 0.0) -> list[tuple[str, datetime, datetime]]:
    """[since, until) (aware datetimes) cut into runs of one sky state: (state, start, end),
    in time order, each end the exact crossing (``sun_crossings``) where the state changes."""
    cuts = [since] + [c[0] for c in sun_crossings(since, until, longitude, latitude, height_m)] + [until]
    mids = [a + (b - a) / 2 for a, b in zip(cuts, cuts[1:])]
    t = np.array([m.astimezone(timezone.utc).replace(tzinfo=None) for m in mids], dtype="datetime64[ns]")
    states = sky_state(sun_altitude(t, longitude, latitude, height_m or 0.0)) if len(t) else []
    spans: list[tuple[str, datetime, datetime]] = []
    for state, a, b in zip(states, cuts, cuts[1:]):
        if b <= a:
            continue
        if spans and spans[-1][0] == state:
            spans[-1] = (state, spans[-1][1], b)
        else:
            spans.append((str(state), a, b))
    return spans


def twilight_edges(night: date, longitude: float, latitude: float, height_m: float | None = 0.0,
                   timezone_name: str | None = None) -> TwilightEdges:
    """Sunset, the ends of civil / nautical / astronomical twilight in the evening and their
    starts in the morning, for the night whose evening is ``night`` (local noon to noon):
    the first setting and the last rising crossing of each level (``sun_crossings``)."""
    zone_name = timezone_name or site_timezone(float(longitude), float(latitude))
    zone = _zone(zone_name)
    since, until = _noon(night, zone), _noon(night + timedelta(days=1), zone)
    crossings = sun_crossings(since, until, longitude, latitude, height_m)
    edges: dict[str, tuple[datetime | None, datetime | None]] = {}
    for name in STATE_LEVELS:
        down = [c[0] for c in crossings if c[1] == name and not c[2]]
        up = [c[0] for c in crossings if c[1] == name and c[2]]
        edges[name] = (down[0] if down else None, up[-1] if up else None)
    return TwilightEdges(night, zone_name, since, until, edges)
