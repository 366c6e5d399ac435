"""Two collectors sharing the reading topics (MQTT 5 shared subscription) into one PostgreSQL."""

from __future__ import annotations

import threading

import psycopg
import pytest

from pgserver import PgServer

from live_service import Publisher, Service, fleet, registration, wait_for


@pytest.fixture(scope="module")
def pg():
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def test_two_collectors_kill_one_half_way_every_reading_once(tmp_path, broker, pg):
    from tessdb_postgres import PostgresStore

    url = pg.fresh_database("collectors")
    PostgresStore(url).initialise()
    collectors = []
    for name in ("a", "b"):
        svc = Service(tmp_path / name, broker, {"TESSDB_DBASE__URL": url, "TESSDB_MQTT__SHARED_GROUP": "tessdb",
                                               "TESSDB_MQTT__CLIENT_ID": f"tessdb-{name}-{broker.port}"})
        svc.cwd.mkdir()
        collectors.append(svc)
    a, b = collectors
    try:
        a.start()
        b.start()
        pub = Publisher(broker.port, "collectors-publisher")
        pub.publish([registration(i) for i in range(1, 101)])  # both collectors see every registration
        wait_for(lambda: count(url, "SELECT COUNT(*) FROM tess_t") == 100, 30, "the registrations")
        sent = []
        done = threading.Event()
        threading.Thread(target=lambda: (sent.append(pub.publish(fleet(100, 200))), done.set()), daemon=True).start()
        wait_for(lambda: count(url, "SELECT COUNT(*) FROM tess_readings_t") > 8000, 90, "half of the burst")
        a.kill9()
        assert done.wait(180)
        pub.close()
        a.start()  # its session kept what was routed to it; its inbox replays what it had taken
        wait_for(lambda: count(url, "SELECT COUNT(*) FROM tess_readings_t") >= 20_000 - 600, 180, "every reading")
        assert a.stop() == 0 and b.stop() == 0
        assert sent == [20_000]
        assert count(url, "SELECT COUNT(*) FROM tess_readings_t") == 20_000
        assert count(url, "SELECT COUNT(DISTINCT (tess_id, sequence_number)) FROM tess_readings_t") == 20_000
        # never two Current rows for a MAC or a name, although both collectors registered everything
        assert count(url, "SELECT COUNT(*) FROM (SELECT mac_address FROM tess_t WHERE valid_state = 'Current' "
                          "GROUP BY mac_address HAVING COUNT(*) > 1) d") == 0
        assert count(url, "SELECT COUNT(*) FROM (SELECT name FROM name_to_mac_t WHERE valid_state = 'Current' "
                          "GROUP BY name HAVING COUNT(*) > 1) d") == 0
        assert "subscribing to $share/tessdb/STARS4ALL/+/reading" in b.log()
    finally:
        for svc in collectors:
            svc.stop()
