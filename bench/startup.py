"""Start-up of the `tessdb-core` command: `version` and `instrument list` against the bare
interpreter and the import of the libraries a settings-reading command needs, in one run.

    python bench/startup.py --runs 15

Each command runs in a fresh interpreter (the one running this script) with
PYTHONDONTWRITEBYTECODE unset, after one warm-up run of each that writes the .pyc files, as a
pip-installed package has them (with the variable set, an editable install recompiles the
engine and the plugins at every start).  The runs are interleaved, so a change of the machine's
load touches every command alike; the medians and the ratios are printed, with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: what `tessdb-core` runs (its console script does the same)
CLI = "import sys; from tessdb_core.cli import main; sys.exit(main())"
#: the libraries a command that reads the settings and logs imports, and nothing of ours
LIBRARIES = "import loguru, dynaconf, click, pluggy, importlib.metadata"


def clean_env() -> dict[str, str]:
    """The caller's environment without PYTHONDONTWRITEBYTECODE and without TESSDB_ settings."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("TESSDB_")}


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr.strip()}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs of each command (after one warm-up)")
    args = ap.parse_args()
    env = clean_env()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        subprocess.run([py, "-c", CLI, "init", "--db", "tess.db"], cwd=cwd, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "libraries (loguru, dynaconf, click, pluggy, importlib.metadata)": [py, "-c", LIBRARIES],
            "tessdb-core version": [py, "-c", CLI, "version"],
            "tessdb-core instrument list --db tess.db": [py, "-c", CLI, "instrument", "list", "--db", "tess.db"],
        }
        load_before = os.getloadavg()
        for argv in commands.values():  # the warm-up: .pyc files written, caches filled
            timed(argv, cwd, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(timed(argv, cwd, env))
        load_after = os.getloadavg()
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"start-up, {args.runs} runs each after one warm-up, PYTHONDONTWRITEBYTECODE unset, "
          f"Python {sys.version.split()[0]}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    width = max(len(n) for n in commands)
    for name, t in times.items():
        print(f"  {name:<{width}}  median {median[name] * 1000:6.0f} ms  min {min(t) * 1000:6.0f} ms  "
              f"max {max(t) * 1000:6.0f} ms")
    bare, libraries = median["python -c pass"], median[next(n for n in commands if n.startswith("libraries"))]
    for name in ("tessdb-core version", "tessdb-core instrument list --db tess.db"):
        print(f"  {name}: {median[name] / bare:.1f}x the bare interpreter, {median[name] / libraries:.2f}x the "
              f"libraries' import, {(median[name] - bare) * 1000:.0f} ms above the bare interpreter "
              f"(target: < 150 ms in all)")


if __name__ == "__main__":
    main()
