"""Offline ingest benchmark: N readings from P photometers through `tessdb-core ingest`,
against a hand-written floor in the same run.

Generates the JSON Lines file first (not timed), then runs the real command on a
fresh database in a child process and prints readings/s (wall clock of the
whole command: start-up, decode, validation, filters, committed writes), the
child's peak memory and the rows stored.

The floor is the least a program can do with the same file: a child process that
``json.loads`` each line and its payload, keeps a name -> id dict from the
registrations, builds the row tuple and writes one ``executemany`` per 1,000 rows
(each its own transaction, synchronous=FULL like the store) into a database made by
the same ``tessdb-core init``; no checks, no filters, no inbox, no quarantine.  The
ratio tessdb-core / floor is what to compare between runs on a shared machine.

    python bench/ingest.py --readings 300000 --photometers 1000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import generate  # noqa: E402


FLOOR = r'''
import json, sqlite3, sys
data, db = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA synchronous=FULL")
conn.execute("PRAGMA cache_size=-32768")
conn.execute("PRAGMA wal_autocheckpoint=10000")
W = ("INSERT OR IGNORE INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id,"
     " sequence_number, frequency, magnitude, box_temperature, sky_temperature, signal_strength, hash)"
     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
C = ("INSERT OR IGNORE INTO tess_readings4c_t (date_id, time_id, tess_id, location_id, observer_id, units_id,"
     " sequence_number, freq1, mag1, freq2, mag2, freq3, mag3, freq4, mag4, box_temperature, sky_temperature,"
     " signal_strength, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
ids = {}
w_rows, c_rows = [], []
loads = json.loads
def write():
    conn.execute("BEGIN")
    if w_rows:
        conn.executemany(W, w_rows)
    if c_rows:
        conn.executemany(C, c_rows)
    conn.execute("COMMIT")
    w_rows.clear(); c_rows.clear()
with open(data, "rb") as fh:
    for line in fh:
        env = loads(line)
        d = loads(env["payload"])
        name = d["name"]
        if env["topic"].endswith("register"):
            ids.setdefault(name, len(ids) + 1)
            continue
        t = d["tstamp"]
        date_id = int(t[0:4] + t[5:7] + t[8:10])
        time_id = int(t[11:13] + t[14:16] + t[17:19])
        if "F4" in d:
            c_rows.append((date_id, time_id, ids[name], -1, -1, 3, d["seq"],
                           d["F1"]["freq"], d["F1"]["mag"], d["F2"]["freq"], d["F2"]["mag"],
                           d["F3"]["freq"], d["F3"]["mag"], d["F4"]["freq"], d["F4"]["mag"],
                           d.get("tamb"), d.get("tsky"), d.get("wdBm"), d.get("hash")))
        else:
            w_rows.append((date_id, time_id, ids[name], -1, -1, 3, d["seq"], d["freq"], d["mag"],
                           d["tamb"], d["tsky"], d.get("wdBm"), d.get("hash")))
        if len(w_rows) + len(c_rows) >= 1000:
            write()
write()
conn.close()
'''


def floor(data: Path, work: Path, env: dict[str, str]) -> tuple[float, int]:
    """Seconds the hand-written floor takes on ``data`` (a fresh database), and its rows."""
    db = work / "floor.db"
    subprocess.run([sys.executable, "-m", "tessdb_core.cli", "init", "--db", str(db)], check=True, env=env,
                   capture_output=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR, str(data), str(db)], check=True)
    elapsed = time.perf_counter() - t0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT (SELECT COUNT(*) FROM tess_readings_t) + (SELECT COUNT(*) FROM tess_readings4c_t)"
                            ).fetchone()[0]
    return elapsed, rows


def main() -> None:
    ap = argparse.ArgumentParser(description="offline ingest benchmark")
    ap.add_argument("--readings", type=int, default=1_000_000)
    ap.add_argument("--photometers", type=int, default=1000)
    ap.add_argument("--keep", help="keep the work files in this directory")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="tessdb-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "fleet.jsonl"
    with open(data, "wb") as fh:
        for line in generate(args.readings, args.photometers):
            fh.write(line + b"\n")
    db = work / "tess.db"
    for p in work.glob("*.db*"):
        p.unlink()
    env = dict(os.environ, TESSDB_INBOX__PATH=str(work / "inbox.db"), TESSDB_LOGS__LEVEL='"warning"')
    subprocess.run([sys.executable, "-m", "tessdb_core.cli", "init", "--db", str(db)], check=True, env=env,
                   capture_output=True)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "tessdb_core.cli", "ingest", str(data), "--db", str(db), "--json",
                          "--no-progress"], check=True, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    stats = json.loads(out.stdout)
    floor_s, floor_rows = floor(data, work, env)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT (SELECT COUNT(*) FROM tess_readings_t) + (SELECT COUNT(*) FROM tess_readings4c_t)"
                            ).fetchone()[0]
    print(f"readings:        {args.readings:,} from {args.photometers:,} photometers")
    print(f"elapsed:         {elapsed:.2f} s (whole command)")
    print(f"throughput:      {args.readings / elapsed:,.0f} readings/s")
    print(f"peak memory:     {peak_mb:.0f} MB (child max RSS)")
    print(f"rows stored:     {rows:,} (dropped by filters: {sum(stats['filter']['dropped'].values()):,}, "
          f"quarantined: {sum(stats['quarantined'].values()):,})")
    print(f"floor:           {args.readings / floor_s:,.0f} readings/s ({floor_s:.2f} s, {floor_rows:,} rows; "
          "json.loads + one executemany per 1,000 rows)")
    print(f"ratio:           {floor_s / elapsed:.2f}x the floor (target >= 0.8x); load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.keep:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
