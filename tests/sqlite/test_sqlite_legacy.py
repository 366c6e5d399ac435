"""Databases made by the 4.x server and the 5.x tools: used as they are, never altered."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tessdb_core.catalog import FAR_FUTURE, RegistrationPlan
from tessdb_core.contracts import StoreError
from tessdb_sqlite import SqliteStore

T0 = datetime(2023, 5, 1, 21, 0, 0)


def seed_instruments(path: Path, since: str, until: str) -> None:
    """A TESS-W and a TESS4C as older writers stored them (their timestamp formats)."""
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO tess_units_t VALUES (0, 'Subscriber', 'Direct'), (1, 'Publisher', 'Direct')")
    conn.execute("INSERT INTO location_t (location_id, place, town, sub_region, region, country, timezone) "
                 "VALUES (-1, 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Etc/UTC')")
    conn.execute("INSERT INTO observer_t (observer_id, type, name, valid_since, valid_until, valid_state) "
                 "VALUES (-1, 'Organization', 'Unknown', '2000-01-01 00:00:00.000', ?, 'Current')", (until,))
    conn.execute("INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, firmware, "
                 "authorised, registered, nchannels, zp1, filter1, offset1, offset2, offset3, offset4, location_id, "
                 "observer_id) VALUES (7, 'AA:BB:CC:00:00:01', ?, ?, 'Current', 'TESS-W', 'Nov 25 2017', 1, 'Manual', "
                 "1, 20.5, 'UV/IR-740', 0.0, 0.0, 0.0, 0.0, -1, -1)", (since, until))
    conn.execute("INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, firmware, "
                 "authorised, registered, nchannels, zp1, filter1, offset1, zp2, filter2, offset2, zp3, filter3, offset3, "
                 "zp4, filter4, offset4, location_id, observer_id) VALUES (8, 'AA:BB:CC:00:00:02', ?, ?, 'Current', "
                 "'TESS4C', '1.0', 0, 'Manual', 4, 20.1, 'UV/IR-740', 0.5, 20.2, 'R', 0.0, 20.3, 'G', 0.0, 20.4, 'B', 0.0, "
                 "-1, -1)", (since, until))
    cols = "name, mac_address, valid_since, valid_until, valid_state"
    conn.execute(f"INSERT INTO name_to_mac_t ({cols}) VALUES ('stars1', 'AA:BB:CC:00:00:01', ?, ?, 'Current')",
                 (since, until))
    conn.execute(f"INSERT INTO name_to_mac_t ({cols}) VALUES ('stars701', 'AA:BB:CC:00:00:02', ?, ?, 'Current')",
                 (since, until))
    conn.commit()
    conn.close()


LAYOUTS = {
    # fixture, valid_since text, valid_until text
    "ref_v04": ("2019-06-01 10:00:00+00:00", "2999-12-31 23:59:59+00:00"),
    "ref_5x": ("2019-06-01 10:00:00.000000", "2999-12-31 23:59:59.000000"),
}


@pytest.mark.parametrize("which", sorted(LAYOUTS))
def test_reference_database_is_used_without_alteration(which: str, request, make, dump) -> None:
    path: Path = request.getfixturevalue(which)
    since, until = LAYOUTS[which]
    seed_instruments(path, since, until)
    before = dump(path)
    store = SqliteStore(str(path))
    store.open()
    try:
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 0
        cat = store.load_catalog()
        w, c = cat.current_version("AA:BB:CC:00:00:01"), cat.current_version("AA:BB:CC:00:00:02")
        assert (w.tess_id, w.since, w.until, w.registered, w.authorised) == (
            7, datetime(2019, 6, 1, 10), FAR_FUTURE, "Manual", True)
        assert (w.zp, w.filters, w.offsets) == ((20.5,), ("UV/IR-740",), (0.0,))
        assert (c.zp, c.filters, c.offsets, c.authorised) == (
            (20.1, 20.2, 20.3, 20.4), ("UV/IR-740", "R", "G", "B"), (0.5, 0.0, 0.0, 0.0), False)
        mapping = cat.current_mapping_of_name("stars1")
        assert mapping.mac == "AA:BB:CC:00:00:01" and mapping.key == 1 and mapping.since == datetime(2019, 6, 1, 10)

        report = store.write_readings([
            make.reading(w, T0, seq=1),
            make.reading(w, T0, seq=2),  # duplicate key
            make.reading(c, T0, name="stars701", freq=(1.0, 2.0, 3.0, 4.0), mag=(18.0, 18.1, 18.2, 18.3)),
        ])
        assert report.stored == 2 and [r.reading.seq for r in report.duplicates] == [2]

        # a rename on the legacy table (implicit rowid) and a new version
        t1 = datetime(2024, 1, 1)
        plan = store.apply_registration(RegistrationPlan(
            case="renamed", at=t1, expire_mappings=(mapping,),
            new_mapping=make.mapping("stars2", mapping.mac, t1)))
        after = store.load_catalog()
        assert after.current_mapping_of_name("stars2").key == plan.new_mapping.key == 3
        assert after.mapping_at("stars1", t1 - timedelta(seconds=1)).until == t1
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 0
    finally:
        store.close()
    assert dump(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("SELECT date_id, time_id, tess_id, magnitude FROM tess_readings_t").fetchall() == [
        (20230501, 210000, 7, 20.25)]
    assert conn.execute("SELECT mag1, mag4 FROM tess_readings4c_t").fetchall() == [(18.0, 18.3)]
    # text comparisons against legacy rows still order correctly
    assert conn.execute("SELECT valid_until FROM name_to_mac_t WHERE name = 'stars1'").fetchone() == (
        "2024-01-01 00:00:00.000000",)


MIGRATED = """
CREATE TABLE tess_t (tess_id INTEGER PRIMARY KEY, mac_address TEXT NOT NULL, valid_since TIMESTAMP NOT NULL,
  valid_until TIMESTAMP NOT NULL, valid_state TEXT NOT NULL, model TEXT NOT NULL DEFAULT 'TESS-W',
  firmware TEXT NOT NULL DEFAULT '1.0', authorised INTEGER NOT NULL DEFAULT 0, registered TEXT NOT NULL DEFAULT 'Unknown',
  cover_offset REAL NOT NULL DEFAULT 0.0, fov REAL NOT NULL DEFAULT 17.0, azimuth REAL NOT NULL DEFAULT 0.0,
  altitude REAL NOT NULL DEFAULT 90.0, nchannels INTEGER NOT NULL DEFAULT 1, zp1 REAL NOT NULL,
  filter1 TEXT NOT NULL DEFAULT 'UV/IR-740', zp2 REAL, filter2 TEXT, zp3 REAL, filter3 TEXT, zp4 REAL, filter4 TEXT,
  location_id INTEGER NOT NULL DEFAULT -1, observer_id INTEGER NOT NULL DEFAULT -1,
  offset1 REAL NOT NULL DEFAULT 0.0, offset2 REAL NOT NULL DEFAULT 0.0, offset3 REAL NOT NULL DEFAULT 0.0,
  offset4 REAL NOT NULL DEFAULT 0.0);
CREATE TABLE name_to_mac_t (name TEXT NOT NULL, mac_address TEXT NOT NULL, valid_since TIMESTAMP NOT NULL,
  valid_until TIMESTAMP NOT NULL, valid_state TEXT NOT NULL);
CREATE TABLE tess_readings_t (date_id INTEGER, time_id INTEGER, tess_id INTEGER, location_id INTEGER DEFAULT -1,
  units_id INTEGER, sequence_number INTEGER, frequency REAL, magnitude REAL, box_temperature REAL,
  sky_temperature REAL, signal_strength INTEGER, observer_id INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (date_id, time_id, tess_id));
"""


def test_migrated_layout_with_other_column_order_and_missing_columns(tmp_path: Path, make, dump) -> None:
    """Columns in another order, no hash/GPS columns, no TESS4C table: named inserts cope."""
    path = tmp_path / "migrated.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATED)
    conn.close()
    before = dump(path)
    store = SqliteStore(str(path))
    store.open()
    plan = make.register(store, "stars3", "AA:BB:CC:00:00:03", datetime(2020, 1, 1), offsets=(0.25,))
    cat = store.load_catalog()
    v = cat.current_version("AA:BB:CC:00:00:03")
    assert v == plan.new_version and v.offsets == (0.25,)
    c = make.version("AA:BB:CC:00:00:04", model="TESS4C", zp=(1.0, 2.0, 3.0, 4.0))
    report = store.write_readings([
        make.reading(v, T0, seq=5, hash="003", az=1.0),
        make.reading(c, T0, freq=(1.0, 2.0, 3.0, 4.0), mag=(1.0, 2.0, 3.0, 4.0)),
    ])
    store.close()
    assert report.stored == 1 and len(report.failed) == 1 and "tess_readings4c_t" in report.failed[0][1]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT date_id, time_id, tess_id, units_id, sequence_number, magnitude, signal_strength, "
                        "observer_id FROM tess_readings_t").fetchall() == [(20230501, 210000, v.tess_id, 1, 5, 20.25, -60, -1)]
    assert conn.execute("SELECT fov, offset1, offset2 FROM tess_t").fetchone() == (17.0, 0.25, 0.0)
    assert dump(path) == before


def test_open_refuses_a_table_it_cannot_fill(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATED + "ALTER TABLE tess_readings_t ADD COLUMN mood TEXT NOT NULL DEFAULT 'x';")
    conn.executescript("DROP TABLE tess_readings_t; CREATE TABLE tess_readings_t (date_id INTEGER, time_id INTEGER, "
                       "tess_id INTEGER, mood TEXT NOT NULL);")
    conn.close()
    with pytest.raises(StoreError, match="tess_readings_t"):
        SqliteStore(str(path)).open()
