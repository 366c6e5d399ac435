"""The six sample queries of the original tessdb README, with the 4.x column renames,
run on a database made by initialise()."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tessdb_core.catalog import RegistrationPlan
from tessdb_sqlite import SqliteStore

Q1_DAILY = """
SELECT d.sql_date, i.mac_address, count(*) AS readings
FROM tess_readings_t AS r
JOIN tess_t AS i USING (tess_id)
JOIN date_t AS d USING (date_id)
GROUP BY r.date_id, r.tess_id
ORDER BY d.sql_date DESC"""

Q2_CSV = """
SELECT (d.julian_day + t.day_fraction) AS julian_day, (d.sql_date || 'T' || t.time) AS timestamp, r.sequence_number,
       l.place, i.mac_address, r.frequency, r.magnitude, i.zp1, r.sky_temperature, r.box_temperature
FROM tess_readings_t AS r
JOIN tess_t          AS i USING (tess_id)
JOIN location_t      AS l USING (location_id)
JOIN date_t          AS d USING (date_id)
JOIN time_t          AS t USING (time_id)
WHERE i.mac_address  IN (SELECT mac_address FROM name_to_mac_t WHERE name = ?)
ORDER BY r.date_id ASC, r.time_id ASC"""

# v.contact_email is not a tess_v column (neither in 4.x nor in 5.x): dropped
Q3_CURRENT = """
SELECT v.name AS Name, v.mac_address AS MAC, (v.latitude || ' ' || v.longitude) AS Coordinates,
       (v.place || ', ' || v.town || ', ' || v.sub_region) AS Location, v.zp1 as ZP, v.filter1 as Filter
FROM tess_v AS v
WHERE v.valid_state = 'Current'
ORDER BY v.name ASC"""

# tess_t has no name since 3.x: it comes from name_to_mac_t
Q4_CHANGES = """
SELECT m.name AS Name, i.zp1 as ZP, i.filter1 as Filter, i.valid_since AS Since, i.valid_until AS Until,
       i.valid_state AS 'Change State'
FROM tess_t AS i
JOIN name_to_mac_t AS m USING (mac_address)
ORDER BY m.name ASC, i.valid_since ASC"""

Q5_SPAN = """
SELECT i.mac_address, MIN(d.sql_date || 'T' || t.time || 'Z') AS earliest, MAX(d.sql_date || 'T' || t.time || 'Z') AS latest
FROM tess_readings_t AS r
JOIN tess_t          AS i USING (tess_id)
JOIN location_t      AS l USING (location_id)
JOIN date_t          AS d USING (date_id)
JOIN time_t          AS t USING (time_id)
GROUP BY i.mac_address"""

Q6_UNUSED_LOCATIONS = """
SELECT l.place
FROM location_t        AS l
LEFT OUTER JOIN tess_t AS i USING (location_id)
WHERE i.mac_address IS NULL"""

MAC1, MAC2 = "AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02"
T0 = datetime(2024, 3, 1, 23, 59, 0)
T1 = datetime(2024, 3, 10)


@pytest.fixture
def network(store: SqliteStore, make, db_path: Path) -> sqlite3.Connection:
    """Two instruments at two places, one unused place; stars1 changes ZP at T1."""
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO location_t (location_id, longitude, latitude, elevation, place, town, sub_region, region, "
                 "country, timezone) VALUES (1, -3.7, 40.4, 650.0, 'UCM', 'Madrid', 'Madrid', 'Madrid', 'Spain', "
                 "'Europe/Madrid'), (2, 2.1, 41.4, 10.0, 'Fabra', 'Barcelona', 'Barcelona', 'Catalonia', 'Spain', "
                 "'Europe/Madrid'), (3, -16.5, 28.3, 2390.0, 'Teide', 'La Laguna', 'Tenerife', 'Canarias', 'Spain', "
                 "'Atlantic/Canary')")
    conn.commit()
    v1 = make.register(store, "stars1", MAC1, T0 - timedelta(days=30), zp=(20.5,), location_id=1).new_version
    v2 = make.register(store, "stars2", MAC2, T0 - timedelta(days=30), zp=(20.0,), filters=("BG39",),
                       location_id=2).new_version
    v1b = store.apply_registration(RegistrationPlan(
        case="zp_changed", at=T1, expire_versions=(v1,),
        new_version=make.version(MAC1, T1, zp=(20.7,), location_id=1))).new_version
    batch = [make.reading(v1, T0 + timedelta(minutes=i), seq=i, mag=(20.0 + i / 10,)) for i in range(3)]  # two days
    batch += [make.reading(v2, T0, seq=50, name="stars2")]
    batch += [make.reading(v1b, T1 + timedelta(hours=1), seq=9)]
    assert store.write_readings(batch).stored == 5
    return conn


def test_q1_daily_readings_per_instrument(network: sqlite3.Connection) -> None:
    assert network.execute(Q1_DAILY).fetchall() == [
        ("2024-03-10", MAC1, 1), ("2024-03-02", MAC1, 2), ("2024-03-01", MAC1, 1), ("2024-03-01", MAC2, 1)]


def test_q2_csv_of_one_instrument(network: sqlite3.Connection) -> None:
    rows = network.execute(Q2_CSV, ("stars1",)).fetchall()
    assert [r[1] for r in rows] == ["2024-03-01T23:59:00", "2024-03-02T00:00:00", "2024-03-02T00:01:00",
                                    "2024-03-10T01:00:00"]
    assert rows[0][0] == pytest.approx(2460370.5 + (23 * 3600 + 59 * 60) / 86400, abs=1e-9)
    assert rows[1][0] == 2460371.5  # 2024-03-02 0h UTC
    assert rows[0][2:] == (0, "UCM", MAC1, 1234.5, 20.0, 20.5, -3.0, 12.5)
    assert rows[3][7] == 20.7
    assert network.execute(Q2_CSV, ("stars2",)).fetchall()[0][3] == "Fabra"


def test_q3_current_instruments(network: sqlite3.Connection) -> None:
    assert network.execute(Q3_CURRENT).fetchall() == [
        ("stars1", MAC1, "40.4 -3.7", "UCM, Madrid, Madrid", 20.7, "UV/IR-740"),
        ("stars2", MAC2, "41.4 2.1", "Fabra, Barcelona, Barcelona", 20.0, "BG39")]


def test_q4_instrument_changes(network: sqlite3.Connection) -> None:
    assert network.execute(Q4_CHANGES).fetchall() == [
        ("stars1", 20.5, "UV/IR-740", "2024-01-31 23:59:00.000000", "2024-03-10 00:00:00.000000", "Expired"),
        ("stars1", 20.7, "UV/IR-740", "2024-03-10 00:00:00.000000", "2999-12-31 23:59:59.000000", "Current"),
        ("stars2", 20.0, "BG39", "2024-01-31 23:59:00.000000", "2999-12-31 23:59:59.000000", "Current")]


def test_q5_time_span_per_instrument(network: sqlite3.Connection) -> None:
    assert sorted(network.execute(Q5_SPAN).fetchall()) == [
        (MAC1, "2024-03-01T23:59:00Z", "2024-03-10T01:00:00Z"),
        (MAC2, "2024-03-01T23:59:00Z", "2024-03-01T23:59:00Z")]


def test_q6_unused_locations(network: sqlite3.Connection) -> None:
    assert sorted(network.execute(Q6_UNUSED_LOCATIONS).fetchall()) == [("Teide",), ("Unknown",)]
