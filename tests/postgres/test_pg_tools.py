"""The `tessdb-core` command on PostgreSQL, end to end (child processes, as tests/e2e do):
init, ingest, the maintenance commands and the report tools give what they give on SQLite."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from cli_runner import Cli
from tessdb_core.cli import main
from report_data import IDA_DIR, MADRID, night_mag, rd, rd4c, reg, reg4c

MAC10, MAC20 = "AA:BB:CC:DD:EE:10", "AA:BB:CC:DD:EE:20"
#: the PostgreSQL store's warning about the test server (durability off on purpose): not compared
_FSYNC_OFF = re.compile(r"runs with fsync = off")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")


def feed_lines() -> list[str]:
    """stars10 (TESS-W, a ZP change at 2026-10-15 01:00) and stars20 (TESS4C); two nights of
    readings every 10 minutes, a reading at 2026-11-01 00:00:00."""
    t0 = datetime(2026, 10, 1)
    lines = [reg("stars10", MAC10, 20.5, t0), reg4c("stars20", MAC20, t0)]
    seq = 0
    for start in (datetime(2026, 10, 14, 10), datetime(2026, 10, 20, 10)):
        for i in range(24 * 6 + 1):
            t = start + timedelta(minutes=10 * i)
            seq += 1
            lines.append(rd("stars10", seq, t, night_mag(t)))
            if start.day == 14 and i == 90:
                lines.append(reg("stars10", MAC10, 20.61, datetime(2026, 10, 15, 1, 0, 0)))
    lines.append(rd("stars10", seq + 1, datetime(2026, 11, 1), 19.5))
    lines += [rd4c("stars20", i, datetime(2026, 10, 20, 22) + timedelta(minutes=i)) for i in range(1, 4)]
    return lines


def mask_now(text: str) -> str:
    """Timestamps within ten minutes of now (the default --since of a command) -> <now>."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)

    def repl(m: re.Match) -> str:
        try:
            t = datetime.fromisoformat(m.group(0).replace("T", " "))
        except ValueError:
            return m.group(0)
        return "<now>" if abs((t - now).total_seconds()) < 600 else m.group(0)

    return _TS.sub(repl, text)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class Both:
    """The same database on SQLite (``tess.db`` in ``cwd``) and on PostgreSQL: run a command
    (in this process, for speed) on each and check that both say the same."""

    def __init__(self, run: Callable[..., Result], cwd: Path, pg: str) -> None:
        self.cli, self.cwd, self.pg, self.lite = run, cwd, pg, "tess.db"

    def run(self, *args: str, check: bool = True) -> tuple[str, str]:
        outs = []
        for db in (self.lite, self.pg):
            r = self.cli(*args, "--db", db)
            if check:
                assert r.returncode == 0, (args, db, r.stderr)
            err = "".join(line for line in r.stderr.splitlines(keepends=True) if not _FSYNC_OFF.search(line))
            outs.append((r.returncode, mask_now(r.stdout), err.replace(self.pg, "DB").replace(self.lite, "DB")))
        assert outs[0] == outs[1], (args, outs)
        return outs[0][1], outs[0][2]

    def sql(self, statement: str) -> None:
        with sqlite3.connect(self.cwd / self.lite) as conn:
            conn.executescript(statement)
        with psycopg.connect(self.pg, autocommit=True) as conn:
            conn.execute(statement)


@pytest.fixture
def cli(tmp_path) -> Cli:
    """`tessdb-core` in a child process, in tmp_path."""
    return Cli(tmp_path)


@pytest.fixture
def tdb(capsys, monkeypatch, tmp_path) -> Callable[..., Result]:
    """`tessdb-core ARGS` in this process, in tmp_path."""
    for key in [k for k in os.environ if k.startswith("TESSDB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TESSDB_LOGS__LEVEL", '"warning"')
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return run


@pytest.fixture
def both(tdb, pg_db, tmp_path) -> Both:
    """Both databases made by `init`, the instruments registered and placed at Madrid, then
    fed the same readings by `ingest`."""
    assert tdb("init").returncode == 0
    lines = feed_lines()
    (tmp_path / "regs.jsonl").write_text("\n".join(lines[:2]) + "\n")
    (tmp_path / "feed.jsonl").write_text("\n".join(lines[2:]) + "\n")
    b = Both(tdb, tmp_path, pg_db)
    b.run("ingest", "regs.jsonl", "--json")
    cols = "location_id, longitude, latitude, elevation, place, town, sub_region, region, country, timezone, " \
           "contact_name, contact_email, organization"
    values = ", ".join("NULL" if v is None else repr(v) for v in MADRID)
    b.sql(f"INSERT INTO location_t ({cols}) VALUES ({values}); UPDATE tess_t SET location_id = 1;")
    out, _ = b.run("ingest", "feed.jsonl", "--json")
    assert '"stored": ' in out
    return b


def test_init_and_ingest_on_postgresql(cli, pg_url, tmp_path):
    """The real command in child processes, as the operator runs it."""
    assert "initialised" in cli("init", "--db", pg_url).stdout
    again = cli("init", "--db", pg_url).stdout
    assert "already initialised" in again and "nothing changed" in again
    cli("init")
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(feed_lines()) + "\n")
    lite_stats = cli.json("ingest", "--db", "tess.db", str(feed))
    pg_stats = cli.json("ingest", "--db", pg_url, str(feed))
    assert pg_stats == lite_stats and pg_stats["stored"] > 100 and pg_stats["dbase_register"]["num_zp_changed"] == 1
    # the readings again (registrations replayed out of order would make new versions): duplicates
    readings = tmp_path / "readings.jsonl"
    readings.write_text("\n".join(line for line in feed_lines() if "register" not in line) + "\n")
    lite_again = cli.json("ingest", "--db", "tess.db", str(readings))
    pg_again = cli.json("ingest", "--db", pg_url, str(readings))
    assert pg_again == lite_again
    assert pg_again["stored"] == 0 and pg_again["dbase_readings"]["rej_duplicated"] == pg_stats["stored"]
    query = "SELECT date_id, time_id, tess_id, sequence_number, frequency, magnitude FROM tess_readings_t ORDER BY 1, 2, 3"
    with psycopg.connect(pg_url) as conn:
        pg_rows = [tuple(r) for r in conn.execute(query).fetchall()]
    with sqlite3.connect(tmp_path / "tess.db") as conn:
        lite_rows = conn.execute(query).fetchall()
    assert pg_rows == lite_rows and len(lite_rows) > 100
    # a bad URL is one line on stderr
    bad = cli("ingest", "--db", pg_url.rsplit("/", 1)[0] + "/nosuchdb", str(readings), check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("tessdb-core: error: cannot connect")


def test_maintenance_commands_behave_the_same(both):
    steps = [
        ("instrument", "list"),
        ("instrument", "create", "stars50", "AA:BB:CC:DD:EE:50", "--zp", "20.1", "--since", "2026-11-01 12:00"),
        ("instrument", "enable", "stars50"),
        ("instrument", "disable", "stars10"),
        ("location", "create", "Observatorio UCM", "--lon", "-3.7261", "--lat", "40.4516", "--country", "Spain"),
        ("observer", "create", "Jaime Zamorano", "--type", "Individual", "--affiliation", "UCM"),
        ("instrument", "assign", "stars50", "--location", "Observatorio UCM", "--observer", "Jaime Zamorano"),
        ("instrument", "update", "stars10", "--zp", "20.35", "--since", "2026-11-02 00:00:00"),
        ("instrument", "rename", "stars20", "stars21", "--since", "2026-11-03 00:00:00"),
        ("observer", "update", "Jaime Zamorano", "--affiliation", "UCM Madrid"),
        ("location", "update", "Observatorio UCM", "--elevation", "650"),
        ("instrument", "list", "--all", "--json"),
        ("instrument", "show", "stars10", "--json"),
        ("instrument", "history", "stars10", "--json"),
        ("instrument", "anonymous", "--json"),
        ("instrument", "unassigned", "--csv"),
        ("instrument", "silent", "--since", "3d", "--json"),
        ("location", "list", "--json"),
        ("location", "unassigned"),
        ("location", "duplicates", "--distance", "100000"),
        ("observer", "list", "--all", "--json"),
        ("readings", "list", "--count", "7", "--json"),
        ("readings", "list", "stars10", "--count", "3", "--csv"),
        ("readings", "count", "stars10", "--from", "2026-10-15", "--json"),
    ]
    for step in steps:
        both.run(*step)
    # refusals: one line on stderr, exit 2, the same words
    for step in [("instrument", "create", "stars50", "AA:BB:CC:DD:EE:51", "--zp", "20.1"),
                 ("instrument", "enable", "stars99"),
                 ("instrument", "update", "stars10", "--zp", "20.4", "--since", "2026-10-01 00:00")]:
        _, err = both.run(*step, check=False)
        assert err.startswith("tessdb-core: error: ") and len(err.strip().splitlines()) == 1
    listing, _ = both.run("instrument", "list", "--json")
    assert '"stars50"' in listing and '"stars21"' in listing


def test_report_tools_give_the_same_output(both, tmp_path):
    for step in [("report", "daily", "--from", "2026-10-01", "--to", "2026-11-30", "--json"), ("report", "geolist"),
                 ("readings", "export", "--all"),
                 ("readings", "export", "stars10", "--sep", ";", "--from", "2026-10-14", "--to", "2026-10-15"),
                 ("readings", "export", "stars20")]:
        both.run(*step)
    dirs = []
    for db, out in ((both.lite, tmp_path / "ida-lite"), (both.pg, tmp_path / "ida-pg")):
        r = both.cli("report", "ida", "--all", "--month", "2026-10", "--to", "2026-11", "--out", str(out), "--db", db)
        assert r.returncode == 0 and "file(s) written" in r.stdout, r.stderr
        dirs.append(out)
    assert _tree(dirs[0]) == _tree(dirs[1]) and len(_tree(dirs[0])) >= 3
    for kind, args in (("night", ("--date", "2026-10-14")), ("month", ("--month", "2026-10"))):
        png = tmp_path / f"{kind}.png"
        r = both.cli("plot", kind, "stars10", *args, "--out", str(png), "--db", both.pg)
        assert r.returncode == 0, r.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_ida_on_the_reference_fixture(tdb, pg_db, tmp_path):
    """The rows of the IDA fixture (plain INSERTs, valid SQL for both) give the same files."""
    assert tdb("init").returncode == 0
    b = Both(tdb, tmp_path, pg_db)
    b.sql((IDA_DIR / "idafix-data.sql").read_text())
    outs = []
    for db, out in ((b.lite, tmp_path / "lite"), (b.pg, tmp_path / "pg")):
        r = tdb("report", "ida", "--all", "--month", "2026-09", "--to", "2026-11", "--out", str(out), "--db", db)
        assert r.returncode == 0, r.stderr
        outs.append(_tree(out))
    assert outs[0] == outs[1]
    assert sorted(outs[0]) == sorted(str(p.relative_to(IDA_DIR)) for p in IDA_DIR.glob("stars*/*.dat"))


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
