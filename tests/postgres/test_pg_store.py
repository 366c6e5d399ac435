"""PostgresStore against a real server: idempotent batched writes, registrations serialised
across collectors, catalogue change notifications, lock waits, reconnection."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import psycopg
import pytest

from polling import wait_for
from tessdb_core.catalog import CURRENT
from tessdb_core.contracts import ResolvedReading, StoreBusy, StoreConflict
from tessdb_core.events import Message, Reading, Registration, TimestampSource
from tessdb_postgres import PostgresStore
from tessdb_postgres.store import CATALOG_KEY
from tessdb_tess.registration import decide

T0 = datetime(2026, 11, 30, 1, 0, 0)


def registration(name: str, mac: str, zp: float = 20.5, t: datetime = T0) -> Registration:
    return Registration(name, mac, "TESS-W", "1.0", (zp,), ("UV/IR-740",), (0.0,), t, TimestampSource.PUBLISHER,
                        Message("STARS4ALL/register", b"{}", t), name)


def reading(name: str, seq: int, t: datetime, tamb: float | None = 10.0, channels: int = 1) -> Reading:
    return Reading(name, t, TimestampSource.SUBSCRIBER, seq, tuple(1.0 * (i + 1) for i in range(channels)),
                   tuple(20.0 + i for i in range(channels)), tamb, -5.0,
                   Message(f"STARS4ALL/{name}/reading", b"{}", t))


@pytest.fixture
def db(pg_db) -> str:
    """A database made by init (a clone of the session's template)."""
    return pg_db


@pytest.fixture
def opened(db, open_store):
    """``opened()``: a new open PostgresStore on the test database (closed after the test)."""
    return lambda: open_store(db)


def register(store: PostgresStore, reg: Registration):
    plan = decide(reg, store.load_catalog())
    return store.apply_registration(plan)


def count(url: str, sql: str, *params) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchone()[0]


# -- readings ------------------------------------------------------------------------------------------
def test_batches_are_idempotent_and_duplicates_counted(db, opened):
    store = opened()
    applied = register(store, registration("stars1", "AA:BB:CC:DD:EE:01"))
    applied4 = store.apply_registration(decide(
        Registration("stars2", "AA:BB:CC:DD:EE:02", "TESS4C", "1.0", (20.0,) * 4, ("UV/IR-740",) * 4, (0.0,) * 4,
                     T0, TimestampSource.PUBLISHER, Message("STARS4ALL/register", b"{}", T0), "stars2"),
        store.load_catalog()))
    v, v4 = applied.new_version, applied4.new_version
    batch = [ResolvedReading(reading("stars1", i, T0 + timedelta(seconds=i)), v, 0) for i in range(1, 6)]
    batch += [ResolvedReading(reading("stars2", i, T0 + timedelta(seconds=i), channels=4), v4, 0) for i in (1, 2)]
    report = store.write_readings(batch)
    assert (report.stored, report.duplicates, report.failed) == (7, [], [])
    # the same batch again, plus a new one and a reading twice in the same batch
    again = batch + [ResolvedReading(reading("stars1", 9, T0 + timedelta(minutes=9)), v, 0)] * 2
    report = store.write_readings(again)
    assert report.stored == 1 and len(report.duplicates) == 8 and report.failed == []
    assert count(db, "SELECT COUNT(*) FROM tess_readings_t") == 6
    assert count(db, "SELECT COUNT(*) FROM tess_readings4c_t") == 2
    assert count(db, "SELECT mag4 FROM tess_readings4c_t WHERE sequence_number = 1") == 23.0


def test_a_row_refused_for_another_reason_costs_only_itself(db, opened):
    store = opened()
    v = register(store, registration("stars1", "AA:BB:CC:DD:EE:01")).new_version
    store.write_readings([ResolvedReading(reading("stars1", 1, T0), v, 0)])
    batch = [ResolvedReading(reading("stars1", 1, T0), v, 0),                          # duplicate
             ResolvedReading(reading("stars1", 2, T0 + timedelta(seconds=2), tamb=None), v, 0),  # NOT NULL
             ResolvedReading(reading("stars1", 3, T0 + timedelta(seconds=3)), v, 0),
             ResolvedReading(reading("stars1", 2 ** 70, T0 + timedelta(seconds=4)), v, 0)]  # beyond BIGINT
    report = store.write_readings(batch)
    assert report.stored == 1
    assert [r.reading.seq for r in report.duplicates] == [1]
    assert sorted(r.reading.seq for r, _ in report.failed) == [2, 2 ** 70]
    assert any("box_temperature" in why or "null" in why.lower() for _, why in report.failed)
    assert count(db, "SELECT COUNT(*) FROM tess_readings_t") == 2


# -- registrations across collectors -------------------------------------------------------------------
def test_two_collectors_registering_the_same_new_mac_make_one_current_row(db, opened):
    """Both decide "brand new" on their stale catalogues at the same moment; the advisory
    locks serialise them.  The very same registration (delivered to both collectors) is
    applied once and both get its keys; a different one (another name, another ZP) is
    refused to the second by the re-check."""
    a, b = opened(), opened()
    rounds = 12
    conflicts: list[str] = []
    for i in range(rounds):
        mac = f"AA:BB:CC:00:00:{i:02X}"
        kind = i % 3
        t = T0 + timedelta(minutes=i)
        regs = {0: (registration(f"stars{100 + i}", mac, 20.5, t), registration(f"stars{100 + i}", mac, 20.5, t)),
                1: (registration(f"stars{200 + i}", mac, 20.5, t), registration(f"stars{300 + i}", mac, 20.5, t)),
                2: (registration(f"stars{400 + i}", mac, 20.5, t), registration(f"stars{400 + i}", mac, 20.6, t))}[kind]
        plans = [decide(regs[0], a.load_catalog()), decide(regs[1], b.load_catalog())]
        assert [p.case for p in plans] == ["created", "created"]
        barrier = threading.Barrier(2)
        results: list[object] = [None, None]

        def apply(k: int, store: PostgresStore) -> None:
            barrier.wait()
            try:
                results[k] = store.apply_registration(plans[k])
            except StoreConflict as exc:
                results[k] = exc

        threads = [threading.Thread(target=apply, args=(k, s)) for k, s in enumerate((a, b))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        if kind == 0:
            assert all(not isinstance(r, Exception) for r in results), results
            assert results[0].new_version.tess_id == results[1].new_version.tess_id
            assert results[0].new_mapping.key == results[1].new_mapping.key
        else:
            assert sorted(type(r).__name__ for r in results) == ["RegistrationPlan", "StoreConflict"], results
            conflicts += [str(r) for r in results if isinstance(r, StoreConflict)]
        assert count(db, "SELECT COUNT(*) FROM tess_t WHERE mac_address = %s", mac) == 1
        assert count(db, "SELECT COUNT(*) FROM tess_t WHERE mac_address = %s AND valid_state = %s", mac, CURRENT) == 1
        assert count(db, "SELECT COUNT(*) FROM name_to_mac_t WHERE mac_address = %s AND valid_state = %s",
                     mac, CURRENT) == 1
    assert len(conflicts) == 8 and all("another collector" in text for text in conflicts)
    # the loser reloads its catalogue and decides again: a reboot or a ZP change, never a second row
    mac = "AA:BB:CC:00:00:02"
    again = register(b, registration("stars402", mac, 20.6, T0 + timedelta(hours=1)))
    assert again.case in ("rebooted", "zp_changed")
    assert count(db, "SELECT COUNT(*) FROM tess_t WHERE mac_address = %s AND valid_state = %s", mac, CURRENT) == 1


def test_a_plan_applied_twice_writes_nothing_the_second_time(db, opened):
    store = opened()
    first = store.load_catalog()
    plan = decide(registration("stars1", "AA:BB:CC:DD:EE:01", 20.5, T0), first)
    one = store.apply_registration(plan)
    two = store.apply_registration(plan)  # e.g. the same message replayed by a second collector
    assert (one.new_version.tess_id, one.new_mapping.key) == (two.new_version.tess_id, two.new_mapping.key)
    zp = decide(registration("stars1", "AA:BB:CC:DD:EE:01", 20.9, T0 + timedelta(hours=1)), store.load_catalog())
    assert zp.case == "zp_changed"
    assert store.apply_registration(zp).new_version.tess_id == store.apply_registration(zp).new_version.tess_id
    assert count(db, "SELECT COUNT(*) FROM tess_t") == 2 and count(db, "SELECT COUNT(*) FROM name_to_mac_t") == 1


def test_a_stale_plan_expiring_rows_is_refused_and_changes_nothing(db, opened):
    a, b = opened(), opened()
    mac = "AA:BB:CC:DD:EE:01"
    register(a, registration("stars1", mac, 20.5, T0))
    stale = b.load_catalog()
    register(a, registration("stars1", mac, 20.9, T0 + timedelta(hours=1)))  # a ZP change by collector a
    plan = decide(registration("stars1", mac, 21.2, T0 + timedelta(hours=2)), stale)
    assert plan.case == "zp_changed"
    before = count(db, "SELECT COUNT(*) FROM tess_t")
    with pytest.raises(StoreConflict, match="not Current any more"):
        b.apply_registration(plan)
    assert count(db, "SELECT COUNT(*) FROM tess_t") == before
    assert count(db, "SELECT COUNT(*) FROM tess_t WHERE valid_state = 'Current'") == 1


# -- catalogue refresh ----------------------------------------------------------------------------------
def test_changes_made_elsewhere_are_notified(db, opened):
    a, b = opened(), opened()
    assert not a.changed_elsewhere() and not b.changed_elsewhere()
    register(a, registration("stars1", "AA:BB:CC:DD:EE:01"))
    wait_for(b.changed_elsewhere, 3, "the change to be noticed")
    assert not a.changed_elsewhere()       # its own change: already in its catalogue
    assert not b.changed_elsewhere()       # once per change
    # an operator's SQL, and a maintenance command of another process, are noticed too
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE tess_t SET authorised = 1")
    wait_for(a.changed_elsewhere, 3, "the change to be noticed by a")
    wait_for(b.changed_elsewhere, 3, "the change to be noticed by b")
    # readings do not count as catalogue changes
    v = a.load_catalog().current_version("AA:BB:CC:DD:EE:01")
    a.write_readings([ResolvedReading(reading("stars1", 1, T0), v, 0)])
    time.sleep(0.2)
    assert not b.changed_elsewhere()


# -- lock waits and the server going away ------------------------------------------------------------------
def test_a_held_lock_raises_store_busy_within_the_patience(db, opened):
    store = opened()
    v = register(store, registration("stars1", "AA:BB:CC:DD:EE:01")).new_version
    store.set_patience(0.3)
    with psycopg.connect(db) as other:  # a maintenance change in progress: the catalogue lock
        other.execute("SELECT pg_advisory_xact_lock(%s)", (CATALOG_KEY,))
        started = time.monotonic()
        with pytest.raises(StoreBusy, match="locked by another session"):
            register(store, registration("stars2", "AA:BB:CC:DD:EE:02"))
        assert time.monotonic() - started < 3
        other.rollback()
    assert register(store, registration("stars2", "AA:BB:CC:DD:EE:02")).case == "created"
    with psycopg.connect(db) as other:  # an operator locks the fact table
        other.execute("LOCK TABLE tess_readings_t IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(StoreBusy):
            store.write_readings([ResolvedReading(reading("stars1", 1, T0), v, 0)])
        other.rollback()
    assert store.write_readings([ResolvedReading(reading("stars1", 1, T0), v, 0)]).stored == 1
    # unlimited patience: the write waits for the lock, then goes through
    store.set_patience(None)
    other = psycopg.connect(db)
    other.execute("LOCK TABLE tess_readings_t IN ACCESS EXCLUSIVE MODE")
    done: list[int] = []
    t = threading.Thread(target=lambda: done.append(
        store.write_readings([ResolvedReading(reading("stars1", 2, T0 + timedelta(seconds=2)), v, 0)]).stored))
    t.start()
    time.sleep(0.5)
    assert done == []
    other.rollback()
    other.close()
    t.join(10)
    assert done == [1]


def test_a_lost_connection_is_reopened(db, opened):
    store = opened()
    v = register(store, registration("stars1", "AA:BB:CC:DD:EE:01")).new_version
    pid = store._conn.info.backend_pid  # noqa: SLF001
    with psycopg.connect(db, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)
    assert store.write_readings([ResolvedReading(reading("stars1", 1, T0), v, 0)]).stored == 1
    assert store.changed_elsewhere() is True  # notifications may have been missed: reload once
    assert store.changed_elsewhere() is False
    assert count(db, "SELECT COUNT(*) FROM tess_readings_t") == 1
