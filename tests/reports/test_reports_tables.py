"""`report geolist`, `report daily`, `readings export` on a database filled by `tessdb-core ingest`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from tessdb_reports.queries import ReportQueries
from tessdb_sqlite.reports import SqliteReports

EXPORT_HEADER = ["julian_day", "timestamp", "sequence_number", "place", "mac_address", "frequency", "magnitude",
                 "zp1", "sky_temperature", "box_temperature"]


def stored(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def parse(text: str, sep: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=sep))


def test_the_sqlite_store_gives_the_reports_queries(ingested_db, queries_of):
    q = queries_of(ingested_db)
    assert isinstance(q, SqliteReports) and isinstance(q, ReportQueries)


def test_an_unknown_query_kind_is_a_clear_error(ingested_db):
    from tessdb_core import app as app_mod

    app = app_mod.create(configure_logs=False)
    store = app.store(str(ingested_db))
    store.open()
    try:
        with pytest.raises(LookupError, match="no installed plugin provides nothing queries"):
            app.queries("nothing", store)
    finally:
        store.close()


# -- geolist ---------------------------------------------------------------------------------------------
def test_geolist_lists_the_current_instruments(tdb, ingested_db):
    r = tdb("report", "geolist", "--db", ingested_db)
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["name;model;longitude;latitude",
                                  "stars10;TESS-W;-3.7038;40.4168",
                                  "stars20;TESS4C;-3.7038;40.4168"]


def test_geolist_leaves_unknown_coordinates_empty_and_skips_expired_names(tdb, ingested_db):
    conn = sqlite3.connect(ingested_db)
    conn.execute("UPDATE tess_t SET location_id = -1 WHERE mac_address = 'AA:BB:CC:DD:EE:20'")
    conn.execute("INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) VALUES "
                 "('stars9', 'AA:BB:CC:DD:EE:20', '2020-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', "
                 "'Expired')")
    conn.commit()
    conn.close()
    r = tdb("report", "geolist", "--db", ingested_db)
    assert r.out.splitlines()[1:] == ["stars10;TESS-W;-3.7038;40.4168", "stars20;TESS4C;;"]


# -- daily -----------------------------------------------------------------------------------------------
def expected_daily(db):
    rows = stored(db, "SELECT d.sql_date, i.mac_address, COUNT(*) FROM ("
                      "SELECT date_id, tess_id FROM tess_readings_t UNION ALL "
                      "SELECT date_id, tess_id FROM tess_readings4c_t) AS r "
                      "JOIN tess_t i USING (tess_id) JOIN date_t d USING (date_id) "
                      "GROUP BY d.sql_date, i.mac_address ORDER BY d.sql_date DESC, i.mac_address")
    return [{"sql_date": d, "mac_address": m, "readings": n} for d, m, n in rows]


def test_daily_json_counts_per_day_and_instrument(tdb, ingested_db):
    r = tdb("report", "daily", "--db", ingested_db, "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert rows == expected_daily(ingested_db)
    assert rows[0] == {"sql_date": "2026-11-01", "mac_address": "AA:BB:CC:DD:EE:10", "readings": 1}
    # the ZP change on 15 Oct splits stars10's day over two tess_t versions: still one row
    oct15 = [x for x in rows if x["sql_date"] == "2026-10-15"]
    assert len(oct15) == 1 and oct15[0]["readings"] == stored(
        ingested_db, "SELECT COUNT(*) FROM tess_readings_t WHERE date_id = 20261015")[0][0]
    assert {"sql_date": "2026-10-20", "mac_address": "AA:BB:CC:DD:EE:20", "readings": 3} in rows


def test_daily_csv_and_table(tdb, ingested_db):
    want = expected_daily(ingested_db)
    r = tdb("report", "daily", "--db", ingested_db, "--csv")
    assert parse(r.out) == [["sql_date", "mac_address", "readings"]] + [
        [x["sql_date"], x["mac_address"], str(x["readings"])] for x in want]
    r = tdb("report", "daily", "--db", ingested_db)
    lines = r.out.splitlines()
    assert lines[0].split() == ["sql_date", "mac_address", "readings"] and len(lines) == len(want) + 1
    assert lines[1].split() == ["2026-11-01", "AA:BB:CC:DD:EE:10", "1"]
    r = tdb("report", "daily", "--db", ingested_db, "--csv", "--json")
    assert r.code == 2 and "one of --json and --csv" in r.err


# -- export -----------------------------------------------------------------------------------------------
def test_export_one_photometer_is_sample_query_2(tdb, ingested_db):
    r = tdb("readings", "export", "stars10", "--db", ingested_db)
    assert r.code == 0, r.err
    rows = parse(r.out)
    assert rows[0] == EXPORT_HEADER
    want = stored(ingested_db, """
        SELECT (d.julian_day + t.day_fraction), (d.sql_date || 'T' || t.time), r.sequence_number, l.place,
               i.mac_address, r.frequency, r.magnitude, i.zp1, r.sky_temperature, r.box_temperature
        FROM tess_readings_t AS r JOIN tess_t AS i USING (tess_id) JOIN location_t AS l USING (location_id)
        JOIN date_t AS d USING (date_id) JOIN time_t AS t USING (time_id)
        WHERE i.mac_address IN (SELECT mac_address FROM name_to_mac_t WHERE name = 'stars10')
        ORDER BY r.date_id ASC, r.time_id ASC""")
    assert len(want) > 100
    assert rows[1:] == [[str(v) for v in row] for row in want]
    zps = {row[7] for row in rows[1:]}
    assert zps == {"20.5", "20.61"}  # each reading with its own version's ZP


def test_export_semicolon_and_date_range(tdb, ingested_db):
    r = tdb("readings", "export", "stars10", "--sep", ";", "--from", "2026-10-20", "--to", "2026-10-31",
            "--db", ingested_db)
    assert r.code == 0, r.err
    rows = parse(r.out, ";")
    assert rows[0] == EXPORT_HEADER and all(len(x) == 10 for x in rows)
    stamps = [x[1] for x in rows[1:]]
    assert stamps == sorted(stamps) and stamps[0].startswith("2026-10-20") and stamps[-1].startswith("2026-10-21")
    assert len(stamps) == stored(ingested_db, "SELECT COUNT(*) FROM tess_readings_t "
                                              "WHERE date_id BETWEEN 20261020 AND 20261031")[0][0]
    # --to is the last day, included; the reading at 00:00:00 on 1 Nov belongs to --from 2026-11-01
    nov = parse(tdb("readings", "export", "stars10", "--from", "2026-11-01", "--db", ingested_db).out)
    assert [x[1] for x in nov[1:]] == ["2026-11-01T00:00:00"]
    oct31 = parse(tdb("readings", "export", "stars10", "--to", "2026-10-31", "--db", ingested_db).out)
    assert "2026-11-01T00:00:00" not in {x[1] for x in oct31[1:]}


def test_export_all_merges_both_fact_tables_in_time_order(tdb, ingested_db):
    r = tdb("readings", "export", "--all", "--db", ingested_db)
    rows = parse(r.out)
    total = stored(ingested_db, "SELECT (SELECT COUNT(*) FROM tess_readings_t) + "
                                "(SELECT COUNT(*) FROM tess_readings4c_t)")[0][0]
    assert len(rows) == total + 1
    keys = [x[1] for x in rows[1:]]
    assert keys == sorted(keys)
    tess4c = [x for x in rows[1:] if x[4] == "AA:BB:CC:DD:EE:20"]
    assert [(x[2], x[5], x[6], x[7]) for x in tess4c] == [("1", "10.0", "18.0", "20.0"), ("2", "10.0", "18.0", "20.0"),
                                                          ("3", "10.0", "18.0", "20.0")]  # channel 1


def test_export_pages_give_the_same_rows(ingested_db, queries_of):
    q = queries_of(ingested_db)
    whole = list(q.export_rows(None, None, None))
    q.page_size = 7
    assert list(q.export_rows(None, None, None)) == whole
    assert list(q.export_rows("stars10", None, None)) == [r for r in whole if r["mac_address"].endswith(":10")]
    assert q.export_count(None, None, None) == len(whole)


def test_export_to_a_file(tdb, ingested_db, tmp_path):
    out = tmp_path / "stars20.csv"
    r = tdb("readings", "export", "stars20", "--sep", ";", "--out", out, "--db", ingested_db)
    assert r.code == 0 and "wrote 3 reading(s)" in r.err
    assert parse(out.read_text(), ";")[0] == EXPORT_HEADER and len(out.read_text().splitlines()) == 4


@pytest.mark.parametrize("args, message", [
    (["stars99"], "unknown photometer 'stars99'"),
    (["stars10", "--from", "2026-10-32"], "--from '2026-10-32' is not a date"),
    (["stars10", "--from", "2026-10-20", "--to", "2026-10-01"], "--to 2026-10-01 is before --from 2026-10-20"),
    ([], "give a photometer NAME or --all"),
    (["stars10", "--all"], "give a photometer NAME or --all"),
    (["stars10", "--out", "missing-dir/x.csv"], "directory"),
])
def test_export_bad_input(tdb, ingested_db, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    r = tdb("readings", "export", *args, "--out" if "--out" not in args else "--sep", *(
        ["x.csv"] if "--out" not in args else [","]), "--db", ingested_db)
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err, r.err
    after = [p for p in sorted(tmp_path.rglob("*")) if not p.name.startswith("tess.db")]
    assert after == [p for p in before if not p.name.startswith("tess.db")]  # no file written
