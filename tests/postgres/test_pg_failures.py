"""PostgresStore when the database fails: StoreUnavailable (nothing written, no row blamed,
the database named, never the password) and a reconnection by itself once the server is
back; a row's own fault reported in ``failed``; durable commits whatever the defaults."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest
from loguru import logger

from pgserver import PgServer
from tessdb_core.contracts import ResolvedReading, StoreBusy, StoreUnavailable
from tessdb_postgres import PostgresStore
from tessdb_tess.registration import decide
from .test_pg_store import T0, count, reading, register, registration


def batch(version, seqs) -> list[ResolvedReading]:
    return [ResolvedReading(reading("stars1", i, T0 + timedelta(seconds=i)), version, 0) for i in seqs]


def db_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def unavailable(call, *names: str) -> str:
    """``call()`` raises StoreUnavailable (not StoreBusy: nobody holds a lock), one line naming ``names``."""
    with pytest.raises(StoreUnavailable) as caught:
        call()
    text = str(caught.value)
    assert not isinstance(caught.value, StoreBusy), text
    assert "\n" not in text and all(n in text for n in names), text
    return text


@pytest.fixture
def own_server():
    """A server of its own, to stop and start without disturbing the session's one."""
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


# -- the database going away and coming back ---------------------------------------------------------
def test_a_server_going_away_raises_store_unavailable_and_the_store_reconnects(own_server):
    url = own_server.url().replace("postgres@", "postgres:s3cret@")  # trusted: the password is never asked
    PostgresStore(url).initialise()
    store = PostgresStore(url)
    store.open()
    store.set_patience(0.3)  # as the service runs
    slow = PostgresStore(url, reconnect_for=0.5)  # unlimited patience: gives up after reconnect_for
    slow.open()
    v = register(store, registration("stars1", "AA:BB:CC:DD:EE:01")).new_version
    assert store.write_readings(batch(v, range(1, 6))).stored == 5
    store.changed_elsewhere()
    plan = decide(registration("stars2", "AA:BB:CC:DD:EE:02"), store.load_catalog())
    second = batch(v, range(6, 11))

    own_server.halt()
    where = f"127.0.0.1:{own_server.port}/tessdb"
    started = time.monotonic()
    for call in (lambda: store.write_readings(second), lambda: store.apply_registration(plan),
                 store.load_catalog, store.changed_elsewhere, lambda: slow.write_readings(second)):
        text = unavailable(call, where, "postgres:***@")
        assert "s3cret" not in text
    assert time.monotonic() - started < 10  # the patience, not a long hang

    own_server.restart()
    report = store.write_readings(second)  # the same store object, the same batch: written once
    assert (report.stored, report.duplicates, report.failed) == (5, [], [])
    assert store.changed_elsewhere() is True  # notifications may have been missed meanwhile: reload once
    assert store.apply_registration(plan).new_version.tess_id is not None
    assert slow.write_readings(second).stored == 0  # already there: duplicates, not a second copy
    assert count(url, "SELECT COUNT(*) FROM tess_readings_t") == 10
    assert count(url, "SELECT COUNT(*) FROM tess_readings_t WHERE sequence_number BETWEEN 6 AND 10") == 5
    assert count(url, "SELECT COUNT(*) FROM tess_t") == 2
    # re-LISTENing: a change made elsewhere after the reconnection is noticed
    store.changed_elsewhere()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE tess_t SET authorised = 1")
    assert any(store.changed_elsewhere() or time.sleep(0.05) for _ in range(60))
    store.close()
    slow.close()


def test_a_cut_session_on_a_database_refusing_connections(pg_server, pg_db):
    store = PostgresStore(pg_db)
    store.open()
    store.set_patience(0.3)
    v = register(store, registration("stars1", "AA:BB:CC:DD:EE:01")).new_version
    name = db_name(pg_db)
    pg_server.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    pg_server.execute(f"SELECT pg_terminate_backend({store._conn.info.backend_pid})")  # noqa: SLF001
    try:
        unavailable(lambda: store.write_readings(batch(v, range(1, 4))), f"/{name}", "not currently accepting")
        unavailable(store.changed_elsewhere, f"/{name}")
    finally:
        pg_server.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert store.write_readings(batch(v, range(1, 4))).stored == 3
    assert count(pg_db, "SELECT COUNT(*) FROM tess_readings_t") == 3
    store.close()


@pytest.mark.parametrize("sqlstate", ["53100", "53200", "58030", "25006", "XX000"])
def test_a_database_error_blames_no_row(pg_db, sqlstate):
    """Disk full, out of memory, I/O error, read-only, internal error: StoreUnavailable,
    nothing written, no row in ``failed`` (the engine keeps the batch and retries)."""
    store = PostgresStore(pg_db)
    store.open()
    v = register(store, registration("stars1", "AA:BB:CC:DD:EE:01")).new_version
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute(f"""CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the server says no' USING ERRCODE = '{sqlstate}'; END $$""")
        conn.execute("CREATE TRIGGER fail BEFORE INSERT ON tess_readings_t FOR EACH ROW EXECUTE FUNCTION fail()")
    unavailable(lambda: store.write_readings(batch(v, range(1, 6))), db_name(pg_db), "the server says no")
    assert count(pg_db, "SELECT COUNT(*) FROM tess_readings_t") == 0
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("DROP TRIGGER fail ON tess_readings_t")
    assert store.write_readings(batch(v, range(1, 6))).stored == 5
    store.close()


def test_a_read_only_session_blames_no_row(pg_db):
    store = PostgresStore(pg_db)
    store.open()
    v = register(store, registration("stars1", "AA:BB:CC:DD:EE:01")).new_version
    store._conn.execute("SET default_transaction_read_only = on")  # noqa: SLF001  (e.g. a standby)
    unavailable(lambda: store.write_readings(batch(v, range(1, 6))), db_name(pg_db), "read-only")
    store._conn.execute("SET default_transaction_read_only = off")  # noqa: SLF001
    assert store.write_readings(batch(v, range(1, 6))).stored == 5
    store.close()


# -- a row's own fault ---------------------------------------------------------------------------------------
def test_a_row_violating_a_constraint_mid_batch_is_failed_and_the_rest_stored(pg_db):
    store = PostgresStore(pg_db)
    store.open()
    v = register(store, registration("stars1", "AA:BB:CC:DD:EE:01")).new_version
    assert store.write_readings(batch(v, [1])).stored == 1
    with psycopg.connect(pg_db, autocommit=True) as conn:  # an operator's rule
        conn.execute("ALTER TABLE tess_readings_t ADD CONSTRAINT no_thirteen CHECK (sequence_number <> 13)")
    report = store.write_readings(batch(v, [10, 11, 12, 13, 1, 14, 15]))
    assert report.stored == 5
    assert [r.reading.seq for r in report.duplicates] == [1]
    assert [r.reading.seq for r, _ in report.failed] == [13]
    assert "no_thirteen" in report.failed[0][1]
    assert count(pg_db, "SELECT COUNT(*) FROM tess_readings_t") == 6
    store.close()


# -- durability ------------------------------------------------------------------------------------------------
def test_every_session_commits_synchronously_and_fsync_off_is_reported_once(pg_server, pg_db):
    pg_server.execute(f'ALTER DATABASE "{db_name(pg_db)}" SET synchronous_commit = off')
    with psycopg.connect(pg_db) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "off"
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m)), format="{message}", level="WARNING")
    try:
        store = PostgresStore(pg_db)
        store.open()
        assert store._conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"  # noqa: SLF001
        pg_server.execute(f"SELECT pg_terminate_backend({store._conn.info.backend_pid})")  # noqa: SLF001
        store.load_catalog()  # reconnects
        assert store._conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"  # noqa: SLF001
        store.close()
        store.open()
        store.close()
    finally:
        logger.remove(sink)
    # the test server runs with fsync = off on purpose: said once, at the first open
    assert len([m for m in messages if "fsync = off" in m]) == 1
