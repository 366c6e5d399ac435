"""What the demo reports: read from the database, the quarantine and the service's counters.

Why the database is read with plain SQL here: the demo made it itself with
``tessdb-core init`` (always the SQLite star schema), and these are counts, read
after the service has stopped, from a read-only connection.
"""

from __future__ import annotations

import shlex
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Results", "database_counts", "format_summary", "explore_commands", "screened_clear", "show_path"]


@dataclass
class Results:
    photometers: dict[str, int]        # model -> named photometers (current name mappings)
    readings: dict[str, int]           # "TESS-W" / "TESS4C" -> rows stored
    quarantine: dict[str, int]         # reason -> entries
    dropped: dict[str, int]            # filter -> readings dropped (the service's counters)
    register: dict[str, int]           # the service's dbase_register counters
    sim: dict[str, Any]                # the simulator's JSON summary
    received: int                      # messages the service took in
    operator_set_up: int = 1
    plot: Path | None = None
    plot_error: str | None = None
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: name -> the share of its astronomical-night readings the sky library's cloud screening
    #: calls clear (None: no verdict), beside the simulator's truth (``sim["clear_night_fraction"]``)
    clear: dict[str, float | None] = field(default_factory=dict)

    @property
    def stored(self) -> int:
        return sum(self.readings.values())


def database_counts(db: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(named photometers per model, readings stored per model) of the demo's database."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        models = dict(conn.execute(
            "SELECT t.model, COUNT(DISTINCT m.name) FROM name_to_mac_t AS m "
            "JOIN tess_t AS t ON t.mac_address = m.mac_address AND t.valid_state = 'Current' "
            "WHERE m.valid_state = 'Current' GROUP BY t.model ORDER BY t.model DESC").fetchall())
        readings = {"TESS-W": conn.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0],
                    "TESS4C": conn.execute("SELECT COUNT(*) FROM tess_readings4c_t").fetchone()[0]}
    finally:
        conn.close()
    return models, readings


def screened_clear(db: Path, sites: dict[str, tuple[float, float]]) -> dict[str, float | None]:
    """Per photometer name with a known site ``(longitude, latitude)``: clear / (clear + cloudy)
    of its astronomical-night readings by the sky library's screening (its default ``[sky]``
    settings), None when no reading got a verdict.  The demo knows every simulated site,
    even of the photometers that registered themselves at location -1."""
    import numpy as np
    from tessdb_sky.series import Site, context_columns

    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    out: dict[str, float | None] = {}
    try:
        for name, (lon, lat) in sorted(sites.items()):
            rows = []
            for table, mag in (("tess_readings_t", "r.magnitude"), ("tess_readings4c_t", "r.mag1")):
                rows += conn.execute(
                    f"SELECT r.date_id, r.time_id, r.box_temperature, r.sky_temperature, {mag} FROM {table} AS r "
                    "JOIN tess_t AS t ON t.tess_id = r.tess_id "
                    "JOIN name_to_mac_t AS m ON m.mac_address = t.mac_address AND m.name = ?", (name,)).fetchall()
            if not rows:
                continue
            rows.sort()
            times = np.array([f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}T{t // 10000:02d}:"
                              f"{t // 100 % 100:02d}:{t % 100:02d}" for d, t, *_ in rows], dtype="datetime64[s]")
            values = np.array([r[2:] for r in rows], dtype=float)
            cols = context_columns(times, Site(lon, lat), values[:, 2], values[:, 1], values[:, 0])
            night = cols["sky_state"] == "night"
            clear = int((night & (cols["clouds"] == "clear")).sum())
            cloudy = int((night & (cols["clouds"] == "cloudy")).sum())
            out[name] = clear / (clear + cloudy) if clear + cloudy else None
    finally:
        conn.close()
    return out


def show_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _n(value: int) -> str:
    return f"{value:,}"


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {_n(v)}" for k, v in sorted(d.items()) if v) or "none"


def format_summary(r: Results) -> list[str]:
    photometers = sum(r.photometers.values())
    themselves = max(0, photometers - r.operator_set_up)
    lines = [
        f"Summary ({r.elapsed:.1f} s)",
        f"  photometers registered  {_n(photometers)} ({themselves} registered themselves, "
        f"{r.operator_set_up} set up by the operator): {_counts(r.photometers)}",
        f"  readings stored         {_n(r.stored)}: TESS-W {_n(r.readings.get('TESS-W', 0))}, "
        f"TESS4C {_n(r.readings.get('TESS4C', 0))}",
        f"  dropped by daylight     {_n(r.dropped.get('daylight', 0))} (saturated daytime readings)",
    ]
    others = {k: v for k, v in r.dropped.items() if k != "daylight" and v}
    if others:
        lines.append(f"  dropped by other filters {_counts(others)}")
    total_q = sum(r.quarantine.values())
    lines.append(f"  quarantined             {_n(total_q)}: {_counts(r.quarantine)}"
                 f" ({_n(r.sim.get('malformed', 0))} malformed messages sent)")
    if r.clear:
        truth = r.sim.get("clear_night_fraction") or {}

        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.0%}"

        cells = [f"{name} {pct(v)} ({pct(truth.get(name))})" for name, v in r.clear.items()]
        lines.append("  clear astronomical night, screened (simulated):")
        lines.extend("    " + ", ".join(cells[i:i + 5]) for i in range(0, len(cells), 5))
    if r.plot is not None:
        lines.append(f"  night plot              {show_path(r.plot)}")
    else:
        lines.append(f"  night plot              not written: {r.plot_error}")
    lines.extend(f"  note: {n}" for n in r.notes)
    return lines


def explore_commands(db: Path, inbox: Path, name: str, month: str, workdir: Path) -> list[str]:
    d, q, w = shlex.quote(show_path(db)), shlex.quote(show_path(inbox)), show_path(workdir)
    return [
        f"tessdb-core instrument list --db {d}",
        f"tessdb-core instrument unassigned --db {d}",
        f"tessdb-core readings list {name} --db {d}",
        f"tessdb-core report daily --db {d}",
        f"tessdb-core report ida {name} --month {month} --out {shlex.quote(str(Path(w) / 'ida'))} --db {d}",
        f"TESSDB_INBOX__PATH={q} tessdb-core quarantine list",
    ]
