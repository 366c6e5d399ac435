"""Offline ingest benchmark: N readings from P photometers through `tessdb-core ingest`.

Generates the JSON Lines file first (not timed), then runs the real command on a
fresh database in a child process and prints readings/s (wall clock of the
whole command: start-up, decode, validation, filters, committed writes), the
child's peak memory and the rows stored.

    python bench/ingest.py --readings 1000000 --photometers 1000
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
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT (SELECT COUNT(*) FROM tess_readings_t) + (SELECT COUNT(*) FROM tess_readings4c_t)"
                            ).fetchone()[0]
    print(f"readings:        {args.readings:,} from {args.photometers:,} photometers")
    print(f"elapsed:         {elapsed:.2f} s (whole command)")
    print(f"throughput:      {args.readings / elapsed:,.0f} readings/s")
    print(f"peak memory:     {peak_mb:.0f} MB (child max RSS)")
    print(f"rows stored:     {rows:,} (dropped by filters: {sum(stats['filter']['dropped'].values()):,}, "
          f"quarantined: {sum(stats['quarantined'].values()):,})")
    if not args.keep:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
