"""`tessdb-core copy --from tess.db --to postgresql://...`: a 4.x database and one of ours,
counts verified, keys and sequences right, resumable (interrupted, run twice, caught up)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from cli_runner import Cli
from tessdb_postgres import PostgresStore
from tessdb_postgres.copy import Copier

REPO = Path(__file__).resolve().parents[2]
LEGACY_SCHEMA = REPO / "tests" / "fixtures" / "reference" / "reference-schema-legacy-v04.sql"
SCHEMA_5X = REPO / "tests" / "fixtures" / "reference" / "reference-schema-5x.sql"
AF, FA = "AA:BB:CC:DD:EE:FF", "FF:EE:DD:CC:BB:AA"

TABLES = ("date_t", "time_t", "tess_units_t", "location_t", "observer_t", "tess_t", "name_to_mac_t",
          "tess_readings_t", "tess_readings4c_t")


def legacy_db(path: Path, readings: int = 40) -> Path:
    """A 4.x database (the reference DDL) with rows written the way the 4.x server wrote them:
    ``+00:00`` and ``T`` timestamps, no name_to_mac_t rowid column, a few dates and times only."""
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_SCHEMA.read_text())
    conn.execute("INSERT INTO config_t VALUES ('database', 'version', '04')")
    conn.execute("INSERT INTO date_t VALUES (20190601, '2019-06-01', '01/06/2019', 1, 152, 2458635.5, 'Saturday', "
                 "'Sat', 6, 6, 'June', 'Jun', 2019)")
    conn.execute("INSERT INTO time_t VALUES (0, '00:00:00', 0, 0, 0, 0.0)")
    conn.executemany("INSERT INTO tess_units_t VALUES (?, ?, ?)",
                     [(0, "Subscriber", "Direct"), (1, "Publisher", "Direct")])
    conn.execute("INSERT INTO location_t VALUES (-1, NULL, NULL, NULL, 'Unknown', 'Unknown', 'Unknown', 'Unknown', "
                 "'Unknown', 'Etc/UTC', NULL, NULL, NULL)")
    conn.execute("INSERT INTO location_t VALUES (3, -3.7, 40.4, 650.0, 'UCM', 'Madrid', 'Madrid', 'Madrid', 'Spain', "
                 "'Europe/Madrid', 'Jane Doe', 'jane@example.org', 'UCM')")
    conn.execute("INSERT INTO observer_t VALUES (-1, 'Organization', 'Unknown', NULL, NULL, NULL, NULL, "
                 "'2000-01-01T00:00:00+00:00', '2999-12-31T23:59:59+00:00', 'Current')")
    conn.execute("INSERT INTO observer_t VALUES (2, 'Individual', 'Jane Doe', 'UCM', NULL, NULL, NULL, "
                 "'2019-01-01T00:00:00+00:00', '2999-12-31T23:59:59+00:00', 'Current')")
    tess = ("INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, firmware, "
            "authorised, registered, nchannels, zp1, filter1, zp2, filter2, zp3, filter3, zp4, filter4, location_id, "
            "observer_id) VALUES (?, ?, ?, ?, ?, ?, 'Unknown', ?, 'Automatic', ?, ?, 'UV/IR-740', ?, ?, ?, ?, ?, ?, "
            "?, ?)")
    conn.execute(tess, (5, AF, "2019-06-01T00:00:00+00:00", "2019-07-01T00:00:00+00:00", "Expired", "TESS-W", 1, 1,
                        20.5, None, None, None, None, None, None, 3, 2))
    conn.execute(tess, (7, AF, "2019-07-01T00:00:00+00:00", "2999-12-31T23:59:59+00:00", "Current", "TESS-W", 1, 1,
                        20.3, None, None, None, None, None, None, 3, 2))
    conn.execute(tess, (9, FA, "2019-06-01 00:00:00", "2999-12-31 23:59:59", "Current", "TESS4C", 0, 4,
                        20.1, 20.2, "R", 20.3, "G", 20.4, "B", -1, -1))
    conn.executemany("INSERT INTO name_to_mac_t VALUES (?, ?, ?, ?, ?)", [
        ("stars1", AF, "2019-06-01T00:00:00+00:00", "2999-12-31T23:59:59+00:00", "Current"),
        ("stars4c", FA, "2019-06-01T00:00:00+00:00", "2999-12-31T23:59:59+00:00", "Current")])
    add_readings(conn, 0, readings)
    conn.executemany(
        "INSERT INTO tess_readings4c_t VALUES (?, ?, 9, -1, -1, 1, ?, 1.0, 19.1, 2.0, 19.2, 3.0, 19.3, 4.0, 19.4, "
        "5.0, -3.0, NULL, NULL, NULL, NULL, NULL, -70, NULL)",
        [(20190601, 10000 + i, i) for i in range(10)])
    conn.commit()
    conn.close()
    return path


def add_readings(conn: sqlite3.Connection, first: int, n: int) -> None:
    conn.executemany(
        "INSERT INTO tess_readings_t VALUES (?, ?, ?, 3, 2, 0, ?, 10.0, 20.0, 5.0, -3.0, NULL, NULL, NULL, NULL, "
        "NULL, -60, NULL)",
        [(20190601 + (i // 1000), i % 1000, 5 if i < 20 else 7, i) for i in range(first, first + n)])


def pg(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(sql, params or None).fetchall()]


def lite(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def test_copy_a_legacy_4x_database(cli, tmp_path, pg_url):
    source = legacy_db(tmp_path / "legacy.db")
    out = cli("copy", "--from", str(source), "--to", pg_url, "--chunk", "7", "--no-progress")
    assert out.stdout.splitlines()[0].startswith("initialised ")  # an empty target is initialised first
    assert "every row count verified" in out.stdout
    assert "tess_readings_t: 40 source rows, 40 copied; target 40 rows: ok" in out.stdout
    counts = {t: pg(pg_url, f"SELECT COUNT(*) FROM {t}")[0][0] for t in TABLES}
    assert counts == {"date_t": 18628, "time_t": 86400, "tess_units_t": 4, "location_t": 2, "observer_t": 2,
                      "tess_t": 3, "name_to_mac_t": 2, "tess_readings_t": 40, "tess_readings4c_t": 10}
    # keys kept, timestamps in the one format, missing columns at their defaults
    assert pg(pg_url, "SELECT tess_id, valid_since, valid_until, authorised, offset1, cover_offset, location_id "
                      "FROM tess_t ORDER BY tess_id") == [
        (5, "2019-06-01 00:00:00.000000", "2019-07-01 00:00:00.000000", 1, 0.0, 0.0, 3),
        (7, "2019-07-01 00:00:00.000000", "2999-12-31 23:59:59.000000", 1, 0.0, 0.0, 3),
        (9, "2019-06-01 00:00:00.000000", "2999-12-31 23:59:59.000000", 0, 0.0, 0.0, -1)]
    assert pg(pg_url, "SELECT rowid, name, valid_since FROM name_to_mac_t ORDER BY rowid") == [
        (1, "stars1", "2019-06-01 00:00:00.000000"), (2, "stars4c", "2019-06-01 00:00:00.000000")]
    assert pg(pg_url, "SELECT contact_name, organization FROM location_t WHERE location_id = 3") == [
        ("Jane Doe", "UCM")]
    assert pg(pg_url, "SELECT place FROM location_t WHERE location_id = -1") == [("Unknown",)]
    assert pg(pg_url, "SELECT SUM(sequence_number), MIN(tess_id), MAX(tess_id) FROM tess_readings_t") == [
        (sum(range(40)), 5, 7)]
    # the sequences follow the copied keys: the next instrument is tess_id 10, the next mapping rowid 3
    cli("instrument", "create", "stars77", "AA:BB:CC:00:00:77", "--zp", "20.2", "--db", pg_url)
    assert pg(pg_url, "SELECT tess_id FROM tess_t WHERE mac_address = 'AA:BB:CC:00:00:77'") == [(10,)]
    assert pg(pg_url, "SELECT rowid FROM name_to_mac_t WHERE name = 'stars77'") == [(3,)]
    # the tools work on the copy
    listing = cli.json("instrument", "list", "--db", pg_url)
    assert {(i["name"], i["mac"]) for i in listing} >= {("stars1", AF), ("stars4c", FA)}
    assert cli.json("readings", "count", "stars1", "--db", pg_url)["count"] == 40


def test_copy_a_5x_database_without_the_legacy_columns(cli, tmp_path, pg_url):
    """5.x lacks tess_t.cover_offset..altitude and location_t.contact_*: the target's defaults."""
    source = tmp_path / "5x.db"
    conn = sqlite3.connect(source)
    conn.executescript(SCHEMA_5X.read_text())
    conn.execute("INSERT INTO location_t VALUES (4, -16.5, 28.3, 2390.0, 'Teide', 'La Laguna', 'Tenerife', "
                 "'Canarias', 'Spain', 'Atlantic/Canary')")
    conn.execute("INSERT INTO tess_t VALUES (1, ?, '2024-01-01 00:00:00.000000', '2999-12-31 23:59:59.000000', "
                 "'Current', 'TESS-W', '1.0', 0, 'Automatic', 1, 20.5, 'UV/IR-740', 0.0, NULL, NULL, 0.0, NULL, NULL, "
                 "0.0, NULL, NULL, 0.0, 4, -1)", (AF,))
    conn.execute("INSERT INTO name_to_mac_t VALUES (1, 'stars5', ?, '2024-01-01 00:00:00.000000', "
                 "'2999-12-31 23:59:59.000000', 'Current')", (AF,))
    conn.executemany("INSERT INTO tess_readings_t VALUES (20240101, ?, 1, 4, -1, 0, ?, 1.0, 20.0, 5.0, -3.0, "
                     "NULL, NULL, NULL, NULL, NULL, -60, NULL)", [(i, i) for i in range(15)])
    conn.commit()
    conn.close()
    out = cli("copy", "--from", str(source), "--to", pg_url, "--chunk", "4").stdout
    assert "every row count verified" in out and "tess_t: 1 source rows, 1 copied" in out
    assert pg(pg_url, "SELECT cover_offset, fov, azimuth, altitude FROM tess_t") == [(0.0, 17.0, 0.0, 90.0)]
    assert pg(pg_url, "SELECT place, contact_name FROM location_t WHERE location_id = 4") == [("Teide", None)]
    assert pg(pg_url, "SELECT COUNT(*) FROM tess_readings_t") == [(15,)]


def test_copy_runs_twice_and_catches_up(cli, tmp_path, pg_url):
    source = legacy_db(tmp_path / "legacy.db")
    cli("copy", "--from", str(source), "--to", pg_url, "--chunk", "9")
    second = cli("copy", "--from", str(source), "--to", pg_url, "--chunk", "9").stdout
    assert "already initialised" in second
    assert "tess_readings_t: 40 source rows, nothing new since the last run; target 40 rows: ok" in second
    assert "copied 0 rows" in second
    # the SQLite collector went on: the next run copies only the new readings
    conn = sqlite3.connect(source)
    add_readings(conn, 40, 25)
    conn.commit()
    conn.close()
    third = cli("copy", "--from", str(source), "--to", pg_url, "--chunk", "9").stdout
    assert "tess_readings_t: 65 source rows, 25 copied (resumed); target 65 rows: ok" in third
    # --restart reads everything again and skips what is there
    fourth = cli("copy", "--from", str(source), "--to", pg_url, "--restart").stdout
    assert "tess_readings_t: 65 source rows, 0 copied, 65 already there; target 65 rows: ok" in fourth
    assert pg(pg_url, "SELECT COUNT(*) FROM tess_readings_t") == [(65,)]


def test_an_interrupted_copy_resumes_after_the_last_chunk(tmp_path, pg_url, monkeypatch):
    source = legacy_db(tmp_path / "legacy.db", readings=100)
    store = PostgresStore(pg_url)
    store.initialise()
    store.open()
    try:
        original = Copier._write_chunk
        calls = {"n": 0}

        def crashing(self, conn, plan, rows, last):
            if plan.result.table == "tess_readings_t":
                calls["n"] += 1
                if calls["n"] == 4:
                    raise KeyboardInterrupt  # Ctrl-C in the middle of the fact table
            return original(self, conn, plan, rows, last)

        monkeypatch.setattr(Copier, "_write_chunk", crashing)
        with pytest.raises(KeyboardInterrupt):
            Copier(source, store, chunk=10, progress=False).run()
        assert pg(pg_url, "SELECT COUNT(*) FROM tess_readings_t") == [(30,)]  # three chunks committed
        monkeypatch.setattr(Copier, "_write_chunk", original)
        results = {r.table: r for r in Copier(source, store, chunk=10, progress=False).run()}
    finally:
        store.close()
    facts = results["tess_readings_t"]
    assert (facts.resumed, facts.read, facts.inserted, facts.source_rows, facts.target_rows) == (True, 70, 70, 100, 100)
    assert all(r.ok for r in results.values())
    assert pg(pg_url, "SELECT COUNT(*) FROM tess_readings4c_t") == [(10,)]


def test_copy_refuses_what_is_not_a_tessdb_database(cli, tmp_path, pg_url):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.close()
    out = cli("copy", "--from", str(other), "--to", pg_url, check=False)
    assert out.returncode == 2 and "not a tessdb database" in out.stderr
    out = cli("copy", "--from", str(tmp_path / "missing.db"), "--to", pg_url, check=False)
    assert out.returncode == 2 and "no such SQLite database" in out.stderr
    out = cli("copy", "--from", str(other), "--to", str(tmp_path / "x.db"), check=False)
    assert out.returncode == 2 and "is not a postgresql:// URL" in out.stderr


def test_copy_an_ingested_database_row_for_row(cli, tmp_path, pg_url):
    """Ours -> PostgreSQL: every table identical, and ingesting the capture again finds every
    reading already there (keys and ids preserved)."""
    cli("init")
    capture = str(REPO / "examples" / "sample-night.jsonl")
    stats = cli.json("ingest", capture)
    cli("copy", "--from", "tess.db", "--to", pg_url)
    for table, key in (("tess_t", "tess_id"), ("name_to_mac_t", "rowid"), ("location_t", "location_id"),
                       ("observer_t", "observer_id"), ("tess_readings_t", "date_id, time_id, tess_id"),
                       ("tess_readings4c_t", "date_id, time_id, tess_id"), ("date_t", "date_id")):
        assert pg(pg_url, f"SELECT * FROM {table} ORDER BY {key}") == \
            lite(tmp_path / "tess.db", f"SELECT * FROM {table} ORDER BY {key}"), table
    again = cli.json("ingest", capture, "--db", pg_url)
    assert again["stored"] == 0 and again["dbase_readings"]["rej_duplicated"] == stats["stored"]
    assert again["dbase_register"]["num_rebooted"] == stats["dbase_register"]["num_created"]
