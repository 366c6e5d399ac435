"""A change waits for a locked database; the commands work on 4.x and 5.x databases unchanged."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from cli_runner import Cli

from .conftest import MAC10

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "reference"


def test_a_change_waits_while_another_connection_holds_the_database(cli):
    holder = sqlite3.connect(cli.cwd / "tess.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", "instrument", "enable", "stars10"],
                            cwd=cli.cwd, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.2)
        assert proc.poll() is None, proc.communicate()  # still waiting for the lock
        holder.execute("COMMIT")
        holder.close()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "locked" not in err.lower()
    assert time.monotonic() - started >= 1.2
    assert "is now authorised" in out
    assert cli.rows("SELECT authorised FROM tess_t WHERE mac_address = ?", MAC10) == [{"authorised": 1}]


def _legacy_db(path: Path, schema: str, ts: str) -> Path:
    """A reference schema with the rows the 4.x server or the 5.x tools would hold."""
    conn = sqlite3.connect(path)
    conn.executescript((REFERENCE / schema).read_text())
    conn.execute("INSERT INTO location_t (location_id, place, town, sub_region, region, country, timezone) "
                 "VALUES (-1, 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Etc/UTC')")
    conn.execute("INSERT INTO observer_t (observer_id, type, name, valid_since, valid_until, valid_state) "
                 f"VALUES (-1, 'Organization', 'Unknown', '2000-01-01 00:00:00{ts}', '2999-12-31 23:59:59{ts}', "
                 "'Current')")
    conn.execute("INSERT INTO tess_t (mac_address, valid_since, valid_until, valid_state, model, firmware, authorised,"
                 " registered, nchannels, zp1, filter1, offset1, offset2, offset3, offset4, location_id, observer_id)"
                 f" VALUES ('AA:BB:CC:00:00:01', '2024-01-01 00:00:00{ts}', '2999-12-31 23:59:59{ts}', 'Current', "
                 "'TESS-W', '1.0', 1, 'Automatic', 1, 20.5, 'UV/IR-740', 0, 0, 0, 0, -1, -1)")
    conn.execute("INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) VALUES "
                 f"('stars1', 'AA:BB:CC:00:00:01', '2024-01-01 00:00:00{ts}', '2999-12-31 23:59:59{ts}', 'Current')")
    conn.commit()
    conn.close()
    return path


def _master(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        conn.close()


def test_commands_on_4x_and_5x_reference_databases(tmp_path):
    for schema, ts in (("reference-schema-legacy-v04.sql", "+00:00"), ("reference-schema-5x.sql", ".000000")):
        db = _legacy_db(tmp_path / f"{schema}.db", schema, ts)
        before = _master(db)
        cli = Cli(tmp_path)
        run = lambda *args: cli(*args, "--db", str(db))  # noqa: E731
        run("location", "create", "Somewhere", "--lon", "-3.7", "--lat", "40.4", "--timezone", "Europe/Madrid")
        run("observer", "create", "Someone", "--type", "Individual", "--since", "2024-06-01")
        run("instrument", "assign", "stars1", "--location", "Somewhere", "--observer", "Someone")
        run("instrument", "update", "stars1", "--zp", "20.7", "--since", "2025-01-01")
        run("instrument", "rename", "stars1", "stars2", "--since", "2025-02-01")
        run("instrument", "create", "stars3", "AA:BB:CC:00:00:03", "--zp", "20.1", "--since", "2025-03-01")
        run("observer", "update", "Someone", "--affiliation", "Somewhere", "--since", "2025-04-01")
        assert _master(db) == before, schema
        conn = sqlite3.connect(db)
        tess = conn.execute("SELECT mac_address, valid_since, valid_until, valid_state, zp1, registered, "
                            "location_id, observer_id FROM tess_t ORDER BY tess_id").fetchall()
        maps = conn.execute("SELECT name, valid_since, valid_until, valid_state FROM name_to_mac_t "
                            "ORDER BY rowid").fetchall()
        conn.close()
        assert tess == [
            ("AA:BB:CC:00:00:01", f"2024-01-01 00:00:00{ts}", "2025-01-01 00:00:00.000000", "Expired", 20.5,
             "Automatic", 1, 1),
            ("AA:BB:CC:00:00:01", "2025-01-01 00:00:00.000000", "2999-12-31 23:59:59.000000", "Current", 20.7,
             "Manual", 1, 2),  # followed its observer's new version
            ("AA:BB:CC:00:00:03", "2025-03-01 00:00:00.000000", "2999-12-31 23:59:59.000000", "Current", 20.1,
             "Manual", -1, -1)], schema
        assert maps == [("stars1", f"2024-01-01 00:00:00{ts}", "2025-02-01 00:00:00.000000", "Expired"),
                        ("stars2", "2025-02-01 00:00:00.000000", "2999-12-31 23:59:59.000000", "Current"),
                        ("stars3", "2025-03-01 00:00:00.000000", "2999-12-31 23:59:59.000000", "Current")], schema
        listed = cli.json("instrument", "list", "--db", str(db))
        assert [(r["name"], r["place"]) for r in listed] == [("stars2", "Somewhere"), ("stars3", "Unknown")]
        assert cli.json("readings", "count", "stars2", "--db", str(db))["count"] == 0
        assert [r["name"] for r in cli.json("instrument", "silent", "--since", "1d", "--db", str(db))] == \
            ["stars2", "stars3"]


def test_silent_and_latest_readings_use_the_indexes(cli):
    """`instrument silent` probes the (tess_id, date_id, time_id, ...) index, `readings list`
    walks the primary key backwards: neither scans nor sorts a fact table."""
    from tessdb_sqlite.maintenance import _reading_select, silent_sql

    conn = sqlite3.connect(cli.cwd / "tess.db")
    tables = ["tess_readings_t", "tess_readings4c_t"]
    plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + silent_sql(tables), [0, 0] * 2))
    for table in tables:
        assert f"SEARCH f USING COVERING INDEX ix_{table}_tess_date_time_location (tess_id=? AND (date_id,time_id)>" \
            in plan, plan
    for table in tables:
        sql = f"{_reading_select(table)} ORDER BY f.date_id DESC, f.time_id DESC, f.tess_id DESC LIMIT 5"
        plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert f"SCAN f USING INDEX sqlite_autoindex_{table}_1" in plan and "TEMP B-TREE" not in plan, plan
    conn.close()
