"""`tessdb-core run` with `[dbase] url = "postgresql://..."` against a real mosquitto: readings
stored, a maintenance command noticed without a reload, a lock held by an operator waited out,
pause closing the connection and resume writing the backlog."""

from __future__ import annotations

import json

import psycopg

from live_service import Publisher, Service, fleet, registration, reading, wait_for


def pg_count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def service_connections(url: str) -> int:
    return pg_count(url, "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'tessdb-core'")


def test_the_live_service_on_postgresql(tmp_path, broker, pg_url):
    # a password in the URL (the test server trusts 127.0.0.1 and never asks for it): never logged
    with_password = pg_url.replace("postgres@", "postgres:s3cret@")
    svc = Service(tmp_path / "svc", broker, extra_env={
        "TESSDB_DBASE__URL": json.dumps(with_password), "TESSDB_DBASE__AUTH_FILTER": "true",
        "TESSDB_FILTER__ENABLE__DAYLIGHT": "false"})
    svc.cwd.mkdir()
    publisher = Publisher(broker.port)
    try:
        svc.start()  # runs `tessdb-core init` first: on the PostgreSQL URL of the settings
        assert pg_count(pg_url, "SELECT COUNT(*) FROM date_t") == 18628
        publisher.publish([registration(1), registration(2), reading(1, 0)])
        wait_for(lambda: json.loads(svc.cli("stats", "--json").stdout)["quarantined"].get("not_authorised"), 20,
             "the not-authorised reading")
        # a maintenance command in another process: the service reloads its catalogue by itself
        assert svc.cli("instrument", "enable", "stars1").returncode == 0
        assert svc.cli("instrument", "enable", "stars2").returncode == 0
        # the reload that follows the second command (the first one's may come alone, and a
        # reading of stars2 before the second would be refused as not authorised, replayable)
        wait_for(lambda: "Catalogue reloaded" in svc.log().split("instrument enable: stars2", 1)[-1], 10,
                 "the service to see the change")
        publisher.publish(fleet(2, 10)[2:])  # seq 1..9 of both
        wait_for(lambda: pg_count(pg_url, "SELECT COUNT(*) FROM tess_readings_t") == 18, 20, "the readings")
        # an operator holds the fact table: the service keeps receiving, then writes
        with psycopg.connect(pg_url) as operator:
            operator.execute("LOCK TABLE tess_readings_t IN ACCESS EXCLUSIVE MODE")
            publisher.publish([reading(1, 10), reading(2, 10)])
            wait_for(lambda: "locked by another session" in svc.log(), 20, "the service to notice the lock")
            operator.rollback()
        wait_for(lambda: pg_count(pg_url, "SELECT COUNT(*) FROM tess_readings_t") == 20, 20, "the held readings")
        # pause closes the connection; the backlog waits in the inbox; resume writes it
        assert svc.cli("pause").stdout.strip() == "Server paused operation"
        wait_for(lambda: service_connections(pg_url) == 0, 10, "the connection to close")
        publisher.publish([reading(1, 11), reading(2, 11)])
        assert svc.cli("resume").stdout.strip() == "Server resumed operation"
        wait_for(lambda: pg_count(pg_url, "SELECT COUNT(*) FROM tess_readings_t") == 22, 20, "the backlog")
        assert svc.stop() == 0
        assert pg_count(pg_url, "SELECT COUNT(*) FROM tess_t WHERE valid_state = 'Current'") == 2
        replay = json.loads(svc.cli("quarantine", "replay", "--reason", "not_authorised", "--json").stdout)
        assert replay["replayed"] == 1
        assert pg_count(pg_url, "SELECT COUNT(*) FROM tess_readings_t") == 23
        assert "postgres:***@" in svc.log() and "s3cret" not in svc.log()
    finally:
        publisher.close()
        svc.stop()
