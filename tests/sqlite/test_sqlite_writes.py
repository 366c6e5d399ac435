"""Registrations, the catalogue round trip and reading writes on a fresh database."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tessdb_core.catalog import FAR_FUTURE, RegistrationPlan
from tessdb_core.contracts import Store, StoreConflict, StoreError
from tessdb_sqlite import SqliteStore
from tessdb_star.timestamps import format_ts, parse_ts

T0 = datetime(2024, 3, 1, 20, 0, 0)


def test_store_satisfies_the_protocol(store: SqliteStore) -> None:
    assert isinstance(store, Store)


@pytest.mark.parametrize("text, expected", [
    ("2024-01-02 03:04:05", datetime(2024, 1, 2, 3, 4, 5)),
    ("2024-01-02 03:04:05+00:00", datetime(2024, 1, 2, 3, 4, 5)),
    ("2024-01-02 05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5)),
    ("2024-01-02 03:04:05.123456", datetime(2024, 1, 2, 3, 4, 5, 123456)),
    ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5)),
    ("2999-12-31T23:59:59", FAR_FUTURE),
    ("2000-01-01 00:00:00.000", datetime(2000, 1, 1)),
])
def test_timestamps_read_every_format(text: str, expected: datetime) -> None:
    got = parse_ts(text)
    assert got == expected and got.tzinfo is None


def test_timestamps_written_in_one_format() -> None:
    assert format_ts(FAR_FUTURE) == "2999-12-31 23:59:59.000000"
    assert format_ts(datetime(2024, 1, 2, 3, 4, 5, 7)) == "2024-01-02 03:04:05.000007"
    with pytest.raises(ValueError):
        parse_ts("yesterday")


def test_registration_round_trip(store: SqliteStore, make, db_path: Path) -> None:
    plan = make.register(store, "stars1", "AA:BB:CC:DD:EE:01", T0, zp=(20.44,))
    assert plan.new_mapping.key is not None and plan.new_version.tess_id is not None
    four = make.register(store, "stars701", "AA:BB:CC:DD:EE:02", T0, model="TESS4C",
                         zp=(20.1, 20.2, 20.3, 20.4), filters=("UV/IR-740", "R", "G", "B"),
                         offsets=(0.1, 0.2, 0.3, 0.4))
    cat = store.load_catalog()
    assert cat.current_mapping_of_name("stars1") == plan.new_mapping
    assert cat.current_version("AA:BB:CC:DD:EE:01") == plan.new_version
    assert cat.current_version("AA:BB:CC:DD:EE:02") == four.new_version
    assert cat.current_version("AA:BB:CC:DD:EE:02").filters == ("UV/IR-740", "R", "G", "B")
    conn = sqlite3.connect(db_path)
    row = conn.execute("SELECT valid_since, valid_until, valid_state, nchannels, zp2, filter2, offset2, authorised, "
                       "location_id, observer_id FROM tess_t WHERE tess_id = ?", (plan.new_version.tess_id,)).fetchone()
    assert row == ("2024-03-01 20:00:00.000000", "2999-12-31 23:59:59.000000", "Current", 1, None, None, 0.0, 1, -1, -1)
    assert conn.execute("SELECT name, mac_address, valid_since, valid_state FROM name_to_mac_t WHERE rowid = ?",
                        (plan.new_mapping.key,)).fetchone() == (
        "stars1", "AA:BB:CC:DD:EE:01", "2024-03-01 20:00:00.000000", "Current")

    # a zero point change: expire the version, add a new one; a rename: expire the mapping, add one
    t1 = T0 + timedelta(days=3)
    old_v, old_m = cat.current_version("AA:BB:CC:DD:EE:01"), cat.current_mapping_of_name("stars1")
    change = RegistrationPlan(case="zp_changed", at=t1, expire_versions=(old_v,), expire_mappings=(old_m,),
                              new_mapping=make.mapping("stars9", old_m.mac, t1),
                              new_version=replace(old_v, since=t1, zp=(20.9,), tess_id=None))
    done = store.apply_registration(change)
    cat.apply(done)
    fresh = store.load_catalog()
    assert sorted(fresh.mappings, key=lambda m: m.key) == sorted(cat.mappings, key=lambda m: m.key)
    assert sorted(fresh.versions, key=lambda v: v.tess_id) == sorted(cat.versions, key=lambda v: v.tess_id)
    assert fresh.version_at("AA:BB:CC:DD:EE:01", t1 - timedelta(seconds=1)).zp == (20.44,)
    assert fresh.version_at("AA:BB:CC:DD:EE:01", t1).zp == (20.9,)
    assert fresh.mapping_at("stars1", t1) is None and fresh.mapping_at("stars9", t1).mac == "AA:BB:CC:DD:EE:01"
    assert conn.execute("SELECT valid_until, valid_state FROM tess_t WHERE tess_id = ?",
                        (old_v.tess_id,)).fetchone() == ("2024-03-04 20:00:00.000000", "Expired")


def test_failed_registration_changes_nothing(store: SqliteStore, make, db_path: Path, counter) -> None:
    plan = make.register(store)
    ghost = replace(plan.new_mapping, key=9999)
    bad = RegistrationPlan(case="renamed", at=T0 + timedelta(days=1), expire_mappings=(plan.new_mapping, ghost),
                           new_mapping=make.mapping("stars2", plan.new_mapping.mac, T0 + timedelta(days=1)))
    with pytest.raises(StoreConflict, match=r"rowid = 9999\) is not Current any more"):
        store.apply_registration(bad)
    assert counter(db_path, "name_to_mac_t") == 1
    assert counter(db_path, "name_to_mac_t", "valid_state = 'Current'") == 1


def test_write_readings_tess_w(store: SqliteStore, make, db_path: Path) -> None:
    v = make.register(store).new_version
    batch = [make.reading(v, T0 + timedelta(minutes=i), seq=i, hash="E01", az=10.0, alt=80.0, lat=40.4,
                          long=-3.7, height=650.0) for i in range(10)][::-1]  # unsorted on purpose
    report = store.write_readings(batch)
    assert (report.stored, report.duplicates, report.failed) == (10, [], [])
    conn = sqlite3.connect(db_path)
    row = conn.execute("SELECT * FROM tess_readings_t ORDER BY date_id, time_id LIMIT 1").fetchone()
    assert row == (20240301, 200000, v.tess_id, -1, -1, 1, 0, 1234.5, 20.25, 12.5, -3.0,
                   10.0, 80.0, -3.7, 40.4, 650.0, -60, "E01")
    assert conn.execute("SELECT count(*) FROM tess_readings_t JOIN time_t USING (time_id) JOIN date_t USING (date_id)"
                        ).fetchone()[0] == 10


def test_duplicates_are_reported_and_the_rest_stored(store: SqliteStore, make, db_path: Path, counter) -> None:
    v = make.register(store).new_version
    first = [make.reading(v, T0 + timedelta(minutes=i), seq=i) for i in range(5)]
    assert store.write_readings(first).stored == 5
    again = [make.reading(v, T0 + timedelta(minutes=i), seq=100 + i) for i in range(3, 8)]  # 3,4 duplicate
    in_batch_dup = make.reading(v, T0 + timedelta(minutes=7, microseconds=5), seq=999)  # same second as minute 7
    report = store.write_readings(again + [in_batch_dup])
    assert report.stored == 3
    assert sorted(r.reading.seq for r in report.duplicates) == [103, 104, 999]
    assert report.failed == []
    assert counter(db_path, "tess_readings_t") == 8
    assert counter(db_path, "tess_readings_t", "sequence_number IN (3, 4, 105, 106, 107)") == 5


def test_a_failing_row_does_not_sink_its_batch(store: SqliteStore, make, db_path: Path, counter) -> None:
    v = make.register(store).new_version
    batch = [make.reading(v, T0 + timedelta(minutes=i), seq=i) for i in range(6)]
    batch[2] = make.reading(v, T0 + timedelta(minutes=2), seq=2, tamb=None)   # NOT NULL violation
    batch[4] = make.reading(v, T0 + timedelta(minutes=4), seq=4, tsky=[1, 2])  # cannot be bound
    batch.append(make.reading(v, T0 + timedelta(minutes=9), freq=(1.0, 2.0)))   # neither 1 nor 4 channels
    report = store.write_readings(batch)
    assert report.stored == 4 and report.duplicates == []
    reasons = {r.reading.seq: why for r, why in report.failed}
    assert set(reasons) == {1, 2, 4} and len(report.failed) == 3
    assert "NOT NULL constraint failed: tess_readings_t.box_temperature" in reasons[2]
    assert "channels" in reasons[1]
    assert counter(db_path, "tess_readings_t") == 4
    assert report.stored + len(report.duplicates) + len(report.failed) == len(batch)


def test_tess4c_rows(store: SqliteStore, make, db_path: Path, counter) -> None:
    w = make.register(store).new_version
    c = make.register(store, "stars701", "AA:BB:CC:DD:EE:02", model="TESS4C", zp=(20.1, 20.2, 20.3, 20.4)).new_version
    batch = [make.reading(w, T0, seq=1),
             make.reading(c, T0, name="stars701", seq=2, freq=(101.0, 102.0, 103.0, 104.0),
                          mag=(19.1, 19.2, 19.3, 19.4), tamb=-273.15, tsky=-273.15, wdbm=None)]
    report = store.write_readings(batch)
    assert report.stored == 2
    row = sqlite3.connect(db_path).execute(
        "SELECT tess_id, sequence_number, freq1, mag1, freq2, mag2, freq3, mag3, freq4, mag4, box_temperature, "
        "signal_strength FROM tess_readings4c_t").fetchone()
    assert row == (c.tess_id, 2, 101.0, 19.1, 102.0, 19.2, 103.0, 19.3, 104.0, 19.4, -273.15, 99)
    assert counter(db_path, "tess_readings_t") == 1


def test_close_and_reopen(store: SqliteStore, make, counter, db_path: Path) -> None:
    v = make.register(store).new_version
    store.close()
    assert not store.is_open
    with pytest.raises(StoreError, match="not open"):
        store.write_readings([make.reading(v, T0)])
    store.open()
    assert store.write_readings([make.reading(v, T0)]).stored == 1
    assert counter(db_path, "tess_readings_t") == 1


def _hold_lock(path: Path, seconds: float, started: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    started.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


@pytest.mark.parametrize("busy_timeout", [60.0, 0.1])  # SQLite's own wait, then the store's retry loop
def test_a_locked_database_is_waited_for(db_path: Path, make, counter, busy_timeout: float) -> None:
    store = SqliteStore(str(db_path), busy_timeout=busy_timeout, retry_delay=0.1)
    store.initialise()
    store.open()
    v = make.register(store).new_version
    started = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(db_path, 1.5, started))
    holder.start()
    assert started.wait(5)
    t = time.monotonic()
    report = store.write_readings([make.reading(v, T0 + timedelta(minutes=i), seq=i) for i in range(50)])
    waited = time.monotonic() - t
    holder.join()
    store.close()
    assert report.stored == 50 and not report.failed
    assert waited >= 1.0
    assert counter(db_path, "tess_readings_t") == 50


def test_a_broken_database_raises_store_error_not_a_row_failure(store: SqliteStore, make, db_path: Path) -> None:
    v = make.register(store).new_version
    other = sqlite3.connect(db_path)
    other.execute("DROP TABLE tess_readings_t")  # the database, not a row, is wrong now
    other.commit()
    other.close()
    with pytest.raises(StoreError, match="no such table: tess_readings_t"):
        store.write_readings([make.reading(v, T0)])


def test_a_day_date_t_does_not_hold_is_never_stored():
    from tessdb_star.readings import _in_calendar

    bad: list = []
    items, rows = _in_calendar(["ok", "late", "early"], [(20261207, 0), (21000101, 0), (19991231, 0)], bad)
    assert items == ["ok"] and rows == [(20261207, 0)]
    assert [b[0] for b in bad] == ["late", "early"] and "outside the days date_t holds" in bad[0][1]


def _fdatasyncs(monkeypatch) -> list[str]:
    """The files os.fdatasync is called on (the store's own syncs; SQLite's are in C)."""
    import os

    synced: list[str] = []
    real = os.fdatasync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", spy)
    return synced


def test_registrations_commit_unsynced_and_sync_makes_them_durable(store: SqliteStore, make, db_path: Path,
                                                                   monkeypatch) -> None:
    synced = _fdatasyncs(monkeypatch)
    assert store.journal_mode == "wal"
    make.register(store, "stars1", "AA:BB:CC:DD:EE:01")
    make.register(store, "stars2", "AA:BB:CC:DD:EE:02")
    # committed (another connection reads them) but not synced by the store yet
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM tess_t WHERE mac_address LIKE 'AA:%'"
                                            ).fetchone()[0] == 2
    assert synced == []
    store.sync()
    assert synced == [str(db_path) + "-wal"]  # one sync for both
    store.sync()
    assert len(synced) == 1  # nothing new: no sync
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again for the readings


def test_a_batch_that_writes_needs_no_extra_sync(store: SqliteStore, make, monkeypatch) -> None:
    synced = _fdatasyncs(monkeypatch)
    v = make.register(store).new_version
    assert store.write_readings([make.reading(v, T0, seq=1)]).stored == 1
    store.sync()
    assert synced == []  # the batch's synchronous=FULL commit synced the WAL, the registration with it
    # a batch that stores nothing (a duplicate) committed nothing: the store syncs what came before
    make.register(store, "stars2", "AA:BB:CC:DD:EE:02")
    report = store.write_readings([make.reading(v, T0, seq=1)])
    assert report.stored == 0 and len(report.duplicates) == 1
    assert len(synced) == 1
