"""`tessdb-core init` timing: the schema and the preload (18,628 dates, 86,400 times) on a
fresh SQLite file, best of N runs, in-process (the command's start-up is not counted).

    python bench/init.py --runs 5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tessdb_sqlite import SqliteStore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            path = Path(tmp) / f"t{i}.db"
            t0 = time.perf_counter()
            SqliteStore(str(path)).initialise()
            times.append(time.perf_counter() - t0)
            again = time.perf_counter()
            SqliteStore(str(path)).initialise()  # the idempotent second run
            times_again = time.perf_counter() - again
    print(f"init: best {min(times):.3f} s, worst {max(times):.3f} s over {args.runs} runs "
          f"(target: well under 2 s); second run on an initialised file: {times_again:.3f} s")


if __name__ == "__main__":
    main()
