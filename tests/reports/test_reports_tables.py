"""`report geolist`, `report daily`, `readings export` on a database filled by `tessdb-core ingest`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tessdb_core import ReportQueries
from tessdb_reports.tools import daily_period, daily_report, write_rows
from tessdb_sqlite.reports import SqliteReports

SAMPLE_2 = ["julian_day", "timestamp", "sequence_number", "place", "mac_address", "frequency", "magnitude",
            "zp1", "sky_temperature", "box_temperature"]
EXPORT_HEADER = SAMPLE_2 + ["name", "model", "longitude", "latitude", "location_id", "town"] + [
    f"{m}{c}" for c in (2, 3, 4) for m in ("frequency", "magnitude", "zp")]


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


def test_an_interface_no_plugin_serves_is_a_clear_error(ingested_db):
    from typing import Protocol
    from tessdb_core import app as app_mod

    app = app_mod.create(configure_logs=False)
    store = app.store(str(ingested_db))
    class NothingQueries(Protocol):
        def nothing(self) -> None: ...

    store.open()
    try:
        with pytest.raises(LookupError, match="no installed plugin provides NothingQueries for"):
            app.queries(NothingQueries, store)
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
PERIOD = ("--from", "2026-10-01", "--to", "2026-11-30")


def stored_readings(db):
    """(utc, mac, name) of every stored reading (both tables), each with the name of its MAC."""
    rows = stored(db, "SELECT r.date_id, r.time_id, i.mac_address, m.name FROM ("
                      "SELECT date_id, time_id, tess_id FROM tess_readings_t UNION ALL "
                      "SELECT date_id, time_id, tess_id FROM tess_readings4c_t) AS r "
                      "JOIN tess_t i USING (tess_id) JOIN name_to_mac_t m ON m.mac_address = i.mac_address")
    return [(datetime.strptime(f"{d}{t:06d}", "%Y%m%d%H%M%S"), mac, name) for d, t, mac, name in rows]


def expected_daily(db, by="name", night=False, first=date(2026, 10, 1), last=date(2026, 11, 30)):
    counts = Counter()
    for utc, mac, name in stored_readings(db):
        if night:
            local = utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Europe/Madrid"))
            day = (local - timedelta(hours=12)).date()
        else:
            day = utc.date()
        if first <= day <= last:
            counts[(name if by == "name" else mac, day)] += 1
    key, when = ("name" if by == "name" else "mac_address"), ("night" if night else "sql_date")
    return [{when: d.isoformat(), key: k, "readings": n} for (k, d), n in sorted(counts.items())]


def test_daily_json_counts_per_day_and_name(tdb, ingested_db):
    r = tdb("report", "daily", *PERIOD, "--db", ingested_db, "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert rows == expected_daily(ingested_db)
    # by name, then day: stars10's days first, the reading at 2026-11-01 00:00:00 its own UTC day
    assert rows[0] == {"sql_date": "2026-10-14", "name": "stars10", "readings": 36}
    assert rows[-1] == {"sql_date": "2026-10-20", "name": "stars20", "readings": 3}
    assert {"sql_date": "2026-11-01", "name": "stars10", "readings": 1} in rows
    # the ZP change on 15 Oct splits stars10's day over two tess_t versions: still one row
    oct15 = [x for x in rows if x["sql_date"] == "2026-10-15"]
    assert len(oct15) == 1 and oct15[0]["readings"] == stored(
        ingested_db, "SELECT COUNT(*) FROM tess_readings_t WHERE date_id = 20261015")[0][0]
    assert r.out == json.dumps(rows, indent=2) + "\n"  # streamed, yet as json.dumps writes it


def test_daily_by_mac_and_per_night(tdb, ingested_db):
    r = tdb("report", "daily", *PERIOD, "--by", "mac", "--csv", "--db", ingested_db)
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [dict(x, readings=int(x["readings"])) for x in rows] == expected_daily(ingested_db, "mac")
    r = tdb("report", "daily", *PERIOD, "--night", "--json", "--db", ingested_db)
    nights = json.loads(r.out)
    assert nights == expected_daily(ingested_db, night=True)
    # noon to noon in Madrid (CEST, UTC+2): the readings from 2026-10-14 10:00 UTC (12:00 local)
    # on are the night of the 14th, the one at 10:00 UTC the next day the night of the 15th...;
    # the day of the 20th gives the nights of the 20th and (its last reading, 12:00 local) the
    # 21st; 2026-11-01 00:00 UTC (01:00 CET) is still the night of 31 October
    assert [(x["night"], x["readings"]) for x in nights if x["name"] == "stars10"] == [
        ("2026-10-14", 75), ("2026-10-20", 77), ("2026-10-21", 1), ("2026-10-31", 1)]
    by_mac = json.loads(tdb("report", "daily", *PERIOD, "--night", "--by", "mac", "--json", "--db", ingested_db).out)
    assert by_mac == expected_daily(ingested_db, "mac", night=True)


def test_daily_names_table_and_bounds(tdb, ingested_db):
    r = tdb("report", "daily", "stars20", *PERIOD, "--db", ingested_db)
    assert r.code == 0, r.err
    assert [line.split() for line in r.out.splitlines()] == [["sql_date", "name", "readings"],
                                                             ["2026-10-20", "stars20", "3"]]
    # --to is included, --from too; one day
    r = tdb("report", "daily", "--from", "2026-11-01", "--to", "2026-11-01", "--csv", "--db", ingested_db)
    assert r.out.splitlines() == ["sql_date,name,readings", "2026-11-01,stars10,1"]
    # --to alone: the 31 days up to it
    r = tdb("report", "daily", "--to", "2026-10-14", "--csv", "--db", ingested_db)
    assert [x.split(",")[0] for x in r.out.splitlines()[1:]] == ["2026-10-14"]
    r = tdb("report", "daily", "--from", "2026-10-02", "--json", "--db", ingested_db)  # to 2026-11-01
    assert {x["sql_date"] for x in json.loads(r.out)} == {"2026-10-14", "2026-10-15", "2026-10-20", "2026-10-21",
                                                          "2026-11-01"}


def test_daily_default_is_the_last_31_days(tdb, ingested_db):
    assert daily_period(None, None, today=date(2026, 11, 1)) == (date(2026, 10, 2), date(2026, 11, 1))
    assert daily_period(date(2026, 10, 1), None) == (date(2026, 10, 1), date(2026, 10, 31))
    assert daily_period(None, date(2026, 10, 31)) == (date(2026, 10, 1), date(2026, 10, 31))
    first, last = daily_period(None, None)
    assert (last - first).days == 30 and last == datetime.now(timezone.utc).date()
    r = tdb("report", "daily", "--json", "--db", ingested_db)
    if r.code == 0:
        assert all(first.isoformat() <= x["sql_date"] <= last.isoformat() for x in json.loads(r.out))
    else:
        assert r.code == 2 and f"in the UTC days {first} to {last}" in r.err


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-10-32"], "--from '2026-10-32' is not a date"),
    (["--to", "yesterday"], "--to 'yesterday' is not a date"),
    (["--from", "2026-10-20", "--to", "2026-10-01"], "--to 2026-10-01 is before --from 2026-10-20"),
    (["--from", "2025-01-01", "--to", "2025-01-31"], "no readings in the UTC days 2025-01-01 to 2025-01-31"),
    (["--from", "2025-01-01", "--night"], "no readings in the nights 2025-01-01 to 2025-01-31"),
    (["stars20", "--from", "2026-11-01"], "no readings of stars20 in the UTC days 2026-11-01 to 2026-12-01"),
    (["stars99", *PERIOD], "unknown photometer 'stars99'"),
    (["--by", "mac", "AA:BB:CC:DD:EE:99", *PERIOD], "unknown MAC address 'AA:BB:CC:DD:EE:99'"),
    (["--csv", "--json"], "--json and --csv exclude each other"),
])
def test_daily_bad_input_is_one_line(tdb, ingested_db, args, message):
    r = tdb("report", "daily", *args, "--db", ingested_db)
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err, r.err
    assert r.out == ""  # not even a header


def test_daily_streams_one_photometer_at_a_time(ingested_db, queries_of):
    """Each photometer's rows are written before the next photometer is read."""
    q = queries_of(ingested_db)
    events = []

    class Spy:
        def __getattr__(self, attr):
            return getattr(q, attr)

        def daily_counts(self, key, *args):
            events.append(("read", key))
            return q.daily_counts(key, *args)

    class Out(io.StringIO):
        def write(self, text):
            if text.strip():
                events.append(("write", text.split(",")[1] if "," in text else text.strip()))
            return super().write(text)

    report = daily_report(Spy(), date(2026, 10, 1), date(2026, 11, 30))
    assert report.keys == ["stars10", "stars20"]
    rows = report.rows()
    assert iter(rows) is rows  # a generator, not a list
    n = write_rows(rows, report.columns, Out(), "csv")
    assert n == len(expected_daily(ingested_db))
    reads = [i for i, e in enumerate(events) if e[0] == "read"]
    first_stars10 = events.index(("write", "stars10"))
    assert events[reads[0]] == ("read", "stars10") and reads[0] < first_stars10 < reads[1]
    assert events[reads[1]] == ("read", "stars20") and all(e != ("write", "stars10") for e in events[reads[1]:])


def test_daily_reads_a_range_per_photometer(ingested_db, queries_of):
    """The query plan of the per-photometer count: the (tess_id, date_id, time_id) index, no
    scan of the primary key."""
    q = queries_of(ingested_db)
    conn = sqlite3.connect(ingested_db)
    seen = []
    conn.set_trace_callback(seen.append)
    plans = []
    for sql in [s for s in _daily_sql(q) if s]:
        plans += [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, (1, 20261001, 20261130, 20261001, 0,
                                                                                  20261201, 0)).fetchall()]
    conn.close()
    assert plans and all("ix_tess_readings" in p and "tess_id=?" in p for p in plans if "SEARCH" in p or "SCAN" in p)


def _daily_sql(q):
    """The SQL daily_counts runs, captured from the store's connection."""
    captured = []
    real = q.store.run

    def run(what, fn):
        class Conn:
            def __init__(self, conn):
                self.conn = conn

            def execute(self, sql, args=()):
                captured.append(sql)
                return self.conn.execute(sql, args)

        return real(what, lambda conn: fn(Conn(conn)))

    q.store.run = run
    try:
        q.daily_counts("stars10", "name", datetime(2026, 10, 1), datetime(2026, 12, 1))
        q.daily_counts("stars10", "name", datetime(2026, 10, 1), datetime(2026, 12, 1), True)
    finally:
        q.store.run = real
    return [s for s in captured if "COUNT(*)" in s]


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
    assert [x[:10] for x in rows[1:]] == [[str(v) for v in row] for row in want]
    assert {tuple(x[10:]) for x in rows[1:]} == {("stars10", "TESS-W", "-3.7038", "40.4168", "1", "Madrid",
                                                    *[""] * 9)}
    zps = {row[7] for row in rows[1:]}
    assert zps == {"20.5", "20.61"}  # each reading with its own version's ZP


def test_export_semicolon_and_date_range(tdb, ingested_db):
    r = tdb("readings", "export", "stars10", "--sep", ";", "--from", "2026-10-20", "--to", "2026-10-31",
            "--db", ingested_db)
    assert r.code == 0, r.err
    rows = parse(r.out, ";")
    assert rows[0] == EXPORT_HEADER and all(len(x) == len(EXPORT_HEADER) for x in rows)
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
    # then the name of each reading and channels 2-4 of the TESS4C, each with its own ZP
    col = EXPORT_HEADER.index
    assert {x[col("name")] for x in rows[1:]} == {"stars10", "stars20"}
    assert all(x[col("name")] == "stars20" and x[col("model")] == "TESS4C" for x in tess4c)
    want = stored(ingested_db, "SELECT freq2, mag2, freq3, mag3, freq4, mag4 FROM tess_readings4c_t ORDER BY date_id, "
                               "time_id")
    zps = stored(ingested_db, "SELECT zp2, zp3, zp4 FROM tess_t WHERE mac_address = 'AA:BB:CC:DD:EE:20'")[0]
    assert [[x[col(f"{m}{c}")] for c in (2, 3, 4) for m in ("frequency", "magnitude")] for x in tess4c] == [
        [str(v) for v in w] for w in want]
    assert {tuple(x[col(f"zp{c}")] for c in (2, 3, 4)) for x in tess4c} == {tuple(str(z) for z in zps)}
    assert all(x[col("frequency2")] == "" for x in rows[1:] if x[col("model")] == "TESS-W")


def test_export_json_lines(tdb, ingested_db):
    csv_rows = parse(tdb("readings", "export", "--all", "--db", ingested_db).out)
    r = tdb("readings", "export", "--all", "--json", "--db", ingested_db)
    assert r.code == 0, r.err
    objects = [json.loads(line) for line in r.out.splitlines()]
    assert len(objects) == len(csv_rows) - 1 and all(list(o) == EXPORT_HEADER for o in objects)
    # the same values, typed: numbers as numbers, null where the CSV is empty
    for o, row in zip(objects, csv_rows[1:]):
        assert ["" if v is None else str(v) for v in o.values()] == row
    first4c = next(o for o in objects if o["model"] == "TESS4C")
    assert isinstance(first4c["magnitude2"], float) and isinstance(first4c["sequence_number"], int)
    assert next(o for o in objects if o["model"] == "TESS-W")["zp4"] is None
    one = [json.loads(x) for x in tdb("readings", "export", "stars20", "--json", "--db", ingested_db).out.splitlines()]
    assert one == [o for o in objects if o["name"] == "stars20"]


def test_geolist_json(tdb, ingested_db):
    r = tdb("report", "geolist", "--json", "--db", ingested_db)
    assert r.code == 0, r.err
    assert json.loads(r.out) == [
        {"name": "stars10", "mac_address": "AA:BB:CC:DD:EE:10", "model": "TESS-W", "longitude": -3.7038,
         "latitude": 40.4168, "location_id": 1},
        {"name": "stars20", "mac_address": "AA:BB:CC:DD:EE:20", "model": "TESS4C", "longitude": -3.7038,
         "latitude": 40.4168, "location_id": 1}]


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
    out = tmp_path / "stars20.jsonl"
    r = tdb("readings", "export", "stars20", "--json", "--out", out, "--db", ingested_db)
    assert r.code == 0 and [json.loads(x)["sequence_number"] for x in out.read_text().splitlines()] == [1, 2, 3]


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


def test_daily_per_night_flags_readings_without_a_site(tdb, ida_db):
    """Readings at location -1 have no site, so no local noon: they are split at UTC noon,
    and the report says so on stderr (the positive control: a site's readings give no note)."""
    conn = sqlite3.connect(ida_db)
    conn.execute("INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id, "
                 "sequence_number, frequency, magnitude, box_temperature, sky_temperature, signal_strength) "
                 "VALUES (20261012, 230000, 1, -1, -1, 0, 9, 10.0, 20.0, 1.0, -9.0, -60)")
    conn.commit()
    conn.close()
    r = tdb("report", "daily", "stars1", "--night", "--from", "2026-10-12", "--to", "2026-10-12", "--csv",
            "--db", ida_db)
    assert r.code == 0 and r.out.splitlines() == ["night,name,readings", "2026-10-12,stars1,1"]
    assert "note: 1 reading(s) of stars1 were taken at a location without coordinates" in r.err
    site = tdb("report", "daily", "stars2", "--night", "--from", "2026-10-05", "--to", "2026-10-05", "--db", ida_db)
    assert site.code == 0 and "stars2" in site.out and "without coordinates" not in site.err
