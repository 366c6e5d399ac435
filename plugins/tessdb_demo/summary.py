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

__all__ = ["Results", "database_counts", "format_summary", "explore_commands", "show_path"]


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
