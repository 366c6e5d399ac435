"""A photometer's year at a glance (``plot year``): the hourglass and the jellyfish.

* the **hourglass**: one column per night of the year, one row per 10 minutes of the
  night (site's local standard time, no DST jump), the mean brightness of the readings in
  each cell; day and every twilight are blank (only astronomical night is drawn), so the
  nights' length draws the hourglass;
* the **jellyfish**: every drawn reading's brightness against its time of night, as a
  density (a 2-D histogram): the clear, moonless sky is the dense head, clouds and the
  Moon the tentacles.

Cloudy readings (the sky library's verdict ``cloudy``) and readings with the Moon up are
left out by default (``clouds="mask"``, ``moon="mask"``), or drawn (``"show"``).  The year
is read a month of nights at a time and only the two grids are kept: memory does not grow
with the readings.  Posch et al. (2018) introduced both plots for night-sky monitoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.figure import Figure

from tessdb_core import BadValue, NotFound

from .common import shown
from .nights import check_sites, sky_chunks
from .plots import DPI, MONTH_CMAP
from tessdb_core import ReportQueries

__all__ = ["YearData", "year_data", "year_figure", "SLOT_MINUTES", "MAG_RANGE", "MAG_BIN"]

#: the hourglass's rows and the jellyfish's columns, minutes
SLOT_MINUTES = 10
#: the jellyfish's brightness axis and bin, mag/arcsec^2
MAG_RANGE = (14.0, 23.0)
MAG_BIN = 0.05
#: hours either side of local midnight a night can reach
_HALF = 12
_SLOTS = 2 * _HALF * 60 // SLOT_MINUTES


@dataclass
class YearData:
    name: str
    year: int
    location: dict[str, Any]
    clouds: str
    moon: str
    nights: list[date]              # the columns of the hourglass
    sums: np.ndarray                # (slots, nights): the sum of the drawn magnitudes in each cell
    counts: np.ndarray              # (slots, nights)
    jelly: np.ndarray               # (slots, mag bins): drawn readings per cell
    readings: int = 0               # every reading of the year's nights
    drawn: int = 0                  # those drawn (astronomical night, not masked)
    masked_clouds: int = 0
    masked_moon: int = 0

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)


def _standard_offset(tz_name: str, year: int) -> timedelta:
    """The zone's UTC offset without daylight saving time (the smaller of January's and July's
    standard offsets: the same in both hemispheres)."""
    zone = ZoneInfo(tz_name)
    offsets = []
    for month in (1, 7):
        t = datetime(year, month, 15, 12, tzinfo=zone)
        offsets.append(t.utcoffset() - (t.dst() or timedelta(0)))
    return min(offsets)


def year_data(queries: ReportQueries, name: str, year: int, settings: Any = None, clouds: str = "mask",
              moon: str = "mask") -> YearData:
    """The hourglass and jellyfish grids of ``name`` for the nights whose evening is in ``year``.

    BadValue for a photometer without a site; NotFound for a year without a reading in
    astronomical night."""
    from tessdb_sky.api import cloud_settings, site_timezone

    for option, value in (("--clouds", clouds), ("--moon", moon)):
        if value not in ("mask", "show"):
            raise BadValue(f"{option} {value!r}: expected mask or show")
    if year < 1 or year > 9998:
        raise BadValue(f"--year {year}: expected a year such as 2026")
    why = check_sites(queries, [name]).get(name)
    if why:
        raise BadValue(why)
    first, last = date(year, 1, 1), date(year, 12, 31)
    nights = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    mag_edges = np.arange(MAG_RANGE[0], MAG_RANGE[1] + MAG_BIN / 2, MAG_BIN)
    data = YearData(name, year, {}, clouds, moon, nights, np.zeros((_SLOTS, len(nights))),
                    np.zeros((_SLOTS, len(nights)), dtype=np.int64), np.zeros((_SLOTS, len(mag_edges) - 1)))
    offsets: dict[int, np.timedelta64] = {}
    day0 = np.datetime64(first, "D")
    for c in sky_chunks(queries, name, first, last, cloud_settings(settings)):
        inside = c.inside
        data.readings += int(inside.sum())
        keep = inside & c.astro
        mag = c.mag[:, 0]
        keep &= np.isfinite(mag) & (mag > 0)
        if clouds == "mask":
            data.masked_clouds += int((keep & c.cloudy).sum())
            keep &= ~c.cloudy
        if moon == "mask":
            data.masked_moon += int((keep & c.moon_up).sum())
            keep &= ~c.moon_up
        if not keep.any():
            continue
        for loc_id in np.unique(c.location_id[keep]):
            site = c.sites[int(loc_id)]
            if int(loc_id) not in offsets:
                tz = site.timezone or site_timezone(site.longitude, site.latitude)
                offsets[int(loc_id)] = np.timedelta64(int(_standard_offset(tz, year).total_seconds()), "s")
                if not data.location:
                    data.location = dict(queries.locations([int(loc_id)]).get(int(loc_id)) or {})
                    data.location.setdefault("timezone", tz)
            sel = keep & (c.location_id == loc_id)
            local = c.time[sel] + offsets[int(loc_id)]
            midnight = (c.night[sel] + np.timedelta64(1, "D")).astype("datetime64[s]")
            minutes = (local - midnight).astype("timedelta64[s]").astype(np.int64) / 60.0
            slot = np.floor((minutes + _HALF * 60) / SLOT_MINUTES).astype(np.int64)
            col = (c.night[sel] - day0).astype(np.int64)
            ok = (slot >= 0) & (slot < _SLOTS) & (col >= 0) & (col < len(nights))
            np.add.at(data.sums, (slot[ok], col[ok]), mag[sel][ok])
            np.add.at(data.counts, (slot[ok], col[ok]), 1)
            hist, _, _ = np.histogram2d(slot[ok], mag[sel][ok], bins=(np.arange(_SLOTS + 1), mag_edges))
            data.jelly += hist
            data.drawn += int(ok.sum())
    if not data.readings:
        raise NotFound(f"no readings of {shown(name)} in the nights of {year}")
    if not data.drawn:
        raise NotFound(f"no reading of {shown(name)} to draw in the nights of {year}: none in astronomical night "
                       f"{'that is clear and moonless' if clouds == moon == 'mask' else 'left by the masks'}")
    return data


def _hour_ticks(lo: int, hi: int) -> tuple[list[float], list[str]]:
    """Slot positions and labels of whole local hours between slots lo and hi."""
    per_hour = 60 // SLOT_MINUTES
    ticks, labels = [], []
    for h in range(-_HALF, _HALF + 1):
        pos = (h + _HALF) * per_hour
        if lo <= pos <= hi:
            ticks.append(pos)
            labels.append(f"{h % 24:02d}")
    step = max(1, len(ticks) // 9)
    return ticks[::step], labels[::step]


def year_figure(data: YearData, width: int = 1600, height: int = 700, kind: str = "both") -> Figure:
    """The hourglass (left) and the jellyfish (right), or one of them (``kind``)."""
    if kind not in ("both", "hourglass", "jellyfish"):
        raise BadValue(f"--kind {kind!r}: expected both, hourglass or jellyfish")
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    rows = np.flatnonzero(data.counts.sum(axis=1))
    lo, hi = int(rows.min()) - 3, int(rows.max()) + 4  # a little room around the longest night
    lo, hi = max(lo, 0), min(hi, _SLOTS)
    mean = data.mean
    finite = mean[np.isfinite(mean)]
    vmin, vmax = np.percentile(finite, [1, 99.5]) if finite.size else (17.0, 22.0)
    tz = data.location.get("timezone") or "UTC"
    masks = [w for w, v in (("cloudy", data.clouds), ("moonlit", data.moon)) if v == "mask"]
    hidden = f"; {' and '.join(masks)} readings left out" if masks else ""
    place = data.location.get("place") or ""
    fig.suptitle(f"{shown(data.name)} — {data.year} — {place}\n"
                 f"astronomical night only{hidden} ({data.drawn:,} of {data.readings:,} readings drawn)")
    panels = (["hourglass", "jellyfish"] if kind == "both" else [kind])
    axes = fig.subplots(1, len(panels), width_ratios=[3, 2] if kind == "both" else None, squeeze=False)[0]
    ticks, labels = _hour_ticks(lo, hi)
    for ax, panel in zip(axes, panels):
        if panel == "hourglass":
            x = np.arange(len(data.nights) + 1)
            mesh = ax.pcolormesh(x, np.arange(lo, hi + 1), np.ma.masked_invalid(mean[lo:hi]), cmap=MONTH_CMAP,
                                 vmin=vmin, vmax=vmax, shading="flat", gid="hourglass")
            ax.set_facecolor("white")
            cbar = fig.colorbar(mesh, ax=ax, pad=0.01)
            cbar.set_label("mean sky brightness (mag/arcsec²)")
            starts = [i for i, d in enumerate(data.nights) if d.day == 1]
            ax.set_xticks([i + 0.5 for i in starts])
            ax.set_xticklabels([data.nights[i].strftime("%b") for i in starts])
            ax.set_yticks(ticks)
            ax.set_yticklabels(labels)
            ax.set_ylim(hi, lo)  # evening at the top
            ax.set_xlabel(f"night of (evening's date, {data.year})")
            ax.set_ylabel(f"local standard time ({tz})")
            ax.set_title("hourglass: mean brightness per night and 10 minutes")
            ax.grid(True, axis="x", alpha=0.25)
        else:
            jelly = data.jelly[lo:hi].T
            norm = None
            if jelly.max() > 0:
                from matplotlib.colors import LogNorm

                norm = LogNorm(vmin=1, vmax=max(2.0, jelly.max()))
            mesh = ax.pcolormesh(np.arange(lo, hi + 1), np.arange(MAG_RANGE[0], MAG_RANGE[1] + MAG_BIN / 2, MAG_BIN),
                                 np.ma.masked_less(jelly, 1), cmap="viridis", norm=norm, shading="flat",
                                 gid="jellyfish")
            cbar = fig.colorbar(mesh, ax=ax, pad=0.01)
            cbar.set_label("readings per 10 min × 0.05 mag")
            used = np.flatnonzero(data.jelly.sum(axis=0))
            mags = MAG_RANGE[0] + MAG_BIN * used
            ax.set_ylim(max(MAG_RANGE[0], mags.min() - 0.3), min(MAG_RANGE[1], mags.max() + 0.3))  # dark sky up
            ax.set_xticks(ticks)
            ax.set_xticklabels(labels)
            ax.set_xlabel(f"local standard time ({tz})")
            ax.set_ylabel("sky brightness (mag/arcsec²)")
            ax.set_title("jellyfish: brightness against time of night")
            ax.grid(True, alpha=0.25)
    fig.year = data  # type: ignore[attr-defined]  # for tests and callers
    return fig
