"""A PostgreSQL outage under the live service is told in one line when it starts and one when
it ends (docs/operations.md), however many retries it takes; and nothing is lost meanwhile."""

from __future__ import annotations

import json
import time

import psycopg

from live_service import NO_DAYLIGHT, Publisher, Service, reading, registration, wait_for
from pgserver import PgServer


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0]


def test_a_postgresql_outage_is_one_line_at_its_start_and_one_at_its_end(tmp_path, broker):
    server = PgServer().start()
    url = server.url()
    svc = Service(tmp_path / "svc", broker, extra_env={**NO_DAYLIGHT, "TESSDB_DBASE__URL": json.dumps(url)})
    svc.cwd.mkdir()
    pub = Publisher(broker.port, "pg-outage-publisher")
    try:
        svc.start()
        pub.publish([registration(1), reading(1, 0)])
        wait_for(lambda: _count(url) == 1, 20, "the control reading")
        before = len(svc.log().splitlines())
        server.halt()
        for seq in range(1, 17):  # 4 s of readings while the server is away: many retries
            pub.publish([reading(1, seq)])
            time.sleep(0.25)
        wait_for(lambda: "Database" in "".join(svc.log().splitlines()[before:]), 10, "the outage noticed")
        server.restart()
        wait_for(lambda: _count(url) == 17, 30, "every reading written after the outage")
        wait_for(lambda: "takes writes again" in svc.log(), 10, "the line of the outage's end")
        told = [x for x in svc.log().splitlines()[before:] if "[WARNING" in x or "[ERROR" in x]
        starts = [x for x in told if "[ERROR" in x]
        ends = [x for x in told if "takes writes again" in x]
        assert len(starts) == 1 and len(ends) == 1 and len(told) == 2, "\n".join(told)
        assert svc.stop() == 0
    finally:
        pub.close()
        svc.stop()
        server.stop()
