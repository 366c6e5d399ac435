"""Context and cloud columns for whole series of readings: one photometer's run
(``context_columns``) or a time-ordered stream of rows of many photometers (``annotate``).

Why here: the export, the plots, the night summaries and the web all need the same columns
with the same names; this is their one home.  The store only reads readings and
locations; the science is computed after the query, in memory, chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import numpy as np

from .clouds import CloudSettings, screen_clouds
from .context import sky_context

__all__ = ["CONTEXT_COLUMNS", "Site", "annotate", "context_columns", "python_value"]

#: the context columns, in order, by their stable public names (docs/reports.md):
#: Sun and Moon (degrees), the Moon's lit fraction (0..1) and whether it waxes, moon up,
#: sky state, the night (local date of the evening), whether the site is known, the cloud
#: verdict and the two signals it came from
CONTEXT_COLUMNS = ("sun_alt", "sun_az", "moon_alt", "moon_az", "moon_illumination", "moon_waxing", "moon_up",
                   "sky_state", "night", "site_known", "clouds", "cloud_variability", "sky_minus_ambient")


@dataclass(frozen=True)
class Site:
    """Where a photometer stood: degrees, metres, IANA zone (None: found from the coordinates).
    Without coordinates (longitude / latitude None) only the zone is known: no Sun, no Moon,
    nights split at that zone's noon."""

    longitude: float | None
    latitude: float | None
    height_m: float = 0.0
    timezone: str | None = None

    @property
    def known(self) -> bool:
        return self.longitude is not None and self.latitude is not None

    @classmethod
    def of(cls, location: dict[str, Any] | None) -> Site | None:
        """From a ``location_t`` row; None for an unknown site (location -1, or no row).  A
        location without coordinates gives a ``Site`` with only its time zone (None without one)."""
        if not location or location.get("location_id") == -1:
            return None
        lon, lat = location.get("longitude"), location.get("latitude")
        zone = location.get("timezone") or None
        if lon is None or lat is None:
            return cls(None, None, 0.0, zone) if zone else None
        return cls(float(lon), float(lat), float(location.get("elevation") or 0.0), zone)


def context_columns(times: np.ndarray, site: Site | None, magnitude: np.ndarray | None = None,
                    tsky: np.ndarray | None = None, tamb: np.ndarray | None = None,
                    settings: CloudSettings = CloudSettings()) -> dict[str, np.ndarray]:
    """``CONTEXT_COLUMNS`` for ONE photometer's readings at ONE site, in time order."""
    t = np.asarray(times, dtype="datetime64[ns]")
    if site is None or not site.known:
        ctx = sky_context(t, None, None, timezone=site.timezone if site else None)
    else:
        ctx = sky_context(t, site.longitude, site.latitude, site.height_m, site.timezone)
    cols = ctx.columns()
    screen = screen_clouds(t, magnitude, ctx.sun_alt, tsky, tamb, settings)
    cols["clouds"] = screen.state
    cols["cloud_variability"] = screen.variability
    cols["sky_minus_ambient"] = screen.ir_delta
    return {c: cols[c] for c in CONTEXT_COLUMNS}


def python_value(value: Any, digits: int = 6) -> Any:
    """One numpy value as a plain Python value for CSV / JSON: floats rounded, NaN as None,
    dates as ISO text, booleans as bool."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[D]"))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else round(float(value), digits)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _floats(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows], dtype=float)


def annotate(rows: Iterable[dict[str, Any]], *, time: Callable[[dict[str, Any]], Any],
             photometer: Callable[[dict[str, Any]], Hashable], site: Callable[[dict[str, Any]], Site | None],
             magnitude: Callable[[dict[str, Any]], float | None] | None = None,
             tsky_key: str | None = None, tamb_key: str | None = None,
             settings: CloudSettings = CloudSettings(), chunk: int = 20_000) -> Iterator[dict[str, Any]]:
    """Add ``CONTEXT_COLUMNS`` (plain Python values) to each row of a time-ordered stream of
    rows of any number of photometers, lazily, ``chunk`` rows at a time.

    ``time(row)``: its UTC time (a naive datetime, ``datetime64`` or ISO text); ``photometer(row)``:
    the series it belongs to (a MAC); ``site(row)``: its ``Site`` or None.  The rows just
    before a chunk (the cloud window's span) are kept and computed again with it, and the
    rows whose window reaches past the chunk's end wait for the next one, so a reading's
    verdict does not depend on where the chunks fall.  Memory: about two chunks."""
    look = (settings.chi2_half_window_s if settings.variability == "chi2" else settings.sad_max_span_s)
    look_ns = int(look * 1e9)
    ahead_ns = look_ns  # both measures look as far ahead as back
    buffer: list[dict[str, Any]] = []   # history (already emitted) + pending rows
    raw: list[Any] = []                 # their times, as given
    first_pending = 0
    source = iter(rows)
    done = False
    while not done:
        for row in source:
            buffer.append(row)
            raw.append(_as_time(time(row)))
            if len(buffer) - first_pending >= chunk:
                break
        else:
            done = True
        if first_pending >= len(buffer):
            break
        times = np.array(raw, dtype="datetime64[ns]").view(np.int64)
        cols = _compute(buffer, times, photometer, site, magnitude, tsky_key, tamb_key, settings)
        end = len(buffer) if done else int(np.searchsorted(times, times[-1] - ahead_ns, side="right"))
        if end <= first_pending and not done:
            end = len(buffer)  # the whole chunk within one window: emit it rather than grow
        for i in range(first_pending, end):
            out = dict(buffer[i])
            for c in CONTEXT_COLUMNS:
                out[c] = cols[c][i]
            yield out
        if done:
            break
        # keep what the next chunk's windows look back to, and what was not emitted
        keep_from = min(int(np.searchsorted(times, times[end - 1] - look_ns, side="left")), end)
        buffer, raw = buffer[keep_from:], raw[keep_from:]
        first_pending = end - keep_from


def _as_time(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _plain(values: np.ndarray, digits: int = 6) -> list[Any]:
    """A column as plain Python values, as ``python_value`` gives them one by one."""
    if values.dtype == object:  # the text columns: Python strings already
        return values.tolist()
    if values.dtype.kind == "M":
        return [str(v) for v in values.astype("datetime64[D]")]
    if values.dtype.kind == "f":
        rounded = np.round(values, digits)
        return [None if v != v else v for v in rounded.tolist()]
    return values.tolist()


def _compute(buffer: list[dict[str, Any]], times: np.ndarray, photometer: Callable[[dict[str, Any]], Hashable],
             site: Callable[[dict[str, Any]], Site | None], magnitude: Any, tsky_key: str | None,
             tamb_key: str | None, settings: CloudSettings) -> dict[str, list[Any]]:
    n = len(buffer)
    t = times.view("datetime64[ns]")
    out: dict[str, list[Any]] = {c: [None] * n for c in CONTEXT_COLUMNS}
    groups: dict[tuple[Hashable, Site | None], list[int]] = {}
    for i, row in enumerate(buffer):
        groups.setdefault((photometer(row), site(row)), []).append(i)
    for (_who, where), idx in groups.items():
        ix = np.asarray(idx)
        part = [buffer[i] for i in idx]
        mag = (np.array([np.nan if (m := magnitude(r)) is None else float(m) for r in part])
               if magnitude is not None else None)
        tsky = _floats(part, tsky_key) if tsky_key else None
        tamb = _floats(part, tamb_key) if tamb_key else None
        cols = context_columns(t[ix], where, mag, tsky, tamb, settings)
        for c in CONTEXT_COLUMNS:
            column = out[c]
            for i, v in zip(idx, _plain(cols[c])):
                column[i] = v
    return out
