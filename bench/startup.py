"""Start-up of the `tessdb-core` command: `version` and `instrument list` against the bare
interpreter and the import of the libraries a settings-reading command needs, in one run.

    python bench/startup.py --runs 15
    python bench/startup.py --imports     # also: where each command's import time goes, by package

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
#: the commands with a target
TESSDB = ("tessdb-core version", "tessdb-core instrument list --db tess.db")


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


def imports_by_package(argv: list[str], cwd: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    """``python -X importtime``: each module's own import time, in ms, charged to the package that
    brought it in: the innermost non-standard-library package among it and its importers
    (``asyncio`` under loguru is loguru's, ``email`` under ``importlib.metadata`` is that one's),
    the standard library imported by the interpreter's start (``site``) or at run time apart."""
    out = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    rows = []  # (depth, module, own ms), children before their importer (the output's order)
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        rows.append(((len(name) - len(name.lstrip())) // 2, name.strip(), int(own) / 1000))
    by: dict[str, float] = {}

    def charge(i: int, group: str | None) -> int:
        """Charge row i and its children (the rows above it, one level deeper); return the first row of them."""
        depth, module, ms = rows[i]
        mine = _group(module) or group or "standard library (start, lazy)"
        by[mine] = by.get(mine, 0.0) + ms
        j = i - 1
        while j >= 0 and rows[j][0] > depth:
            j = charge(j, mine) - 1
        return j + 1

    i = len(rows) - 1
    while i >= 0:
        i = charge(i, None) - 1
    return sorted(by.items(), key=lambda kv: -kv[1])


def _group(module: str) -> str | None:
    """The package a module is charged to when it is not the standard library's; None for the latter."""
    if module == "importlib.metadata" or module.startswith("importlib.metadata."):
        return "importlib.metadata"
    top = module.split(".")[0]
    if top.startswith("__editable__"):
        return "editable install's finder"  # a pip install has none
    if top in sys.stdlib_module_names or top.startswith("_") or top in ("site", "encodings"):
        return None
    return top


def print_imports(found_by_command: dict[str, list[tuple[str, float]]], top: int = 12) -> None:
    for name, found in found_by_command.items():
        total = sum(ms for _, ms in found)
        print(f"  imports of {name}: {total:.0f} ms in all (one run, -X importtime adds its own cost)")
        for package, ms in found[:top]:
            print(f"    {package:<32} {ms:6.1f} ms")
        rest = found[top:]
        print(f"    {f'{len(rest)} other packages':<32} {sum(ms for _, ms in rest):6.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs of each command (after one warm-up)")
    ap.add_argument("--imports", action="store_true", help="also print each command's import time by package")
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
        imports = {name: imports_by_package(commands[name], cwd, env) for name in TESSDB if args.imports}
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"start-up, {args.runs} runs each after one warm-up, PYTHONDONTWRITEBYTECODE unset, "
          f"Python {sys.version.split()[0]}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    width = max(len(n) for n in commands)
    for name, t in times.items():
        print(f"  {name:<{width}}  median {median[name] * 1000:6.0f} ms  min {min(t) * 1000:6.0f} ms  "
              f"max {max(t) * 1000:6.0f} ms")
    bare, libraries = median["python -c pass"], median[next(n for n in commands if n.startswith("libraries"))]
    for name in TESSDB:
        print(f"  {name}: {median[name] / bare:.1f}x the bare interpreter, {median[name] / libraries:.2f}x the "
              f"libraries' import, {(median[name] - bare) * 1000:.0f} ms above the bare interpreter "
              f"(target: < 150 ms in all)")
    print_imports(imports)


if __name__ == "__main__":
    main()
