"""Night and month plots (matplotlib, Agg backend; the Sun, the Moon and the clouds from
``tessdb_sky``).

``night_data`` / ``month_data`` gather what a plot needs through the ``ReportQueries``
protocol; ``night_figure`` / ``month_figure`` build the matplotlib Figure (returned,
so that tests can look at its lines); ``save`` writes it at the requested size as PNG,
SVG or PDF (the file's suffix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .common import Month, local_noon_window, shown, zone  # noqa: E402
from .ida import filters as version_filters, zps  # noqa: E402
from tessdb_core import BadValue, NotFound, ReportQueries

DPI = 100
#: the heat map's colours: a higher magnitude (a darker sky) is a darker colour, a bright
#: (light-polluted, twilight or moonlit) sky a light one
MONTH_CMAP = "magma_r"
#: the formats a plot is written in, taken from the --out file's suffix
FORMATS = ("png", "svg", "pdf")
_UTC = timezone.utc


@dataclass
class NightData:
    name: str
    day: date                          # the evening's local date
    tz: ZoneInfo
    location: dict[str, Any]
    since: datetime                    # naive UTC, local noon of ``day``
    until: datetime                    # naive UTC, local noon of the next day
    readings: list[dict[str, Any]]
    channels: list[str]                # labels of the brightness curves
    zp_changes: list[tuple[datetime, str]] = field(default_factory=list)  # (naive UTC, label)


@dataclass
class MonthData:
    name: str
    month: Month
    tz: ZoneInfo
    location: dict[str, Any]
    readings: list[dict[str, Any]]


def _location_of(queries: ReportQueries, name: str, readings: list[dict[str, Any]]) -> dict[str, Any]:
    loc_id = readings[-1]["location_id"]
    loc = queries.locations([loc_id]).get(loc_id)
    if loc is None:
        raise NotFound(f"location {loc_id} of {shown(name)}'s readings is not in location_t")
    return dict(loc)


def night_data(queries: ReportQueries, name: str, day: date) -> NightData:
    """The readings of ``name`` from local noon of ``day`` to local noon of the next day.

    The time zone is that of the location of the name's readings around that day
    (the location of the version current at that time when the night has none)."""
    # the location decides the local noon: look a day around it first, in UTC
    around = queries.readings(name, datetime(day.year, day.month, day.day) - timedelta(hours=14),
                              datetime(day.year, day.month, day.day) + timedelta(hours=38))
    if not around:
        raise NotFound(f"no readings of {shown(name)} in the night of {day} (local noon to noon)")
    location = _location_of(queries, name, around)
    tz = zone(location.get("timezone"), f"location {location['location_id']}")
    since, until = local_noon_window(day, tz)
    readings = [r for r in around if since <= r["utc"] < until]
    if not readings:
        raise NotFound(f"no readings of {shown(name)} in the night of {day} (local noon to noon)")
    versions = queries.versions({r["tess_id"] for r in readings})
    last = versions[readings[-1]["tess_id"]]
    labels = [f or f"channel {i + 1}" for i, f in enumerate(version_filters(last))]
    if readings[-1]["nchannels"] == 1:
        labels = labels[:1]
    changes = []
    history = queries.versions_of(name)
    for prev, cur in zip(history, history[1:]):
        if since <= cur["since"] < until and zps(prev) != zps(cur):
            old, new = zps(prev), zps(cur)
            text = f"ZP {old[0]} → {new[0]}" if len(new) == 1 else f"ZP {old} → {new}"
            changes.append((cur["since"], text))
    return NightData(name, day, tz, location, since, until, readings, labels, changes)


def month_data(queries: ReportQueries, name: str, month: Month) -> MonthData:
    """The readings of ``name`` for the nights whose evening falls in ``month``."""
    start = month.start
    probe = queries.readings(name, start - timedelta(days=1), month.end + timedelta(days=1))
    if not probe:
        raise NotFound(f"no readings of {shown(name)} in {month}")
    location = _location_of(queries, name, probe)
    tz = zone(location.get("timezone"), f"location {location['location_id']}")
    since, _ = local_noon_window(start.date(), tz)
    until, _ = local_noon_window(month.end.date(), tz)
    readings = [r for r in probe if since <= r["utc"] < until]
    if not readings:
        raise NotFound(f"no readings of {shown(name)} in the nights of {month}")
    return MonthData(name, month, tz, location, readings)


# -- the Sun and the Moon -------------------------------------------------------------------------
def _site(location: dict[str, Any]) -> Any:
    from tessdb_sky.series import Site

    site = Site.of(location)
    if site is None or not site.known:
        raise BadValue(f"location {location.get('location_id')} has no coordinates: "
                       "cannot compute the Sun and Moon altitudes")
    return site


def sun_moon_altitudes(location: dict[str, Any], since: datetime, until: datetime,
                       step: timedelta = timedelta(minutes=5)) -> tuple[list[datetime], list[float], list[float]]:
    """Altitudes in degrees of the Sun and the Moon seen from the location (naive UTC times),
    every ``step`` from ``since`` to ``until`` (both included)."""
    import numpy as np

    from tessdb_sky.api import sky_context

    site = _site(location)
    n = int((until - since) / step) + 1
    times = [since + i * step for i in range(n)]
    ctx = sky_context(np.array(times, dtype="datetime64[ns]"), site.longitude, site.latitude, site.height_m,
                      site.timezone)
    return times, [float(a) for a in ctx.sun_alt], [float(a) for a in ctx.moon_alt]


#: (label, upper, lower Sun altitude in degrees, colour) of the twilight bands, then the night;
#: the day ends at sunset (tessdb_sky's SUNSET_ALTITUDE, -0.833°)
TWILIGHTS = (("civil twilight", -0.833, -6.0, "#c6dbef"), ("nautical twilight", -6.0, -12.0, "#9ecae1"),
             ("astronomical twilight", -12.0, -18.0, "#6baed6"), ("night", -18.0, -91.0, "#4a6f9a"))


def twilight_spans(location: dict[str, Any], since: datetime, until: datetime) -> dict[str, list[tuple[datetime, datetime]]]:
    """The spans (naive UTC) of each band of ``TWILIGHTS`` between ``since`` and ``until``, their
    ends where the Sun crosses each level (``tessdb_sky.sky_state_spans``: within seconds of
    astropy)."""
    from tessdb_sky.api import sky_state_spans

    site = _site(location)
    label_of = {"civil": "civil twilight", "nautical": "nautical twilight",
                "astronomical": "astronomical twilight", "night": "night"}
    spans: dict[str, list[tuple[datetime, datetime]]] = {label: [] for label, *_ in TWILIGHTS}
    for state, a, b in sky_state_spans(_aware(since), _aware(until), site.longitude, site.latitude, site.height_m):
        if state in label_of:
            spans[label_of[state]].append((_naive(a), _naive(b)))
    return spans


def moon_phase(location: dict[str, Any], when: datetime) -> tuple[float, str]:
    """The fraction of the Moon's disc lit at ``when`` (naive UTC), 0..1, and the phase's
    name (new, waxing crescent, first quarter, waxing gibbous, full, waning ...)."""
    import numpy as np

    from tessdb_sky.api import sky_context

    site = _site(location)
    ctx = sky_context(np.array([when], dtype="datetime64[ns]"), site.longitude, site.latitude, site.height_m,
                      site.timezone)
    now, waxing = float(ctx.moon_illumination[0]), bool(ctx.moon_waxing[0])
    if now < 0.03:
        name = "new Moon"
    elif now > 0.97:
        name = "full Moon"
    elif 0.45 <= now <= 0.55:
        name = "first quarter" if waxing else "last quarter"
    else:
        name = ("waxing " if waxing else "waning ") + ("crescent" if now < 0.5 else "gibbous")
    return now, name


def reading_context(data: NightData, settings: Any = None) -> dict[str, Any]:
    """tessdb_sky's context columns for the night's readings (one photometer, one site):
    the cloud verdict screens channel 1 (a TESS4C's ``[sky] tess4c_channel``)."""
    import numpy as np

    from tessdb_sky.api import cloud_settings, context_columns

    cloud = cloud_settings(settings)
    ch = cloud.tess4c_channel - 1 if data.readings and data.readings[-1]["nchannels"] == 4 else 0
    times = np.array([r["utc"] for r in data.readings], dtype="datetime64[ns]")

    def num(v: Any) -> float:
        return np.nan if v is None else float(v)

    mag = np.array([num(r["mag"][ch]) if len(r["mag"]) > ch else np.nan for r in data.readings])
    tsky = np.array([num(r.get("sky_temperature")) for r in data.readings])
    tamb = np.array([num(r.get("box_temperature")) for r in data.readings])
    return context_columns(times, _site(data.location), mag, tsky, tamb, cloud)


def _runs(times: list[datetime], mask: list[bool]) -> list[tuple[datetime, datetime]]:
    """The spans of consecutive samples where ``mask`` holds, each up to the next sample
    (so that adjacent bands touch)."""
    spans: list[tuple[datetime, datetime]] = []
    start = None
    for t, on in zip(times, mask):
        if on and start is None:
            start = t
        elif not on and start is not None:
            spans.append((start, t))
            start = None
    if start is not None:
        spans.append((start, times[-1]))
    return spans


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=_UTC)


def _naive(t: datetime) -> datetime:
    return t.astimezone(_UTC).replace(tzinfo=None)


# -- figures ----------------------------------------------------------------------------------------
def _screened(settings: Any) -> int:
    from tessdb_sky.api import cloud_settings

    return cloud_settings(settings).tess4c_channel - 1


def night_figure(data: NightData, width: int = 1200, height: int = 700, settings: Any = None) -> Figure:
    """Sky brightness through the night (local time axis), Sun and Moon altitude on a
    second axis, the twilights as shaded bands (civil, nautical, astronomical; the night
    darkest; their edges where the Sun crosses each level), the Moon's illumination at local
    midnight in the title and the legend, a gold bar along the top while the Moon is above
    the horizon, the readings screened cloudy crossed (``tessdb_sky``, ``[sky]`` settings),
    ZP changes as vertical lines; the legend outside the data, on the right.  Saturated
    readings (magnitude 0) are not plotted as brightness."""
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    alt = ax.twinx()
    ax.set_zorder(alt.get_zorder() + 1)  # the readings above the altitude curves
    ax.patch.set_visible(False)
    times, sun, moon = sun_moon_altitudes(data.location, data.since, data.until)
    aware = [_aware(t) for t in times]
    colours = {label: colour for label, _u, _l, colour in TWILIGHTS}
    for label, spans in twilight_spans(data.location, data.since, data.until).items():
        for k, (a, b) in enumerate(spans):
            alt.axvspan(_aware(a), _aware(b), color=colours[label], alpha=0.35, linewidth=0,
                        label=label if k == 0 else None, gid=f"twilight-{label.split()[0]}")
    context = reading_context(data, settings)
    up = [bool(u) for u in context["moon_up"]]
    for k, (a, b) in enumerate(_runs([r["utc"] for r in data.readings], up)):
        alt.axvspan(_aware(a), _aware(b), ymin=0.97, ymax=1.0, color="gold", alpha=0.9, linewidth=0,
                    label="Moon above the horizon" if k == 0 else None, gid="moon-up")
    for i, label in enumerate(data.channels):
        pts = [(_aware(r["utc"]), r["mag"][i]) for r in data.readings
               if len(r["mag"]) > i and r["mag"][i] is not None and r["mag"][i] > 0]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], ".", markersize=4, label=f"{label} (mag/arcsec²)",
                gid=f"brightness-{i + 1}")
    ch = _screened(settings) if data.readings[-1]["nchannels"] == 4 else 0
    cloudy = [(_aware(r["utc"]), r["mag"][ch]) for r, c in zip(data.readings, context["clouds"])
              if c == "cloudy" and len(r["mag"]) > ch and r["mag"][ch] is not None and r["mag"][ch] > 0]
    if cloudy:
        ax.plot([p[0] for p in cloudy], [p[1] for p in cloudy], "x", color="crimson", markersize=5,
                label="cloudy (screened)", gid="cloudy")
    midnight = data.since + (data.until - data.since) / 2
    lit, phase = moon_phase(data.location, midnight)
    alt.plot(aware, sun, "-", color="orange", linewidth=1.2, label="Sun altitude", gid="sun")
    alt.plot(aware, moon, "-", color="grey", linewidth=1.2,
             label=f"Moon altitude ({lit:.0%} lit, {phase})", gid="moon")
    alt.axhline(0, color="black", linewidth=0.5, linestyle=":")
    alt.set_ylabel("altitude (°)")
    alt.set_ylim(-90, 90)
    for t, text in data.zp_changes:
        ax.axvline(_aware(t), color="red", linestyle="--", linewidth=1, label=text, gid="zp-change")
    ax.set_xlim(_aware(data.since), _aware(data.until))
    ax.xaxis.set_major_locator(mdates.HourLocator(interval=2, tz=data.tz))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=data.tz))
    ax.set_xlabel(f"local time ({data.location.get('timezone')})")
    ax.set_ylabel("sky brightness (mag/arcsec²)")
    place = data.location.get("place") or ""
    ax.set_title(f"{shown(data.name)} — night of {data.day.isoformat()} — {place}\n"
                 f"Moon {lit:.0%} illuminated ({phase}) at local midnight")
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = alt.get_legend_handles_labels()
    fig.legend(handles + h2, labels + l2, loc="outside right upper", fontsize="small")
    ax.grid(True, alpha=0.3)
    fig.moon = (lit, phase)  # type: ignore[attr-defined]  # for tests and callers
    return fig


def month_figure(data: MonthData, width: int = 1200, height: int = 700) -> Figure:
    """Heat map: one row per night (evening's local date), one column per local hour from
    noon to noon; the median brightness (channel 1) of the bin, blank without data."""
    import numpy as np

    days = data.month.days()
    grid = [[[] for _ in range(24)] for _ in days]
    first = days[0]
    for r in data.readings:
        mag = r["mag"][0]
        if mag is None or mag <= 0:
            continue
        local = _aware(r["utc"]).astimezone(data.tz)
        evening = (local - timedelta(hours=12)).date()
        row = (evening - first).days
        if 0 <= row < len(days):
            grid[row][(local.hour - 12) % 24].append(mag)
    values = np.full((len(days), 24), np.nan)
    for i, row in enumerate(grid):
        for j, cell in enumerate(row):
            if cell:
                values[i, j] = float(np.median(cell))
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)
    mesh = ax.pcolormesh(np.arange(25), np.arange(len(days) + 1), np.ma.masked_invalid(values),
                         cmap=MONTH_CMAP, shading="flat")
    cbar = fig.colorbar(mesh, ax=ax)
    cbar.set_label("median sky brightness (mag/arcsec²)")
    ax.set_xticks(range(0, 25, 2))
    ax.set_xticklabels([f"{(12 + h) % 24:02d}" for h in range(0, 25, 2)])
    ax.set_yticks([i + 0.5 for i in range(len(days))])
    ax.set_yticklabels([d.strftime("%d") for d in days], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel(f"local hour ({data.location.get('timezone')})")
    ax.set_ylabel(f"night of (day of {data.month})")
    ax.set_title(f"{shown(data.name)} — {data.month} — {data.location.get('place') or ''}")
    fig.values = values  # type: ignore[attr-defined]  # the binned data, for tests and callers
    return fig


def save(fig: Figure, out: str | Path) -> Path:
    """Write the figure in the format of the file's suffix (png, svg or pdf), through a
    temporary file: no half file on error."""
    path = Path(out)
    form = path.suffix.lower().lstrip(".")
    if form not in FORMATS:
        raise BadValue(f"{str(path)!r}: a plot is written as {', '.join(FORMATS)}: give a name ending in one of them")
    tmp = path.with_name(f".{path.name}.tmp.{form}")
    try:
        fig.savefig(tmp, format=form, dpi=DPI)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
