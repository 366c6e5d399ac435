"""`readings relocate` and `instrument assign --readings`, on SQLite and on PostgreSQL.

A photometer registers and sends before the operator gives it a site: its readings are
stored at location -1, and `report ida` writes "Position: None, None, None" and
"Local timezone: Etc/UTC" (tess-ida-tools refuses the file), `plot night` fails.  After
the site is assigned and the readings are moved, both use the site.  The commands run
in this process (`tessdb_core.cli.main`), each with `--db` naming the store under test.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from report_data import night_mag, rd, rd4c, reg, reg4c
from reports.test_reports_ida import check_parses
from tessdb_core.cli import main

MAC1, MAC2 = "AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"
REGISTERED = datetime(2026, 10, 1)
NIGHTS = (datetime(2026, 10, 14, 10), datetime(2026, 10, 20, 10))  # 24 h from 10:00 UTC, every 10 min
UCM = ("Observatorio UCM", "-3.7261", "40.4516", "650")
FACTS = ("tess_readings_t", "tess_readings4c_t")


@dataclass
class Result:
    code: int
    out: str
    err: str


class Tool:
    """`tessdb-core ARGS --db URL` in this process, on one store."""

    def __init__(self, url: str, capsys, cwd: Path) -> None:
        self.url, self.capsys, self.cwd = url, capsys, cwd

    def __call__(self, *args: str, check: bool = True) -> Result:
        self.capsys.readouterr()
        code = main([str(a) for a in args] + ["--db", self.url])
        cap = self.capsys.readouterr()
        # the PostgreSQL test server runs with fsync off on purpose: its warning is not ours
        err = "".join(line for line in cap.err.splitlines(keepends=True) if "fsync = off" not in line)
        r = Result(code, cap.out, err)
        if check:
            assert code == 0, (args, r)
        return r

    def refused(self, *args: str) -> str:
        """A command that must fail: exit 2, one line on stderr, no reading moved."""
        before = self.by_location()
        r = self(*args, check=False)
        assert r.code == 2, (args, r)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tessdb-core: error: "), r.err
        assert self.by_location() == before
        return lines[0].removeprefix("tessdb-core: error: ")

    def rows(self, sql: str) -> list[tuple]:
        if self.url.startswith("postgresql://"):
            with psycopg.connect(self.url) as conn:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
        conn = sqlite3.connect(self.url)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def by_location(self) -> dict[tuple[str, int, int], int]:
        """(fact table, tess_id, location_id) -> readings."""
        out = {}
        for table in FACTS:
            for tess_id, loc, n in self.rows(f"SELECT tess_id, location_id, count(*) FROM {table} "
                                             "GROUP BY tess_id, location_id"):
                out[(table, tess_id, loc)] = n
        return out

    def locations_of(self, table: str, mac: str) -> dict[int, int]:
        """location_id -> readings of ``mac`` (every version) in ``table``."""
        rows = self.rows(f"SELECT f.location_id, count(*) FROM {table} f JOIN tess_t t ON t.tess_id = f.tess_id "
                         f"WHERE t.mac_address = '{mac}' GROUP BY f.location_id")
        return dict(rows)

    def located_times(self, mac: str) -> dict[datetime, int]:
        """reading time -> location_id, for ``mac``'s TESS-W readings."""
        rows = self.rows("SELECT f.date_id, f.time_id, f.location_id FROM tess_readings_t f "
                         f"JOIN tess_t t ON t.tess_id = f.tess_id WHERE t.mac_address = '{mac}'")
        return {datetime(d // 10000, d // 100 % 100, d % 100, t // 10000, t // 100 % 100, t % 100): loc
                for d, t, loc in rows}


def feed_lines() -> list[str]:
    """stars1 (TESS-W) and stars2 (TESS4C) register on 1 October and send for two nights."""
    lines = [reg("stars1", MAC1, 20.5, REGISTERED), reg4c("stars2", MAC2, REGISTERED)]
    seq = 0
    for start in NIGHTS:
        for i in range(24 * 6 + 1):
            t = start + timedelta(minutes=10 * i)
            seq += 1
            lines.append(rd("stars1", seq, t, night_mag(t)))
    lines += [rd4c("stars2", i, datetime(2026, 10, 20, 22) + timedelta(minutes=i)) for i in range(1, 4)]
    return lines


@pytest.fixture(params=["sqlite", "postgres"])
def tool(request, tmp_path, capsys, monkeypatch) -> Tool:
    """A database (SQLite file, then PostgreSQL) made by `init` and fed by `ingest`: every
    reading of stars1 and stars2 stored at location -1; no location but -1 exists."""
    for key in [k for k in os.environ if k.startswith("TESSDB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TESSDB_LOGS__LEVEL", '"warning"')
    monkeypatch.chdir(tmp_path)
    url = str(tmp_path / "tess.db") if request.param == "sqlite" else request.getfixturevalue("pg_db")
    t = Tool(url, capsys, tmp_path)
    if request.param == "sqlite":
        t("init")
    (tmp_path / "feed.jsonl").write_text("\n".join(feed_lines()) + "\n")
    t("ingest", "feed.jsonl")
    assert set(loc for (_, _, loc) in t.by_location()) == {-1}
    return t


def stored(tool: Tool, name: str) -> int:
    return json.loads(tool("readings", "count", name, "--json").out)["count"]


def create_ucm(tool: Tool) -> None:
    place, lon, lat, elevation = UCM
    out = tool("location", "create", place, "--lon", lon, "--lat", lat, "--elevation", elevation,
               "--country", "Spain").out
    assert "(location_id 1)" in out and "Europe/Madrid" in out


def header(path: Path) -> dict[str, str]:
    lines = path.read_text().split("\n")[:35]
    return dict(line[2:].split(": ", 1) for line in lines if ": " in line)


def test_relocated_readings_make_a_report_and_a_plot_with_the_site(tool, tmp_path):
    n1 = stored(tool, "stars1")
    assert n1 > 100  # the daylight filter keeps the dark readings and a few at each edge
    # before: the reports have no site
    r = tool("report", "ida", "stars1", "--month", "2026-10", "--out", tmp_path / "before")
    assert "location -1 has no coordinates" in r.err
    before = header(tmp_path / "before" / "stars1" / "stars1_2026-10.dat")
    assert (before["Position"], before["Local timezone"]) == ("None, None, None", "Etc/UTC")
    r = tool("plot", "night", "stars1", "--date", "2026-10-14", "--out", tmp_path / "before.png", check=False)
    assert r.code == 2 and "location -1 has no coordinates" in r.err

    # the operator gives stars1 its site: the instrument, not its stored readings
    create_ucm(tool)
    assert "assigned to location 1 (Observatorio UCM)" in tool("instrument", "assign", "stars1", "--location",
                                                                 "Observatorio UCM").out
    assert tool.locations_of("tess_readings_t", MAC1) == {-1: n1}

    # then moves them
    out = tool("readings", "relocate", "stars1", "--location", "Observatorio UCM").out
    assert out.strip() == (f"stars1 from the start to now: {n1} reading(s) moved to location 1 "
                           f"(Observatorio UCM) ({n1} from -1)")
    assert tool.locations_of("tess_readings_t", MAC1) == {1: n1}
    assert tool.locations_of("tess_readings4c_t", MAC2) == {-1: 3}  # another photometer: untouched
    again = tool("readings", "relocate", "stars1", "--location", "1").out
    assert again.strip() == (f"the {n1} reading(s) of stars1 from the start to now are already at location 1 "
                             "(Observatorio UCM): nothing changed")

    # after: the IDA file has the site's position and time zone, as a normal file has
    r = tool("report", "ida", "stars1", "--month", "2026-10", "--out", tmp_path / "ida")
    assert "no coordinates" not in r.err
    path = tmp_path / "ida" / "stars1" / "stars1_2026-10.dat"
    check_parses(path)  # what tests/reports checks of every generated file
    head = header(path)
    assert head["Position"] == "40.4516, -3.7261, 650.0"
    assert head["Local timezone"] == "Europe/Madrid"
    assert head["Location name"] == "Observatorio UCM / Unknown / Unknown / Unknown / Spain "
    body = path.read_text().split("# END OF HEADER\n", 1)[1].splitlines()
    assert len(body) == n1 and body[0].startswith("2026-10-14T18:00:00.000;2026-10-14T20:00:00.000;")  # CEST
    r = tool("plot", "night", "stars1", "--date", "2026-10-14", "--out", tmp_path / "night.png")
    assert (tmp_path / "night.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


#: tess-ida-tools' reader, run in a child process: its top package ``tess`` is shadowed here by
#: the test folder tests/tess (this folder is on sys.path)
_IDA_READER = """
import json, sys
from tess.ida import timeseries
try:
    meta = timeseries.ida_metadata(sys.argv[1], False)
except timeseries.NoCoordinatesError:
    print(json.dumps({"error": "NoCoordinatesError"}))
else:
    table = timeseries.ida_to_table(sys.argv[1], False)
    print(json.dumps({"meta": meta, "rows": len(table)}, default=str))
"""


def ida_tools(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _IDA_READER, str(path)], capture_output=True, text=True,
                         cwd="/", timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tess_ida_tools_reads_the_file_of_relocated_readings(tool, tmp_path):
    """The reader of tess-ida-tools (PyPI), which refuses a file without coordinates."""
    try:
        importlib.metadata.version("tess-ida-tools")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("tess-ida-tools is not installed (pip install tess-ida-tools)")
    tool("report", "ida", "stars1", "--month", "2026-10", "--out", tmp_path / "before")
    assert ida_tools(tmp_path / "before" / "stars1" / "stars1_2026-10.dat") == {"error": "NoCoordinatesError"}
    create_ucm(tool)
    tool("instrument", "assign", "stars1", "--location", "Observatorio UCM", "--readings")
    tool("report", "ida", "stars1", "--month", "2026-10", "--out", tmp_path / "ida")
    got = ida_tools(tmp_path / "ida" / "stars1" / "stars1_2026-10.dat")
    meta = got["meta"]
    assert meta["Position"] == {"latitude": 40.4516, "longitude": -3.7261, "height": 650.0}
    assert meta["Local timezone"] == "Europe/Madrid" and meta["Location name"]["place"] == "Observatorio UCM"
    assert meta["Instrument ID"] == "stars1" and got["rows"] == stored(tool, "stars1")


def test_assign_with_readings_moves_them_in_the_same_command(tool):
    n1 = stored(tool, "stars1")
    create_ucm(tool)
    out = tool("instrument", "assign", "stars1", "--location", "Observatorio UCM", "--readings").out
    assert out.strip() == (f"stars1 (MAC {MAC1}) assigned to location 1 (Observatorio UCM); its readings since "
                           f"2026-10-01 00:00:00: {n1} reading(s) moved ({n1} from -1)")
    assert tool.locations_of("tess_readings_t", MAC1) == {1: n1}
    current = tool.rows(f"SELECT location_id FROM tess_t WHERE mac_address = '{MAC1}' AND valid_state = 'Current'")
    assert current == [(1,)]
    # already assigned: --readings still moves what is elsewhere, and says when there is nothing
    out = tool("instrument", "assign", "stars1", "--location", "1", "--readings").out
    assert out.strip() == (f"stars1 already has location 1 (Observatorio UCM): nothing changed; its {n1} "
                           "reading(s) since 2026-10-01 00:00:00 are already there")
    # a TESS4C: the other fact table
    out = tool("instrument", "assign", "stars2", "--location", "1", "--readings").out
    assert "3 reading(s) moved (3 from -1)" in out
    assert tool.locations_of("tess_readings4c_t", MAC2) == {1: 3}
    assert "give --location" in tool.refused("instrument", "assign", "stars1", "--observer", "-1", "--readings")


def test_assign_since_moves_the_readings_of_the_new_version_only(tool):
    create_ucm(tool)
    times = tool.located_times(MAC1)
    since = datetime(2026, 10, 17)
    out = tool("instrument", "assign", "stars1", "--location", "1", "--since", "2026-10-17 00:00:00",
               "--readings").out
    later = sum(1 for t in times if t >= since)
    assert f"since 2026-10-17 00:00:00: {later} reading(s) moved ({later} from -1)" in out and "new version" in out
    assert tool.located_times(MAC1) == {t: (1 if t >= since else -1) for t in times}


def test_the_period_is_half_open(tool):
    create_ucm(tool)
    times = tool.located_times(MAC1)
    lo, hi = datetime(2026, 10, 14, 20), datetime(2026, 10, 14, 22)
    r = tool("readings", "relocate", "stars1", "--location", "Observatorio UCM", "--from", "2026-10-14 20:00",
             "--to", "2026-10-14T22:00:00Z", "--json")
    got = json.loads(r.out)
    assert got["moved"] == 12 and got["location_id"] == 1
    assert got["windows"] == [{"mac": MAC1, "from": "2026-10-14 20:00:00", "to": "2026-10-14 22:00:00"}]
    assert tool.located_times(MAC1) == {t: (1 if lo <= t < hi else -1) for t in times}
    assert hi in times and lo in times  # both edges were stored: 20:00 moved, 22:00 not


def test_a_renamed_photometer_keeps_each_names_readings(tool):
    """stars1's MAC is named stars3 from 17 October: each name moves its own readings only."""
    create_ucm(tool)
    tool("location", "create", "Teide", "--lon", "-16.5", "--lat", "28.3", "--elevation", "2390")
    tool("instrument", "rename", "stars1", "stars3", "--since", "2026-10-17 00:00:00")
    times = tool.located_times(MAC1)
    cut = datetime(2026, 10, 17)
    first = sum(1 for t in times if t < cut)
    assert f"{first} reading(s) moved" in tool("readings", "relocate", "stars1", "--location", "1").out
    assert f"{len(times) - first} reading(s) moved" in tool("readings", "relocate", "stars3", "--location",
                                                             "Teide").out
    assert tool.located_times(MAC1) == {t: (1 if t < cut else 2) for t in times}
    # a period in which stars3 named no photometer
    message = tool.refused("readings", "relocate", "stars3", "--location", "1", "--from", "2026-10-14",
                           "--to", "2026-10-15")
    assert message == ("stars3 named no photometer from 2026-10-14 00:00:00 to 2026-10-15 00:00:00: its name "
                       f"mappings are {MAC1} from 2026-10-17 00:00:00 to now")
    # and stars1 none after the rename
    assert "stars1 named no photometer" in tool.refused("readings", "relocate", "stars1", "--location", "1",
                                                        "--from", "2026-10-18")


@pytest.mark.parametrize("args, message", [
    (["stars1", "--location", "Nowhere"], "unknown location 'Nowhere': no location with that place"),
    (["stars1", "--location", "7"], "unknown location 7: no location_id 7"),
    (["stars99", "--location", "1"], "unknown photometer 'stars99'"),
    (["stars1", "--location", "1", "--from", "2026-10-20", "--to", "2026-10-20"],
     "--from 2026-10-20 00:00:00 is not before --to 2026-10-20 00:00:00"),
    (["stars1", "--location", "1", "--to", "2026-09-01"],
     f"stars1 named no photometer from the start to 2026-09-01 00:00:00: its name mappings are {MAC1} "
     "from 2026-10-01 00:00:00 to now"),
    (["stars1", "--location", "1", "--from", "2026-10-16", "--to", "2026-10-19"],
     "no reading of stars1 is stored from 2026-10-16 00:00:00 to 2026-10-19 00:00:00: nothing to move"),
    (["stars1", "--location", "1", "--from", "2999-01-01"], "--from 2999-01-01 00:00:00 is in the future"),
    (["stars1", "--location", "1", "--to", "yesterday"], "--to 'yesterday' is not a date or time"),
])
def test_refused_relocations_change_nothing(tool, args, message):
    create_ucm(tool)
    assert tool.refused("readings", "relocate", *args).startswith(message)
