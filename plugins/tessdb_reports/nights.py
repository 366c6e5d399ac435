"""Night summaries: one row per photometer and night (``report nights``, the web's nights).

    from tessdb_reports.nights import night_summaries, NIGHT_COLUMNS
    for row in night_summaries(queries, ["stars1"], date(2026, 1, 1), date(2026, 12, 31)):
        ...

``queries`` is the store's ``ReportQueries`` (``app.queries(ReportQueries, store)``).
Rows come one photometer after the other, nights in order, as plain dicts with the keys
``NIGHT_COLUMNS`` (JSON-ready values: floats rounded, None where there is nothing).  They are
computed a chunk of ``CHUNK_NIGHTS`` nights at a time, so memory stays that of one chunk of
one photometer whatever the period or the number of photometers.

The science (Sun, Moon, sky state, the night a reading belongs to, the cloud verdict) is the
sky library's (``tessdb_sky``); this module only counts, takes percentiles and names the
night.  docs/reports.md gives every column and the rule of the ``sky`` word.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np

from tessdb_core import BadValue

from .common import shown
from tessdb_core import ReportQueries

__all__ = ["NIGHT_COLUMNS", "CHANNEL_STATS", "CHUNK_NIGHTS", "SKY_WORDS", "NightsRun", "SkyChunk", "night_summaries",
           "sky_chunk", "sky_chunks",
           "check_sites", "sky_word", "reading_arrays"]

#: the statistics of the dark clear readings, per channel
CHANNEL_STATS = ("median", "p10", "p90", "darkest")
#: the columns of a row, in order: channel 1's statistics are ``median`` .. ``darkest``; a
#: TESS4C's channels 2-4 are ``ch2_median`` .. ``ch4_darkest`` (None for a TESS-W)
NIGHT_COLUMNS = ("name", "night", "location_id", "readings", "astro_readings", "dark_readings",
                 "dark_clear_readings", "clear_fraction", *CHANNEL_STATS,
                 *(f"ch{c}_{s}" for c in (2, 3, 4) for s in CHANNEL_STATS),
                 "moon_illumination", "no_site_readings", "sky")
#: the words of the ``sky`` column
SKY_WORDS = ("good", "partial", "cloudy", "moon", "no data")
#: the thresholds of the word (docs/reports.md)
GOOD_CLEAR = 0.9       # clear fraction at or above: good
CLOUDY_CLEAR = 0.25    # clear fraction below: cloudy
MOON_DARK = 0.5        # dark readings below this share of the astronomical night: moon
#: nights computed together (memory: this many nights of one photometer, plus two days)
CHUNK_NIGHTS = 31
#: readings this close to local midnight (seconds) give the Moon's lit fraction at midnight
MIDNIGHT_NEAR_S = 600


def sky_word(astro: int, dark: int, clear: int, cloudy: int) -> str:
    """The one word of a night, from its astronomical-night readings (``astro``), those with
    the Moon down (``dark``) and the cloud verdicts of the astronomical-night readings:

    ``no data`` without a verdict in astronomical night (no reading then, every one
    ``unknown``, or a site without coordinates); ``cloudy`` when fewer than 25 % of the
    verdicts are clear; ``moon`` when the Moon was up for half of the astronomical night or
    more; ``good`` when at least 90 % are clear; ``partial`` otherwise."""
    if astro == 0 or clear + cloudy == 0:
        return "no data"
    fraction = clear / (clear + cloudy)
    if fraction < CLOUDY_CLEAR:
        return "cloudy"
    if dark < MOON_DARK * astro:
        return "moon"
    if fraction >= GOOD_CLEAR:
        return "good"
    return "partial"


@dataclass
class NightsRun:
    """What a run skipped, for the caller's notes: photometers without any site (``--all``)."""

    skipped: list[tuple[str, str]] = field(default_factory=list)
    rows: int = 0


def check_sites(queries: ReportQueries, names: Iterable[str]) -> dict[str, str]:
    """The names among ``names`` whose instrument never had a site with coordinates (every
    version at location -1 or at a location without latitude and longitude), with the reason:
    their nights cannot be computed."""
    out: dict[str, str] = {}
    for name in names:
        versions = queries.versions_of(name)
        ids = {v.get("location_id") for v in versions}
        locations = queries.locations(i for i in ids if i is not None)
        if not any(loc.get("latitude") is not None and loc.get("longitude") is not None
                   for loc in locations.values()):
            out[name] = (f"photometer {shown(name)} has no location with coordinates (location -1): its nights need "
                         "a site (set one with `tessdb-core readings relocate` or the instrument's location)")
    return out


def reading_arrays(rows: list[tuple]) -> dict[str, np.ndarray]:
    """``sky_rows`` tuples as numpy columns: ``time`` (datetime64[s], UTC), ``location_id``,
    ``tamb``, ``tsky``, ``mag`` (n x 4, NaN where absent)."""
    n = len(rows)
    if n == 0:
        return {"time": np.empty(0, "datetime64[s]"), "location_id": np.empty(0, np.int64),
                "tamb": np.empty(0), "tsky": np.empty(0), "mag": np.empty((0, 4))}
    table = np.array(rows, dtype=float)  # one C pass; None becomes NaN; ids < 2**53 stay exact
    date_id = table[:, 0].astype(np.int64)
    time_id = table[:, 1].astype(np.int64)
    days, inverse = np.unique(date_id, return_inverse=True)
    day64 = np.array([np.datetime64(f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}") for d in days],
                     dtype="datetime64[D]")
    seconds = (time_id // 10000) * 3600 + (time_id // 100 % 100) * 60 + time_id % 100
    t = day64[inverse].astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    mag = table[:, 5:9]
    if mag.shape[1] == 1:  # TESS-W rows only
        mag = np.column_stack([mag, np.full((n, 3), np.nan)])
    return {"time": t, "location_id": table[:, 2].astype(np.int64), "tamb": table[:, 3], "tsky": table[:, 4],
            "mag": mag}


def _round(value: float | None, digits: int) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


def _stats(mags: np.ndarray) -> list[float | None]:
    """median, 10th and 90th percentile and darkest (largest) of the valid magnitudes."""
    good = mags[np.isfinite(mags) & (mags > 0)]
    if good.size == 0:
        return [None] * len(CHANNEL_STATS)
    p10, med, p90 = np.percentile(good, [10, 50, 90])
    return [_round(med, 3), _round(p10, 3), _round(p90, 3), _round(good.max(), 3)]


def _local_midnights(nights: np.ndarray, tz_name: str) -> np.ndarray:
    """UTC datetime64 of local midnight at the end of each night's evening (the next date 00:00)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz_name)
    out = []
    for d in nights.astype("datetime64[D]").astype(object):
        nxt = d + timedelta(days=1)
        local = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
        out.append(np.datetime64(local.astimezone(timezone.utc).replace(tzinfo=None), "s"))
    return np.array(out, dtype="datetime64[s]")


def night_summaries(queries: ReportQueries, names: Iterable[str], first: date, last: date,
                    settings: Any = None, run: NightsRun | None = None) -> Iterator[dict[str, Any]]:
    """One row (``NIGHT_COLUMNS``) per photometer and night from ``first`` to ``last`` (the
    evenings' local dates, both included) that has at least one reading, photometer after
    photometer in the order given, nights in order.  ``settings``: the app's settings (their
    ``[sky]`` cloud screening) or None for the defaults.  A photometer without any site is
    left out (``run.skipped``)."""
    from tessdb_sky.api import cloud_settings

    if last < first:
        raise BadValue(f"--to {last} is before --from {first}")
    screening = cloud_settings(settings)
    run = run if run is not None else NightsRun()
    unsited = check_sites(queries, names)
    for name in names:
        if name in unsited:
            run.skipped.append((name, unsited[name]))
            continue
        for chunk in sky_chunks(queries, name, first, last, screening):
            for row in _summaries(name, chunk):
                run.rows += 1
                yield row


#: the UTC window that holds every reading of the nights [first, last] in any time zone
#: (UTC-12 .. UTC+14: local noon of ``first`` is at the earliest 22:00 UTC the day before),
#: with an hour more each side for the cloud screening's windows
def _window(first: date, last: date) -> tuple[datetime, datetime]:
    since = datetime(first.year, first.month, first.day) - timedelta(hours=3)
    until = datetime(last.year, last.month, last.day) + timedelta(days=2, hours=1)
    return since, until


@dataclass
class SkyChunk:
    """One photometer's readings of the nights [first, last] (and a margin around them) with
    their sky, one value per reading: what the night summaries and the year plots share."""

    first: date
    last: date
    time: np.ndarray        # datetime64[s], UTC
    location_id: np.ndarray
    mag: np.ndarray         # (n, 4), NaN where absent, 0 saturated
    four: np.ndarray        # bool: a TESS4C reading
    night: np.ndarray       # datetime64[D]: the evening's local date (UTC noon without a site)
    sited: np.ndarray       # bool: the reading's location has coordinates
    astro: np.ndarray       # bool: astronomical night (the Sun below -18 degrees)
    moon_up: np.ndarray
    moon_lit: np.ndarray    # the Moon's illuminated fraction (NaN without a site)
    clear: np.ndarray       # the cloud verdict is "clear"
    cloudy: np.ndarray      # the cloud verdict is "cloudy"
    sites: dict[int, Any]   # location_id -> tessdb_sky Site (None: no coordinates)

    @property
    def inside(self) -> np.ndarray:
        """The readings whose night is in [first, last] (the others are the margin)."""
        return (self.night >= np.datetime64(self.first, "D")) & (self.night <= np.datetime64(self.last, "D"))


def sky_chunks(queries: ReportQueries, name: str, first: date, last: date, screening: Any,
               nights: int = CHUNK_NIGHTS) -> Iterator[SkyChunk]:
    """The ``SkyChunk`` of each run of ``nights`` nights from ``first`` to ``last`` that has
    readings, in order (one chunk in memory at a time)."""
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=nights - 1))
        chunk = sky_chunk(queries, name, start, end, screening)
        if chunk is not None:
            yield chunk
        start = end + timedelta(days=1)


def sky_chunk(queries: ReportQueries, name: str, first: date, last: date, screening: Any) -> SkyChunk | None:
    """The readings of ``name`` for the nights [first, last] with their sky (None without any)."""
    from tessdb_sky.series import Site, context_columns

    since, until = _window(first, last)
    a = reading_arrays(queries.sky_rows(name, since, until))
    n = len(a["time"])
    if n == 0:
        return None
    night = np.empty(n, dtype="datetime64[D]")
    astro = np.zeros(n, dtype=bool)
    moon_up = np.zeros(n, dtype=bool)
    moon_lit = np.full(n, np.nan)
    clear = np.zeros(n, dtype=bool)
    cloudy = np.zeros(n, dtype=bool)
    sited = np.zeros(n, dtype=bool)
    channel = screening.tess4c_channel - 1
    four = np.isfinite(a["mag"][:, 1:]).any(axis=1)
    sites: dict[int, Any] = {}
    locations = queries.locations(np.unique(a["location_id"]).tolist())
    # one context computation per run of readings at one location (a relocation splits the series)
    change = np.flatnonzero(np.diff(a["location_id"])) + 1
    for lo, hi in zip(np.r_[0, change], np.r_[change, n]):
        loc_id = int(a["location_id"][lo])
        site = Site.of(locations.get(loc_id))
        sites.setdefault(loc_id, site)
        part = slice(lo, hi)
        mag = np.where(four[part], a["mag"][part, channel], a["mag"][part, 0])
        cols = context_columns(a["time"][part], site, mag, a["tsky"][part], a["tamb"][part], screening)
        night[part] = cols["night"]
        if site is None:
            continue
        sited[part] = True
        astro[part] = cols["sky_state"] == "night"
        moon_up[part] = cols["moon_up"].astype(bool)
        moon_lit[part] = cols["moon_illumination"].astype(float)
        clear[part] = cols["clouds"] == "clear"
        cloudy[part] = cols["clouds"] == "cloudy"
    return SkyChunk(first, last, a["time"], a["location_id"], a["mag"], four, night, sited, astro, moon_up, moon_lit,
                    clear, cloudy, sites)


def _summaries(name: str, c: SkyChunk) -> Iterator[dict[str, Any]]:
    from tessdb_sky.api import sky_context

    a = {"location_id": c.location_id, "mag": c.mag}
    night, sited, astro, moon_up, clear, cloudy, four, sites = (c.night, c.sited, c.astro, c.moon_up, c.clear,
                                                                  c.cloudy, c.four, c.sites)
    inside = c.inside
    if not inside.any():
        return
    nights, inverse = np.unique(night[inside], return_inverse=True)
    idx = np.flatnonzero(inside)
    k = len(nights)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=mask[idx].astype(float), minlength=k).astype(int)

    readings = np.bincount(inverse, minlength=k)
    n_astro = count(astro)
    dark = astro & ~moon_up
    n_dark = count(dark)
    dark_clear = dark & clear
    n_dark_clear = count(dark_clear)
    n_clear_astro = count(astro & clear)
    n_cloudy_astro = count(astro & cloudy)
    n_no_site = count(~sited)
    # the Moon at local midnight: the site of each night's last sited reading
    def last_of(mask: np.ndarray) -> np.ndarray:
        """Per night, the location of its last reading where ``mask`` holds (-1 if none)."""
        pos = np.full(k, -1, dtype=np.int64)
        np.maximum.at(pos, inverse[mask[idx]], idx[mask[idx]])
        return np.where(pos >= 0, a["location_id"][np.maximum(pos, 0)], -1)

    last_loc = last_of(sited)
    last_any = last_of(np.ones(len(sited), dtype=bool))
    illumination = np.full(k, np.nan)
    t_s = c.time.astype(np.int64)
    for loc_id in np.unique(last_loc[last_loc != -1]):
        site = sites[int(loc_id)]
        which = np.flatnonzero(last_loc == loc_id)
        tz = site.timezone
        if tz is None:
            from tessdb_sky.api import site_timezone

            tz = site_timezone(site.longitude, site.latitude)
        midnights = _local_midnights(nights[which], tz)
        # the lit fraction changes by less than 0.002 in 10 minutes: take it from the night's own
        # readings around midnight when there are some, compute it where there are none
        missing = []
        for w, m in zip(which, midnights.astype(np.int64)):
            own = idx[(inverse == w) & (c.location_id[idx] == loc_id)]
            near = own[np.abs(t_s[own] - m) <= MIDNIGHT_NEAR_S]
            before, after = near[t_s[near] <= m], near[t_s[near] >= m]
            if before.size and after.size:
                illumination[w] = np.interp(m, t_s[[before[-1], after[0]]], c.moon_lit[[before[-1], after[0]]])
            else:
                missing.append(w)
        if missing:
            ctx = sky_context(_local_midnights(nights[missing], tz), site.longitude, site.latitude, site.height_m, tz)
            illumination[missing] = ctx.moon_illumination
    for j in range(k):
        members = idx[inverse == j]
        chosen = members[dark_clear[members]]
        stats = {}
        for c in range(4):
            values = _stats(a["mag"][chosen, c]) if (c == 0 or four[members].any()) else [None] * 4
            prefix = "" if c == 0 else f"ch{c + 1}_"
            stats.update({f"{prefix}{s}": v for s, v in zip(CHANNEL_STATS, values)})
        decided = n_clear_astro[j] + n_cloudy_astro[j]
        yield {
            "name": name, "night": str(nights[j]),
            "location_id": int(last_loc[j] if last_loc[j] != -1 else last_any[j]),
            "readings": int(readings[j]), "astro_readings": int(n_astro[j]), "dark_readings": int(n_dark[j]),
            "dark_clear_readings": int(n_dark_clear[j]),
            "clear_fraction": _round(n_clear_astro[j] / decided, 3) if decided else None,
            **stats,
            "moon_illumination": _round(illumination[j], 3),
            "no_site_readings": int(n_no_site[j]),
            "sky": sky_word(int(n_astro[j]), int(n_dark[j]), int(n_clear_astro[j]), int(n_cloudy_astro[j])),
        }
