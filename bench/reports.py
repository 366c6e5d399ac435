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
    python bench/reports.py --nights-only   # only report nights / plot year (their own database)
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


def _fresh_database(path: Path) -> tuple[Path, sqlite3.Connection]:
    """A new, initialised database beside ``path`` (renamed to it once built), opened for a
    bulk load: no journal, no sync — a crashed build is simply made again."""
    from tessdb_sqlite import SqliteStore

    tmp = path.with_suffix(".building")
    for p in tmp.parent.glob(tmp.name + "*"):
        p.unlink()
    SqliteStore(str(tmp)).initialise()
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    return tmp, conn


def build(path: Path, days: int) -> int:
    tmp, conn = _fresh_database(path)
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


# -- night summaries and year plots: one night of many photometers, a year of one --------------------
NIGHT = date(2026, 11, 15)
NIGHT_FLEET = 500
YEAR = 2026


def build_nights(path: Path) -> int:
    """``NIGHT_FLEET`` photometers (``night001`` ..) with the night of NIGHT, and ``year001``
    with every night of YEAR, all at Madrid-like sites, a reading a minute from 17:00 to 08:00
    UTC (what the daylight filter keeps), clouds on one night in three (tsky near tamb, a
    wavy brightness)."""
    tmp, conn = _fresh_database(path)
    units = conn.execute("SELECT MIN(units_id) FROM tess_units_t").fetchone()[0]
    since = "2025-12-01 00:00:00.000000"
    names = [f"night{i + 1:03d}" for i in range(NIGHT_FLEET)] + ["year001"]
    for i, who in enumerate(names):
        conn.execute("INSERT INTO location_t (location_id, longitude, latitude, elevation, place, town, sub_region, "
                     "region, country, timezone) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (1000 + i, -3.7 + i * 0.002, 40.4 + i * 0.002, 650.0, f"site {i}", "town", "sub", "region",
                      "Spain", "Europe/Madrid"))
        conn.execute("INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, "
                     "nchannels, zp1, filter1, location_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (1000 + i, mac(i), since, "2999-12-31 23:59:59.000000", "Current", "TESS-W", 1, 20.5,
                      "UV/IR-740", 1000 + i))
        conn.execute("INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) "
                     "VALUES (?,?,?,?,?)", (who, mac(i), since, "2999-12-31 23:59:59.000000", "Current"))
    rnd = random.Random(11)
    minutes = [m for m in range(1440) if m >= 17 * 60 or m < 8 * 60]

    def night_rows(tess_id: int, evening: date):
        cloudy = (evening.toordinal() + tess_id) % 3 == 0
        for m in minutes:
            day = evening if m >= 12 * 60 else evening + timedelta(days=1)
            wave = 0.6 * math.sin(m / 7.0) if cloudy else 0.0
            mag = 20.0 + 0.5 * math.sin(m / 229.0) + wave + rnd.random() * 0.04
            tamb = 8.0 + rnd.random() * 0.3
            tsky = tamb - (0.5 if cloudy else 18.0)
            yield (day.year * 10000 + day.month * 100 + day.day, (m // 60) * 10000 + (m % 60) * 100, tess_id,
                   tess_id, -1, units, m, round(10 ** ((20.5 - mag) / 2.5), 3), round(mag, 2), tamb, tsky, -60)

    def all_rows():
        for i in range(NIGHT_FLEET):
            yield from night_rows(1000 + i, NIGHT)
        d = date(YEAR - 1, 12, 31)
        while d <= date(YEAR, 12, 31):
            yield from night_rows(1000 + NIGHT_FLEET, d)
            d += timedelta(days=1)

    conn.executemany("INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id, "
                     "sequence_number, frequency, magnitude, box_temperature, sky_temperature, signal_strength) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", all_rows())
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.execute("PRAGMA journal_mode = WAL")
    n = conn.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0]
    conn.close()
    tmp.replace(path)
    return n


def nights_bench(cache: Path, work: Path) -> None:
    """Targets of docs/reports.md: one night of 500 photometers < 10 s, a year of one < 2 s."""
    path = cache / "nights.db"
    if not path.exists():
        t0 = time.perf_counter()
        n = build_nights(path)
        print(f"built {path}: {n:,} readings in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    month = ["report", "nights", "year001", "--from", f"{YEAR}-11-01", "--to", f"{YEAR}-11-30", "--csv"]
    cases = {
        f"report nights --all (1 night, {NIGHT_FLEET} photometers)": (
            ["report", "nights", "--all", "--from", str(NIGHT), "--to", str(NIGHT), "--csv"], 10.0),
        "report nights NAME (a year)": (
            ["report", "nights", "year001", "--from", f"{YEAR}-01-01", "--to", f"{YEAR}-12-31", "--csv"], 2.0),
        "report nights NAME (a month)": (month, None),
        "plot year NAME": (["plot", "year", "year001", "--year", str(YEAR), "--out", "year.png"], None),
    }
    print(f"\n{'nights command':48} {'wall s':>7} {'cpu s':>6} {'target':>7} {'peak MB':>8} {'output':>9}")
    for label, (args, target) in cases.items():
        child_run(args, path, work)  # warm
        t, cpu, mb, out = child_run(args, path, work)
        goal = f"< {target:.0f}" if target else ""
        print(f"{label:48} {t:7.2f} {cpu:6.2f} {goal:>7} {mb:8.0f} {out / 1e3:8.1f}K")


def database(cache: Path, size: str) -> Path:
    path = cache / f"{size}.db"
    if not path.exists():
        t0 = time.perf_counter()
        n = build(path, SIZES[size])
        print(f"built {path}: {n:,} readings in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def run(args: list[str], db: Path, work: Path) -> tuple[float, float, int]:
    """Wall time (s), peak RSS (MB) and stdout bytes of ``tessdb-core ARGS --db DB``."""
    elapsed, _cpu, mb, size = child_run(args, db, work)
    return elapsed, mb, size


def child_run(args: list[str], db: Path, work: Path) -> tuple[float, float, float, int]:
    """Wall time (s), CPU time (user + system, s), peak RSS (MB) and stdout bytes of
    ``tessdb-core ARGS --db DB`` (the CPU time is what a quiet machine's wall time would be
    for a one-thread command, whatever else the machine runs)."""
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
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description="report tools benchmark")
    ap.add_argument("--cache", default="/tmp/tessdb-bench-reports", help="where the databases are kept")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--nights-only", action="store_true",
                    help="only the night summaries and year plots (their own database)")
    opts = ap.parse_args()
    cache = Path(opts.cache)
    cache.mkdir(parents=True, exist_ok=True)
    if opts.nights_only:
        work = Path(tempfile.mkdtemp(prefix="tessdb-bench-nights-"))
        try:
            nights_bench(cache, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
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
        nights_bench(cache, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
