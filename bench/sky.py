"""Benchmark of the sky context against tess-ida-tools' ``tess-ida-ecsv`` on the same IDA month.

Builds (by direct SQL, cached under ``--cache``) a database with one TESS-W at Madrid
reading once a minute for a whole month (43,200 readings), writes its IDA file with
``tessdb-core report ida``, then times, side by side:

* ``tess-ida-ecsv single`` on that IDA file (astroplan adds Sun Alt/Az, Moon Alt/Az, Moon
  Illumination), run from the benchmark's own virtual environment (``--venv``, created
  and given tess-ida-tools from the package index when it has no ``tess-ida-ecsv``);
* ``tessdb_sky``'s ``context_columns`` on the same 43,200 times, in this process (the Sun,
  the Moon, sky state, night and the cloud screening), best of ``--repeat``;
* ``tessdb-core readings export NAME --format ecsv`` for the month (the whole command: the
  query, the context and the ECSV file), as a child process like tess-ida-ecsv.

It prints each time and the ratios (tess-ida-ecsv / ours).  The targets (issue 20): the
context of a photometer-month under 0.5 s and at least 50x tess-ida-ecsv.

    python bench/sky.py
    python bench/sky.py --venv /tmp/tessdb-bench-sky-venv --repeat 5
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import venv
from datetime import date, timedelta
from pathlib import Path

NAME = "stars001"
MAC = "AA:BB:CC:00:00:01"
MONTH = "2026-11"
FIRST, DAYS = date(2026, 11, 1), 30
SITE = (-3.7038, 40.4168, 657.0, "Europe/Madrid")


def build(path: Path) -> int:
    """One TESS-W at Madrid, a reading every minute of the month (magnitude 0 by day)."""
    from tessdb_sqlite import SqliteStore

    tmp = path.with_suffix(".building")
    for p in tmp.parent.glob(tmp.name + "*"):
        p.unlink()
    SqliteStore(str(tmp)).initialise()
    conn = sqlite3.connect(tmp)
    units = conn.execute("SELECT MIN(units_id) FROM tess_units_t").fetchone()[0]
    since = f"{FIRST - timedelta(days=2)} 00:00:00.000000"
    conn.execute("INSERT INTO location_t (location_id, longitude, latitude, elevation, place, town, sub_region, region, "
                 "country, timezone) VALUES (1000, ?, ?, ?, 'Facultad', 'Madrid', 'Madrid', 'Madrid', 'Spain', ?)", SITE)
    conn.execute("INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, nchannels, "
                 "zp1, filter1, location_id) VALUES (1000, ?, ?, '2999-12-31 23:59:59.000000', 'Current', 'TESS-W', 1, "
                 "20.5, 'UV/IR-740', 1000)", (MAC, since))
    conn.execute("INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) "
                 "VALUES (?, ?, ?, '2999-12-31 23:59:59.000000', 'Current')", (NAME, MAC, since))
    rnd = random.Random(7)
    rows = []
    for d in range(DAYS):
        day = FIRST + timedelta(days=d)
        for m in range(1440):
            night = m >= 18 * 60 or m < 7 * 60
            mag = 20.0 + 0.8 * math.sin(m / 229.0) + rnd.random() * 0.05 if night else 0.0
            freq = round(10 ** ((20.5 - mag) / 2.5), 3) if mag else 0.0
            rows.append((day.year * 10000 + day.month * 100 + day.day, (m // 60) * 10000 + (m % 60) * 100, 1000, 1000,
                         -1, units, d * 1440 + m + 1, freq, mag, 12.5, -7.0 - rnd.random(), -60))
    conn.executemany("INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id, "
                     "sequence_number, frequency, magnitude, box_temperature, sky_temperature, signal_strength) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()
    tmp.replace(path)
    return len(rows)


def tessdb(args: list[str], db: Path, work: Path) -> float:
    env = dict(os.environ, TESSDB_INBOX__PATH=str(work / "inbox.db"), TESSDB_LOGS__LEVEL='"warning"')
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tessdb_core.cli", *args, "--db", str(db)], cwd=work, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"tessdb-core {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed


def ida_ecsv(venv_dir: Path) -> Path:
    """The ``tess-ida-ecsv`` of the benchmark's own environment, installed if missing."""
    exe = venv_dir / "bin" / "tess-ida-ecsv"
    if not exe.exists():
        print(f"installing tess-ida-tools into {venv_dir} (once)", file=sys.stderr)
        venv.create(venv_dir, with_pip=True)
        subprocess.run([str(venv_dir / "bin" / "python"), "-m", "pip", "install", "-q", "tess-ida-tools"], check=True)
    return exe


def main() -> None:
    ap = argparse.ArgumentParser(description="sky context benchmark against tess-ida-ecsv")
    ap.add_argument("--cache", default="/tmp/tessdb-bench-sky", help="where the database is kept")
    ap.add_argument("--venv", default="/tmp/tessdb-bench-sky-venv", help="the environment with tess-ida-tools")
    ap.add_argument("--repeat", type=int, default=3, help="runs of our context (the best is kept)")
    opts = ap.parse_args()
    cache = Path(opts.cache)
    cache.mkdir(parents=True, exist_ok=True)
    db = cache / "month.db"
    if not db.exists():
        print(f"built {db}: {build(db):,} readings", file=sys.stderr)
    exe = ida_ecsv(Path(opts.venv))
    work = Path(tempfile.mkdtemp(prefix="tessdb-bench-sky-"))
    try:
        tessdb(["report", "ida", NAME, "--month", MONTH, "--out", "ida", "--no-progress"], db, work)
        ida_file = next((work / "ida").rglob("*.dat"))
        with open(ida_file) as fh:
            n_ida = sum(1 for line in fh if not line.startswith("#"))

        # tess-ida-ecsv on the IDA file (a child process, as its users run it).  Offline, astropy
        # refuses IERS predictions more than 30 days old unless told to use what it ships
        # (XDG_CONFIG_HOME/astropy/astropy.cfg); nothing else is changed
        cfg = work / "xdg" / "astropy"
        cfg.mkdir(parents=True)
        (cfg / "astropy.cfg").write_text("[utils.iers.iers]\nauto_download = False\nauto_max_age = 100000\n")
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_FILE"}
        env.update(XDG_CONFIG_HOME=str(work / "xdg"), XDG_CACHE_HOME=str(work / "xdg"))
        t0 = time.perf_counter()
        done = subprocess.run([str(exe), "single", "-n", NAME, "-m", MONTH, "-i", str(work / "ida"),
                               "-o", str(work / "ecsv")], cwd=work, env=env, capture_output=True, text=True)
        t_ida = time.perf_counter() - t0
        if done.returncode or not list((work / "ecsv").rglob("*.ecsv")):
            raise SystemExit(f"tess-ida-ecsv failed: {done.stderr.strip()[-500:]}")

        # our context on the same readings, in process
        import numpy as np

        from tessdb_sky.api import cloud_settings, context_columns
        from tessdb_sky.series import Site

        conn = sqlite3.connect(db)
        got = conn.execute("SELECT d.sql_date || 'T' || t.time, r.magnitude, r.sky_temperature, r.box_temperature "
                           "FROM tess_readings_t r JOIN date_t d USING (date_id) JOIN time_t t USING (time_id) "
                           "ORDER BY r.date_id, r.time_id").fetchall()
        conn.close()
        times = np.array([g[0] for g in got], dtype="datetime64[ns]")
        mag, tsky, tamb = (np.array([g[i] for g in got], dtype=float) for i in (1, 2, 3))
        site = Site(SITE[0], SITE[1], SITE[2], SITE[3])
        settings = cloud_settings()
        context_columns(times[:100], site, mag[:100], tsky[:100], tamb[:100], settings)  # imports, caches
        best = cpu = math.inf
        for _ in range(max(1, opts.repeat)):
            t0, c0 = time.perf_counter(), time.process_time()
            cols = context_columns(times, site, mag, tsky, tamb, settings)
            best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
        assert len(cols["sun_alt"]) == len(times)

        # the whole command: query, context, ECSV
        last = FIRST + timedelta(days=DAYS - 1)
        t_export = min(tessdb(["readings", "export", NAME, "--format", "ecsv", "--from", str(FIRST), "--to", str(last),
                               "--out", "month.ecsv", "--no-progress"], db, work) for _ in range(2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"one photometer-month at Madrid: {len(times):,} readings in the database, {n_ida:,} in the IDA file; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'what':58} {'seconds':>8} {'tess-ida-ecsv / this':>21}")
    print(f"{'tess-ida-ecsv single (IDA file -> ECSV, astroplan)':58} {t_ida:8.2f} {'1.0':>21}")
    print(f"{'tessdb_sky context_columns (Sun, Moon, state, night, clouds)':58} {best:8.3f} {t_ida / best:20.0f}x")
    print(f"{'  the same, CPU time of this process':58} {cpu:8.3f}")
    print(f"{'tessdb-core readings export --format ecsv (whole command)':58} {t_export:8.2f} {t_ida / t_export:20.1f}x")
    print(f"targets: context under 0.5 s ({'met' if best < 0.5 else 'NOT met'}), at least 50x tess-ida-ecsv "
          f"({'met' if t_ida / best >= 50 else 'NOT met'})")


if __name__ == "__main__":
    main()
