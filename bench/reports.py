"""Benchmark of the scientist tools on large databases: time and peak memory per command.

Builds two SQLite databases by direct SQL (not through ``ingest``: the point is the
size of the tables, not the collector): 100 photometers (90 TESS-W, 10 TESS4C, each at
its own site, in five time zones) reading once a minute from 20:00 to 08:00 UTC, for
one month (small) and for ten months (large, >= 20 M readings).  Both end with the same
month (2026-11), the one every command is asked about, so the output is the same size
and only the table grows.  Databases are cached under ``--cache`` (default
``/tmp/tessdb-bench-reports``): a rerun reuses them.

Each command runs in a child process (``python -m tessdb_core.cli``); its wall time
and peak RSS (``os.wait4``'s ``ru_maxrss``) are printed for both sizes with their ratio.

    python bench/reports.py                 # build (first time: a few minutes) and measure
    python bench/reports.py --build-only    # only build the databases
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
from datetime import date, timedelta
from pathlib import Path

PHOTOMETERS = 100
TESS4C = 10
ZONES = ["Europe/Madrid", "Europe/Madrid", "Atlantic/Canary", "America/Mexico_City", "Asia/Kathmandu"]
MONTH = "2026-11"
LAST_DAY = date(2026, 11, 30)
SIZES = {"small": 30, "large": 303}   # days of history ending on LAST_DAY: 2.2 M and 21.8 M readings
MINUTES = [m for m in range(1440) if m >= 20 * 60 or m < 8 * 60]


def name(i: int) -> str:
    return f"stars{i + 1:03d}"


def mac(i: int) -> str:
    return f"AA:BB:CC:00:{i // 256:02X}:{i % 256:02X}"


def build(path: Path, days: int) -> int:
    from tessdb_sqlite import SqliteStore

    tmp = path.with_suffix(".building")
    for p in tmp.parent.glob(tmp.name + "*"):
        p.unlink()
    SqliteStore(str(tmp)).initialise()
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    units = conn.execute("SELECT MIN(units_id) FROM tess_units_t").fetchone()[0]
    first = LAST_DAY - timedelta(days=days - 1)
    since = f"{first - timedelta(days=1)} 00:00:00.000000"
    for i in range(PHOTOMETERS):
        tz = ZONES[i % len(ZONES)]
        conn.execute("INSERT INTO location_t (location_id, longitude, latitude, elevation, place, town, sub_region, "
                     "region, country, timezone) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (1000 + i, -3.7 + i * 0.01, 40.4 + i * 0.01, 650.0, f"site {i}", "town", "sub", "region",
                      "Spain", tz))
        four = i >= PHOTOMETERS - TESS4C
        conn.execute("INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, "
                     "nchannels, zp1, filter1, zp2, filter2, zp3, filter3, zp4, filter4, location_id) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     (1000 + i, mac(i), since, "2999-12-31 23:59:59.000000", "Current",
                      "TESS4C" if four else "TESS-W", 4 if four else 1, 20.5, "UV/IR-740",
                      *((20.4, "R", 20.3, "G", 20.2, "B") if four else (None, None, None, None, None, None)),
                      1000 + i))
        conn.execute("INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) "
                     "VALUES (?,?,?,?,?)", (name(i), mac(i), since, "2999-12-31 23:59:59.000000", "Current"))
    conn.commit()
    for table in ("tess_readings_t", "tess_readings4c_t"):
        conn.execute(f"DROP INDEX ix_{table}_tess_date_time_location")
    rnd = random.Random(7)
    seq = [0] * PHOTOMETERS
    n = 0

    def rows(four: bool):
        nonlocal n
        ids = range(PHOTOMETERS - TESS4C, PHOTOMETERS) if four else range(PHOTOMETERS - TESS4C)
        for d in range(days + 1):
            day = first + timedelta(days=d - 1)
            date_id = day.year * 10000 + day.month * 100 + day.day
            for m in MINUTES:
                if (d == 0 and m < 720) or (d == days and m >= 720):
                    continue  # the night before the first day's morning, and after the last evening
                time_id = (m // 60) * 10000 + (m % 60) * 100
                mag = 20.0 + 0.8 * math.sin(m / 229.0)
                for i in ids:
                    seq[i] += 1
                    n += 1
                    noise = rnd.random() * 0.1
                    if four:
                        yield (date_id, time_id, 1000 + i, 1000 + i, -1, units, seq[i],
                               10.0, mag + noise, 11.0, mag, 12.0, mag - 0.1, 13.0, mag - 0.2, 12.5, -7.0, -60)
                    else:
                        yield (date_id, time_id, 1000 + i, 1000 + i, -1, units, seq[i],
                               round(10 ** ((20.5 - mag) / 2.5), 3), mag + noise, 12.5, -7.0, -60)

    conn.executemany("INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id, "
                     "sequence_number, frequency, magnitude, box_temperature, sky_temperature, signal_strength) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows(False))
    conn.executemany("INSERT INTO tess_readings4c_t (date_id, time_id, tess_id, location_id, observer_id, units_id, "
                     "sequence_number, freq1, mag1, freq2, mag2, freq3, mag3, freq4, mag4, box_temperature, "
                     "sky_temperature, signal_strength) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows(True))
    conn.commit()
    for table in ("tess_readings_t", "tess_readings4c_t"):
        conn.execute(f"CREATE INDEX ix_{table}_tess_date_time_location ON {table} (tess_id, date_id, time_id, "
                     "location_id)")
    conn.execute("ANALYZE")
    conn.commit()
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    tmp.replace(path)
    return n


def database(cache: Path, size: str) -> Path:
    path = cache / f"{size}.db"
    if not path.exists():
        t0 = time.perf_counter()
        n = build(path, SIZES[size])
        print(f"built {path}: {n:,} readings in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def run(args: list[str], db: Path, work: Path) -> tuple[float, float, int]:
    """Wall time (s), peak RSS (MB) and stdout bytes of ``tessdb-core ARGS --db DB``."""
    env = dict(os.environ, TESSDB_INBOX__PATH=str(work / "inbox.db"), TESSDB_LOGS__LEVEL='"warning"')
    out = work / "stdout"
    with open(out, "wb") as fh:
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", *args, "--db", str(db)], stdout=fh,
                                 stderr=subprocess.PIPE, env=env, cwd=work)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - t0
    err = child.stderr.read().decode() if child.stderr else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{args} failed ({child.returncode}): {err}")
    return elapsed, usage.ru_maxrss / 1024, out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description="report tools benchmark")
    ap.add_argument("--cache", default="/tmp/tessdb-bench-reports", help="where the databases are kept")
    ap.add_argument("--build-only", action="store_true")
    opts = ap.parse_args()
    cache = Path(opts.cache)
    cache.mkdir(parents=True, exist_ok=True)
    dbs = {size: database(cache, size) for size in SIZES}
    if opts.build_only:
        return
    work = Path(tempfile.mkdtemp(prefix="tessdb-bench-reports-"))
    commands = {
        "report daily (a month, by name)": ["report", "daily", "--from", f"{MONTH}-01", "--to", str(LAST_DAY), "--csv"],
        "report daily --night --by mac": ["report", "daily", "--from", f"{MONTH}-01", "--to", str(LAST_DAY), "--night",
                                          "--by", "mac", "--csv"],
        "report ida NAME (a month)": ["report", "ida", name(0), "--month", MONTH, "--out", "ida-one", "--no-progress"],
        "report ida --all (a month)": ["report", "ida", "--all", "--month", MONTH, "--out", "ida-all", "--no-progress"],
        "readings export NAME (a month)": ["readings", "export", name(0), "--from", f"{MONTH}-01", "--to",
                                           str(LAST_DAY), "--no-progress"],
        "plot night": ["plot", "night", name(0), "--date", f"{MONTH}-15", "--out", "night.png"],
    }
    with sqlite3.connect(dbs["small"]) as a, sqlite3.connect(dbs["large"]) as b:
        count = "SELECT (SELECT COUNT(*) FROM tess_readings_t) + (SELECT COUNT(*) FROM tess_readings4c_t)"
        sizes = {"small": a.execute(count).fetchone()[0], "large": b.execute(count).fetchone()[0]}
    print(f"databases: small {sizes['small']:,} readings, large {sizes['large']:,} readings "
          f"({sizes['large'] / sizes['small']:.1f}x), {PHOTOMETERS} photometers, asked about {MONTH}")
    print(f"{'command':34} {'small s':>8} {'large s':>8} {'ratio':>6} {'small MB':>9} {'large MB':>9} {'output':>10}")
    try:
        for label, args in commands.items():
            res = {}
            for size in SIZES:
                run(args, dbs[size], work)  # warm the page cache: both sizes measured warm
                res[size] = run(args, dbs[size], work)
            (ts, ms, _), (tl, ml, out) = res["small"], res["large"]
            print(f"{label:34} {ts:8.2f} {tl:8.2f} {tl / ts:6.2f} {ms:9.0f} {ml:9.0f} {out / 1e6:9.1f}M")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
